"""A big fetch that stops inside a range resumes from inside it, on moto and the GCS emulator:
state.json records each range's progress as its chunks are written, not only finished ranges.
The link is dropped by tests/byte_proxy.py, which also counts what the resumed fetch asks for
and reads.

Ranges are 256 KB read in 16 KB chunks, progress saved after every chunk.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from byte_proxy import ByteProxy, counting
from servers import StoreUnderTest

from pytest_assets import Assets, AssetsError, ranged
from pytest_assets.store import version_of

pytestmark = pytest.mark.servers

KB = 1024
RANGE = 256 * KB
SIZE = 4 * RANGE
SLACK = 64 * KB  # what a fetch reads besides the object: .meta, listings, headers


@pytest.fixture(autouse=True)
def _small_ranges_saved_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranged, "BIG_OBJECT_BYTES", 2 * RANGE)
    monkeypatch.setattr(ranged, "RANGE_BYTES", RANGE)
    monkeypatch.setattr(ranged, "CHUNK_BYTES", 16 * KB)
    monkeypatch.setattr(ranged, "STATE_BYTES", 1)
    monkeypatch.setattr(ranged, "STATE_PARTS", SIZE)


@pytest.fixture(params=["gcs", "s3"])
def link(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[StoreUnderTest, ByteProxy]]:
    """``big:0.0`` pushed straight to the server; the store again behind a counting proxy."""
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    source = tmp_path / "big.bin"
    source.write_bytes(bytes((i * 11 + i // 307) % 256 for i in range(SIZE)))
    Assets(
        store=store.url, cache_dir=tmp_path / "pusher", storage_options=store.storage_options
    ).push(source, "big")
    with counting(store) as proxied:
        yield proxied


def one_stream(store: StoreUnderTest, tmp_path: Path) -> Assets:
    return Assets(
        store=store.url,
        cache_dir=tmp_path / "cache",
        storage_options=store.storage_options,
        max_connections=1,  # one stream over the whole object, in order
    )


def test_a_fetch_cut_inside_a_range_resumes_from_the_last_saved_chunk(
    link: tuple[StoreUnderTest, ByteProxy], tmp_path: Path
) -> None:
    store, proxy = link
    proxy.reset()
    proxy.cut_after = RANGE + RANGE // 2  # the link drops halfway through the second range
    with pytest.raises(AssetsError):
        one_stream(store, tmp_path).fetch("big:0.0")
    proxy.reset()
    assets = one_stream(store, tmp_path)
    state = json.loads((assets.cache.partial_path("big", "0.0", "") / "state.json").read_text())
    assert state["done"] == [0]
    offset = RANGE + state["partly"]["1"]
    assert RANGE < offset < 2 * RANGE

    path = assets.fetch("big:0.0")
    traffic = proxy.reset()
    assert path.read_bytes() == (tmp_path / "big.bin").read_bytes()
    assert traffic.ranges == [(offset, SIZE)]  # from inside the range, nothing kept again
    assert traffic.down < SIZE - offset + SLACK
    assert assets.verify() == []


def test_a_partial_missing_only_the_tail_of_its_last_range_reads_only_that_tail(
    link: tuple[StoreUnderTest, ByteProxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream, set to split at once, finishes in its first chunk: nothing left to split."""
    monkeypatch.setattr(ranged, "PROBE_SECONDS", 0)
    monkeypatch.setattr(ranged, "should_split", lambda *_: True)
    store, proxy = link
    assets = Assets(
        store=store.url, cache_dir=tmp_path / "cache", storage_options=store.storage_options
    )
    version = version_of(assets.store.fs.info(assets.store.object_path("big", "0.0")))
    assert version is not None
    source = (tmp_path / "big.bin").read_bytes()
    tail = SIZE - 1000
    partial = assets.cache.partial_path("big", "0.0", "")
    partial.mkdir(parents=True)
    (partial / "data").write_bytes(source[:tail] + bytes(SIZE - tail))
    state = {"format": 1, "size": SIZE, "token": version.token, "range_bytes": RANGE}
    state |= {"done": [0, 1, 2], "partly": {"3": tail - 3 * RANGE}}
    (partial / "state.json").write_text(json.dumps(state))

    proxy.reset()
    assert assets.fetch("big:0.0").read_bytes() == source
    assert proxy.reset().ranges == [(tail, SIZE)]


class StoppingBody:
    """A response body that fails as a dropped connection does once the engine was given
    ``left["bytes"]`` over all bodies (a little more: reads already waiting finish);
    ``left["given"]`` counts what it was given."""

    def __init__(self, body: Any, left: dict[str, int]) -> None:
        self.body, self.left = body, left

    async def read(self, n: int = -1) -> bytes:
        if self.left["bytes"] <= 0:
            raise ConnectionResetError("the link dropped (test)")
        data: bytes = await self.body.read(min(n, self.left["bytes"]))
        self.left["bytes"] -= len(data)
        self.left["given"] += len(data)
        return data


def test_a_fetch_stopped_with_ranges_in_flight_keeps_every_byte_each_of_them_wrote(
    link: tuple[StoreUnderTest, ByteProxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every stream splits at once, so the ranges after the first are read in parallel; the
    fetch stops after half the object and 8 KB (so some range is cut inside). The partial
    records every byte written, and the next fetch asks for none of them."""
    monkeypatch.setattr(ranged, "PROBE_SECONDS", 0)
    monkeypatch.setattr(ranged, "should_split", lambda *_: True)
    left = {"bytes": SIZE // 2 + 8 * KB, "given": 0}
    real = ranged.pinned_range

    @asynccontextmanager
    async def stopping(*args: Any) -> AsyncIterator[StoppingBody]:
        async with real(*args) as body:
            yield StoppingBody(body, left)

    store, proxy = link
    assets = Assets(
        store=store.url, cache_dir=tmp_path / "cache", storage_options=store.storage_options
    )
    monkeypatch.setattr(ranged, "pinned_range", stopping)
    with pytest.raises(AssetsError):
        assets.fetch("big:0.0")
    monkeypatch.setattr(ranged, "pinned_range", real)
    state = json.loads((assets.cache.partial_path("big", "0.0", "") / "state.json").read_text())
    kept = [(i * RANGE, (i + 1) * RANGE) for i in state["done"]]
    kept += [(int(i) * RANGE, int(i) * RANGE + n) for i, n in state["partly"].items()]
    assert sum(end - start for start, end in kept) == left["given"]

    proxy.reset()
    again = Assets(  # the first one leaves a store it could not reach alone for a while
        store=store.url, cache_dir=tmp_path / "cache", storage_options=store.storage_options
    )
    assert again.fetch("big:0.0").read_bytes() == (tmp_path / "big.bin").read_bytes()
    asked = {(start, end) for start, end in proxy.reset().ranges}
    assert not any(s < k_end and k_start < e for s, e in asked for k_start, k_end in kept)


def test_a_partial_left_in_a_shared_cache_is_the_groups_to_resume(
    link: tuple[StoreUnderTest, ByteProxy], tmp_path: Path
) -> None:
    """In a cache whose root is group-writable (a cache shared by the users of one machine),
    what a stopped fetch keeps is too, whatever the umask: another user's fetch goes on
    from it (tests/test_multi_user_cache.py has the users)."""
    store, proxy = link
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache").chmod(0o2775)
    proxy.reset()
    proxy.cut_after = RANGE + RANGE // 2
    with pytest.raises(AssetsError):
        one_stream(store, tmp_path).fetch("big:0.0")
    partial = one_stream(store, tmp_path).cache.partial_path("big", "0.0", "")
    modes = {p.name: oct(p.stat().st_mode & 0o7777) for p in [partial, *partial.iterdir()]}
    assert modes == {partial.name: "0o2775", "data": "0o664", "state.json": "0o664"}
