"""Fault 1b, killed ranged fetch: a process fetching a big object in ranges (moto and the GCS
emulator) dies by SIGKILL at a random range seam or after a random delay. After each kill the
cache never lists or hands out a partial version, ``verify`` is clean, and the next fetch reads
from the server only the ranges the killed one had not saved (counted on the wire by a proxy),
then verifies. A kept part that was damaged since is caught and read again, never returned.

Objects are 2 MB in 256 KB ranges, two in flight (``ASSETS_TEST_RANGED`` in the child, the same
constants monkeypatched here), so kills land all along the download.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from byte_proxy import ByteProxy, counting
from servers import StoreUnderTest

from pytest_assets import Assets, ranged
from pytest_assets.manifest import sha256_file

from . import _kill
from ._helpers import assert_cache_sound, in_thread

pytestmark = [pytest.mark.reliability, pytest.mark.servers]

NAME = "models/weights"
SPEC = f"{NAME}:0.0"
KB = 1024
SIZE = 2 * 1024 * KB + 12_345  # 9 ranges, the last one short
RANGED = {"BIG_OBJECT_BYTES": 1024 * KB, "RANGE_BYTES": 256 * KB, "MAX_CONNECTIONS": 2}
SLACK = 64 * KB  # what a fetch reads besides the object: .meta, listings, headers


@pytest.fixture(autouse=True)
def _small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in RANGED.items():
        monkeypatch.setattr(ranged, name, value)
    monkeypatch.setenv("ASSETS_TEST_RANGED", ",".join(f"{k}={v}" for k, v in RANGED.items()))


class RangedScenario:
    """One big object in a store behind a counting proxy (every fetch goes through it: the
    store's endpoint is part of its cache folder). Every trial reuses one cache."""

    def __init__(
        self, tmp_path: Path, store: StoreUnderTest, counted: StoreUnderTest, proxy: ByteProxy
    ) -> None:
        self.store, self.counted, self.proxy = store, counted, proxy
        self.cache, self.phases = tmp_path / "cache", tmp_path / "phases.txt"
        self.tmp_path = tmp_path
        source = tmp_path / "weights.bin"
        block = os.urandom(4096)
        source.write_bytes((block * (SIZE // len(block) + 1))[:SIZE])
        self.digest = sha256_file(source)[1]
        Assets(
            store=store.url, cache_dir=tmp_path / "pusher", storage_options=store.storage_options
        ).push(source, NAME)
        self.assets().fetch(SPEC)  # the version is whole and readable through the proxy
        self.assets().cache.remove(NAME, "0.0")

    def assets(self) -> Assets:
        return Assets(
            store=self.counted.url,
            cache_dir=self.cache,
            storage_options=self.counted.storage_options,
        )

    def args(self, kill_point: str = "", cache: Path | None = None) -> list[str]:
        options = json.dumps(self.counted.storage_options)
        cache = cache or self.cache
        return ["fetch", self.counted.url, options, str(cache), SPEC, str(self.phases), kill_point]

    def calibrate(self) -> float:
        """Seconds a whole fetch takes here (into a throwaway cache): the kill window."""
        outcome = _kill.run(self.args(cache=self.tmp_path / "calibration"), self.phases)
        return float(outcome.result()["seconds"])  # type: ignore[arg-type]

    @property
    def partial(self) -> Path:
        return self.assets().cache.partial_path(NAME, "0.0", "")

    def kept(self) -> list[tuple[int, int]]:
        """The ranges the partial holds, as the next fetch may keep them."""
        try:
            state = json.loads((self.partial / "state.json").read_text())
            whole = (self.partial / "data").stat().st_size == SIZE
        except (OSError, ValueError):
            return []
        parts = ranged.ranges(SIZE, state["range_bytes"])
        return [parts[i] for i in state["done"]] if whole else []

    def all_ranges(self) -> list[tuple[int, int]]:
        return ranged.ranges(SIZE, ranged.range_size(SIZE))

    def fetch_counted(self, context: str) -> list[tuple[int, int]]:
        """Fetch through the proxy; the ranges it asked the server for (the fetch verified and
        the partial is gone)."""
        assets = self.assets()
        self.proxy.reset()
        path, _ = in_thread(lambda: assets.fetch(SPEC), timeout=60)
        traffic = self.proxy.reset()
        assert sha256_file(path)[1] == self.digest, context
        assert assets.verify() == [], context
        assert not self.partial.exists(), f"{context}: the partial outlived the fetch"
        assert traffic.down < traffic.range_bytes + SLACK, f"{context}: read more than asked"
        return sorted(traffic.ranges)

    def check_after_kill(self, context: str) -> int:
        """No partial version, verify clean; the next fetch reads exactly the ranges not kept
        (fewer bytes than the object when ranges were kept) and verifies. Its kept bytes."""
        assets = self.assets()
        if assets.cache.data_path(NAME, "0.0").exists():
            assert assets.cache.has(NAME, "0.0"), f"{context}: data in place without a record"
        assert_cache_sound(assets, {SPEC: {"": self.digest}})
        downloads = not assets.cache.has(NAME, "0.0")
        kept = self.kept()
        asked = self.fetch_counted(context)
        if downloads:
            missing = sorted(set(self.all_ranges()) - set(kept))
            assert asked == missing, f"{context}: kept {kept}, asked for {asked}"
            if len(kept) > 1:
                assert sum(end - start for start, end in asked) < SIZE, context
        else:
            assert asked == [], f"{context}: a cached version was read again"
        assets.cache.remove(NAME, "0.0")  # the next trial downloads again
        return sum(end - start for start, end in kept)


@pytest.fixture(params=["s3", "gcs"])
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RangedScenario]:
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    with counting(store) as (counted, proxy):
        yield RangedScenario(tmp_path, store, counted, proxy)


@pytest.mark.parametrize("batch", range(2))
def test_ranged_fetch_killed_at_random_points_resumes_with_only_the_rest(
    scenario: RangedScenario, batch: int
) -> None:
    """Fault: SIGKILL during a ranged fetch, 10 trials per batch, 2 batches per server (20 on
    each): even trials right after a random range was saved, odd ones after a random delay
    within a whole fetch's length. After each: no partial version listed or returned, verify
    clean; the next fetch asks the server for exactly the ranges not kept, reads fewer bytes
    than the object when more than one range was kept, and verifies."""
    window = scenario.calibrate()
    rng, seed = _kill.trial_rng()
    n_ranges = len(scenario.all_ranges())
    landed = []
    for trial in range(10):
        if trial % 2 == 0:
            seam = rng.randrange(1, n_ranges)
            outcome = _kill.run(scenario.args(f"range:{seam}"), scenario.phases)
            assert outcome.where == f"killed at range:{seam}", outcome.stderr
            assert len(scenario.kept()) == seam
        else:
            delay = rng.uniform(0, window * 1.1)
            outcome = _kill.run(scenario.args(), scenario.phases, kill_after=delay)
        kept = scenario.check_after_kill(f"seed {seed} trial {trial}: killed in {outcome.where}")
        landed.append(f"{outcome.where} ({kept * 100 // SIZE}% kept)")
    print(f"batch {batch}: window {window * 1000:.0f} ms, kills landed in {landed}")


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_a_damaged_kept_part_after_a_kill_is_read_again_never_returned(
    scenario: RangedScenario, damage: str
) -> None:
    """Fault: SIGKILL after 6 ranges were saved, then the kept data loses a byte (one flipped
    in a kept range) or its tail (cut to half). After: the next fetch returns the object's own
    bytes, verify is clean; a flipped byte costs the missing ranges and then the whole object
    (the sha256 disagreed), a cut file the whole object once (it is not the object's size)."""
    outcome = _kill.run(scenario.args("range:6"), scenario.phases)
    assert outcome.killed, outcome.stderr
    kept = scenario.kept()
    assert len(kept) == 6
    data = scenario.partial / "data"
    with open(data, "r+b") as handle:
        if damage == "flipped":
            offset = kept[0][0] + 1000
            handle.seek(offset)
            byte = handle.read(1)
            handle.seek(offset)
            handle.write(bytes([byte[0] ^ 0x01]))
        else:
            handle.truncate(SIZE // 2)
    assets = scenario.assets()
    assert_cache_sound(assets, {SPEC: {"": scenario.digest}})
    asked = scenario.fetch_counted(damage)
    everything = scenario.all_ranges()
    if damage == "flipped":
        missing = [part for part in everything if part not in kept]
        assert asked == sorted(missing + everything)
    else:
        assert asked == everything
