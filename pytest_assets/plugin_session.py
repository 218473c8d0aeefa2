"""The state of one pytest session (kept in ``config.stash``), which the plugin's hooks and
fixtures hand off to: the configuration loaded once, the ``--assets-override`` folders, every
``Assets`` the tests used, and on the xdist controller what the workers sent back.

Specs, resolution and caching stay in the core: this only watches the ``Assets`` objects and
turns what they saw into a :class:`WorkerReport` for the summary and ``assets.lock``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .errors import AssetsError, ConfigError
from .overrides import override_target, parse_override
from .pytest_compat import getini
from .spec import AssetSpec
from .xdist_report import PinReport, Record, ReplacedLine, WorkerReport

if TYPE_CHECKING:
    from .assets import Assets
    from .config import Config
    from .pin_session import PinLine

_HASH_CHARS = 12  # of a content hash in the summary


@dataclass
class PluginSession:
    config: pytest.Config
    overrides: dict[str, Path]
    watched: list[Assets] = field(default_factory=list)
    overridden: set[Record] = field(default_factory=set)
    from_workers: set[Record] = field(default_factory=set)
    pins: PinReport = field(default_factory=PinReport)  # on the controller: the whole run's
    pin_lines: list[PinLine] = field(default_factory=list)
    # What a conftest's own ``assets`` fixture used and each setting it ignored; on the
    # controller, also the workers' lines.
    replaced: list[ReplacedLine] = field(default_factory=list)
    _loaded: Config | None = None

    @classmethod
    def start(cls, config: pytest.Config) -> PluginSession:
        """Check the overrides now (ini, then the command line): a bad one is a usage error
        before any test runs."""
        overrides: dict[str, Path] = {}
        base = config.inipath.parent if config.inipath else config.invocation_params.dir
        for line in getini(config, "assets_overrides") or ():
            try:
                name, path = parse_override(line, base)
            except ValueError as exc:
                raise pytest.UsageError(f"assets_overrides in {config.inipath}: {exc}") from None
            overrides[name] = path
        overrides.update(config.option.assets_overrides or ())
        return cls(config, overrides)

    def loaded(self) -> Config:
        """The one loader, given what pytest parsed: CLI > environment > ini > defaults."""
        if self._loaded is None:
            from .config import INI_KEYS, IniFile, load_config

            values = {key: self._getini(key) for key in INI_KEYS}
            # An empty store or cache in the file is refused by the loader, not skipped.
            kept = ("assets_store", "assets_dir")
            values = {
                key: v
                for key, v in values.items()
                if v not in (None, "", []) or (v == "" and key in kept)
            }
            invoked = self.config.invocation_params.dir
            # The file pytest chose, never a second search; without one, values come from -o.
            ini_path = self.config.inipath or invoked / "(-o)"
            option = self.config.option
            self._loaded = load_config(
                invoked,
                store=option.assets_store,
                cache_dir=option.assets_dir,
                offline=True if option.assets_offline else None,
                storage_options=option.assets_storage_options or None,
                ini=IniFile(ini_path, values),
                argument_source="command line",
            )
        return self._loaded

    def _getini(self, key: str) -> Any:
        try:
            return getini(self.config, key)
        except (ValueError, pytest.UsageError) as exc:  # pytest's own check of the value
            raise ConfigError(f"{key} in {self.config.inipath}: {exc}") from None

    def _command_line_options(self) -> dict[str, Any]:
        """``--assets-storage-option``: applied over any ``assets_storage_options`` fixture."""
        from .storage_options import parse_storage_options

        given = self.config.option.assets_storage_options or ()
        return parse_storage_options(given, "--assets-storage-option")

    def build_assets(self, storage_options: Mapping[str, Any]) -> Assets:
        """The session's ``Assets``: the configuration with ``storage_options`` (the
        ``assets_storage_options`` fixture) and ``--assets-storage-option`` over them."""
        from .assets import Assets
        from .config import Origin, SettingSource
        from .faces import PYTEST
        from .storage_options import merge_options

        if not isinstance(storage_options, Mapping):
            raise ConfigError(
                "the assets_storage_options fixture must return a dict of fsspec options, "
                f"not {type(storage_options).__name__}"
            )
        loaded = self.loaded()
        options = merge_options(storage_options, self._command_line_options())
        if options != loaded.storage_options:
            fixture = SettingSource(Origin.CODE, "the assets_storage_options fixture")
            loaded = dataclasses.replace(loaded, storage_options=options)
            loaded = loaded.with_source("storage_options", fixture)
        built = Assets.from_loaded(loaded, lock_check=self.lock_check, face=PYTEST)
        built.redirect = self.override_of
        self.watch(built)
        return built

    @property
    def lock_check(self) -> bool:
        return bool(self.config.option.assets_lock_check)

    def watch(self, assets: Assets) -> None:
        """Remember every Assets a test used (ours or a conftest's), for the summary; one built
        in code without a lock file follows the session's ``assets.lock``."""
        if any(seen is assets for seen in self.watched):
            return
        self.watched.append(assets)
        with contextlib.suppress(AssetsError):  # a bad ini already fails the fixture
            assets.pins.adopt(self.loaded().lock_file, self.lock_check)

    def fetch(self, assets: Assets, spec: str | AssetSpec) -> Path:
        """``asset(spec)``: the override of its name when there is one, else ``assets.fetch``."""
        parsed = assets.parse(spec)
        return self.override_of(parsed) or assets.fetch(parsed)

    def override_of(self, parsed: AssetSpec) -> Path | None:
        """The ``--assets-override`` path of a spec (recorded for the summary), or None."""
        root = self.overrides.get(parsed.name)
        if root is None:
            return None
        path = override_target(parsed, root)
        self.overridden.add(Record(str(parsed), parsed.name, None, None, str(root)))
        return path

    def describe_replacement(self, assets: object, where: str) -> None:
        """A conftest's own ``assets``: what it uses, and each configured setting it ignores."""
        try:
            loaded: Config | None = self.loaded()
        except AssetsError:
            loaded = None  # the header and the fixture already say what is wrong
        from .replaced_fixture import describe_replacement  # only when a conftest replaces it

        self.add_replaced(describe_replacement(assets, where, loaded))

    def add_replaced(self, lines: Iterable[ReplacedLine]) -> None:
        for line in lines:
            if line not in self.replaced:
                self.replaced.append(line)

    # -- the report: this process's, the workers', the whole run's ------------------------------

    def local_report(self) -> WorkerReport:
        """What the tests of this process resolved, for the summary and ``assets.lock``."""
        return WorkerReport(self._local_records(), self._local_pins(), tuple(self.replaced))

    def _local_pins(self) -> PinReport:
        report = PinReport()
        for assets in self.watched:
            if assets.pins.path is not None:
                report.paths.add(str(assets.pins.path))
            report.unpinned.update(assets.pins.unpinned)
            report.problems.update(assets.pins.problems)
            try:
                found = assets.session_lock_entries()
            except AssetsError as exc:
                report.problems.add(f"cannot compute the lock entries: {exc}")
                continue
            for key, entry in found.items():
                report.add(key, entry.version, entry.meta_sha256)
        return report

    def _local_records(self) -> frozenset[Record]:
        records = set(self.overridden)
        for assets in self.watched:
            digests: dict[tuple[str, str | None], str | None] = {}
            for resolution in assets.history:
                name, version = resolution.resolved.name, resolution.resolved.version
                if (name, version) not in digests:
                    digests[name, version] = _short_hash(assets, name, version)
                pinned = resolution.pinned
                records.add(
                    Record(
                        resolution.requested, name, version, digests[name, version], None, pinned
                    )
                )
        return frozenset(records)

    def worker_finished(self, workeroutput: MutableMapping[str, Any]) -> None:
        """xdist controller: take in what a finished worker resolved."""
        report = WorkerReport.received(workeroutput)
        self.from_workers |= report.records
        self.pins.merge(report.pins)
        self.add_replaced(report.replaced)

    def records(self) -> list[Record]:
        """Every summary line of the run, this process's and the workers'."""
        return sorted(self._local_records() | self.from_workers, key=lambda r: r.sort_key)

    def finish(self) -> bool:
        """On the controller (or without xdist): merge this process's pins, then remember,
        write or check ``assets.lock``. True when the check fails the run."""
        self.pins.merge(self._local_pins())
        option = self.config.option
        from .pin_session import finish_pins  # at the end of the session only

        outcome = finish_pins(
            self.pins, self.loaded, write=bool(option.assets_lock), check=self.lock_check
        )
        self.pin_lines = outcome.lines
        return outcome.failed


def _short_hash(assets: Assets, name: str, version: str | None) -> str | None:
    if version is None:
        return None
    try:
        digest = assets.content_hash(name, version)
    except AssetsError:
        return None
    return digest[:_HASH_CHARS] if digest else None
