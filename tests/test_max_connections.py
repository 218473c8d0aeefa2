"""The connection budget (``ASSETS_MAX_CONNECTIONS``, ini ``assets_max_connections``,
``Assets(max_connections=...)``): read by the one settings loader, refused when it is not a
whole number of at least 1, and handed to the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_assets import Assets, ConfigError
from pytest_assets.config import load_config
from pytest_assets.connections import DEFAULT_MAX_CONNECTIONS


def ini(directory: Path, value: str) -> Path:
    path = directory / "pytest.ini"
    path.write_text(f"[pytest]\nassets_max_connections = {value}\n")
    return path


def test_the_default_budget_is_shown_with_its_source(tmp_path: Path) -> None:
    config = load_config(tmp_path, env={})
    rows = {setting: (value, source) for setting, value, source in config.describe()}
    assert rows["max_connections"] == (str(DEFAULT_MAX_CONNECTIONS), "default")


def test_the_ini_budget_is_shown_with_the_file_it_came_from(tmp_path: Path) -> None:
    path = ini(tmp_path, "8")
    rows = {
        setting: (value, source)
        for setting, value, source in load_config(tmp_path, env={}).describe()
    }
    assert rows["max_connections"] == ("8", f"assets_max_connections in {path}")


@pytest.mark.parametrize("bad", ["0", "-1", "x", "1.5", "1e3"])
def test_a_bad_budget_in_the_environment_names_the_variable(tmp_path: Path, bad: str) -> None:
    with pytest.raises(
        ConfigError, match=r"max_connections \(environment ASSETS_MAX_CONNECTIONS\)"
    ):
        load_config(tmp_path, env={"ASSETS_MAX_CONNECTIONS": bad})


def test_a_bad_budget_in_the_ini_names_the_file(tmp_path: Path) -> None:
    path = ini(tmp_path, "0")
    with pytest.raises(ConfigError, match=rf"assets_max_connections in {path}"):
        load_config(tmp_path, env={})


@pytest.mark.parametrize("bad", [0, -1, True])
def test_a_bad_budget_argument_is_refused(tmp_path: Path, bad: int) -> None:
    with pytest.raises(ConfigError, match=r"max_connections \(argument\)"):
        Assets(store="memory://budget", cache_dir=tmp_path, max_connections=bad)


def test_the_store_gets_the_configured_budget(tmp_path: Path) -> None:
    ini(tmp_path, "5")
    assets = Assets.from_config(tmp_path, store="memory://budget", cache_dir=tmp_path / "c")
    assert assets.store.max_connections == 5
    assert Assets(store="memory://budget", cache_dir=tmp_path).store.max_connections == (
        DEFAULT_MAX_CONNECTIONS
    )
