"""A version fetched after another that shares all but one file: two requests at the wire
(its ``.meta``, then the changed object: nothing asks for ``.versions`` or an object's details
when the version is given in full), and the known files are placed while that object
downloads, not before."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from byte_counter import counting, through
from servers import Server, StoreUnderTest

from pytest_assets import Assets, fetch_reuse
from pytest_assets.store import Store

NAME = "team/delta"


def version(root: Path, changed: int | None) -> Path:
    root.mkdir(parents=True)
    for i in range(10):
        tag = f"{i}-changed" if i == changed else str(i)
        (root / f"part-{i}.bin").write_bytes((tag.encode() * 4096)[:4096])
    return root


@pytest.mark.servers
def test_a_version_after_another_costs_its_meta_and_its_changed_object(
    server: Server, server_store: StoreUnderTest, tmp_path: Path
) -> None:
    store = server_store
    pusher = Assets(
        store=store.url, cache_dir=tmp_path / "p", storage_options=store.storage_options
    )
    pusher.push(version(tmp_path / "v0", None), NAME)
    pusher.push(version(tmp_path / "v1", 3), NAME)
    with counting(server.port) as counter:
        options = through(store.storage_options, counter)
        Assets(store=store.url, cache_dir=tmp_path / "c", storage_options=options).fetch(
            f"{NAME}:0.0"
        )
        assets = Assets(store=store.url, cache_dir=tmp_path / "c", storage_options=options)
        counter.reset()
        path = assets.fetch(f"{NAME}:0.1")
        sent = [unquote(r.split(b"\r\n", 1)[0].decode("latin-1")) for r in counter.requests]
    sent = [line for line in sent if line.split(" ")[-1].startswith("HTTP/")]
    assert len(sent) == 2, sent
    assert "0.1.meta" in sent[0] and "0.1/part-3.bin" in sent[1], sent
    assert (path / "part-3.bin").read_bytes() == (tmp_path / "v1" / "part-3.bin").read_bytes()


def test_known_files_are_placed_while_the_new_ones_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Placing waits for the download to begin: one after the other, it would wait in vain."""
    store = str(tmp_path / "store")
    pusher = Assets(store=store, cache_dir=tmp_path / "p")
    pusher.push(version(tmp_path / "v0", None), NAME)
    pusher.push(version(tmp_path / "v1", 3), NAME)
    assets = Assets(store=store, cache_dir=tmp_path / "c")
    assets.fetch(f"{NAME}:0.0")
    downloading, overlapped = threading.Event(), []
    place, get_files = fetch_reuse.place, Store.get_files

    def place_(*args: Any, **kwargs: Any) -> str:
        if not overlapped:
            overlapped.append(downloading.wait(10))
        return place(*args, **kwargs)

    def get_files_(self: Store, pairs: Any, *args: Any) -> Any:
        downloading.set()
        return get_files(self, pairs, *args)

    monkeypatch.setattr(fetch_reuse, "place", place_)
    monkeypatch.setattr(Store, "get_files", get_files_)
    path = assets.fetch(f"{NAME}:0.1")
    assert overlapped == [True]
    assert (path / "part-3.bin").read_bytes() == (tmp_path / "v1" / "part-3.bin").read_bytes()
    assert assets.verify() == []
