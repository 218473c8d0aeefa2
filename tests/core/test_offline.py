"""Offline mode never opens a connection; and no store configured is fine until the store is
needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import MakeAssets, write

from pytest_assets import (
    Assets,
    AssetSpec,
    ConfigError,
    OfflineError,
)
from pytest_assets.store import Store

# -- offline ----------------------------------------------------------------------------------


@pytest.fixture
def offline_after_fetching(
    make_assets: MakeAssets, model: Path, monkeypatch: pytest.MonkeyPatch
) -> Assets:
    """Versions 0.0 and 0.1 in the store, only 0.0 in the cache; then the store is unusable."""
    online = make_assets()
    online.push(model, "m")
    online.push(write(model, b"v0.1"), "m")
    online.fetch("m:0.0")

    def no_store(self: Store) -> None:
        raise AssertionError("offline mode opened the store")

    monkeypatch.setattr(Store, "_connect", no_store)
    return make_assets(offline=True)


def test_offline_a_pinned_version_comes_from_the_cache(offline_after_fetching: Assets) -> None:
    assert offline_after_fetching.fetch("m:0.0").read_bytes() == b"weights v1" * 100


def test_offline_a_partial_spec_resolves_against_cached_versions(
    offline_after_fetching: Assets,
) -> None:
    assert offline_after_fetching.resolve("m") == AssetSpec("m", "0.0")
    assert offline_after_fetching.fetch("m:0").read_bytes() == b"weights v1" * 100


def test_offline_a_pinned_version_not_cached_is_an_offline_error(
    offline_after_fetching: Assets,
) -> None:
    with pytest.raises(OfflineError, match="offline mode is on"):
        offline_after_fetching.fetch("m:0.1")


def test_offline_a_partial_spec_with_nothing_cached_is_an_offline_error(
    offline_after_fetching: Assets,
) -> None:
    with pytest.raises(OfflineError, match="offline"):
        offline_after_fetching.fetch("other")
    with pytest.raises(OfflineError, match="offline"):
        offline_after_fetching.fetch("m:1")


def test_offline_push_is_an_offline_error(offline_after_fetching: Assets, model: Path) -> None:
    with pytest.raises(OfflineError, match="offline mode is on"):
        offline_after_fetching.push(model, "m")


def test_offline_info_of_an_uncached_version_is_an_offline_error(
    offline_after_fetching: Assets,
) -> None:
    assert offline_after_fetching.info("m")["version"] == "0.0"
    with pytest.raises(OfflineError, match="offline mode is on"):
        offline_after_fetching.info("m:0.1")


def test_offline_versions_and_names_come_from_the_cache(offline_after_fetching: Assets) -> None:
    assert offline_after_fetching.versions("m") == ["0.0"]
    assert offline_after_fetching.names() == ["m"]


# -- no store configured ----------------------------------------------------------------------


def test_no_store_is_fine_until_the_store_is_needed(
    make_assets: MakeAssets, model: Path, cache_dir: Path
) -> None:
    online = make_assets()
    online.push(model, "m")
    online.fetch("m:0.0")
    storeless = Assets(store=None, cache_dir=cache_dir)
    assert storeless.fetch("m:0.0").read_bytes() == model.read_bytes()


@pytest.mark.parametrize(
    "action",
    [
        lambda a, p: a.fetch("m"),
        lambda a, p: a.fetch("m:0.3"),
        lambda a, p: a.push(p, "m"),
        lambda a, p: a.versions("m"),
        lambda a, p: a.names(),
        lambda a, p: a.info("m:0.0"),
    ],
    ids=["fetch-partial", "fetch-pinned-uncached", "push", "versions", "names", "info"],
)
def test_no_store_is_a_config_error_saying_how_to_set_one(
    tmp_path: Path, model: Path, action: Callable[[Assets, Path], Any]
) -> None:
    assets = Assets(store=None, cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="no asset store is configured: set ASSETS_STORE"):
        action(assets, model)
