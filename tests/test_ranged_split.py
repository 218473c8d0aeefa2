"""When a big object's stream hands its tail to parallel ranges, and how many connections a
download holds: on moto and the GCS emulator, through benchmarks/delay_proxy.py where a slow
link matters (it caps what one connection carries, as a cloud store does).

Ranges are 128 KB (the threshold lowered to match), so a 1 MB object has eight; the rule's own
numbers (:data:`ranged.PROBE_SECONDS`, :data:`ranged.SPLIT_SECONDS_LEFT`) stay the defaults.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ranged_reads import RangedReads, count_ranged_reads
from servers import HOST, StoreUnderTest

from pytest_assets import Assets, ranged

pytestmark = pytest.mark.servers

MB = 1024 * 1024
RANGE = 128 * 1024
SLOW = 256 * 1024  # bytes/s one connection carries through the proxy: 0.5 s a range, so a
# first byte slowed by a loaded machine still comes sooner than a range
_PROXY = Path(__file__).parent.parent / "benchmarks" / "delay_proxy.py"


@pytest.fixture(params=["gcs", "s3"])
def remote(request: pytest.FixtureRequest) -> StoreUnderTest:
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    return store


@pytest.fixture(autouse=True)
def _small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranged, "BIG_OBJECT_BYTES", 4 * RANGE)
    monkeypatch.setattr(ranged, "RANGE_BYTES", RANGE)
    monkeypatch.setattr(ranged, "CHUNK_BYTES", 32 * 1024)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> RangedReads:
    return count_ranged_reads(monkeypatch, RANGE)


class InFlight:
    """HTTP requests open at once to ``port``: a connection taken from aiohttp's pool until
    the response gives it back (read to its end, or closed)."""

    def __init__(self) -> None:
        self.now = self.most = self.port = 0

    def taken(self) -> None:
        self.now += 1
        self.most = max(self.most, self.now)

    def given_back(self) -> None:
        self.now -= 1


@pytest.fixture
def in_flight(monkeypatch: pytest.MonkeyPatch) -> InFlight:
    import aiohttp

    counter = InFlight()
    connect = aiohttp.BaseConnector.connect

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        connection = await connect(self, *args, **kwargs)
        if args[0].url.port == counter.port:
            counter.taken()
            connection.add_callback(counter.given_back)
        return connection

    monkeypatch.setattr(aiohttp.BaseConnector, "connect", counted)
    return counter


def _delay_proxy() -> Any:
    """benchmarks/delay_proxy.py as a module (benchmarks is no package)."""
    if "delay_proxy" not in sys.modules:
        spec = importlib.util.spec_from_file_location("delay_proxy", _PROXY)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["delay_proxy"] = module  # its dataclasses look themselves up there
        spec.loader.exec_module(module)
    return sys.modules["delay_proxy"]


class Proxy:
    """delay_proxy's DelayProxy on a thread of its own."""

    def __init__(self, upstream: tuple[str, int], conn_rate: float) -> None:
        self.proxy = _delay_proxy().DelayProxy(upstream, 0.005, conn_rate=conn_rate)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.port: int = self.server.sockets[0].getsockname()[1]

    async def _start(self) -> Any:
        return await asyncio.start_server(self.proxy._handle, HOST, 0)

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def slow_link(
    remote: StoreUnderTest, in_flight: InFlight
) -> Iterator[tuple[Proxy, StoreUnderTest]]:
    """The store again, through a proxy that carries :data:`SLOW` per connection (requests
    through it are counted in flight)."""
    options = remote.storage_options
    endpoint = str(options.get("endpoint_url") or options["client_kwargs"]["endpoint_url"])
    port = endpoint.rpartition(":")[2]
    proxy = Proxy((HOST, int(port)), SLOW)
    in_flight.port = proxy.port
    proxied = endpoint.replace(f":{port}", f":{proxy.port}")
    if "endpoint_url" in options:
        options = {**options, "endpoint_url": proxied}
    else:
        options = {
            **options,
            "client_kwargs": {**options["client_kwargs"], "endpoint_url": proxied},
        }
    try:
        yield proxy, StoreUnderTest(remote.url, options)
    finally:
        proxy.close()


def make_assets(store: StoreUnderTest, tmp_path: Path, max_connections: int = 64) -> Assets:
    return Assets(
        store=store.url,
        cache_dir=tmp_path / "cache",
        storage_options=store.storage_options,
        max_connections=max_connections,
    )


def data_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes((i * 13 + i // 509) % 256 for i in range(size)))
    return path


def fetch_until_split(
    remote: StoreUnderTest, slow: StoreUnderTest, tmp_path: Path, reads: RangedReads
) -> None:
    """Push a 1 MB object straight to the server, fetch it through the slow link: it must come
    in parallel ranges. The rule reads the link from our side: a test process stalled for a
    moment (the other xdist worker on 2 cores) finds the buffered bytes waiting and a late
    first byte, and takes the link for fast. So up to three fresh fetches; one must split."""
    source = data_file(tmp_path / "src" / "big.bin", 8 * RANGE)
    make_assets(remote, tmp_path / "push").push(source, "big")
    for attempt in range(3):
        reads.seen.clear()
        fetched = make_assets(slow, tmp_path / f"try-{attempt}").fetch("big:0.0")
        assert fetched.read_bytes() == source.read_bytes()
        if len(reads.seen) > 1:
            break
    reads.assert_split(8 * RANGE)


# -- the rule, in the numbers that were measured ------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "left", "first_byte", "connections", "split"),
    [
        (4 * MB, 250 * MB, 0.04, 12, True),  # the capped link: one connection carries 4 MB/s
        (85 * MB, 1024 * MB, 0.03, 12, True),  # S3's ~85 MB/s a connection, a 1 GB object
        (530 * MB, 150 * MB, 0.002, 12, False),  # loopback: the rest takes 0.3 s in the stream
        (530 * MB, 9 * 1024 * MB, 0.1, 12, False),  # a range carries in 15 ms, answers in 0.1 s
        (4 * MB, 250 * MB, 0.04, 1, False),  # a budget of one connection
    ],
    ids=["capped-link", "s3-per-connection", "loopback", "request-bound", "one-connection"],
)
def test_the_stream_splits_only_where_one_connection_is_slow_for_what_is_left(
    rate: float, left: int, first_byte: float, connections: int, split: bool
) -> None:
    assert ranged.should_split(rate, left, first_byte, 8 * MB, connections) is split


@pytest.mark.parametrize(
    ("rate", "left", "split"),
    [
        (4 * MB, 63 * MB, True),  # the capped link, 64 MB: 16 s left in one stream
        (4 * MB, 15 * MB, False),  # 16 MB on it: under 4 s, the whole probe decides
        (40 * MB, 250 * MB, True),  # 6 s left
        (60 * MB, 200 * MB, False),  # 3.3 s: the whole probe decides
        (530 * MB, 200 * MB, False),  # loopback, 256 MB after 0.1 s in
        (53 * MB, 200 * MB, False),  # loopback seen ten times slower (a stalled process)
    ],
    ids=["capped-64MB", "capped-16MB", "slow", "borderline", "loopback", "loopback-stalled"],
)
def test_a_first_look_splits_only_a_stream_far_too_slow_for_what_is_left(
    rate: float, left: int, split: bool
) -> None:
    early = ranged.EARLY_PROBE_SECONDS
    assert ranged.should_split(rate, left, 0.04, 8 * MB, 12, probed=early) is split


def test_what_a_first_look_leaves_the_whole_probe_decides() -> None:
    """3.3 s left: too little for the first look, enough once the probe is over."""
    args = (60 * MB, 200 * MB, 0.04, 8 * MB, 12)
    assert not ranged.should_split(*args, probed=ranged.EARLY_PROBE_SECONDS)
    assert ranged.should_split(*args, probed=ranged.PROBE_SECONDS)
    assert ranged.should_split(*args)  # no probed: the whole probe's rate


# -- on the servers ---------------------------------------------------------------------------


def test_a_big_object_on_a_fast_connection_comes_in_one_stream(
    remote: StoreUnderTest, tmp_path: Path, reads: RangedReads
) -> None:
    source = data_file(tmp_path / "src" / "big.bin", 8 * RANGE)
    assets = make_assets(remote, tmp_path)
    assets.push(source, "big")
    assert assets.fetch("big:0.0").read_bytes() == source.read_bytes()
    assert reads.seen == [(0, 8 * RANGE)]


def test_a_big_object_on_a_slow_connection_is_split_into_parallel_ranges(
    remote: StoreUnderTest,
    slow_link: tuple[Proxy, StoreUnderTest],
    tmp_path: Path,
    reads: RangedReads,
    in_flight: InFlight,
) -> None:
    fetch_until_split(remote, slow_link[1], tmp_path, reads)
    assert len(reads.seen) >= 3
    assert in_flight.most > 2  # the ranges went at once


def test_a_stream_far_too_slow_splits_at_the_first_look(
    remote: StoreUnderTest,
    slow_link: tuple[Proxy, StoreUnderTest],
    tmp_path: Path,
    reads: RangedReads,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole probe would outlast the download (1 MB at 256 KB/s), so only the first look
    can split it."""
    monkeypatch.setattr(ranged, "PROBE_SECONDS", 60.0)
    monkeypatch.setattr(ranged, "EARLY_SECONDS_LEFT", ranged.SPLIT_SECONDS_LEFT)
    fetch_until_split(remote, slow_link[1], tmp_path, reads)


def test_a_budget_of_one_connection_reads_a_slow_big_object_in_one_stream(
    remote: StoreUnderTest,
    slow_link: tuple[Proxy, StoreUnderTest],
    tmp_path: Path,
    reads: RangedReads,
) -> None:
    _proxy, store = slow_link
    source = data_file(tmp_path / "src" / "big.bin", 5 * RANGE)
    make_assets(remote, tmp_path / "push").push(source, "big")
    reads.seen.clear()
    assets = make_assets(store, tmp_path, max_connections=1)
    assert assets.fetch("big:0.0").read_bytes() == source.read_bytes()
    assert reads.seen == [(0, 5 * RANGE)]


def test_big_and_small_files_of_one_download_stay_within_the_budget(
    remote: StoreUnderTest,
    slow_link: tuple[Proxy, StoreUnderTest],
    tmp_path: Path,
    reads: RangedReads,
    in_flight: InFlight,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _proxy, store = slow_link
    monkeypatch.setattr(ranged, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(ranged, "should_split", lambda *_: True)  # every big one splits at once
    folder = tmp_path / "src" / "model"
    for name in ("a.bin", "b.bin"):
        data_file(folder / name, 6 * RANGE)
    for i in range(12):
        (folder / "small" / f"{i}.txt").parent.mkdir(parents=True, exist_ok=True)
        (folder / "small" / f"{i}.txt").write_text(f"small {i}\n")
    make_assets(remote, tmp_path / "push").push(folder, "model")
    reads.seen.clear()

    path = make_assets(store, tmp_path, max_connections=3).fetch("model:0.0")
    assert (path / "a.bin").read_bytes() == (folder / "a.bin").read_bytes()
    assert (path / "small" / "11.txt").read_text() == "small 11\n"
    assert len(reads.seen) > 2  # the big ones went in ranges
    assert 1 < in_flight.most <= 3


def test_the_progress_bar_counts_a_big_files_bytes(
    remote: StoreUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = data_file(tmp_path / "src" / "big.bin", 8 * RANGE)
    make_assets(remote, tmp_path / "push").push(source, "big")
    assets = Assets(
        store=remote.url,
        cache_dir=tmp_path / "cache",
        storage_options=remote.storage_options,
        progress=True,
    )
    capsys.readouterr()
    assets.fetch("big:0.0")
    shown = capsys.readouterr().err
    assert "/1.00M [" in shown and "B/s]" in shown  # bytes of the total, and a rate
    assert "file" not in shown
