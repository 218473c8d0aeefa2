"""Fault 1b, killed linking fetch: ``0.0`` is cached and a process fetching ``0.1`` (all but one
of its files already known to the cache, so placed from it) dies by SIGKILL while placing,
downloading, verifying or installing. The cache must never hand out or list a partial ``0.1``,
``0.0`` (whose files the new version shares) must stay whole, ``verify`` stays clean and the
next fetch completes at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from servers import StoreUnderTest

from pytest_assets import Assets
from pytest_assets.content_index import ContentIndex

from . import _kill
from ._helpers import assert_cache_sound, in_thread, make_folder, tree_digests

pytestmark = pytest.mark.reliability

NAME = "models/shared"
FILES = 40


class Scenario:
    """A store with ``0.0`` and ``0.1`` (one file changed); one cache holding ``0.0`` that every
    trial reuses, with the leftovers of earlier kills."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.store = StoreUnderTest(str(tmp_path / "store"), {})
        self.cache = tmp_path / "cache"
        self.old = make_folder(tmp_path / "v0", FILES, 64 * 1024)
        new_source = tmp_path / "v1"
        make_folder(new_source, FILES, 64 * 1024)
        (new_source / "part-1" / "file-005.bin").write_bytes(b"changed" * 1000)
        self.new = tree_digests(new_source)
        pusher = Assets(store=self.store.url, cache_dir=tmp_path / "pusher")
        pusher.push(tmp_path / "v0", NAME)
        pusher.push(new_source, NAME)
        self.assets().fetch(f"{NAME}:0.0")
        self.phases = tmp_path / "phases.txt"

    def assets(self, cache: Path | None = None) -> Assets:
        return Assets(store=self.store.url, cache_dir=cache or self.cache)

    def args(self, kill_point: str = "", cache: Path | None = None) -> list[str]:
        cache = cache or self.cache
        return [
            "fetch",
            self.store.url,
            "{}",
            str(cache),
            f"{NAME}:0.1",
            str(self.phases),
            kill_point,
        ]

    def calibrate(self) -> float:
        """Seconds a whole linking fetch takes here (a throwaway cache holding 0.0)."""
        throwaway = self.tmp_path / "calibration"
        self.assets(throwaway).fetch(f"{NAME}:0.0")
        outcome = _kill.run(self.args(cache=throwaway), self.phases)
        assert "link" in outcome.phases, outcome.phases
        return float(outcome.result()["seconds"])  # type: ignore[arg-type]

    def check_after_kill(self, context: str) -> None:
        assets = self.assets()
        data = assets.cache.data_path(NAME, "0.1")
        if data.exists():
            assert assets.cache.has(NAME, "0.1"), f"{context}: data in place without a record"
        listed = {f"{e.name}:{e.version}" for e in assets.cached()}
        assert listed <= {f"{NAME}:0.0", f"{NAME}:0.1"}, context
        assert_cache_sound(assets, {f"{NAME}:0.0": self.old, f"{NAME}:0.1": self.new})
        path, took = in_thread(lambda: assets.fetch(f"{NAME}:0.1"), timeout=60)
        assert tree_digests(path) == self.new, context
        assert took < 10, f"{context}: the next fetch took {took:.1f} s"
        assert tree_digests(assets.fetch(f"{NAME}:0.0")) == self.old, context
        assert assets.verify() == [], context
        assets.cache.remove(NAME, "0.1")  # the next trial links again
        versions = {h.version for h in ContentIndex(assets.cache.books).holders()}
        assert versions == {"0.0"}, f"{context}: the index still lists {versions}"


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    return Scenario(tmp_path)


@pytest.mark.parametrize("kill_point", ["link:1", "link:20", "download:1", "verify:1", "record"])
def test_linking_fetch_killed_at_a_chosen_point_leaves_no_partial_version(
    scenario: Scenario, kill_point: str
) -> None:
    """Fault: SIGKILL after the 1st and 20th file placed from the cache, after the one new
    object downloaded, before the first file is checked, between the record and the rename.
    After: no partial 0.1, 0.0 whole, verify clean, the next fetch is whole and quick."""
    outcome = _kill.run(scenario.args(kill_point), scenario.phases)
    assert outcome.killed, outcome.stderr
    assert outcome.where == f"killed at {kill_point}"
    scenario.check_after_kill(kill_point)


@pytest.mark.parametrize("batch", range(4))
def test_linking_fetch_killed_at_random_moments_leaves_no_partial_version(
    scenario: Scenario, batch: int
) -> None:
    """Fault: SIGKILL after a random delay within a whole linking fetch, 5 trials per batch,
    4 batches (20 trials). After each: as above, in the cache every earlier kill left."""
    window = scenario.calibrate()
    rng, seed = _kill.trial_rng()
    landed = []
    for trial in range(5):
        outcome = _kill.run(scenario.args(), scenario.phases, kill_after=rng.uniform(0, window))
        landed.append(outcome.where)
        scenario.check_after_kill(f"seed {seed} trial {trial}: killed in {outcome.where}")
    print(f"batch {batch}: window {window * 1000:.0f} ms, kills landed in {json.dumps(landed)}")
