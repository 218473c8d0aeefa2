"""Push without re-sending: a new version's files that the version it follows already holds
(same sha256 and size) are copied inside the store, counted at the wire on both servers;
every version stays self-contained (modelkit reads it byte-identically)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest
from byte_counter import counting, through
from servers import Server, StoreUnderTest

from pytest_assets import Assets
from pytest_assets.manifest import sha256_file

NAME = "models/big"
FILES, SIZE = 20, 64 * 1024  # 1.25 MB of unchanged files; one small one changes


def make_source(root: Path) -> Path:
    for i in range(FILES):
        path = root / f"part-{i % 3}" / f"file-{i:02}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(hashlib.sha256(str(i).encode()).digest() * (SIZE // 32))
    (root / "config.json").write_text('{"lr": 0.1}')
    return root


def change_one(root: Path) -> None:
    (root / "config.json").write_text('{"lr": 0.2}')
    (root / "notes.txt").write_text("new\n")


def tree(path: Path) -> dict[str, str]:
    return {
        p.relative_to(path).as_posix(): sha256_file(p)[1] for p in path.rglob("*") if p.is_file()
    }


@pytest.mark.servers
def test_a_new_version_sends_only_the_bytes_of_what_changed(
    server: Server, server_store: StoreUnderTest, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src")
    with counting(server.port) as counter:
        options = through(server_store.storage_options, counter)
        assets = Assets(store=server_store.url, cache_dir=tmp_path / "c", storage_options=options)
        assets.push(source, NAME)
        full = counter.sent
        change_one(source)
        counter.reset()
        report = assets.push_report(source, NAME)
        again = counter.sent
    total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    assert full > total  # the first push sent everything
    assert again < total * 0.05, f"sent {again} bytes of a {total}-byte asset"
    assert report.reuse is not None
    assert report.reuse.summary() == "1 changed, 20 unchanged (copied in the store), 1 added"
    fresh = Assets(
        store=server_store.url,
        cache_dir=tmp_path / "r",
        storage_options=server_store.storage_options,
    )
    assert tree(fresh.fetch(f"{NAME}:0.1")) == tree(source)
    assert fresh.verify() == []


@pytest.mark.servers
def test_copies_ask_the_server_to_create_only(
    server: Server, server_store: StoreUnderTest, tmp_path: Path
) -> None:
    """S3 CopyObject carries ``If-None-Match: *``, a GCS rewrite ``ifGenerationMatch=0`` (moto
    and the emulator ignore both; the version's claim is what guards the copies there)."""
    source = make_source(tmp_path / "src")
    with counting(server.port) as counter:
        options = through(server_store.storage_options, counter)
        assets = Assets(store=server_store.url, cache_dir=tmp_path / "c", storage_options=options)
        assets.push(source, NAME)
        change_one(source)
        counter.reset()
        assets.push(source, NAME)
        sent = [r.lower() for r in counter.requests]
    if server.kind == "s3":
        copies = [r for r in sent if b"x-amz-copy-source:" in r]
        assert len(copies) == FILES and all(b"if-none-match: *" in r for r in copies)
    else:
        copies = [r for r in sent if b"/rewriteto/" in r]
        assert len(copies) == FILES and all(b"ifgenerationmatch=0" in r for r in copies)


def test_a_directory_store_copies_known_files_as_files_of_their_own(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    source = make_source(tmp_path / "src")
    assets = Assets(store=str(store), cache_dir=tmp_path / "c")
    assets.push(source, NAME)
    change_one(source)
    report = assets.push_report(source, NAME)
    assert report.reuse is not None
    assert report.reuse.summary() == "1 changed, 20 unchanged (copied in the store), 1 added"
    old, new = (
        store / NAME / "0.0" / "part-0" / "file-00.bin",
        store / NAME / "0.1" / "part-0" / "file-00.bin",
    )
    assert new.read_bytes() == old.read_bytes()
    assert os.stat(new).st_ino != os.stat(old).st_ino  # a copy, not a link: self-contained
    assert tree(Assets(store=str(store), cache_dir=tmp_path / "r").fetch(f"{NAME}:0.1")) == tree(
        source
    )


def test_an_original_damaged_in_the_store_is_not_copied_but_uploaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    source = make_source(tmp_path / "src")
    assets = Assets(store=str(store), cache_dir=tmp_path / "c")
    assets.push(source, NAME)
    damaged = store / NAME / "0.0" / "part-1" / "file-01.bin"
    damaged.write_bytes(b"x" * SIZE)  # same size, other bytes
    change_one(source)
    report = assets.push_report(source, NAME)
    assert report.reuse is not None
    assert report.reuse.summary() == "1 changed, 20 unchanged (19 copied in the store), 1 added"
    fetched = Assets(store=str(store), cache_dir=tmp_path / "r").fetch(f"{NAME}:0.1")
    assert tree(fetched) == tree(source)
    assert "1 file(s) of models/big:0.0 differ in the store" in caplog.text


def test_a_file_asset_whose_content_returns_is_copied(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    model = tmp_path / "model.bin"
    assets = Assets(store=str(store), cache_dir=tmp_path / "c")
    model.write_bytes(b"weights" * 1000)
    assets.push(model, "m")
    report = assets.push_report(model, "m", allow_identical=True)
    assert report.reuse is not None
    assert report.reuse.summary() == "1 unchanged (copied in the store)"
    assert (store / "m" / "0.1").read_bytes() == model.read_bytes()


def test_a_backend_without_server_side_copy_uploads_and_says_so(tmp_path: Path) -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    class NoCopy(MemoryFileSystem):  # type: ignore[misc]
        protocol = "nocopy"
        cp_file = fsspec.AbstractFileSystem.cp_file

    fsspec.register_implementation("nocopy", NoCopy, clobber=True)
    source = make_source(tmp_path / "src")
    assets = Assets(store="nocopy://store-without-copy", cache_dir=tmp_path / "c")
    try:
        assets.push(source, NAME)
        change_one(source)
        report = assets.push_report(source, NAME)
        assert report.reuse is not None
        assert "20 unchanged (uploaded again: nocopy:// has no server-side copy)" in (
            report.reuse.summary()
        )
        assert tree(assets.fetch(f"{NAME}:0.1")) == tree(source)
    finally:
        NoCopy.store.clear()
        NoCopy.pseudo_dirs[:] = [""]


def test_a_version_pushed_with_copies_is_fetched_byte_identically_by_modelkit(
    tmp_path: Path,
) -> None:
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    ours = Assets(store=str(bucket / "modelkit-assets"), cache_dir=tmp_path / "cache")
    source = make_source(tmp_path / "src")
    ours.push(source, NAME)
    change_one(source)
    assert ours.push(source, NAME).version == "0.1"
    (tmp_path / "mk").mkdir()
    data = Path(__file__).parent / "data" / "modelkit_fetch.py"
    args = [str(bucket), "modelkit-assets", str(tmp_path / "mk"), f"{NAME}:0.1"]
    result = subprocess.run(
        [sys.executable, str(data), *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)[f"{NAME}:0.1"]["sha256"] == tree(source)


def test_a_copy_never_replaces_an_object_already_there(tmp_path: Path) -> None:
    """Copies are create-only: a stranger's object at the target makes the copy fail."""
    from pytest_assets.manifest import FileEntry
    from pytest_assets.store import Store
    from pytest_assets.store_copy import Copy, copy_objects

    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a").write_bytes(b"original")
    (tmp_path / "s" / "b").write_bytes(b"taken")
    store = Store(str(tmp_path / "s"))
    entry = FileEntry("", 8, hashlib.sha256(b"original").hexdigest())
    copy = Copy(store.path("a"), store.path("b"), entry)
    with pytest.raises(FileExistsError):
        copy_objects(store, [copy], "copying")
    assert (tmp_path / "s" / "b").read_bytes() == b"taken"
