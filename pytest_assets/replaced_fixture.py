"""A conftest's own ``assets`` fixture: where it is defined, and which configured settings the
object it built does not follow.

The header, printed before any fixture runs, can only say that such a fixture exists; the
summary then says what it used, so a setting the run seems to have is never silently ignored.
"""

from __future__ import annotations

import contextlib
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .redact import redact_url
from .xdist_report import ReplacedLine

if TYPE_CHECKING:
    from .config import Config

PLUGIN_MODULE = "pytest_assets.plugin"
# The command-line option behind each setting, to name what a replaced ``assets`` ignores.
_FLAGS = {
    "store": "--assets-store",
    "cache_dir": "--assets-dir",
    "offline": "--assets-offline",
    "storage_options": "--assets-storage-option",
}


def describe_replacement(assets: object, where: str, loaded: Config | None) -> list[ReplacedLine]:
    """What ``assets`` (built in ``where``) uses, then each setting of ``loaded`` (the
    configuration; None when it is broken, which the header already says) it ignores."""
    from .assets import Assets  # only when a conftest replaced the fixture

    if not isinstance(assets, Assets):
        return [
            ReplacedLine(
                True,
                f"assets: the assets fixture is overridden in {where} and returns a "
                f"{type(assets).__name__}, not a pytest_assets.Assets: the asset fixture "
                "refuses it",
            )
        ]
    store, cache = assets.store_url, assets.cache.directory
    mode = "offline" if assets.offline else "online"
    lines = [
        ReplacedLine(
            False,
            f"assets: the assets fixture is overridden in {where}: store "
            f"{redact_url(store) if store else '(none)'}, cache {cache.absolute()}, {mode}",
        )
    ]
    if loaded is None:
        return lines
    from .config import Origin

    for item in loaded.unapplied(assets):
        given = loaded.source(item.setting).origin is Origin.ARGUMENT
        label = _FLAGS[item.setting] if given else item.source.removeprefix("environment ")
        lines.append(
            ReplacedLine(
                True,
                f"assets: {label} is ignored: the assets fixture is overridden in {where} and "
                f"built {item.setting}={item.used}",
            )
        )
    return lines


def overriding_fixtures(config: pytest.Config) -> list[str]:
    """Where the conftest files and plugins loaded so far define their own ``assets`` fixture.

    For the header, so best effort: conftests deeper in the tree load during collection,
    after the header; the summary (from ``pytest_fixture_setup``) says what was used."""
    found = []
    for _name, plugin in config.pluginmanager.list_name_plugin():
        if not inspect.ismodule(plugin) or plugin.__name__ == PLUGIN_MODULE:
            continue
        for value in vars(plugin).values():
            ours = getattr(value, "__module__", "") == PLUGIN_MODULE  # imported from the plugin
            if _fixture_name(value) == "assets" and not ours:
                found.append(_relative(config, Path(plugin.__file__ or "?")))
                break
    return found


def fixture_file(config: pytest.Config, func: Any) -> str:
    """The file a fixture function is defined in, relative to the rootdir."""
    try:
        return _relative(config, Path(inspect.getsourcefile(func) or "?"))
    except TypeError:
        return "a plugin"


def _fixture_name(value: Any) -> str | None:
    """The fixture name of a module attribute made with ``@pytest.fixture``, else None
    (pytest 8.4+ wraps the function in an object with a ``name``; before, marked it)."""
    if type(value).__name__ == "FixtureFunctionDefinition":
        return getattr(value, "name", None)
    marker = getattr(value, "_pytestfixturefunction", None)
    if marker is not None:
        return getattr(marker, "name", None) or getattr(value, "__name__", None)
    return None


def _relative(config: pytest.Config, path: Path) -> str:
    with contextlib.suppress(ValueError):
        return path.relative_to(config.rootpath).as_posix()
    return str(path)
