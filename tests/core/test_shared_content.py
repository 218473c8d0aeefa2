"""Versions that share files share bytes in the cache: a fetch takes from the store only the
content the cache does not hold yet, a file changed on disk is never reused, a hostile
``.meta`` cannot make a fetch link anything outside the cache's own content, and prune and
verify treat every version on its own even where they share files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support import MakeAssets, raw, tree, write

from pytest_assets import Assets, IntegrityError
from pytest_assets.cache_usage import usage
from pytest_assets.content_index import ContentIndex
from pytest_assets.store import Store

FILES = 6


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The store objects every fetch of the test asks for, counted where data is read."""
    seen: list[str] = []
    get_files, get_file_hashed = Store.get_files, Store.get_file_hashed

    def get_files_(self: Store, pairs: Any, what: str, progress: Any = None) -> Any:
        seen.extend(remote.rsplit("/", 1)[-1] for remote, _local in pairs)
        return get_files(self, pairs, what, progress)

    def get_file_hashed_(self: Store, remote: str, local: str, what: str) -> Any:
        seen.append(remote.rsplit("/", 1)[-1])
        return get_file_hashed(self, remote, local, what)

    monkeypatch.setattr(Store, "get_files", get_files_)
    monkeypatch.setattr(Store, "get_file_hashed", get_file_hashed_)
    return seen


def _source(root: Path, changed: int | None = None) -> Path:
    """FILES files of 4 KB; with ``changed``, that one's bytes differ."""
    for i in range(FILES):
        data = f"{i}{'-new' if i == changed else ''}".encode() * 4096
        write(root / f"file-{i}.bin", data[:4096])
    return root


@pytest.fixture
def two_versions(assets: Assets, tmp_path: Path) -> Assets:
    """``d:0.0`` and ``d:0.1``, the second with file-3 changed; ``0.0`` already cached."""
    assets.push(_source(tmp_path / "v0"), "d")
    assets.fetch("d:0.0")
    assets.push(_source(tmp_path / "v1", changed=3), "d")
    return assets


def test_fetching_a_version_after_another_downloads_only_the_changed_file(
    two_versions: Assets, tmp_path: Path, reads: list[str]
) -> None:
    path = two_versions.fetch("d:0.1")
    assert reads == ["file-3.bin"]
    assert tree(path) == tree(tmp_path / "v1")
    assert two_versions.verify() == []


def test_unchanged_files_are_kept_once_on_disk(two_versions: Assets) -> None:
    old, new = two_versions.fetch("d:0.0"), two_versions.fetch("d:0.1")
    inode = {p.name: p.stat().st_ino for p in new.iterdir()}
    assert inode["file-0.bin"] == (old / "file-0.bin").stat().st_ino  # a reflink has its own
    assert inode["file-3.bin"] != (old / "file-3.bin").stat().st_ino
    seen = usage(two_versions.cached())
    assert seen.apparent == 2 * FILES * 4096
    assert seen.real == (FILES + 1) * 4096


def test_content_is_reused_across_assets_and_between_file_and_folder_assets(
    assets: Assets, tmp_path: Path, reads: list[str]
) -> None:
    assets.push(_source(tmp_path / "v0"), "d")
    assets.fetch("d")
    assets.push(tmp_path / "v0" / "file-2.bin", "other/model")
    reads.clear()
    path = assets.fetch("other/model")
    assert reads == []
    assert path.read_bytes() == (tmp_path / "v0" / "file-2.bin").read_bytes()


def test_a_cached_file_modified_in_place_is_downloaded_not_reused(
    two_versions: Assets, tmp_path: Path, reads: list[str]
) -> None:
    """Made writable and edited (same size, so only a hash can tell): the new version gets
    the store's bytes, in a file of its own."""
    damaged = two_versions.fetch("d:0.0") / "file-1.bin"
    damaged.chmod(0o644)
    damaged.write_bytes(b"x" * 4096)
    path = two_versions.fetch("d:0.1")
    assert sorted(reads) == ["file-1.bin", "file-3.bin"]
    assert tree(path) == tree(tmp_path / "v1")
    assert (path / "file-1.bin").stat().st_ino != damaged.stat().st_ino


def test_a_stale_index_entry_falls_back_to_download(
    two_versions: Assets, tmp_path: Path, reads: list[str]
) -> None:
    old = two_versions.fetch("d:0.0")
    old.chmod(0o755)
    (old / "file-0.bin").unlink()
    path = two_versions.fetch("d:0.1")
    assert sorted(reads) == ["file-0.bin", "file-3.bin"]
    assert tree(path) == tree(tmp_path / "v1")


def test_a_damaged_index_costs_downloads_not_the_fetch(
    two_versions: Assets, tmp_path: Path, reads: list[str]
) -> None:
    """A damaged index is read as "nothing known", then rebuilt from the records."""
    ContentIndex(two_versions.cache.books).path.write_bytes(b"not a database" * 100)
    assert tree(two_versions.fetch("d:0.1")) == tree(tmp_path / "v1")
    assert len(reads) == FILES
    two_versions.push(_source(tmp_path / "v2", changed=4), "d")
    reads.clear()
    two_versions.fetch("d:0.2")
    assert reads == ["file-4.bin"]


def test_versions_cached_before_the_index_existed_are_indexed_once(
    two_versions: Assets, tmp_path: Path, reads: list[str]
) -> None:
    ContentIndex(two_versions.cache.books).path.unlink()
    two_versions.fetch("d:0.1")
    assert reads == ["file-3.bin"]


def _hostile_meta(url: str, name: str, version: str, files: dict[str, bytes]) -> None:
    """A version whose ``.meta`` claims content it does not hold (the objects are junk)."""
    fs, root = raw(url)

    meta = {
        "is_directory": True,
        "contents": sorted(files),
        "files": {
            rel: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for rel, data in files.items()
        },
    }
    for rel, data in files.items():
        fs.makedirs(f"{root}/{name}/{version}/{rel}".rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(f"{root}/{name}/{version}/{rel}", b"junk".ljust(len(data), b"!"))
    fs.pipe_file(f"{root}/{name}/{version}.meta", json.dumps(meta).encode())
    fs.pipe_file(f"{root}/{name}.versions", json.dumps({"versions": [version, "0.0"]}).encode())


def _everything(root: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, links, mode) of every path below ``root``."""
    found = {}
    for base, dirs, files in os.walk(root):
        for item in dirs + files:
            info = os.lstat(os.path.join(base, item))
            found[os.path.relpath(os.path.join(base, item), root)] = (
                info.st_ino,
                info.st_nlink,
                info.st_mode,
            )
    return found


def test_a_hostile_meta_never_links_a_file_outside_the_cache(
    two_versions: Assets, store_url: str, tmp_path: Path
) -> None:
    """A cached version's folder is swapped for a symlink to a folder outside the cache whose
    file has the very bytes (and mode) the record lists; a ``.meta`` claims that sha256. The
    fetch links nothing from there: the outside file keeps its one link, the version (whose
    objects are junk) is refused."""
    secret = write(tmp_path / "secret" / "file-0.bin", b"0" * 4096)
    secret.chmod(0o444)
    before = _everything(tmp_path / "secret")
    old = two_versions.fetch("d:0.0")
    _writable_tree(old)
    shutil.rmtree(old)
    old.symlink_to(tmp_path / "secret", target_is_directory=True)
    _hostile_meta(store_url, "d", "0.2", {"file-0.bin": b"0" * 4096})
    with pytest.raises(IntegrityError, match="sha256"):
        two_versions.fetch("d:0.2")
    assert _everything(tmp_path / "secret") == before
    assert os.lstat(secret).st_nlink == 1


def test_an_index_entry_naming_a_path_outside_the_cache_is_never_followed(
    two_versions: Assets, store_url: str, tmp_path: Path
) -> None:
    """The index itself lies (a name with ``..`` leading out of the cache, and a record
    planted there to back it): nothing is taken from outside."""
    cache = two_versions.cache
    secret = write(tmp_path / "secret" / "d" / "0.0" / "file-0.bin", b"0" * 4096)
    secret.chmod(0o444)
    escape = os.path.relpath(tmp_path / "secret", cache.data_path("d", "0.0").parent.parent)
    name = f"{escape}/d"
    planted = cache.record_path(name, "0.0")
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(json.dumps(cache.record("d", "0.0")))
    index = ContentIndex(cache.books)
    with sqlite3.connect(index.path) as db:
        (digest,) = db.execute("SELECT sha256 FROM files WHERE relpath = 'file-0.bin'").fetchone()
        db.execute("DELETE FROM files")
        db.execute(
            "INSERT INTO files VALUES (?, 4096, ?, ?, '0.0', 'file-0.bin')",
            (digest, cache.store_folder, name),
        )
    _hostile_meta(store_url, "d", "0.2", {"file-0.bin": b"0" * 4096})
    with pytest.raises(IntegrityError, match="sha256"):
        two_versions.fetch("d:0.2")
    assert os.lstat(secret).st_nlink == 1


def _writable_tree(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        item.chmod(0o755 if item.is_dir() else 0o644)


def test_a_hostile_meta_writes_nothing_outside_the_new_version(
    two_versions: Assets, store_url: str
) -> None:
    """Its sha256s match cached files: those are linked into the new version only, and every
    other file of the cache keeps its inode, link count and mode."""
    cache = two_versions.cache
    before = {k: v for k, v in _everything(cache.directory).items() if "d/0.2" not in k}
    _hostile_meta(store_url, "d", "0.2", {"x/y/copy-of-2.bin": b"2" * 4096})
    path = two_versions.fetch("d:0.2")
    after = _everything(cache.directory)
    changed = {
        k
        for k in before
        if after.get(k, (0, 0, 0))[::2] != before[k][::2] and ".pytest-assets" not in k
    }
    assert changed == set()
    assert (path / "x" / "y" / "copy-of-2.bin").read_bytes() == b"2" * 4096


def test_prune_removes_a_version_and_keeps_the_files_another_version_shares(
    two_versions: Assets, tmp_path: Path
) -> None:
    two_versions.fetch("d:0.1")
    pruned = two_versions.prune(keep=1)
    assert [(e.name, e.version) for e in pruned.removed] == [("d", "0.0")]
    assert tree(two_versions.fetch("d:0.1")) == tree(tmp_path / "v1")
    assert two_versions.verify() == []
    holders = ContentIndex(two_versions.cache.books).holders()
    assert {h.version for h in holders} == {"0.1"}


def test_verify_reports_a_shared_file_damaged_in_place_for_each_version_holding_it(
    two_versions: Assets,
) -> None:
    two_versions.fetch("d:0.1")
    damaged = two_versions.fetch("d:0.0") / "file-1.bin"
    damaged.chmod(0o644)
    damaged.write_bytes(b"x" * 4096)  # through one path: every hardlink sees it
    problems = two_versions.verify()
    assert sorted((p.version, p.kind) for p in problems) == [("0.0", "damaged"), ("0.1", "damaged")]
    assert all("file-1.bin" in p.message for p in problems)


def test_verify_repair_mends_every_version_and_none_keeps_the_damaged_inode(
    two_versions: Assets, tmp_path: Path
) -> None:
    two_versions.fetch("d:0.1")
    damaged = two_versions.fetch("d:0.0") / "file-1.bin"
    damaged.chmod(0o644)
    damaged.write_bytes(b"x" * 4096)
    held = os.open(damaged, os.O_RDONLY)  # keeps the damaged inode alive, to compare with
    try:
        bad = os.fstat(held).st_ino
        assert all(p.repaired for p in two_versions.verify(repair=True))
        assert two_versions.verify() == []
        assert tree(two_versions.fetch("d:0.0")) == tree(tmp_path / "v0")
        assert tree(two_versions.fetch("d:0.1")) == tree(tmp_path / "v1")
        for version in ("0.0", "0.1"):
            path = two_versions.fetch(f"d:{version}") / "file-1.bin"
            assert path.stat().st_ino != bad
    finally:
        os.close(held)


def test_a_file_whose_mode_differs_is_copied_not_hardlinked(
    make_assets: MakeAssets, tmp_path: Path
) -> None:
    """A hardlink shares the mode: the executable twin of a plain file gets its own inode,
    and neither version's mode changes."""
    assets = make_assets()
    plain = write(tmp_path / "a" / "tool", b"#!/bin/sh\n")
    assets.push(tmp_path / "a", "plain")
    first = assets.fetch("plain") / "tool"
    script = write(tmp_path / "b" / "tool", plain.read_bytes())
    script.chmod(0o755)
    assets.push(tmp_path / "b", "script")
    second = assets.fetch("script") / "tool"
    assert (first.stat().st_mode & 0o777, second.stat().st_mode & 0o777) == (0o444, 0o555)
    assert assets.verify() == []


def test_prune_of_a_nested_version_leaves_the_modes_of_the_files_it_shared(
    assets: Assets, tmp_path: Path
) -> None:
    """Removing a read-only tree needs its folders writable, never its files: a file there
    may be the very inode another version holds."""
    for version, extra in (("0.0", b""), ("0.1", b"new")):
        write(tmp_path / version / "deep" / "er" / "shared.bin", b"s" * 4096)
        write(tmp_path / version / "own.bin", b"o" * 10 + extra)
        assets.push(tmp_path / version, "n")
        assets.fetch(f"n:{version}")
    assets.prune(keep=1)
    shared = assets.fetch("n:0.1") / "deep" / "er" / "shared.bin"
    assert shared.stat().st_mode & 0o777 == 0o444
    assert assets.verify() == []
