"""Fault 6, cache trouble: a read-only cache directory, a cache on a full filesystem, a cache
directory deleted under a running session, a cached copy edited by a test. Each must give an
error that names the directory and what to do (or mend itself), and corrupt nothing: what was
cached still verifies, nothing partial stays.

This suite runs as root, for whom ``chmod`` stops nothing: read-only and full filesystems are
real mounts (a read-only bind mount, a 1 MB tmpfs), skipped where ``mount`` is not permitted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import StoreUnderTest

from pytest_assets import Assets, CacheError
from pytest_assets.store import Store

from . import _kill
from ._helpers import assert_cache_sound, make_folder, tree_digests

pytestmark = pytest.mark.reliability


class Mounts:
    """Mount points made by one test, unmounted at its end (lazily if something is busy)."""

    def __init__(self) -> None:
        self.points: list[Path] = []

    def _mount(self, *args: str) -> None:
        if shutil.which("mount") is None:
            pytest.skip("no mount command here: cannot make a read-only or full filesystem")
        result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.skip(
                f"mount {' '.join(args)} is not permitted here ({result.stderr.strip()}): "
                "cannot make a read-only or full filesystem as root"
            )

    def read_only(self, path: Path) -> None:
        self._mount("--bind", str(path), str(path))
        self.points.append(path)
        self._mount("-o", "remount,bind,ro", str(path))

    def tmpfs(self, path: Path, size: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
        self.points.append(path)

    def release(self, path: Path) -> None:
        self.points.remove(path)
        if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)

    def release_all(self) -> None:
        for path in reversed(list(self.points)):
            self.release(path)


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    made = Mounts()
    try:
        yield made
    finally:
        made.release_all()


def _store_with(tmp_path: Path, store: StoreUnderTest, **assets: tuple[int, int]) -> Any:
    """Push one directory asset per keyword (files, size); returns their digests by spec."""
    pusher = Assets(
        store=store.url, cache_dir=tmp_path / "pusher", storage_options=store.storage_options
    )
    digests = {}
    for name, (files, size) in assets.items():
        digests[f"{name}:0.0"] = make_folder(tmp_path / name, files, size, seed=name)
        pusher.push(tmp_path / name, name)
    return digests


def _no_leftovers(assets: Assets) -> None:
    tmp = assets.cache.books / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_read_only_cache_serves_what_it_holds_and_refuses_downloads_clearly(
    tmp_path: Path, mounts: Mounts
) -> None:
    """Fault: the cache directory becomes a read-only filesystem (bind mount) with one version
    cached. After: that version is still served and verifies; fetching another raises
    CacheError naming the directory, saying it is not writable and to point ASSETS_DIR
    elsewhere; once writable again, nothing was corrupted and the download works."""
    store = StoreUnderTest(str(tmp_path / "store"), {})
    digests = _store_with(tmp_path, store, kept=(4, 1024), wanted=(4, 1024))
    cache = tmp_path / "cache"
    assets = Assets(store=store.url, cache_dir=cache)
    kept = assets.fetch("kept:0.0")
    mounts.read_only(cache)
    assert assets.fetch("kept:0.0") == kept
    with pytest.raises(CacheError) as failure:
        assets.fetch("wanted:0.0")
    message = str(failure.value)
    assert str(cache) in message and "not writable" in message and "ASSETS_DIR" in message
    assert assets.verify() == []
    mounts.release(cache)
    assert_cache_sound(assets, {"kept:0.0": digests["kept:0.0"]})
    _no_leftovers(assets)
    assert tree_digests(assets.fetch("wanted:0.0")) == digests["wanted:0.0"]


def test_cache_to_be_created_on_a_read_only_filesystem_is_refused_clearly(
    tmp_path: Path, mounts: Mounts
) -> None:
    """Fault: the cache directory does not exist yet and its parent is read-only. After:
    CacheError naming the cache directory and saying it is not writable; nothing created."""
    store = StoreUnderTest(str(tmp_path / "store"), {})
    _store_with(tmp_path, store, wanted=(2, 100))
    parent = tmp_path / "readonly-home"
    parent.mkdir()
    mounts.read_only(parent)
    cache = parent / "cache"
    with pytest.raises(CacheError) as failure:
        Assets(store=store.url, cache_dir=cache).fetch("wanted:0.0")
    assert str(cache) in str(failure.value) and "not writable" in str(failure.value)
    assert list(parent.iterdir()) == []


def test_full_filesystem_fails_the_download_clearly_and_keeps_what_was_cached(
    tmp_path: Path, mounts: Mounts, any_store: StoreUnderTest
) -> None:
    """Fault: the cache lives on a 1 MB tmpfs holding one small version; a 3 MB version is
    fetched (from a directory store and from the moto S3 server). After: CacheError naming the
    directory, saying the disk is full and how to free space (prune, ASSETS_DIR), not blaming
    the store; the small version still verifies; the partial download is gone (the space is
    free again) and nothing of the big version is cached."""
    digests = _store_with(tmp_path, any_store, small=(4, 16 * 1024), big=(12, 256 * 1024))
    mounts.tmpfs(tmp_path / "small-disk", "1m")
    cache = tmp_path / "small-disk" / "cache"
    assets = Assets(store=any_store.url, cache_dir=cache, storage_options=any_store.storage_options)
    assets.fetch("small:0.0")
    used = shutil.disk_usage(cache).used
    with pytest.raises(CacheError) as failure:
        assets.fetch("big:0.0")
    message = str(failure.value)
    assert str(cache) in message and "disk is full" in message and "prune" in message
    assert "store" not in message.split(";")[0]
    assert_cache_sound(assets, {"small:0.0": digests["small:0.0"]})
    assert not assets.cache.data_path("big", "0.0").exists()
    _no_leftovers(assets)
    assert shutil.disk_usage(cache).used <= used + 64 * 1024


def test_cache_deleted_between_fetches_is_rebuilt(tmp_path: Path) -> None:
    """Fault: the whole cache directory is deleted while a session (one Assets object that
    already fetched a version) keeps running. After: the next fetch of that version downloads
    it again whole into a re-created cache, and verify is clean."""
    store = StoreUnderTest(str(tmp_path / "store"), {})
    digests = _store_with(tmp_path, store, model=(6, 4096))
    assets = Assets(store=store.url, cache_dir=tmp_path / "cache")
    assets.fetch("model:0.0")
    shutil.rmtree(tmp_path / "cache")
    assert tree_digests(assets.fetch("model:0.0")) == digests["model:0.0"]
    assert_cache_sound(assets, digests)


@pytest.mark.parametrize("when", ["before the objects arrive", "after the objects arrived"])
def test_cache_deleted_during_a_download_is_reported_as_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """Fault: the whole cache directory is deleted while a download is running (just before
    or just after the objects are written into its download folder). After: the fetch either
    completes with the whole version or raises CacheError naming the directory and saying to
    run again, never an error blaming the store; the next fetch completes; verify is clean."""
    store = StoreUnderTest(str(tmp_path / "store"), {})
    digests = _store_with(tmp_path, store, model=(6, 4096))
    cache = tmp_path / "cache"
    original = Store.get_files

    def get_files(self: Store, pairs: Any, what: str, progress: Any = None) -> Any:
        if when.startswith("before"):
            shutil.rmtree(cache)
        measured = original(self, pairs, what, progress)
        if when.startswith("after"):
            shutil.rmtree(cache)
        return measured

    monkeypatch.setattr(Store, "get_files", get_files)
    assets = Assets(store=store.url, cache_dir=cache)
    try:
        path = assets.fetch("model:0.0")
    except CacheError as failure:
        message = str(failure)
        assert str(cache) in message and "run again" in message, message
    else:
        assert tree_digests(path) == digests["model:0.0"]
    monkeypatch.setattr(Store, "get_files", original)
    assert tree_digests(assets.fetch("model:0.0")) == digests["model:0.0"]
    assert_cache_sound(assets, digests)
    assert os.path.isdir(cache)


# -- a cached copy edited by a test, and the fetch that mends it killed ------------------------

EDITED = "models/edited"


def _writable(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        item.chmod(0o755 if item.is_dir() else 0o644)


def _delete_a_file(path: Path) -> None:
    (path / "part-1" / "file-005.bin").unlink()


def _empty_a_folder(path: Path) -> None:
    for item in (path / "part-2").iterdir():
        item.unlink()


def _cut_a_file_short(path: Path) -> None:
    with open(path / "part-3" / "file-007.bin", "r+b") as handle:
        handle.truncate(10)


EDITS = {"a file deleted": _delete_a_file, "a folder emptied": _empty_a_folder}
EDITS["a file cut short"] = _cut_a_file_short


class EditedCache:
    """One directory version in a store and in a cache that every trial reuses; ``edit()``
    damages the cached copy as a test would (making it writable first, as a test must)."""

    def __init__(self, tmp_path: Path, store: StoreUnderTest, how: str) -> None:
        self.store, self.how = store, how
        self.cache, self.phases = tmp_path / "cache", tmp_path / "phases.txt"
        self.digests = _store_with(tmp_path, store, **{EDITED: (24, 64 * 1024)})[f"{EDITED}:0.0"]
        self.assets().fetch(f"{EDITED}:0.0")

    def assets(self, said: list[str] | None = None) -> Assets:
        notify = said.append if said is not None else None
        return Assets(
            store=self.store.url,
            cache_dir=self.cache,
            storage_options=self.store.storage_options,
            notify=notify,
        )

    def edit(self) -> None:
        path = self.assets().cache.data_path(EDITED, "0.0")
        _writable(path)
        EDITS[self.how](path)

    def args(self, kill_point: str = "") -> list[str]:
        options = json.dumps(self.store.storage_options)
        spec = f"{EDITED}:0.0"
        return [
            "fetch",
            self.store.url,
            options,
            str(self.cache),
            spec,
            str(self.phases),
            kill_point,
        ]

    def check(self, context: str) -> None:
        """What the cache lists is whole or still visibly damaged, never handed out as it is:
        the next fetch returns the whole version; verify is clean; no download folder stays."""
        assets = self.assets()
        if assets.cache.has(EDITED, "0.0") and assets.cache.damage(EDITED, "0.0") is None:
            data = assets.cache.data_path(EDITED, "0.0")
            assert tree_digests(data) == self.digests, f"{context}: a damaged copy passes"
        said: list[str] = []
        path = self.assets(said).fetch(f"{EDITED}:0.0")
        assert tree_digests(path) == self.digests, context
        assert all("damaged" in message for message in said), (context, said)
        assert_cache_sound(assets, {f"{EDITED}:0.0": self.digests})
        left = list((assets.cache.books / "tmp").iterdir())
        assert left == [], f"{context}: left behind in the cache: {left}"


@pytest.mark.parametrize("kill_point", ["renamed", "download:3", "verify:2", "readonly", "record"])
def test_a_fetch_mending_an_edited_copy_killed_at_a_chosen_point_hands_out_no_damage(
    tmp_path: Path, kill_point: str
) -> None:
    """Fault: a test empties a folder of its cached asset; the next fetch notices, says so and
    downloads the version again, and is SIGKILLed exactly at ``kill_point`` (just after the
    damaged copy was moved aside, after the 3rd object, before hashing the 2nd file, while
    making files read-only, with the new record written but the data not yet in place). After:
    nothing damaged or partial is handed out; the next fetch is whole, verify is clean."""
    scenario = EditedCache(
        tmp_path, StoreUnderTest(str(tmp_path / "store"), {}), "a folder emptied"
    )
    scenario.edit()
    outcome = _kill.run(scenario.args(kill_point), scenario.phases)
    assert outcome.killed and outcome.where == f"killed at {kill_point}", outcome.stderr
    assert "damaged" in outcome.stderr and "downloading it again" in outcome.stderr
    scenario.check(kill_point)


@pytest.mark.parametrize("how", sorted(EDITS))
@pytest.mark.parametrize("any_store", ["directory", "s3"], indirect=True)  # the cache's own
def test_a_fetch_mending_an_edited_copy_killed_at_random_hands_out_no_damage(
    tmp_path: Path, any_store: StoreUnderTest, how: str
) -> None:
    """Fault: a test edits its cached asset (a file deleted, a folder emptied, a file cut
    short), in a cache filled from a directory store and from the moto S3 server; the fetch
    that mends it is SIGKILLed after a random delay within the length of such a fetch
    (measured first), 3 trials, each on a freshly edited copy. After each: as above."""
    scenario = EditedCache(tmp_path, any_store, how)
    scenario.edit()
    measured = _kill.run(scenario.args(), scenario.phases).result()["seconds"]
    window = float(measured)  # type: ignore[arg-type]
    rng, seed = _kill.trial_rng()
    landed = []
    for trial in range(3):
        scenario.edit()
        outcome = _kill.run(scenario.args(), scenario.phases, kill_after=rng.uniform(0, window))
        landed.append(outcome.where)
        scenario.check(f"seed {seed} trial {trial}: killed in {outcome.where}")
    print(f"{how}: window {window * 1000:.0f} ms, kills landed in {landed}")
