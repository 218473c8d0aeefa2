"""A cached copy is read-only, its folders as well as its files: a test writing into its asset
fails loudly, and every way the cache removes data (prune, verify --repair, a damaged copy
fetched again, leftovers replaced, download folders of killed processes) still works.

Modes stop only an unprivileged user, and this suite may run as root: then each case runs in a
child process as ``nobody``, in a folder of its own under the system's temp directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from as_user import remove_tree, run_script

NOBODY = 65534

# Every case starts from this: a directory asset (with a script and a sub-folder) pushed to a
# directory store and fetched into a cache; `path` is the cached copy.
_PRELUDE = """
import json, os, socket, subprocess, sys
from pathlib import Path
from pytest_assets import Assets
from pytest_assets.errors import IntegrityError

work = Path.cwd()
source = work / "source"
(source / "sub").mkdir(parents=True)
(source / "a.txt").write_text("alpha\\n")
(source / "sub" / "b.txt").write_text("beta\\n")
(source / "run.sh").write_text("#!/bin/sh\\necho hi\\n")
(source / "run.sh").chmod(0o755)
assets = Assets(store=str(work / "store"), cache_dir=work / "cache")
assets.push(source, "d")
path = assets.fetch("d:0.0")
tmp = assets.cache.books / "tmp"
out = {}

def refused(action):
    try:
        action()
    except PermissionError:
        return True
    return False

def intact(path):
    return sorted(
        (p.relative_to(path).as_posix(), p.read_bytes()) for p in path.rglob("*") if p.is_file()
    ) == sorted(
        (p.relative_to(source).as_posix(), p.read_bytes()) for p in source.rglob("*") if p.is_file()
    )
"""


@pytest.fixture
def unprivileged() -> Iterator[Any]:
    """``run(code)`` runs the prelude and ``code`` as an unprivileged user; returns ``out``."""
    work = Path(tempfile.mkdtemp(prefix="pytest-assets-ro-"))
    as_root = os.geteuid() == 0
    if as_root:
        os.chown(work, NOBODY, NOBODY)

    command = [sys.executable, "-c"]
    if as_root:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot become an unprivileged user")
        command[:0] = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]

    probe = subprocess.run(
        [*command, "import pytest_assets"], cwd=work, capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        pytest.skip(f"the unprivileged user cannot run this Python: {probe.stderr[-300:]}")

    def run(code: str) -> dict[str, Any]:
        return run_script(command, _PRELUDE, code, cwd=work, timeout=120)

    try:
        yield run
    finally:
        remove_tree(work)


def test_a_test_cannot_change_add_or_delete_files_of_its_asset(unprivileged: Any) -> None:
    out = unprivileged("""
        out["edit"] = refused(lambda: (path / "a.txt").write_text("changed"))
        out["add"] = refused(lambda: (path / "sub" / "new.txt").write_text("new"))
        out["add_top"] = refused(lambda: (path / "__pycache__").mkdir())
        out["delete"] = refused(lambda: (path / "sub" / "b.txt").unlink())
        out["run"] = subprocess.run([str(path / "run.sh")], capture_output=True).stdout.decode()
        out["intact"] = intact(path)
    """)
    assert out == {
        "edit": True,
        "add": True,
        "add_top": True,
        "delete": True,
        "run": "hi\n",
        "intact": True,
    }


def test_prune_removes_read_only_versions_whole(unprivileged: Any) -> None:
    out = unprivileged("""
        removed = assets.prune(keep=0).removed
        out["removed"] = [f"{e.name}:{e.version}" for e in removed]
        out["left"] = [str(p) for p in assets.cache.data_path("d", "0.0").parent.iterdir()]
        out["tmp"] = [p.name for p in tmp.iterdir()]
    """)
    assert out == {"removed": ["d:0.0"], "left": [], "tmp": []}


def test_verify_repair_removes_extras_and_downloads_damaged_versions_again(
    unprivileged: Any,
) -> None:
    out = unprivileged("""
        path.chmod(0o755)
        (path / "__pycache__").mkdir()
        (path / "__pycache__" / "x.pyc").write_bytes(b"compiled")
        path.chmod(0o555)
        out["extras"] = [(p.kind, p.repaired) for p in assets.verify(repair=True)]
        out["pycache"] = (path / "__pycache__").exists()
        (path / "sub").chmod(0o755)
        (path / "sub" / "b.txt").chmod(0o644)
        (path / "sub" / "b.txt").write_text("BETA\\n")
        out["damaged"] = [(p.kind, p.repaired) for p in assets.verify(repair=True)]
        out["intact"] = intact(assets.fetch("d:0.0"))
        out["modes"] = [oct(p.stat().st_mode & 0o777) for p in (path, path / "sub")]
        out["tmp"] = [p.name for p in tmp.iterdir()]
    """)
    assert out == {
        "extras": [["extra", True]],
        "pycache": False,
        "damaged": [["damaged", True]],
        "intact": True,
        "modes": ["0o555", "0o555"],
        "tmp": [],
    }


def test_a_damaged_copy_is_replaced_and_leftovers_without_a_record_too(
    unprivileged: Any,
) -> None:
    out = unprivileged("""
        (path / "sub").chmod(0o755)
        (path / "sub" / "b.txt").unlink()
        def fresh():
            return Assets(store=assets.store_url, cache_dir=work / "cache")
        out["refetched"] = intact(fresh().fetch("d:0.0"))
        assets.cache.record_path("d", "0.0").unlink()  # the data stays: a leftover
        out["replaced"] = intact(fresh().fetch("d:0.0"))
        out["tmp"] = [p.name for p in tmp.iterdir()]
    """)
    assert out == {"refetched": True, "replaced": True, "tmp": []}


def test_read_only_download_folders_of_killed_processes_are_cleaned_up(
    unprivileged: Any,
) -> None:
    out = unprivileged("""
        import shutil
        gone = subprocess.Popen(["true"])
        gone.wait()
        owner = f"{socket.gethostname()}-{gone.pid}"
        for name in (f"d-0.0-{owner}-abcd1234", f"trash-{owner}-abcd1234"):
            left = tmp / name / "data"
            shutil.copytree(path, left)
            for p in sorted(left.rglob("*"), reverse=True):
                p.chmod(0o444 if p.is_file() else 0o555)
            left.chmod(0o555)
        assets.cache.clean_stale_temps()
        out["tmp"] = [p.name for p in tmp.iterdir()]
    """)
    assert out == {"tmp": []}
