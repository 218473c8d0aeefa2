"""Shared pieces of the reliability suite: asset contents, store and cache invariants."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_assets import Assets
from pytest_assets.manifest import sha256_file

HERE = Path(__file__).parent
CHILD = HERE / "_child.py"


def make_folder(path: Path, files: int, size: int, seed: str = "") -> dict[str, str]:
    """A directory asset of ``files`` files of ``size`` bytes in two levels; its digests."""
    path.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        target = path / f"part-{i % 4}" / f"file-{i:03d}.bin"
        target.parent.mkdir(exist_ok=True)
        block = hashlib.sha256(f"{seed}:{i}".encode()).digest()
        target.write_bytes((block * (size // len(block) + 1))[:size])
    return tree_digests(path)


def tree_digests(path: Path) -> dict[str, str]:
    """relative posix path -> sha256 of every file below ``path`` (or of ``path`` itself)."""
    if path.is_file():
        return {"": sha256_file(path)[1]}
    return {
        p.relative_to(path).as_posix(): sha256_file(p)[1]
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def snapshot(root: Path) -> set[str]:
    """Every path below ``root`` (files, folders, links), relative, for before/after diffs."""
    found = set()
    for base, dirs, files in os.walk(root):
        for item in dirs + files:
            found.add(os.path.relpath(os.path.join(base, item), root))
    return found


def assert_cache_sound(assets: Assets, expected: dict[str, dict[str, str]]) -> None:
    """The cache never holds a partial version: whatever it lists as cached verifies clean and
    has exactly the expected files; data without a record is never counted as cached.

    ``expected`` maps "name:version" to the digests the version must hold."""
    for entry in assets.cache.entries():
        label = f"{entry.name}:{entry.version}"
        assert label in expected, f"unexpected cached version {label}"
        assert tree_digests(entry.path) == expected[label], f"{label} is cached incomplete"
    assert assets.verify() == []


def in_thread(fn: Callable[[], Any], timeout: float) -> tuple[Any, float]:
    """Run ``fn`` in a thread; fail (rather than hang the suite) if it blocks past ``timeout``.
    Returns (result, seconds taken); re-raises what ``fn`` raised."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed back to the caller
            box["error"] = exc

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    took = time.monotonic() - start
    assert not thread.is_alive(), f"blocked for more than {timeout:.0f} s (a lock left behind?)"
    if "error" in box:
        raise box["error"]
    return box.get("result"), took


def store_problems(root: Path) -> list[str]:
    """Check a directory store: every listed version has a .meta whose objects are all there,
    with the sizes and sha256 it records, and nothing else under the version."""
    problems = []
    for versions_file in sorted(root.rglob("*.versions")):
        name = versions_file.relative_to(root).as_posix()[: -len(".versions")]
        listed = json.loads(versions_file.read_text())["versions"]
        for version in listed:
            meta_file = root / name / f"{version}.meta"
            if not meta_file.is_file():
                problems.append(f"{name}:{version} is listed without a .meta")
                continue
            meta = json.loads(meta_file.read_text())
            data = root / name / version
            if meta["is_directory"]:
                want = {rel: (d["size"], d["sha256"]) for rel, d in meta["files"].items()}
                assert sorted(want) == sorted(meta["contents"])
                have = {
                    rel: (os.path.getsize(data / rel), sha)
                    for rel, sha in (tree_digests(data) if data.is_dir() else {}).items()
                }
            else:
                want = {"": (meta["size"], meta["sha256"])}
                have = {"": (os.path.getsize(data), sha256_file(data)[1])} if data.is_file() else {}
            if have != want:
                problems.append(
                    f"{name}:{version}: objects disagree with .meta "
                    f"(missing {sorted(set(want) - set(have))}, "
                    f"extra {sorted(set(have) - set(want))}, "
                    f"changed {sorted(k for k in set(want) & set(have) if want[k] != have[k])})"
                )
    return problems
