"""One configuration loader for every face, so a notebook sees what the tests see.

Highest first: explicit arguments, the environment (``ASSETS_*``, then modelkit's
``MODELKIT_STORAGE_*`` for the store), the pytest ini options (found as pytest finds its ini
file, from the start directory upwards), then defaults. Every value remembers where it came from,
for ``%asset`` and the pytest header.
"""

from __future__ import annotations

import configparser
import dataclasses
import enum
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .connections import DEFAULT_MAX_CONNECTIONS, parse_max_connections
from .errors import ConfigError
from .redact import redact_url
from .storage_options import describe_options, merge_options, parse_storage_options
from .store_url import check_store_value
from .storekey import expand_home, store_key
from .tiers import shared_dirs_setting
from .versioning import get_versioning

if TYPE_CHECKING:
    from .assets import Assets

INI_KEYS = (
    "assets_store",
    "assets_dir",
    "assets_offline",
    "assets_versioning",
    "assets_storage_options",
    "assets_max_connections",
    "assets_shared_dirs",
)
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


class Origin(enum.Enum):
    """Where a setting came from, as data: relative paths and the plugin's flag names follow
    it; people read the :class:`SettingSource` label instead."""

    ARGUMENT = "argument"  # Assets(...), a command-line flag, a %asset option
    ENVIRONMENT = "environment"
    INI_FILE = "ini file"
    CODE = "code"  # computed by the caller, e.g. a conftest's assets_storage_options fixture
    DEFAULT = "default"


@dataclass(frozen=True)
class SettingSource:
    """One setting's origin and the label that names it for people
    (``environment ASSETS_STORE``, ``assets_store in /repo/pytest.ini``)."""

    origin: Origin
    label: str


DEFAULT_SOURCE = SettingSource(Origin.DEFAULT, "default")


class Unapplied(NamedTuple):
    """A configured setting that an ``Assets`` built some other way does not follow."""

    setting: str
    source: str  # where the configured value came from, for people
    used: str  # what the Assets uses instead, credentials scrubbed


@dataclass(frozen=True)
class Config:
    store: str | None
    cache_dir: Path
    offline: bool
    versioning: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    setting_sources: Mapping[str, SettingSource] = field(default_factory=dict)
    ini_file: Path | None = None
    lock_file: Path | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    shared_dirs: tuple[Path, ...] = ()  # read-only tiers (:mod:`.tiers`), in order

    @property
    def sources(self) -> dict[str, str]:
        """Where each setting came from, as people read it."""
        return {key: source.label for key, source in self.setting_sources.items()}

    def source(self, setting: str) -> SettingSource:
        return self.setting_sources.get(setting, DEFAULT_SOURCE)

    def with_source(self, setting: str, source: SettingSource) -> Config:
        """The same configuration, saying that ``setting`` came from ``source``."""
        return dataclasses.replace(self, setting_sources={**self.setting_sources, setting: source})

    def __repr__(self) -> str:
        """Credentials stay out of the repr: notebooks and tracebacks show it."""
        store = redact_url(self.store) if self.store else self.store
        return (
            f"Config(store={store!r}, cache_dir={self.cache_dir!r}, offline={self.offline!r}, "
            f"versioning={self.versioning!r}, "
            f"storage_options={describe_options(self.storage_options)!r}, "
            f"sources={self.sources!r}, ini_file={self.ini_file!r}, lock_file={self.lock_file!r})"
        )

    def unapplied(self, assets: Assets) -> list[Unapplied]:
        """Every configured (not default) setting that an ``Assets`` built some other way, e.g.
        in a conftest, does not follow; storage options count when any configured key is
        missing or other."""
        store, cache, offline = assets.store_url, assets.cache.directory, assets.offline
        options = dict(assets.storage_options)
        checks = [
            ("store", _same_place(self.store), _same_place(store), redact_url(store or "")),
            ("cache_dir", _same_place(self.cache_dir), _same_place(cache), str(cache)),
            ("offline", self.offline, offline, str(offline)),
            (
                "storage_options",
                merge_options(options, self.storage_options),
                options,
                describe_options(options) or "{}",
            ),
        ]
        return [
            Unapplied(key, self.source(key).label, str(shown))
            for key, wanted, used, shown in checks
            if self.source(key).origin is not Origin.DEFAULT and wanted != used
        ]

    def describe(self) -> list[tuple[str, str, str]]:
        """(setting, value, where it came from) rows, credentials scrubbed."""
        store = redact_url(self.store) if self.store else "(none)"
        rows = [
            ("store", store, self.source("store").label),
            ("cache_dir", str(self.cache_dir), self.source("cache_dir").label),
            ("offline", str(self.offline).lower(), self.source("offline").label),
            ("versioning", self.versioning, self.source("versioning").label),
            ("max_connections", str(self.max_connections), self.source("max_connections").label),
        ]
        if self.storage_options:
            source = self.setting_sources.get("storage_options")
            label = source.label if source is not None else "argument"
            rows.append(("storage_options", describe_options(self.storage_options), label))
        return rows


def _same_place(value: Any) -> str | None:
    """A store or cache as the cache keys stores: local paths real (``proj/../store`` from the
    ini is the ``/x/store`` a conftest names), URLs normalised (``gcs://`` is ``gs://``)."""
    if value is None or value == "":
        return None
    return store_key(str(value), environ={}).identity


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


def _resolve_path(value: str, base: Path, setting: str, where: str) -> str:
    """A relative store or cache path in an ini file means relative to that file; ``..`` is
    tidied away, so the header shows the folder meant (``/x/store``, not ``/x/proj/../store``)."""
    if _is_url(value):
        return value
    path = os.path.join(base, expand_home(value, setting, where))
    tidy = os.path.normpath(path)
    # "link/.." is where the link's target's parent is, not where the text says
    return tidy if os.path.realpath(tidy) == os.path.realpath(path) else os.path.realpath(path)


def _base_dir(ini_file: IniFile | None, source: SettingSource, cwd: Path) -> Path:
    """Relative paths from the ini file are relative to it; any other, to the working dir."""
    if ini_file is not None and source.origin is Origin.INI_FILE:
        return ini_file.directory
    return cwd


def load_config(
    start_dir: os.PathLike[str] | str | None = None,
    *,
    store: str | None = None,
    cache_dir: Path | str | None = None,
    offline: bool | None = None,
    versioning: str | None = None,
    storage_options: Mapping[str, Any] | Sequence[str] | None = None,
    max_connections: int | str | None = None,
    env: Mapping[str, str] | None = None,
    ini: IniFile | None = None,
    argument_source: str = "argument",
    shared_dirs: Sequence[str | os.PathLike[str]] | None = None,
) -> Config:
    """Merge arguments, environment, ini file and defaults; ``ini`` skips the file search
    (the pytest plugin passes the file pytest itself chose). ``storage_options`` is a mapping
    or ``KEY=VALUE`` lines (``--storage-option``), merged over the ini's
    ``assets_storage_options``. An empty store or cache directory, wherever it comes from, is
    refused: it is an unset variable, not the working directory. ``argument_source`` names the
    explicit arguments for people (``command line``, ``%asset``)."""
    environ = os.environ if env is None else env
    ini_file = ini if ini is not None else find_ini(start_dir)
    ini_values = dict(ini_file.values) if ini_file else {}
    ini_label = f"{ini_file.path}" if ini_file else ""
    cwd = Path.cwd()  # relative arguments and environment values mean the working directory
    argument = SettingSource(Origin.ARGUMENT, argument_source)
    sources: dict[str, SettingSource] = {}

    def pick(
        key: str, explicit: Any, env_key: str, *, empty_is_unset: bool = True
    ) -> tuple[Any, SettingSource]:
        if explicit is not None:
            return explicit, argument
        if env_key in environ and (environ[env_key] != "" or not empty_is_unset):
            return environ[env_key], SettingSource(Origin.ENVIRONMENT, f"environment {env_key}")
        ini_key = f"assets_{key}"
        if ini_key in ini_values and (str(ini_values[ini_key]).strip() != "" or not empty_is_unset):
            return ini_values[ini_key], SettingSource(Origin.INI_FILE, f"{ini_key} in {ini_label}")
        return None, DEFAULT_SOURCE

    # modelkit's variables are environment too: they beat the ini file
    modelkit = None if store is not None or "ASSETS_STORE" in environ else _modelkit_store(environ)
    if modelkit is not None:
        store_value = modelkit
        sources["store"] = SettingSource(Origin.ENVIRONMENT, "environment MODELKIT_STORAGE_*")
    else:
        store_value, sources["store"] = pick("store", store, "ASSETS_STORE", empty_is_unset=False)
    if store_value is not None:
        check_store_value(str(store_value), sources["store"].label)
        base = _base_dir(ini_file, sources["store"], cwd)
        store_value = _resolve_path(str(store_value).strip(), base, "store", sources["store"].label)

    dir_value, sources["cache_dir"] = pick("dir", cache_dir, "ASSETS_DIR", empty_is_unset=False)
    if dir_value is None:
        cache_path = default_cache_dir()
    else:
        if not str(dir_value).strip():
            raise ConfigError(
                f"the cache directory ({sources['cache_dir'].label}) is empty (an unset "
                "variable?): set it to a directory, or leave it out for the default "
                f"({default_cache_dir()})"
            )
        base = _base_dir(ini_file, sources["cache_dir"], cwd)
        where = sources["cache_dir"].label
        cache_path = Path(_resolve_path(str(dir_value).strip(), base, "cache directory", where))

    offline_value, sources["offline"] = pick("offline", offline, "ASSETS_OFFLINE")
    offline_flag = (
        False if offline_value is None else parse_bool(offline_value, sources["offline"].label)
    )

    versioning_value, sources["versioning"] = pick("versioning", versioning, "ASSETS_VERSIONING")
    versioning_name = str(versioning_value or "major_minor").strip()
    get_versioning(versioning_name)
    budget, sources["max_connections"] = pick(
        "max_connections", max_connections, "ASSETS_MAX_CONNECTIONS"
    )

    options, options_source = _storage_options(
        storage_options, ini_values.get("assets_storage_options"), ini_label, argument
    )
    if options:
        sources["storage_options"] = options_source
    tiers = shared_dirs_setting(shared_dirs, environ, ini_file, cwd)

    return Config(
        store=store_value,
        cache_dir=cache_path,
        offline=offline_flag,
        versioning=versioning_name,
        storage_options=options,
        max_connections=parse_max_connections(budget, sources["max_connections"].label),
        setting_sources=sources,
        ini_file=ini_file.path if ini_file else None,
        # assets.lock sits next to the ini file (the project root), as package locks do;
        # without one, in the start directory.
        lock_file=(ini_file.directory if ini_file else Path(start_dir or cwd).absolute())
        / "assets.lock",
        shared_dirs=tiers,
    )


def _storage_options(
    explicit: Mapping[str, Any] | Sequence[str] | None,
    ini_value: Any,
    ini_label: str,
    argument: SettingSource,
) -> tuple[dict[str, Any], SettingSource]:
    """The ini's ``assets_storage_options`` with the explicit ones merged over them; the
    source is the argument's when there are explicit ones."""
    labels = []
    origin = Origin.DEFAULT
    options: dict[str, Any] = {}
    if ini_value not in (None, "", []):
        where = f"assets_storage_options in {ini_label}"
        lines = ini_value.splitlines() if isinstance(ini_value, str) else list(ini_value)
        if not all(isinstance(line, str) for line in lines):
            raise ConfigError(f"{where}: give KEY=VALUE strings, one per line")
        options = parse_storage_options(lines, where)
        labels.append(where)
        origin = Origin.INI_FILE
    if explicit is not None:
        if isinstance(explicit, Mapping):
            given = dict(explicit)
        else:
            lines = [explicit] if isinstance(explicit, str) else list(explicit)
            given = parse_storage_options(lines, argument.label)
        if given:
            options = merge_options(options, given)
            labels.insert(0, argument.label)
            origin = Origin.ARGUMENT
    return options, SettingSource(origin, " over ".join(labels) or "default")
