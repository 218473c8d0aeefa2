"""One configuration loader for every face, so a notebook sees what the tests see.

Highest first: explicit arguments, the environment (``ASSETS_*``, then modelkit's
``MODELKIT_STORAGE_*`` for the store), the pytest ini options (found as pytest finds its ini
file, from the start directory upwards), then defaults. Every value remembers where it came from,
for ``%asset`` and the pytest header.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .redact import redact_url
from .versioning import get_versioning

INI_KEYS = ("assets_store", "assets_dir", "assets_offline", "assets_versioning")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
MODELKIT_DEFAULT_PREFIX = "modelkit-assets"


@dataclass(frozen=True)
class IniFile:
    """The pytest ini file that applies, and the assets_* values it holds."""

    path: Path
    values: Mapping[str, Any]

    @property
    def directory(self) -> Path:
        return self.path.parent


@dataclass(frozen=True)
class Config:
    store: str | None
    cache_dir: Path
    offline: bool
    versioning: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    ini_file: Path | None = None
    lock_file: Path | None = None

    def __repr__(self) -> str:
        """Credentials stay out of the repr: notebooks and tracebacks show it."""
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "store" and value:
                value = redact_url(value)
            elif item.name == "storage_options":
                value = dict.fromkeys(value, "***")
            shown.append(f"{item.name}={value!r}")
        return f"Config({', '.join(shown)})"

    def describe(self) -> list[tuple[str, str, str]]:
        """(setting, value, where it came from) rows, credentials scrubbed."""
        store = redact_url(self.store) if self.store else "(none)"
        return [
            ("store", store, self.sources.get("store", "default")),
            ("cache_dir", str(self.cache_dir), self.sources.get("cache_dir", "default")),
            ("offline", str(self.offline).lower(), self.sources.get("offline", "default")),
            ("versioning", self.versioning, self.sources.get("versioning", "default")),
        ]


def parse_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{where} = {value!r} is not a yes/no value: use 1/0, true/false, yes/no")


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("pytest-assets"))


# -- ini files: the same search pytest does -------------------------------------------------


def _read_ini_section(path: Path, section: str) -> dict[str, str] | None:
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not parser.has_section(section):
        return None
    return dict(parser.items(section))


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return data


def _ini_in(directory: Path) -> IniFile | None:
    """The file pytest would pick in ``directory``, if any (pytest 9's order)."""
    for filename in ("pytest.toml", ".pytest.toml"):
        path = directory / filename
        if path.is_file():
            data = _read_toml(path) or {}
            return IniFile(path, data.get("pytest", {}))
    for filename in ("pytest.ini", ".pytest.ini"):
        path = directory / filename
        if path.is_file():
            return IniFile(path, _read_ini_section(path, "pytest") or {})
    path = directory / "pyproject.toml"
    if path.is_file():
        tool = (_read_toml(path) or {}).get("tool", {})
        pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
        if isinstance(pytest_table, dict) and pytest_table:  # pytest skips an empty table
            options = pytest_table.get("ini_options")
            if isinstance(options, dict):
                return IniFile(path, options)
            return IniFile(path, pytest_table)
    path = directory / "tox.ini"
    if path.is_file():
        section = _read_ini_section(path, "pytest")
        if section is not None:
            return IniFile(path, section)
    path = directory / "setup.cfg"
    if path.is_file():
        section = _read_ini_section(path, "tool:pytest")
        if section is not None:
            return IniFile(path, section)
    return None


def find_ini(start_dir: os.PathLike[str] | str | None = None) -> IniFile | None:
    directory = Path(start_dir or os.getcwd()).absolute()
    for candidate in (directory, *directory.parents):
        found = _ini_in(candidate)
        if found is not None:
            return found
    return None


# -- the loader -----------------------------------------------------------------------------


def _modelkit_store(env: Mapping[str, str]) -> str | None:
    provider = env.get("MODELKIT_STORAGE_PROVIDER", "").strip()
    if not provider:
        return None
    bucket = env.get("MODELKIT_STORAGE_BUCKET", "").strip()
    prefix = env.get("MODELKIT_STORAGE_PREFIX", "").strip() or MODELKIT_DEFAULT_PREFIX
    if not bucket:
        raise ConfigError(
            f"MODELKIT_STORAGE_PROVIDER={provider} is set but MODELKIT_STORAGE_BUCKET is not: "
            "set it, or set ASSETS_STORE to the store URL"
        )
    schemes = {"gcs": "gs://", "s3": "s3://", "az": "az://"}
    if provider == "local":
        return str(Path(bucket) / prefix)
    if provider not in schemes:
        raise ConfigError(
            f"MODELKIT_STORAGE_PROVIDER={provider!r} is not one of gcs, s3, local, az: "
            "set ASSETS_STORE to the store URL instead"
        )
    return f"{schemes[provider]}{bucket.strip('/')}/{prefix.strip('/')}"


def _is_url(text: str) -> bool:
    return "://" in text


def _resolve_path(value: str, base: Path) -> str:
    """A relative store or cache path in an ini file means relative to that file."""
    if _is_url(value):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).absolute())


def _base_dir(ini_file: IniFile | None, source: str, cwd: Path) -> Path:
    """Relative paths from the ini file are relative to it; any other, to the working dir."""
    if (
        ini_file is not None
        and source.startswith("assets_")
        and source.endswith(str(ini_file.path))
    ):
        return ini_file.directory
    return cwd


def load_config(
    start_dir: os.PathLike[str] | str | None = None,
    *,
    store: str | None = None,
    cache_dir: Path | str | None = None,
    offline: bool | None = None,
    versioning: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    ini: IniFile | None = None,
    argument_source: str = "argument",
) -> Config:
    """Merge arguments, environment, ini file and defaults; ``ini`` skips the file search
    (the pytest plugin passes the file pytest itself chose)."""
    environ = os.environ if env is None else env
    ini_file = ini if ini is not None else find_ini(start_dir)
    ini_values = dict(ini_file.values) if ini_file else {}
    ini_label = f"{ini_file.path}" if ini_file else ""
    cwd = Path.cwd()  # relative arguments and environment values mean the working directory
    sources: dict[str, str] = {}

    def pick(key: str, explicit: Any, env_key: str) -> tuple[Any, str]:
        if explicit is not None:
            return explicit, argument_source
        if environ.get(env_key, "") != "":
            return environ[env_key], f"environment {env_key}"
        ini_key = f"assets_{key}"
        if ini_key in ini_values and str(ini_values[ini_key]).strip() != "":
            return ini_values[ini_key], f"{ini_key} in {ini_label}"
        return None, "default"

    store_value, sources["store"] = pick("store", store, "ASSETS_STORE")
    if store is None and environ.get("ASSETS_STORE", "") == "":
        # modelkit's variables are environment too: they beat the ini file
        modelkit = _modelkit_store(environ)
        if modelkit is not None:
            store_value, sources["store"] = modelkit, "environment MODELKIT_STORAGE_*"
    if store_value is not None:
        base = _base_dir(ini_file, sources["store"], cwd)
        store_value = _resolve_path(str(store_value).strip(), base)

    dir_value, sources["cache_dir"] = pick("dir", cache_dir, "ASSETS_DIR")
    if dir_value is None:
        cache_path = default_cache_dir()
    else:
        base = _base_dir(ini_file, sources["cache_dir"], cwd)
        cache_path = Path(_resolve_path(str(dir_value).strip(), base))

    offline_value, sources["offline"] = pick("offline", offline, "ASSETS_OFFLINE")
    offline_flag = False if offline_value is None else parse_bool(offline_value, sources["offline"])

    versioning_value, sources["versioning"] = pick("versioning", versioning, "ASSETS_VERSIONING")
    versioning_name = str(versioning_value or "major_minor").strip()
    get_versioning(versioning_name)

    return Config(
        store=store_value,
        cache_dir=cache_path,
        offline=offline_flag,
        versioning=versioning_name,
        storage_options=dict(storage_options or {}),
        sources=sources,
        ini_file=ini_file.path if ini_file else None,
        # assets.lock sits next to the ini file (the project root), as package locks do;
        # without one, in the start directory.
        lock_file=(ini_file.directory if ini_file else Path(start_dir or cwd).absolute())
        / "assets.lock",
    )
