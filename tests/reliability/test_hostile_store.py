"""Hostile input 2, a hostile store: ``.meta`` files whose ``contents`` try to climb out of the
version (``../../x``, absolute paths, backslashes, drive letters, duplicates, a file that is
also a folder, control characters, wrong types), ``.versions`` files that are not JSON or list
versions that do not parse, and version objects of the wrong kind. Each is refused with a clear
error (an AssetsError naming the store file at fault), and nothing is written anywhere outside
the cache's bookkeeping: no file of the version, no record, no download folder left."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from servers import StoreUnderTest

from pytest_assets import Assets, AssetsError, IntegrityError, StoreError

from ._helpers import snapshot

pytestmark = pytest.mark.reliability

NAME = "evil/asset"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """tmp_path holds the store, the cache and the bait files an escape would overwrite."""
    (tmp_path / "store" / "evil").mkdir(parents=True)
    (tmp_path / "bait.txt").write_text("untouched")
    return tmp_path


def _write_version(store: Path, meta: Any, objects: dict[str, bytes]) -> None:
    """A version 0.0 with this .meta (raw bytes if given bytes) and these objects, listed."""
    version_dir = str(store / NAME / "0.0")
    for rel, data in objects.items():
        target = Path(os.path.normpath(version_dir + "/" + rel))
        if rel.startswith("/") or not target.is_relative_to(store):
            continue  # the bait outside the store stays as it is
        with contextlib.suppress(OSError):  # e.g. "a" and "a/b": the first one wins
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    (store / "evil" / "asset").mkdir(parents=True, exist_ok=True)
    (store / "evil" / "asset" / "0.0.meta").write_bytes(raw)
    (store / "evil" / "asset.versions").write_text(json.dumps({"versions": ["0.0"]}))


def _refused(world: Path, spec: str, error: type[AssetsError] = StoreError) -> str:
    """Fetch must raise ``error``; nothing may appear outside the cache, and inside it only
    bookkeeping (lock files, the cache tag, empty folders): no data, no record, no temp."""
    before = snapshot(world)
    assets = Assets(store=str(world / "store"), cache_dir=world / "cache")
    with pytest.raises(error) as failure:
        assets.fetch(spec)
    created = snapshot(world) - before
    outside = [p for p in created if not p.startswith("cache")]
    assert outside == [], f"written outside the cache: {outside}"
    files = [p for p in created if (world / p).is_file()]
    allowed = ("cache/CACHEDIR.TAG", "cache/.pytest-assets/locks/")
    assert [p for p in files if not p.startswith(allowed)] == [], files
    assert (world / "bait.txt").read_text() == "untouched"
    assert assets.verify() == []
    return str(failure.value)


def _dir_meta(contents: Any) -> dict[str, Any]:
    return {"push_date": "2024-01-01T00:00:00+00:00", "is_directory": True, "contents": contents}


BAD_CONTENTS = {
    "parent climb": ["../../bait.txt"],
    "climb to the bait beside the cache": ["../../../../../bait.txt"],
    "climb in the middle": ["sub/../../../bait.txt"],
    "absolute path": ["/{world}/bait.txt"],
    "backslashes": ["..\\..\\bait.txt"],
    "backslash inside a name": ["sub\\file.txt"],
    "drive letter": ["C:/bait.txt"],
    "dot segment": ["./file.txt"],
    "empty segment": ["sub//file.txt"],
    "empty name": [""],
    "control character": ["file\n.txt"],
    "duplicate names": ["file.txt", "file.txt"],
    "file that is also a folder": ["file.txt", "file.txt/inner.txt"],
    "not a string": [123],
    "null": [None],
}


@pytest.mark.parametrize("case", sorted(BAD_CONTENTS))
def test_meta_with_unsafe_contents_is_refused_before_anything_is_written(
    world: Path, case: str
) -> None:
    """Input: a directory version whose .meta ``contents`` holds an unsafe entry (the store
    even holds objects at the paths it points to, so a careless client would copy them).
    Must hold: StoreError naming the .meta and the entry; nothing written outside the cache
    and no file of the version in it; the bait file beside the cache is untouched."""
    contents = [
        c.replace("{world}", str(world).lstrip("/")) if isinstance(c, str) else c
        for c in BAD_CONTENTS[case]
    ]
    objects = {"file.txt": b"fine"}
    for entry in contents:
        if isinstance(entry, str) and entry and "\n" not in entry and entry != "file.txt":
            objects[entry] = b"hostile"
    _write_version(world / "store", _dir_meta(contents), objects)
    message = _refused(world, f"{NAME}:0.0")
    assert "evil/asset/0.0.meta" in message
    assert any(word in message for word in ("unsafe", "twice", "both a file and a folder", "not"))


BAD_META = {
    "not JSON": b'{"is_directory": true, "contents": ["a"',
    "not an object": b'["a", "b"]',
    "a string": b'"hello"',
    "empty": b"",
    "is_directory not a boolean": json.dumps({"is_directory": "yes", "contents": ["a"]}).encode(),
    "contents not a list": json.dumps(_dir_meta("a")).encode(),
    "contents a mapping": json.dumps(_dir_meta({"../x": 1})).encode(),
}


@pytest.mark.parametrize("case", sorted(BAD_META))
def test_meta_that_is_not_a_manifest_is_refused(world: Path, case: str) -> None:
    """Input: a .meta that is not JSON, not an object, empty, or has the wrong types. Must
    hold: StoreError naming the .meta; nothing written outside the cache's bookkeeping."""
    _write_version(world / "store", BAD_META[case], {"a": b"data"})
    message = _refused(world, f"{NAME}:0.0")
    assert "evil/asset/0.0.meta" in message or "0.0.meta" in message, message


BAD_VERSIONS = {
    "not JSON": b'{"versions": ["0.0"',
    "a list": b'["0.0"]',
    "versions a string": b'{"versions": "0.0"}',
    "a number listed": b'{"versions": [1]}',
    "null listed": b'{"versions": ["0.0", null]}',
    "a climbing version": b'{"versions": ["../../bait"]}',
    "an incomplete version": b'{"versions": ["1"]}',
    "a word": b'{"versions": ["latest"]}',
    "three parts": b'{"versions": ["1.2.3"]}',
    "binary": b"\xff\xfe\x00garbage",
}


@pytest.mark.parametrize("case", sorted(BAD_VERSIONS))
def test_versions_file_that_is_damaged_is_refused(world: Path, case: str) -> None:
    """Input: a ``.versions`` that is not JSON, not of the form {"versions": [...]}, or lists
    versions that do not parse under major_minor (numbers, null, ``../../bait``, ``1``,
    ``latest``, ``1.2.3``). Must hold: resolving the latest version, listing the versions and
    pushing a new one all raise StoreError naming ``evil/asset.versions``; nothing written
    outside the cache; the broken file is left as it was for a person to repair."""
    _write_version(world / "store", _dir_meta(["a"]), {"a": b"data"})
    versions_file = world / "store" / "evil" / "asset.versions"
    versions_file.write_bytes(BAD_VERSIONS[case])
    message = _refused(world, NAME)
    assert "evil/asset.versions" in message, message
    assets = Assets(store=str(world / "store"), cache_dir=world / "cache")
    with pytest.raises(StoreError, match=r"asset\.versions"):
        assets.versions(NAME)
    (world / "new.txt").write_text("new")
    with pytest.raises(StoreError, match=r"asset\.versions"):
        assets.push(world / "new.txt", NAME)
    assert versions_file.read_bytes() == BAD_VERSIONS[case]


def test_file_version_that_is_a_folder_in_the_store_is_refused(world: Path) -> None:
    """Input: .meta says the version is a single file, but the store holds a folder there.
    Must hold: StoreError saying it is a folder where .meta says file; nothing cached."""
    meta = {"push_date": "2024-01-01T00:00:00+00:00", "is_directory": False, "size": 4}
    _write_version(world / "store", meta, {"inner.txt": b"data"})
    message = _refused(world, f"{NAME}:0.0")
    assert "folder" in message and "single file" in message, message


def _special(path: Path, kind: str) -> None:
    if kind == "a device":
        path.symlink_to("/dev/zero")  # read to its end, it never ends: the disk would fill
    else:
        os.mkfifo(path)  # opened for reading, it waits for a writer: the fetch would hang


@pytest.mark.parametrize("kind", ["a device", "a FIFO"])
@pytest.mark.parametrize("shape", ["single file", "file of a folder"])
def test_version_object_that_is_a_device_or_a_fifo_is_refused_without_reading_it(
    world: Path, kind: str, shape: str
) -> None:
    """Input: a careless or hostile directory store where a version's object is a link to
    /dev/zero, or a FIFO. Must hold: StoreError naming the asset, the object and what it is, at
    once (no hang, no disk filled); nothing cached."""
    store = world / "store"
    if shape == "single file":
        meta = {"push_date": "2024-01-01T00:00:00+00:00", "is_directory": False, "size": 4}
        _write_version(store, meta, {})
        target = store / NAME / "0.0"
    else:
        _write_version(store, _dir_meta(["a", "b"]), {"a": b"data"})
        target = store / NAME / "0.0" / "b"
    _special(target, kind)
    message = _refused(world, f"{NAME}:0.0")
    assert f"{NAME}:0.0" in message and str(target) in message, message
    assert f"is {kind}, not a regular file" in message, message


def test_folder_version_that_is_a_file_in_the_store_is_refused(world: Path) -> None:
    """Input: .meta says the version is a folder holding ``a``, but the store holds a single
    file at the version's path. Must hold: IntegrityError naming the missing object ``a``;
    nothing cached."""
    _write_version(world / "store", _dir_meta(["a"]), {})
    (world / "store" / NAME / "0.0").write_bytes(b"a file")
    message = _refused(world, f"{NAME}:0.0", IntegrityError)
    assert "(a)" in message, message


@pytest.mark.servers
def test_file_version_that_is_a_folder_on_s3_is_refused(
    s3_store: StoreUnderTest, tmp_path: Path
) -> None:
    """Input: on the moto S3 server, .meta says single file but only objects below the
    version's path exist (a "folder"). Must hold: StoreError saying it is a folder; nothing
    cached."""
    assets = Assets(s3_store.url, tmp_path / "cache", storage_options=s3_store.storage_options)
    fs, store = assets.store.fs, assets.store
    meta = {"push_date": "2024-01-01T00:00:00+00:00", "is_directory": False, "size": 4}
    fs.pipe_file(store.meta_path(NAME, "0.0"), json.dumps(meta).encode())
    fs.pipe_file(store.path(NAME, "0.0", "inner.txt"), b"data")
    fs.pipe_file(store.versions_path(NAME), b'{"versions": ["0.0"]}')
    with pytest.raises(StoreError) as failure:
        assets.fetch(f"{NAME}:0.0")
    assert "folder" in str(failure.value), failure.value
    assert list(assets.cache.entries()) == []
    assert list((assets.cache.books / "tmp").iterdir()) == []
