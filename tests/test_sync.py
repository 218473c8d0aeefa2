"""``pytest-assets sync``: every version a lock (or the specs given) needs, fetched in one pass.

On a directory store and on the moto S3 server (``any_store``); the dry run's requests are
counted on the wire (``byte_proxy``): ``.meta`` objects only, never data.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from byte_proxy import counting
from servers import StoreUnderTest

from pytest_assets import Assets
from pytest_assets.cli import main
from pytest_assets.pinfile import LOCK_NAME
from pytest_assets.sync import sync, sync_specs, versions_in_flight

SIZES = {"team/a": 1000, "team/b": 3000, "team/c": 200}


def make(store: StoreUnderTest, cache: Path, lock: Path | None = None) -> Assets:
    return Assets(
        store=store.url, cache_dir=cache, storage_options=store.storage_options, lock_file=lock
    )


@pytest.fixture
def pushed(any_store: StoreUnderTest, tmp_path: Path) -> StoreUnderTest:
    """Three assets: two files and a folder of two files, SIZES bytes each in all."""
    pusher = make(any_store, tmp_path / "pusher-cache")
    sources = tmp_path / "src"
    sources.mkdir()
    for name, size in SIZES.items():
        if name == "team/b":
            folder = sources / "b"
            (folder / "sub").mkdir(parents=True)
            (folder / "one.bin").write_bytes(b"1" * (size - 1000))
            (folder / "sub" / "two.bin").write_bytes(b"2" * 1000)
            pusher.push(folder, name)
        else:
            path = sources / name.replace("/", "-")
            path.write_bytes(name.encode()[:1] * size)
            pusher.push(path, name)
    return any_store


@pytest.fixture
def lock(pushed: StoreUnderTest, tmp_path: Path) -> Path:
    """assets.lock pinning every asset by its major."""
    path = tmp_path / "project" / LOCK_NAME
    path.parent.mkdir()
    make(pushed, tmp_path / "pusher-cache", path).update_lock([f"{n}:0" for n in SIZES])
    return path


def test_sync_fetches_every_pinned_version_and_says_how_many_were_cached(
    pushed: StoreUnderTest, lock: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    make(pushed, cache).fetch("team/a:0.0")
    assets = make(pushed, cache, lock)
    report = sync(assets, sync_specs(assets, [], last_run=False))
    assert report.summary() == "3 versions, 4.1 KB: 2 fetched, 1 already cached"
    assert not report.failures
    for name in SIZES:
        assert assets.cache.has(name, "0.0")


def test_sync_counts_a_version_in_a_shared_tier_as_cached_and_copies_nothing(
    pushed: StoreUnderTest, lock: Path, tmp_path: Path
) -> None:
    tier = tmp_path / "tier"
    make(pushed, tier).fetch("team/a:0.0")
    assets = Assets(
        store=pushed.url,
        cache_dir=tmp_path / "cache",
        storage_options=pushed.storage_options,
        lock_file=lock,
        shared_dirs=[tier],
    )
    report = sync(assets, sync_specs(assets, [], last_run=False))
    assert report.summary() == "3 versions, 4.1 KB: 2 fetched, 1 already cached"
    assert not assets.cache.has("team/a", "0.0")


def test_sync_of_a_synced_cache_fetches_nothing(
    pushed: StoreUnderTest, lock: Path, tmp_path: Path
) -> None:
    sync(make(pushed, tmp_path / "cache", lock), [f"{n}:0" for n in SIZES])
    report = sync(make(pushed, tmp_path / "cache", lock), [f"{n}:0" for n in SIZES])
    assert report.summary() == "3 versions, 4.1 KB: 3 already cached"


def test_sync_takes_the_pinned_version_not_the_newest(
    pushed: StoreUnderTest, lock: Path, tmp_path: Path
) -> None:
    newer = tmp_path / "newer.bin"
    newer.write_bytes(b"newer")
    make(pushed, tmp_path / "pusher-cache").push(newer, "team/a")
    assets = make(pushed, tmp_path / "cache", lock)
    report = sync(assets, sync_specs(assets, [], last_run=False))
    assert {item.label for item in report.items} == {"team/a:0.0", "team/b:0.0", "team/c:0.0"}
    assert not assets.cache.has("team/a", "0.1")


def test_sync_fetches_the_versions_at_once_not_one_after_another(
    pushed: StoreUnderTest, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each fetch waits for the other two to have started: in sequence, the barrier breaks."""
    barrier = threading.Barrier(len(SIZES), timeout=30)
    real_fetch = Assets.fetch

    def fetch(self: Assets, spec: Any) -> Path:
        barrier.wait()
        return real_fetch(self, spec)

    monkeypatch.setattr(Assets, "fetch", fetch)
    report = sync(make(pushed, tmp_path / "cache", lock), [f"{n}:0" for n in SIZES])
    assert not report.failures, report.failures


def test_sync_fetches_one_version_at_a_time_with_a_budget_of_one_connection(
    pushed: StoreUnderTest, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each fetch lingers long enough for any other in flight to overlap it: none does."""
    running, peak, guard = [0], [0], threading.Lock()
    real_fetch = Assets.fetch

    def fetch(self: Assets, spec: Any) -> Path:
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            threading.Event().wait(0.2)
            return real_fetch(self, spec)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(Assets, "fetch", fetch)
    assets = Assets(
        store=pushed.url,
        cache_dir=tmp_path / "cache",
        storage_options=pushed.storage_options,
        lock_file=lock,
        max_connections=1,
    )
    report = sync(assets, [f"{n}:0" for n in SIZES])
    assert (len(report.of("fetched")), peak[0]) == (len(SIZES), 1)


def test_versions_in_flight_follow_the_connection_budget_up_to_a_cap() -> None:
    assert [versions_in_flight(n) for n in (1, 4, 16, 64, 1000)] == [1, 4, 16, 16, 16]


def test_sync_dry_run_lists_sizes_from_the_meta_and_fetches_nothing(
    pushed: StoreUnderTest, lock: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assets = make(pushed, cache, lock)
    report = sync(assets, sync_specs(assets, [], last_run=False), dry_run=True)
    assert {item.label: item.size for item in report.items} == {
        f"{name}:0.0": size for name, size in SIZES.items()
    }
    assert report.summary() == "3 versions, 4.1 KB: 3 to fetch (4.1 KB)"
    assert not any(assets.cache.has(name, "0.0") for name in SIZES)
    assert not (cache / "team").exists()


@pytest.mark.servers
def test_sync_dry_run_on_s3_reads_only_meta_objects(
    s3_store: StoreUnderTest, tmp_path: Path
) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"m" * 5000)
    make(s3_store, tmp_path / "pusher-cache").push(source, "model")
    make(s3_store, tmp_path / "pusher-cache").push(source, "other", allow_identical=True)
    with counting(s3_store) as (through_proxy, proxy):
        assets = make(through_proxy, tmp_path / "cache")
        report = sync(assets, ["model:0.0", "other:0.0"], dry_run=True)
        seen = proxy.reset()
    assert report.summary() == "2 versions, 9.8 KB: 2 to fetch (9.8 KB)"
    gets = [target.split("?")[0] for method, target in seen.requests if method == "GET"]
    assert sorted(path.rsplit("/", 2)[-2:] for path in gets if path.endswith(".meta")) == [
        ["model", "0.0.meta"],
        ["other", "0.0.meta"],
    ]
    assert [path for path in gets if not path.endswith(".meta")] == []


def test_sync_fetches_what_it_can_and_lists_what_failed(
    pushed: StoreUnderTest, tmp_path: Path
) -> None:
    assets = make(pushed, tmp_path / "cache")
    report = sync(assets, ["team/a:0", "team/missing:0", "team/c:7.0"])
    assert report.summary() == "2 versions, 1000 B: 1 fetched, 2 failed"
    assert [(item.label, "team/" in (item.error or "")) for item in report.failures] == [
        ("team/c:7.0", True),
        ("team/missing:0", True),
    ]
    assert assets.cache.has("team/a", "0.0")


# -- the command line -------------------------------------------------------------------------

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(
    pushed: StoreUnderTest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    """``cli("sync", ...)`` in a project folder without a lock file, on a fresh cache."""
    project = tmp_path / "elsewhere"
    project.mkdir()
    monkeypatch.chdir(project)
    options = [f"{k}={v}" for k, v in _flat(pushed.storage_options)]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        prefix = ["--store", pushed.url, "--cache-dir", str(tmp_path / "cache")]
        for option in options:
            prefix += ["--storage-option", option]
        code = main([*prefix, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _flat(options: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    flat: list[tuple[str, Any]] = []
    for key, value in options.items():
        if isinstance(value, dict):
            flat += _flat(value, f"{prefix}{key}.")
        else:
            flat.append((f"{prefix}{key}", value))
    return flat


def test_cli_sync_with_lock_prints_the_summary_and_exits_0(cli: Run, lock: Path) -> None:
    code, out, err = cli("sync", "--lock", str(lock))
    assert (code, out) == (0, "3 versions, 4.1 KB: 3 fetched\n"), err


def test_cli_sync_dry_run_prints_one_line_per_version_with_its_size(cli: Run, lock: Path) -> None:
    code, out, _ = cli("sync", "--lock", str(lock), "--dry-run")
    assert code == 0
    assert out.splitlines() == [
        "team/a:0.0\t1000 B\tto fetch",
        "team/b:0.0\t2.9 KB\tto fetch",
        "team/c:0.0\t200 B\tto fetch",
        "3 versions, 4.1 KB: 3 to fetch (4.1 KB)",
    ]


def test_cli_sync_exits_1_listing_the_failures_after_fetching_the_rest(cli: Run) -> None:
    code, out, err = cli("sync", "team/a:0", "team/nope")
    assert code == 1
    assert out == "1 version, 1000 B: 1 fetched, 1 failed\n"
    lines = err.splitlines()
    assert lines[0] == "pytest-assets: error: 1 spec failed to sync:"
    assert lines[1].startswith("  team/nope: ") and "Traceback" not in err


def test_cli_sync_without_a_lock_file_or_specs_exits_1_saying_what_to_pass(cli: Run) -> None:
    code, out, err = cli("sync")
    assert (code, out) == (1, "")
    assert "nothing to sync" in err and LOCK_NAME in err and "--lock" in err


def test_cli_sync_last_run_takes_the_specs_the_last_pytest_run_remembered(
    cli: Run, pushed: StoreUnderTest, tmp_path: Path
) -> None:
    lock = Path(os.getcwd()) / LOCK_NAME
    ran = make(pushed, tmp_path / "cache", lock)
    ran.cache.ensure()  # the run wrote into its cache (a run served by tiers leaves no note)
    ran.remember_specs(["team/c:0"])
    code, out, err = cli("sync", "--last-run")
    assert (code, out) == (0, "1 version, 200 B: 1 fetched\n"), err
