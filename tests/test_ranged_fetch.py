"""Big objects are fetched as ranged reads pinned to the object's version, hashed in one pass,
and resumed after an interruption, on moto (s3fs) and the GCS emulator (gcsfs).

The threshold and range size are lowered so that a 330 KB object makes six 64 KB ranges, and
the stream every big object starts as hands its tail over to ranges after its first chunk (when
to do that on its own is tested in test_ranged_split.py): its request asks for the whole
object, it stops there, and the rest of its first range and the ranges after it are read by
ranged requests of their own. The ranged
GETs are counted where they leave for the server (aiohttp, under both s3fs and gcsfs).

The GCS emulator serves ``Range`` but ignores ``generation`` on reads (it always serves the
newest bytes), so there an object replaced mid-download is caught by the final sha256 instead
of by the server's 404; on real GCS the pinned generation refuses first. moto honours S3's
``If-Match`` with 412.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ranged_reads import Hook, RangedReads, count_ranged_reads
from servers import StoreUnderTest

from pytest_assets import Assets, IntegrityError, StoreError, ranged
from pytest_assets.store import version_of

pytestmark = pytest.mark.servers

MB = 1024 * 1024
RANGE = 64 * 1024
SIZE = 5 * RANGE + 10_000  # six ranges, the last one short
N_RANGES = 6
REQUESTS = N_RANGES + 1  # the stream, the rest of its first range, one for each other range


@pytest.fixture(params=["gcs", "s3"])
def remote(request: pytest.FixtureRequest) -> StoreUnderTest:
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    return store


@pytest.fixture(autouse=True)
def _small_ranges_split_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranged, "BIG_OBJECT_BYTES", 4 * RANGE)
    monkeypatch.setattr(ranged, "RANGE_BYTES", RANGE)
    monkeypatch.setattr(ranged, "CHUNK_BYTES", RANGE // 4)  # the first chunk ends in range 0
    monkeypatch.setattr(ranged, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(ranged, "should_split", lambda *_: True)


def make_assets(remote: StoreUnderTest, tmp_path: Path, max_connections: int = 64) -> Assets:
    return Assets(
        store=remote.url,
        cache_dir=tmp_path / "cache",
        storage_options=remote.storage_options,
        max_connections=max_connections,
    )


@pytest.fixture
def assets(remote: StoreUnderTest, tmp_path: Path) -> Assets:
    return make_assets(remote, tmp_path)


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "big.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes((i * 7 + i // 251) % 256 for i in range(SIZE)))
    return path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> RangedReads:
    return count_ranged_reads(monkeypatch, RANGE)


def fail_after(count: int) -> Hook:
    async def hook(sent: int) -> None:
        if sent >= count:
            raise ConnectionResetError("the link dropped (test)")

    return hook


def partial_of(assets: Assets, name: str, version: str = "0.0", rel: str = "") -> Path:
    return assets.cache.partial_path(name, version, rel)


def test_a_big_object_is_fetched_in_several_ranges_and_verifies(
    assets: Assets, big: Path, reads: RangedReads
) -> None:
    assets.push(big, "big")
    path = assets.fetch("big:0.0")
    assert path.read_bytes() == big.read_bytes()
    reads.assert_split(SIZE)
    assert len(reads.seen) == REQUESTS
    assert not partial_of(assets, "big").exists()


def test_every_range_is_pinned_to_the_version_the_download_began_with(
    assets: Assets, big: Path, reads: RangedReads
) -> None:
    assets.push(big, "big")
    info = assets.store.fs.info(assets.store.object_path("big", "0.0"))
    assets.fetch("big:0.0")
    assert len(reads.pins) == REQUESTS
    if "generation" in info:  # GCS: the emulator serves the newest bytes whatever it is asked
        assert all(f"generation={info['generation']}" in pin for pin in reads.pins)
    else:  # S3: moto answers 412 to an ETag that no longer matches
        assert set(reads.pins) == {info["ETag"]}


def test_a_small_object_keeps_the_single_stream(
    assets: Assets, tmp_path: Path, reads: RangedReads
) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * (2 * RANGE))
    assets.push(small, "small")
    assert assets.fetch("small:0.0").read_bytes() == small.read_bytes()
    assert reads.seen == []


def test_big_files_of_a_directory_go_in_ranges_beside_the_small_ones(
    assets: Assets, big: Path, tmp_path: Path, reads: RangedReads
) -> None:
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "weights.bin").write_bytes(big.read_bytes())
    (folder / "labels.txt").write_text("cat\ndog\n")
    assets.push(folder, "d")
    path = assets.fetch("d:0.0")
    assert (path / "sub" / "weights.bin").read_bytes() == big.read_bytes()
    assert (path / "labels.txt").read_text() == "cat\ndog\n"
    assert len(reads.seen) == REQUESTS


def test_an_object_replaced_mid_download_is_an_integrity_error_and_installs_nothing(
    remote: StoreUnderTest, tmp_path: Path, big: Path, reads: RangedReads
) -> None:
    assets = make_assets(remote, tmp_path, max_connections=1)  # in order: 2 old, then the swap
    assets.push(big, "big")
    fs, path = assets.store.fs, assets.store.object_path("big", "0.0")
    replacement = bytes(255 - b for b in big.read_bytes())

    async def replace(sent: int) -> None:
        if sent == 2:
            await fs._pipe_file(path, replacement)

    reads.before = replace
    with pytest.raises(IntegrityError, match=r"big:0\.0"):
        assets.fetch("big:0.0")
    assert not assets.cache.has("big", "0.0")
    assert not assets.cache.data_path("big", "0.0").exists()
    assert not partial_of(assets, "big").exists()


def stopped_after(
    ranges_done: int,
    remote: StoreUnderTest,
    tmp_path: Path,
    big: Path,
    reads: RangedReads,
    monkeypatch: pytest.MonkeyPatch,
) -> Assets:
    """``big:0.0`` pushed, then a fetch that stops after ``ranges_done`` ranges (read in
    order, one connection: the stream's first chunk, the rest of range 0, then one request a
    range); the reads are reset for the next fetch."""
    assets = make_assets(remote, tmp_path, max_connections=1)
    assets.push(big, "big")
    reads.before = fail_after(ranges_done + 1)
    with pytest.raises(StoreError):
        assets.fetch("big:0.0")
    assert len(reads.seen) == ranges_done + 1
    reads.before, reads.seen = None, []
    return assets


def test_an_interrupted_fetch_resumes_with_only_the_missing_ranges(
    remote: StoreUnderTest,
    tmp_path: Path,
    big: Path,
    reads: RangedReads,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped_after(2, remote, tmp_path, big, reads, monkeypatch)
    first = make_assets(remote, tmp_path)
    state = json.loads((partial_of(first, "big") / "state.json").read_text())
    assert state["done"] == [0, 1]
    assert not first.cache.has("big", "0.0")

    path = make_assets(remote, tmp_path).fetch("big:0.0")  # a new process, as far as we know
    assert path.read_bytes() == big.read_bytes()
    reads.assert_split(SIZE, first=2)  # nothing before the missing ranges was asked for
    assert not partial_of(first, "big").exists()


def test_a_flipped_byte_in_the_kept_part_is_caught_and_downloaded_again(
    remote: StoreUnderTest,
    tmp_path: Path,
    big: Path,
    reads: RangedReads,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assets = stopped_after(3, remote, tmp_path, big, reads, monkeypatch)
    data = partial_of(assets, "big") / "data"
    with open(data, "r+b") as handle:
        handle.seek(RANGE + 5)
        byte = handle.read(1)
        handle.seek(RANGE + 5)
        handle.write(bytes([byte[0] ^ 0xFF]))

    path = make_assets(remote, tmp_path).fetch("big:0.0")
    assert path.read_bytes() == big.read_bytes()
    # the missing three, then the whole object again once the sha256 disagreed (each pass
    # a stream, the rest of its first range, one request for each other range)
    assert len(reads.seen) == (N_RANGES - 3 + 1) + REQUESTS


def test_a_partial_of_an_object_replaced_since_is_not_kept(
    remote: StoreUnderTest,
    tmp_path: Path,
    big: Path,
    reads: RangedReads,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assets = stopped_after(2, remote, tmp_path, big, reads, monkeypatch)
    state_file = partial_of(assets, "big") / "state.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "token": "another-version"}))

    path = make_assets(remote, tmp_path).fetch("big:0.0")
    assert path.read_bytes() == big.read_bytes()
    assert len(reads.seen) == REQUESTS


def test_a_modelkit_meta_without_hashes_is_fetched_in_ranges_and_checked_by_size(
    assets: Assets, big: Path, reads: RangedReads
) -> None:
    assets.push(big, "big")
    store = assets.store
    meta = {"push_date": "2026-01-01T00:00:00+00:00", "is_directory": False}
    store.write_bytes(
        store.meta_path("big", "0.0"), json.dumps(meta).encode(), "test", create_only=False
    )
    path = assets.fetch("big:0.0")
    assert path.read_bytes() == big.read_bytes()
    assert len(reads.seen) == REQUESTS
    assert assets.cache.record("big", "0.0")["integrity"] == "size"  # type: ignore[index]


def test_a_modelkit_object_cut_short_is_an_integrity_error(
    assets: Assets, big: Path, reads: RangedReads
) -> None:
    assets.push(big, "big")
    store = assets.store
    meta = {"push_date": "2026-01-01T00:00:00+00:00", "is_directory": False}
    store.write_bytes(
        store.meta_path("big", "0.0"), json.dumps(meta).encode(), "test", create_only=False
    )
    fs, remote = store.fs, store.object_path("big", "0.0")

    async def cut(sent: int) -> None:
        if sent == 0:
            await fs._pipe_file(remote, big.read_bytes()[: SIZE - 1000])

    reads.before = cut
    with pytest.raises(IntegrityError, match=r"big:0\.0"):
        assets.fetch("big:0.0")
    assert not assets.cache.has("big", "0.0")


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (48 * MB, 4 * MB),  # split over every connection
        (96 * MB, 8 * MB),  # one full wave of the largest ranges
        (100 * MB, -(-100 * MB // 24)),  # two waves of 24 ranges, not 12 and then 1
        (1024 * MB, -(-1024 * MB // 132)),  # at most 8 MB, in 11 whole waves of 12
        (4 * MB, 2 * MB),  # floored: a range is worth its round trip
    ],
    ids=["split", "one wave", "two whole waves", "capped", "floored"],
)
def test_a_range_is_the_object_split_over_the_connections_in_whole_waves_within_bounds(
    size: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranged, "OBJECT_CONNECTIONS", 12)
    monkeypatch.setattr(ranged, "RANGE_BYTES", 8 * MB)
    monkeypatch.setattr(ranged, "MIN_RANGE_BYTES", 2 * MB)
    assert ranged.range_size(size) == expected


def test_a_partial_with_holes_reads_only_the_holes(
    assets: Assets, big: Path, reads: RangedReads
) -> None:
    assets.push(big, "big")
    store = assets.store
    version = version_of(store.fs.info(store.object_path("big", "0.0")))
    assert version is not None
    partial = partial_of(assets, "big")
    partial.mkdir(parents=True)
    data = bytearray(SIZE)
    grid = ranged.ranges(SIZE, RANGE)
    for index in (0, 2, 4):  # as a pass with parallel ranges leaves it when killed
        start, end = grid[index]
        data[start:end] = big.read_bytes()[start:end]
    (partial / "data").write_bytes(bytes(data))
    state = {"format": 1, "size": SIZE, "token": version.token, "range_bytes": RANGE}
    (partial / "state.json").write_text(json.dumps({**state, "done": [0, 2, 4]}))

    assert assets.fetch("big:0.0").read_bytes() == big.read_bytes()
    assert sorted(reads.seen) == [grid[1], grid[3], grid[5]]


def test_one_bad_big_file_of_several_fails_the_fetch_and_installs_nothing(
    assets: Assets, big: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("a.bin", "b.bin", "c.bin"):
        (folder / name).write_bytes(big.read_bytes())
    assets.push(folder, "d")
    store = assets.store
    store.fs.pipe_file(store.path("d", "0.0", "b.bin"), big.read_bytes()[:-10])  # cut short

    with pytest.raises(IntegrityError, match=r"d:0\.0\[b\.bin\]"):
        assets.fetch("d:0.0")
    assert not assets.cache.has("d", "0.0")
    assert not partial_of(assets, "d", rel="b.bin").exists()
