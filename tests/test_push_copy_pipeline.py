"""How a copying push spends its round trips: the copies run alongside the uploads, the
originals are listed while the version is claimed, the biggest file is copied first in one
request, and no listing of the new version waits after the last copy. Requests are read at
the wire (tests/byte_counter.py) on both servers; order, never time."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from byte_counter import counting, through
from servers import Server, StoreUnderTest

from pytest_assets import Assets, push_reuse, store_copy
from pytest_assets.store import Store

NAME = "models/pipeline"
BIG = 9 * 1024 * 1024  # above the multipart threshold: pushed in parts, copied whole


def make_source(root: Path, *, big: bool = False) -> Path:
    for i in range(12):
        path = root / "part" / f"file-{i:02}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(hashlib.sha256(str(i).encode()).digest() * 256)
    if big:
        (root / "weights.bin").write_bytes(hashlib.sha256(b"w").digest() * (BIG // 32))
    (root / "config.json").write_text('{"lr": 0.1}')
    return root


def lines(counter: Any) -> list[str]:
    """Each request's method and decoded target, in the order the client sent them."""
    out = []
    for chunk in counter.requests:
        first = chunk.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        if len(first) == 3 and first[2].startswith("HTTP/"):
            out.append(f"{first[0]} {unquote(first[1])}")
    return out


def copies(counter: Any) -> list[str]:
    """The copy requests, by their request line alone (a chunk may end before the headers):
    GCS rewrites, and on S3 the PUTs into the new version other than the changed file's."""
    return [
        line
        for line in lines(counter)
        if "/rewriteTo/" in line
        or (line.startswith("PUT ") and "/0.1/" in line and "config.json" not in line)
    ]


def push_twice(server: Server, store: StoreUnderTest, tmp_path: Path, *, big: bool) -> Any:
    """Push a folder, change its config, reset the counter and push it again (copying)."""
    source = make_source(tmp_path / "src", big=big)
    with counting(server.port) as counter:
        options = through(store.storage_options, counter)
        assets = Assets(store=store.url, cache_dir=tmp_path / "c", storage_options=options)
        assets.push(source, NAME)
        (source / "config.json").write_text('{"lr": 0.2}')
        counter.reset()
        assert str(assets.push(source, NAME)) == f"{NAME}:0.1"
    return counter


@pytest.mark.servers
def test_the_originals_are_listed_while_the_version_is_claimed(
    server: Server, server_store: StoreUnderTest, tmp_path: Path
) -> None:
    sent = lines(push_twice(server, server_store, tmp_path, big=False))
    listing = next(i for i, line in enumerate(sent) if line.startswith("GET ") and "0.0/" in line)
    read_back = next(
        i for i, line in enumerate(sent) if line.startswith("GET ") and "0.1.claim" in line
    )
    assert listing < read_back, sent  # sent before the claim came back, not after it


@pytest.mark.servers
def test_no_listing_of_the_new_version_waits_after_the_copies(
    server: Server, server_store: StoreUnderTest, tmp_path: Path
) -> None:
    """Each copy is vouched for by its own answer (ETag, crc32c and size), not by a listing
    of the new version once they are all made."""
    sent = lines(push_twice(server, server_store, tmp_path, big=False))
    assert not [line for line in sent if line.startswith("GET ") and "0.1/" in line], sent


@pytest.mark.servers
def test_a_big_file_pushed_in_parts_is_copied_first_in_one_request(
    server: Server, server_store: StoreUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One copy at a time: the order they start in is the order at the wire (with 13 at
    # once, a busy machine may let a small one's request out first).
    monkeypatch.setattr(store_copy, "_AT_ONCE", 1)
    counter = push_twice(server, server_store, tmp_path, big=True)
    made = copies(counter)
    assert len(made) == 13  # 12 small files and the big one, one request each
    assert "weights.bin" in made[0], made[:3]
    if server.kind == "s3":  # its multipart ETag vouches for nothing: its size is asked
        heads = [line for line in lines(counter) if line.startswith("HEAD ")]
        assert [h for h in heads if "0.1/weights.bin" in h], heads


def test_the_copies_run_while_the_new_files_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copies wait for the upload to begin: pushed one after the other, they would wait
    in vain."""
    store = tmp_path / "store"
    store.mkdir()
    source = make_source(tmp_path / "src")
    assets = Assets(store=str(store), cache_dir=tmp_path / "c")
    assets.push(source, NAME)
    (source / "config.json").write_text('{"lr": 0.2}')
    uploading, overlapped = threading.Event(), []
    copy_objects, put_files = push_reuse.copy_objects, Store.put_files

    def copy_objects_(*args: Any) -> Any:
        overlapped.append(uploading.wait(10))
        return copy_objects(*args)

    def put_files_(self: Store, pairs: Any, *args: Any) -> Any:
        uploading.set()
        return put_files(self, pairs, *args)

    monkeypatch.setattr(push_reuse, "copy_objects", copy_objects_)
    monkeypatch.setattr(Store, "put_files", put_files_)
    assets.push(source, NAME)
    assert overlapped == [True]
    assert (store / NAME / "0.1" / "config.json").read_text() == '{"lr": 0.2}'
