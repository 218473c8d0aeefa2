"""Fault 1, killed fetch: a fetching process dies by SIGKILL (no cleanup code runs) during the
download, the verification or the install; the cache must never hand out a partial version,
``verify`` stays clean and the next fetch completes at once (no lock left behind)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from servers import StoreUnderTest

from pytest_assets import Assets

from . import _kill
from ._helpers import assert_cache_sound, in_thread, make_folder, tree_digests

pytestmark = pytest.mark.reliability

NAME = "models/big"
SPEC = f"{NAME}:0.0"


class Scenario:
    """One store holding one directory version, one shared cache that every trial reuses (so
    the leftovers of earlier kills are in the way of later fetches, as in real life)."""

    def __init__(self, tmp_path: Path, store: StoreUnderTest, files: int, size: int) -> None:
        self.tmp_path = tmp_path
        self.store = store
        self.cache = tmp_path / "cache"
        self.digests = make_folder(tmp_path / "source", files, size)
        Assets(
            store=store.url, cache_dir=tmp_path / "pusher", storage_options=store.storage_options
        ).push(tmp_path / "source", NAME)
        self.phases = tmp_path / "phases.txt"

    def assets(self) -> Assets:
        return Assets(
            store=self.store.url, cache_dir=self.cache, storage_options=self.store.storage_options
        )

    def args(
        self, kill_point: str = "", cache: Path | None = None, phases: Path | None = None
    ) -> list[str]:
        options = json.dumps(self.store.storage_options)
        cache, phases = cache or self.cache, phases or self.phases
        return ["fetch", self.store.url, options, str(cache), SPEC, str(phases), kill_point]

    def calibrate(self) -> float:
        """Seconds a whole fetch takes here (into a throwaway cache): the kill window."""
        outcome = _kill.run(self.args(cache=self.tmp_path / "calibration"), self.phases)
        return float(outcome.result()["seconds"])  # type: ignore[arg-type]

    def check_after_kill(self, context: str) -> None:
        """No partial version, verify clean, the next fetch is whole and not blocked, and it
        clears the download folders that killed processes left behind."""
        assets = self.assets()
        data = assets.cache.data_path(NAME, "0.0")
        if data.exists():
            assert assets.cache.has(NAME, "0.0"), f"{context}: data in place without a record"
        assert_cache_sound(assets, {SPEC: self.digests})
        downloads = not assets.cache.has(NAME, "0.0")
        path, took = in_thread(lambda: assets.fetch(SPEC), timeout=60)
        assert tree_digests(path) == self.digests, context
        assert took < 10, f"{context}: the next fetch took {took:.1f} s"
        if downloads:  # a download clears what killed downloads left behind on this host
            left = list((assets.cache.books / "tmp").iterdir())
            assert left == [], f"{context}: download folders left behind: {left}"
        assert assets.verify() == [], context
        assets.cache.remove(NAME, "0.0")  # the next trial downloads again


@pytest.fixture
def local(tmp_path: Path) -> Scenario:
    store = StoreUnderTest(str(tmp_path / "store"), {})
    return Scenario(tmp_path, store, files=40, size=256 * 1024)


KILL_POINTS = [
    "download:1",
    "download:25",
    "verify:1",
    "verify:40",
    "readonly",
    "record",
    "renamed",
]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_fetch_killed_at_a_chosen_point_leaves_no_partial_version(
    local: Scenario, kill_point: str
) -> None:
    """Fault: SIGKILL exactly at ``kill_point`` (after the Nth object downloaded, before the
    Nth file is hashed, while files are made read-only, between writing the record and renaming
    the data into place, just after that rename). After: no partial version, verify clean, the
    next fetch completes in well under 10 s with the same bytes."""
    outcome = _kill.run(local.args(kill_point), local.phases)
    assert outcome.killed, outcome.stderr
    assert outcome.where == f"killed at {kill_point}"
    local.check_after_kill(kill_point)


@pytest.mark.parametrize("batch", range(4))
def test_fetch_killed_at_random_moments_leaves_no_partial_version(
    local: Scenario, batch: int
) -> None:
    """Fault: SIGKILL after a random delay within the length of a whole fetch (measured first),
    5 trials per batch, 4 batches: 20 trials landing across download, verification and
    install. After each: as above; the cache is reused, with every earlier kill's leftovers."""
    window = local.calibrate()
    rng, seed = _kill.trial_rng()
    landed = []
    for trial in range(5):
        delay = rng.uniform(0, window * 1.1)
        outcome = _kill.run(local.args(), local.phases, kill_after=delay)
        landed.append(outcome.where)
        local.check_after_kill(f"seed {seed} trial {trial}: killed in {outcome.where}")
    print(f"batch {batch}: window {window * 1000:.0f} ms, kills landed in {landed}")


@pytest.mark.servers
@pytest.mark.parametrize("kind", ["s3", "az"])
def test_fetch_from_a_server_killed_at_random_moments_leaves_no_partial_version(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    """Fault: as above, against the moto S3 server and Azurite (s3fs' and adlfs' bulk async
    get), 4 trials. After each: no partial version, verify clean, the next fetch completes."""
    store: StoreUnderTest = request.getfixturevalue(f"{kind}_store")
    scenario = Scenario(tmp_path, store, files=24, size=64 * 1024)
    window = scenario.calibrate()
    rng, seed = _kill.trial_rng()
    for trial in range(4):
        outcome = _kill.run(scenario.args(), scenario.phases, kill_after=rng.uniform(0, window))
        scenario.check_after_kill(f"seed {seed} trial {trial}: killed in {outcome.where}")


def test_waiting_fetch_takes_over_when_the_downloader_is_killed(local: Scenario) -> None:
    """Fault: process A holds the version's lock mid-download and is SIGKILLed while process B
    waits for it. After: B says whom it waits for (A's pid), takes over at once and returns the
    whole version; the cache is sound."""
    holder_phases = local.tmp_path / "holder.txt"
    holder = _kill.start(local.args("hang", phases=holder_phases), holder_phases)
    deadline = time.monotonic() + 30
    while "hang" not in (holder_phases.read_text() if holder_phases.exists() else ""):
        assert time.monotonic() < deadline and holder.poll() is None, "holder never got going"
        time.sleep(0.02)
    waiter = _kill.start(local.args(), local.phases)
    time.sleep(2.5)  # the waiter's first notice comes after 2 s
    assert waiter.poll() is None, "the waiter did not wait for the lock holder"
    killed = _kill.finish(holder, holder_phases, kill_after=0)
    assert killed.killed
    start = time.monotonic()
    outcome = _kill.finish(waiter, local.phases, kill_after=None)
    assert outcome.returncode == 0, outcome.stderr
    assert time.monotonic() - start < 10
    assert re.search(rf"waiting for pid {holder.pid}\b", outcome.stderr), outcome.stderr
    path = Path(str(outcome.result()["result"]))
    assert tree_digests(path) == local.digests
    assert_cache_sound(local.assets(), {SPEC: local.digests})
