"""pytest plugin: the ``assets`` and ``asset`` fixtures, the ``--assets-*`` options, one header
line and a summary of every spec the session resolved; ``--assets-lock`` writes and
``--assets-lock-check`` enforces ``assets.lock`` (xdist workers report to the controller).

Glue only: specs, resolution, caching and configuration belong to the core (``Assets``,
``load_config``), so a test sees exactly what the command line and a notebook see. Nothing heavy
is imported until a test asks for an asset, so a session that uses none pays nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest

from pytest_assets.errors import AssetNotFoundError, AssetsError, ConfigError
from pytest_assets.spec import AssetSpec

if TYPE_CHECKING:
    from pytest_assets.assets import Assets
    from pytest_assets.config import Config

_WORKER_KEY = "pytest_assets"
_LOCK_WORKER_KEY = "pytest_assets_lock"
_REPLACED_WORKER_KEY = "pytest_assets_replaced"
# The command-line option behind each setting, to name what a replaced ``assets`` ignores.
_FLAGS = {
    "store": "--assets-store",
    "cache_dir": "--assets-dir",
    "offline": "--assets-offline",
    "storage_options": "--assets-storage-option",
}
_HASH_CHARS = 12


# -- overrides: NAME=PATH -----------------------------------------------------------------------


def parse_override(text: str, base: Path) -> tuple[str, Path]:
    """``NAME=PATH`` with NAME checked by the core's spec rules and PATH existing (relative to
    ``base``); a ``ValueError`` with a sentence otherwise."""
    name, sep, raw_path = text.partition("=")
    name, raw_path = name.strip(), raw_path.strip()
    if not sep or not name or not raw_path:
        raise ValueError(f"{text!r} is not NAME=PATH, e.g. demo/vocab=./vocab-draft.txt")
    try:
        spec = AssetSpec.parse(name)
    except AssetsError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if spec.version is not None or spec.sub_part is not None:
        raise ValueError(
            f"{text!r}: give the asset name only ({spec.name}=PATH); an override stands in for "
            "every version and sub-part of the name"
        )
    path = (base / Path(raw_path).expanduser()).absolute()
    if not path.exists():
        raise ValueError(f"{text!r}: {path} does not exist")
    return spec.name, path


def _override_option(text: str) -> tuple[str, Path]:
    try:
        return parse_override(text, Path.cwd())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _storage_option(text: str) -> str:
    """Check one ``KEY=VALUE`` now (a usage error); the loader parses the list later."""
    from pytest_assets.storage_options import parse_storage_options

    try:
        parse_storage_options([text], "option")
    except AssetsError as exc:  # argparse names the option itself
        raise argparse.ArgumentTypeError(str(exc).removeprefix("option: ")) from None
    return text


def _override_target(spec: AssetSpec, root: Path) -> Path:
    """The override itself, or the sub-part inside an override folder."""
    if spec.sub_part is None:
        return root
    if not root.is_dir():
        raise AssetNotFoundError(
            f"{spec} asks for the sub-part {spec.sub_part!r}, but {spec.name} is overridden by "
            f"the file {root}: override it with a folder"
        )
    target = root.joinpath(*spec.sub_part.split("/"))
    if not target.exists():
        raise AssetNotFoundError(
            f"{spec}: the override folder {root} of {spec.name} has no {spec.sub_part}"
        )
    return target


# -- session state (config.stash) ---------------------------------------------------------------


class Record(NamedTuple):
    """One summary line: a spec and the exact version (or the override) it gave."""

    requested: str
    name: str
    version: str | None
    digest: str | None
    override: str | None
    locked: bool = False  # resolved through assets.lock


@dataclass
class LockReport:
    """What the session's ``Assets`` objects say about ``assets.lock``; merged over workers."""

    entries: dict[str, tuple[str, str]] = field(default_factory=dict)  # spec: (version, hash)
    unlocked: set[str] = field(default_factory=set)
    problems: set[str] = field(default_factory=set)
    # spec: every version it resolved to, when workers (or Assets objects) disagreed
    diverged: dict[str, set[str]] = field(default_factory=dict)
    paths: set[str] = field(default_factory=set)  # the lock files the Assets objects follow

    def add(self, key: str, version: str, digest: str) -> None:
        """One partial spec's resolution; a second, different one means a push mid-run."""
        seen = self.entries.get(key)
        if seen is not None and seen[0] != version:
            self.diverged.setdefault(key, {seen[0]}).add(version)
        self.entries[key] = (version, digest)

    def update(self, wire: dict[str, Any]) -> None:
        """Merge a report sent as plain lists and tuples (xdist's ``workeroutput``)."""
        for key, version, digest in wire["entries"]:
            self.add(key, version, digest)
        for key, versions in wire.get("diverged", ()):
            self.diverged.setdefault(key, set()).update(versions)
        self.unlocked.update(wire["unlocked"])
        self.problems.update(wire["problems"])
        self.paths.update(wire.get("paths", ()))

    def wire(self) -> dict[str, Any]:
        entries = [(key, *value) for key, value in sorted(self.entries.items())]
        return {
            "entries": entries,
            "unlocked": sorted(self.unlocked),
            "problems": sorted(self.problems),
            "paths": sorted(self.paths),
            "diverged": [
                (key, sorted(versions)) for key, versions in sorted(self.diverged.items())
            ],
        }


@dataclass
class _State:
    """Per session (``config.stash``): the overrides, the ``Assets`` objects tests used and, on
    the xdist controller, the records the workers sent back."""

    config: pytest.Config
    overrides: dict[str, Path]
    watched: list[Any] = field(default_factory=list)
    overridden: set[Record] = field(default_factory=set)
    from_workers: set[Record] = field(default_factory=set)
    lock: LockReport = field(default_factory=LockReport)  # controller: the whole run's
    lock_lines: list[tuple[str, str]] = field(default_factory=list)  # (markup, text)
    # (is a warning, line): what a conftest's own ``assets`` fixture used and each setting it
    # ignored; on the controller, also the workers' lines.
    replaced: list[tuple[bool, str]] = field(default_factory=list)
    _loaded: Config | None = None

    def loaded(self) -> Config:
        """The one loader, given what pytest parsed: CLI > environment > ini > defaults."""
        if self._loaded is None:
            from pytest_assets.config import INI_KEYS, IniFile, load_config

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

    def command_line_options(self) -> dict[str, Any]:
        """``--assets-storage-option``: applied over any ``assets_storage_options`` fixture."""
        from pytest_assets.storage_options import parse_storage_options

        given = self.config.option.assets_storage_options or ()
        return parse_storage_options(given, "--assets-storage-option")

    def describe_replacement(self, assets: Any, where: str) -> None:
        """A conftest's own ``assets``: what it uses, and each configured setting it ignores
        (the header, printed before any fixture runs, could only show the configuration)."""
        from pytest_assets.config import Origin
        from pytest_assets.redact import redact_url

        store = getattr(assets, "store_url", None)
        cache = getattr(getattr(assets, "cache", None), "directory", None)
        mode = "offline" if getattr(assets, "offline", False) else "online"
        cache_shown = Path(cache).absolute() if cache is not None else "(none)"
        lines = [
            (
                False,
                f"assets: the assets fixture is overridden in {where}: store "
                f"{redact_url(store) if store else '(none)'}, cache {cache_shown}, {mode}",
            )
        ]
        try:
            ignored = self.loaded().unapplied(assets)
        except AssetsError:
            ignored = []  # the header and the fixture already say what is wrong
        for key, source, used in ignored:
            given = self.loaded().source(key).origin is Origin.ARGUMENT
            label = _FLAGS[key] if given else source
            lines.append(
                (
                    True,
                    f"assets: {label.removeprefix('environment ')} is ignored: the assets "
                    f"fixture is overridden in {where} and built {key}={used}",
                )
            )
        self.add_replaced(lines)

    def add_replaced(self, lines: Iterable[tuple[bool, str]]) -> None:
        for ignored, text in lines:
            if (ignored, text) not in self.replaced:
                self.replaced.append((bool(ignored), text))

    def _getini(self, key: str) -> Any:
        try:
            return self.config.getini(key)
        except (ValueError, pytest.UsageError) as exc:  # pytest's own check of the value
            raise ConfigError(f"{key} in {self.config.inipath}: {exc}") from None

    def watch(self, assets: Any) -> None:
        """Remember every Assets a test used (ours or a conftest's), for the summary; one built
        in code without a lock file follows the session's ``assets.lock``."""
        if any(seen is assets for seen in self.watched):
            return
        self.watched.append(assets)
        adopt = getattr(assets, "adopt_lock", None)
        if adopt is not None:
            with contextlib.suppress(AssetsError):  # a bad ini already fails the fixture
                adopt(self.loaded().lock_file, bool(self.config.option.assets_lock_check))

    def local_lock(self) -> LockReport:
        """The lock entries, unlocked specs and lock problems of the Assets this process used."""
        report = LockReport()
        for assets in self.watched:
            if getattr(assets, "lock_path", None) is not None:
                report.paths.add(str(assets.lock_path))
            report.unlocked.update(getattr(assets, "unlocked", ()))
            report.problems.update(getattr(assets, "lock_problems", ()))
            if not hasattr(assets, "session_lock_entries"):
                continue
            try:
                found = assets.session_lock_entries()
            except AssetsError as exc:
                report.problems.add(f"cannot compute the lock entries: {exc}")
                continue
            for key, entry in found.items():
                report.add(key, entry.version, entry.meta_sha256)
        return report

    def local_records(self) -> set[Record]:
        records = set(self.overridden)
        for assets in self.watched:
            digests: dict[tuple[str, str], str | None] = {}
            for resolution in getattr(assets, "history", ()):
                name, version = resolution.resolved.name, resolution.resolved.version
                if (name, version) not in digests:
                    try:
                        digest = assets.content_hash(name, version)
                    except AssetsError:
                        digest = None
                    digests[name, version] = digest[:_HASH_CHARS] if digest else None
                records.add(
                    Record(
                        resolution.requested,
                        name,
                        version,
                        digests[name, version],
                        None,
                        bool(getattr(resolution, "locked", False)),
                    )
                )
        return records


def _overriding_fixtures(config: pytest.Config) -> list[str]:
    """Where the conftest files and plugins loaded so far define their own ``assets`` fixture.

    For the header, so best effort: conftests deeper in the tree load during collection,
    after the header; the summary (from :func:`pytest_fixture_setup`) says what was used."""
    found = []
    for _name, plugin in config.pluginmanager.list_name_plugin():
        if not inspect.ismodule(plugin) or plugin.__name__ == __name__:
            continue
        for value in vars(plugin).values():
            if _fixture_name(value) == "assets" and getattr(value, "__module__", "") != __name__:
                found.append(_relative(config, Path(plugin.__file__ or "?")))
                break
    return found


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


def _where(config: pytest.Config, func: Any) -> str:
    """The file a fixture function is defined in, relative to the rootdir."""
    try:
        return _relative(config, Path(inspect.getsourcefile(func) or "?"))
    except TypeError:
        return "a plugin"


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


# -- options and configuration ------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("assets", "pytest-assets (versioned files from the asset store)")
    group.addoption(
        "--assets-store",
        dest="assets_store",
        metavar="URL",
        default=None,
        help="Asset store root (gs://bucket/prefix, s3://..., a directory); beats ASSETS_STORE.",
    )
    group.addoption(
        "--assets-dir",
        dest="assets_dir",
        metavar="PATH",
        default=None,
        help="Local cache directory for downloaded assets; beats ASSETS_DIR.",
    )
    group.addoption(
        "--assets-offline",
        dest="assets_offline",
        action="store_true",
        default=None,
        help="Never contact the store: use cached versions only.",
    )
    group.addoption(
        "--assets-storage-option",
        dest="assets_storage_options",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        type=_storage_option,
        help="An fsspec option of the store (repeatable), e.g. "
        "client_kwargs.endpoint_url=http://localhost:9000; a dot nests, values are JSON when "
        "they parse. Applies over assets_storage_options (ini and fixture).",
    )
    group.addoption(
        "--assets-override",
        dest="assets_overrides",
        metavar="NAME=PATH",
        action="append",
        default=[],
        type=_override_option,
        help="Use the local file or folder PATH for every spec of asset NAME (repeatable).",
    )
    group.addoption(
        "--assets-lock",
        dest="assets_lock",
        action="store_true",
        default=False,
        help="Write what every partial spec resolved to into assets.lock (next to the ini file).",
    )
    group.addoption(
        "--assets-lock-check",
        dest="assets_lock_check",
        action="store_true",
        default=False,
        help="Fail the run if a partial spec resolves outside assets.lock or a locked version "
        "changed (for CI).",
    )
    parser.addini("assets_store", "Asset store root URL or directory.", default=None)
    parser.addini("assets_dir", "Local cache directory for downloaded assets.", default=None)
    parser.addini("assets_offline", "Use cached versions only.", type="bool", default=None)
    parser.addini(
        "assets_versioning", "Versioning system: major_minor or simple_date.", default=None
    )
    parser.addini(
        "assets_storage_options",
        "KEY=VALUE lines: fsspec options of the store (endpoint, credentials, ...).",
        "linelist",
    )
    parser.addini(
        "assets_overrides", "NAME=PATH lines: local files used instead of the store.", "linelist"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Check the overrides now: a bad one is a usage error before any test runs."""
    overrides: dict[str, Path] = {}
    base = config.inipath.parent if config.inipath else config.invocation_params.dir
    for line in config.getini("assets_overrides") or ():
        try:
            name, path = parse_override(line, base)
        except ValueError as exc:
            raise pytest.UsageError(f"assets_overrides in {config.inipath}: {exc}") from None
        overrides[name] = path
    overrides.update(config.option.assets_overrides or ())
    config.stash[_STATE] = _State(config, overrides)


@pytest.hookimpl(tryfirst=True)
def pytest_report_header(config: pytest.Config) -> list[str]:
    """One line: the store, the cache and the mode that explain this run; overrides, loudly."""
    state = _state(config)
    try:
        loaded = state.loaded()
    except AssetsError as exc:
        lines = [f"assets: configuration error: {exc}"]
    else:
        from pytest_assets.redact import redact_url
        from pytest_assets.storage_options import describe_options

        store = redact_url(loaded.store) if loaded.store else "none (set --assets-store)"
        mode = "offline" if loaded.offline else "online"
        extra = "" if loaded.versioning == "major_minor" else f", {loaded.versioning} versioning"
        if loaded.storage_options:
            store += f" ({describe_options(loaded.storage_options)})"
        lines = [f"assets: store {store}, cache {loaded.cache_dir}, {mode}{extra}"]
        lines += _lock_header(loaded.lock_file, config.option)
    lines += [
        f"assets: the assets fixture is overridden in {where}: these settings apply only if it "
        "reads them; the summary says what it used"
        for where in _overriding_fixtures(config)
    ]
    lines += [
        f"assets: OVERRIDDEN {name} -> {path} (a local {_kind(path)}, not the store)"
        for name, path in state.overrides.items()
    ]
    return lines


def _lock_header(path: Path | None, option: argparse.Namespace) -> list[str]:
    if path is None:
        return []
    exists = path.exists()
    if exists:
        line = f"assets: partial specs resolve through the lock {path}"
    elif option.assets_lock or option.assets_lock_check:
        line = f"assets: no lock at {path} yet"
    else:
        return []
    if option.assets_lock:
        line += ", written at the end (--assets-lock)"
    if option.assets_lock_check:
        line += ", checked (--assets-lock-check)"
    return [line]


def _kind(path: Path) -> str:
    return "folder" if path.is_dir() else "file"


# -- fixtures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetFetcher:
    """``asset("name:1[sub/part]") -> Path``. An asset error fails the test with the core's
    one-line message instead of a traceback, and the session goes on."""

    assets: Assets
    _state: _State = field(repr=False)

    def __call__(self, spec: str | AssetSpec) -> Path:
        __tracebackhide__ = True
        try:
            parsed = self.assets.parse(spec)
            root = self._state.overrides.get(parsed.name)
            if root is None:
                return self.assets.fetch(parsed)
            path = _override_target(parsed, root)
        except AssetsError as exc:
            message = str(exc)
        else:
            self._state.overridden.add(Record(str(parsed), parsed.name, None, None, str(root)))
            return path
        pytest.fail(message, pytrace=False)  # outside ``except``: no chained exception shown


@pytest.fixture(scope="session")
def assets_storage_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """The fsspec options of the session's store (endpoint, credentials, region, ...): the
    ``assets_storage_options`` ini key and ``--assets-storage-option``. Override it in
    conftest.py to compute them in code (ask for ``assets_storage_options`` in the override
    to extend the configured ones); ``--assets-storage-option`` still applies over it."""
    try:
        return dict(_state(pytestconfig).loaded().storage_options)
    except AssetsError as exc:
        message = f"pytest-assets configuration: {exc}"
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def assets(pytestconfig: pytest.Config, assets_storage_options: Mapping[str, Any]) -> Assets:
    """The session's ``Assets`` from the shared configuration and ``assets_storage_options``.
    A conftest may still replace it; the summary then says which settings it ignored."""
    from pytest_assets.assets import Assets
    from pytest_assets.config import Origin, SettingSource
    from pytest_assets.storage_options import merge_options

    state = _state(pytestconfig)
    try:
        if not isinstance(assets_storage_options, Mapping):
            raise ConfigError(
                "the assets_storage_options fixture must return a dict of fsspec options, "
                f"not {type(assets_storage_options).__name__}"
            )
        loaded = state.loaded()
        options = merge_options(assets_storage_options, state.command_line_options())
        if options != loaded.storage_options:
            fixture = SettingSource(Origin.CODE, "the assets_storage_options fixture")
            loaded = dataclasses.replace(loaded, storage_options=options)
            loaded = loaded.with_source("storage_options", fixture)
        check = bool(pytestconfig.option.assets_lock_check)
        built = Assets.from_loaded(loaded, lock_check=check)
    except AssetsError as exc:
        message = f"pytest-assets configuration: {exc}"
    else:
        state.watch(built)
        return built
    pytest.fail(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A conftest's own ``assets``: describe the object it built, for the summary."""
    result = yield
    ours = getattr(fixturedef.func, "__module__", None) == __name__
    if fixturedef.argname == "assets" and not ours:
        where = _where(request.config, fixturedef.func)
        _state(request.config).describe_replacement(result, where)
    return result


@pytest.fixture
def asset(assets: Assets, pytestconfig: pytest.Config) -> AssetFetcher:
    """A callable: ``asset("test/asset:1") -> pathlib.Path``, resolved through ``assets``."""
    state = _state(pytestconfig)
    state.watch(assets)
    return AssetFetcher(assets, state)


# -- the summary, aggregated over xdist workers -------------------------------------------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker, hand the records and lock report to the controller; there (or
    without xdist), remember the partial specs, write or check the lock."""
    state = _state(session.config)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_KEY] = [tuple(r) for r in state.local_records()]
        workeroutput[_LOCK_WORKER_KEY] = state.local_lock().wire()
        workeroutput[_REPLACED_WORKER_KEY] = [list(line) for line in state.replaced]
        return
    state.lock.update(state.local_lock().wire())
    if _finish_lock(state) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _finish_lock(state: _State) -> bool:
    """Remember the run's partial specs (for ``pytest-assets lock``), then apply
    ``--assets-lock`` and ``--assets-lock-check``; the summary lines go to ``state.lock_lines``.
    True when the check fails the run."""
    option, report = state.config.option, state.lock
    if not (report.entries or report.unlocked or report.problems):
        if option.assets_lock or option.assets_lock_check:
            state.lock_lines.append(("", "assets.lock: no partial spec resolved, nothing to do"))
        return False
    from pytest_assets.assets import Assets
    from pytest_assets.lockfile import LockEntry

    say = state.lock_lines.append
    try:
        assets = Assets.from_loaded(state.loaded())
        if len(report.paths) == 1:  # a conftest's Assets may name its own lock file
            assets.lock_path = Path(next(iter(report.paths)))
        elif len(report.paths) > 1:
            shown = ", ".join(sorted(report.paths))
            say(("yellow", f"assets.lock: the tests followed several lock files: {shown}"))
            say(("yellow", f"assets.lock: this run's entries go to {assets.lock_path}"))
        path = assets.lock_path
        existed = path is not None and path.exists()
        assets.remember_specs(sorted(report.entries))
        written: set[str] = set()
        if option.assets_lock and report.entries:
            found = {
                k: LockEntry(version, digest) for k, (version, digest) in report.entries.items()
            }
            for key, old, new in assets.update_lock(entries=found):
                changed = " (metadata hash changed)" if old == new else ""
                say(("yellow", f"assets.lock: {key} {old or '(new)'} -> {new}{changed}"))
                written.add(key)
            say(("", f"assets.lock: {'wrote' if written else 'up to date:'} {path}"))
    except AssetsError as exc:
        say(("red", f"assets.lock: {exc}"))
        return bool(option.assets_lock_check)
    outside = sorted(report.unlocked if existed else report.entries)
    if existed and report.unlocked - written:
        missing = ", ".join(sorted(report.unlocked - written))
        say(("yellow", f"assets.lock: not in {path}, resolved without it: {missing}"))
        say(("yellow", "assets.lock: pytest --assets-lock adds them"))
    for key, versions in sorted(report.diverged.items()):
        kept = f"{report.entries[key][0]} was kept{' in the lock' if key in written else ''}"
        seen = " and ".join(sorted(versions))
        say(("yellow", f"assets.lock: {key} resolved to {seen} in this run (a push while it ran?)"))
        say(("yellow", f"assets.lock: {kept}; run the tests again to be sure they pass on it"))
    for problem in sorted(report.problems):
        say(("red", f"assets.lock: {problem}"))
    if not option.assets_lock_check or not (outside or report.problems):
        return False
    if outside:
        where = f"outside the lock {path}" if existed else f"with no lock at {path}"
        reason = f"{_plural(len(outside), 'partial spec')} resolved {where}: {', '.join(outside)}"
    else:
        reason = _plural(len(report.problems), "lock problem") + " (above)"
    say(("red", f"assets.lock check FAILED (--assets-lock-check): {reason}"))
    return True


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist controller: collect what a finished worker resolved."""
    output = getattr(node, "workeroutput", {})
    state = _state(node.config)
    state.from_workers.update(Record(*r) for r in output.get(_WORKER_KEY, ()))
    if _LOCK_WORKER_KEY in output:
        state.lock.update(output[_LOCK_WORKER_KEY])
    state.add_replaced(tuple(line) for line in output.get(_REPLACED_WORKER_KEY, ()))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    if hasattr(config, "workerinput"):
        return
    state = _state(config)
    records = sorted(state.local_records() | state.from_workers, key=lambda r: tuple(map(str, r)))
    if records:
        _summary(terminalreporter, config, records, state.replaced)
    elif config.getoption("verbose") >= 0:
        if state.lock_lines or state.replaced:
            terminalreporter.write_sep("=", "pytest-assets")
        _replaced(terminalreporter, state.replaced)
    else:
        _replaced(terminalreporter, [line for line in state.replaced if line[0]])
    for markup, text in state.lock_lines:
        if markup or config.getoption("verbose") >= -1:
            terminalreporter.write_line(text, **({markup: True, "bold": True} if markup else {}))


def _replaced(terminalreporter: pytest.TerminalReporter, lines: list[tuple[bool, str]]) -> None:
    """What a conftest's ``assets`` used, then each setting it ignored (loudly, at any -q)."""
    for ignored, text in lines:
        terminalreporter.write_line(text, yellow=ignored, bold=ignored)


def _summary(
    terminalreporter: pytest.TerminalReporter,
    config: pytest.Config,
    records: list[Record],
    replaced: list[tuple[bool, str]],
) -> None:
    overridden = [r for r in records if r.override is not None]
    verbosity = int(config.getoption("verbose"))
    if verbosity < 0:
        line = _one_line(records, overridden, terminalreporter._tw.fullwidth)
        if overridden or verbosity == -1:
            terminalreporter.write_line(line, yellow=bool(overridden), bold=bool(overridden))
        _replaced(terminalreporter, [line for line in replaced if line[0]])
        return
    title = f"pytest-assets: {_plural(len(records) - len(overridden), 'spec')} resolved"
    if overridden:
        title += f", {len(overridden)} OVERRIDDEN"
    terminalreporter.write_sep("=", title, yellow=bool(overridden), bold=bool(overridden))
    _replaced(terminalreporter, replaced)
    width = max(len(r.requested) for r in records)
    for r in records:
        if r.override is not None:
            text = f"{r.requested:<{width}} -> OVERRIDDEN by {r.override} (not the store)"
            terminalreporter.write_line(text, yellow=True, bold=True)
        else:
            digest = f"content {r.digest}" if r.digest else "content hash unknown"
            via = "  (assets.lock)" if r.locked else ""
            terminalreporter.write_line(f"{r.requested:<{width}} -> {r.version}  {digest}{via}")


def _one_line(records: list[Record], overridden: list[Record], width: int) -> str:
    """``-q``: the exact versions that ran (and what was overridden), or just the counts."""
    count = len(records) - len(overridden)
    versions = sorted({f"{r.name}:{r.version}" for r in records if r.override is None})
    names = sorted({r.name for r in overridden})
    parts = [f"{', '.join(versions)} ({_plural(count, 'spec')})"] if versions else []
    if names:
        parts.append(f"OVERRIDDEN: {', '.join(names)}")
    line = "assets: " + "; ".join(parts)
    if len(line) <= width:
        return line
    line = f"assets: {_plural(count, 'spec')} resolved to {_plural(len(versions), 'version')}"
    if names:
        line += f"; {_plural(len(names), 'asset')} OVERRIDDEN"
    return line + " (drop -q to list them)"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
