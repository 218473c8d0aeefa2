"""pytest plugin: the ``assets`` and ``asset`` fixtures, the ``--assets-*`` options, one header
line and a summary of every spec the session resolved; ``--assets-lock`` writes and
``--assets-lock-check`` enforces ``assets.lock`` (xdist workers report to the controller).

Glue only: options, hooks and fixtures, each handing off to the session's
:class:`~pytest_assets.plugin_session.PluginSession` (its state and the xdist reports),
``terminal`` (the header and the summary) and ``pin_session`` (``assets.lock`` at the end).
Specs, resolution, caching and configuration belong to the core (``Assets``, ``load_config``),
so a test sees exactly what the command line and a notebook see. Nothing heavy is imported
until a test asks for an asset, so a session that uses none pays nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_assets.errors import AssetsError
from pytest_assets.overrides import parse_override
from pytest_assets.plugin_session import PluginSession
from pytest_assets.run_report import Use
from pytest_assets.spec import AssetSpec
from pytest_assets.terminal import header_lines

if TYPE_CHECKING:
    from pytest_assets.assets import Assets

_SESSION = pytest.StashKey[PluginSession]()
_USES = pytest.StashKey[list[Use]]()  # every asset(spec) of every test, for --assets-report


def _session(config: pytest.Config) -> PluginSession:
    return config.stash[_SESSION]


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


# -- options ------------------------------------------------------------------


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
    group.addoption(
        "--assets-report",
        dest="assets_report",
        metavar="FILE",
        default=None,
        help="Write JSON naming every spec, the version and content hash it resolved to, where "
        "it came from and which tests used it (an audit trail of the run).",
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
        "assets_max_connections",
        "Requests one download may have open at once (default 64; 1: one stream per object).",
        default=None,
    )
    parser.addini(
        "assets_shared_dirs",
        "Read-only shared cache directories, one per line, consulted before assets_dir.",
        "linelist",
    )
    parser.addini(
        "assets_overrides", "NAME=PATH lines: local files used instead of the store.", "linelist"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Check the overrides now: a bad one is a usage error before any test runs."""
    config.stash[_SESSION] = PluginSession.start(config)
    config.stash[_USES] = []


@pytest.hookimpl(tryfirst=True)
def pytest_report_header(config: pytest.Config) -> list[str]:
    """One line: the store, the cache and the mode that explain this run; overrides, loudly."""
    return header_lines(_session(config))


# -- fixtures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetFetcher:
    """``asset("name:1[sub/part]") -> Path``. An asset error fails the test with the core's
    one-line message instead of a traceback, and the session goes on."""

    assets: Assets
    _session: PluginSession = field(repr=False)
    node: Any = field(default=None, repr=False)  # the test, for its JUnit properties

    def __call__(self, spec: str | AssetSpec) -> Path:
        __tracebackhide__ = True
        before = len(self.assets.history)
        try:
            path = self._session.fetch(self.assets, spec)
        except AssetsError as exc:
            message = str(exc)
        else:
            if self.node is not None and len(self.assets.history) > before:  # not overridden
                from pytest_assets.run_report import note_use

                uses = self.node.config.stash[_USES]
                note_use(self.node, self.assets, self.assets.history[-1], uses)
            return path
        pytest.fail(message, pytrace=False)  # outside ``except``: no chained exception shown


@pytest.fixture(scope="session")
def assets_storage_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """The fsspec options of the session's store (endpoint, credentials, region, ...): the
    ``assets_storage_options`` ini key and ``--assets-storage-option``. Override it in
    conftest.py to compute them in code (ask for ``assets_storage_options`` in the override
    to extend the configured ones); ``--assets-storage-option`` still applies over it."""
    try:
        return dict(_session(pytestconfig).loaded().storage_options)
    except AssetsError as exc:
        message = f"pytest-assets configuration: {exc}"
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def assets(pytestconfig: pytest.Config, assets_storage_options: Mapping[str, Any]) -> Assets:
    """The session's ``Assets`` from the shared configuration and ``assets_storage_options``.
    A conftest may still replace it; the summary then says which settings it ignored."""
    try:
        return _session(pytestconfig).build_assets(assets_storage_options)
    except AssetsError as exc:
        message = f"pytest-assets configuration: {exc}"
    pytest.fail(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A conftest's own ``assets``: describe the object it built, for the summary."""
    result = yield
    ours = getattr(fixturedef.func, "__module__", None) == __name__
    if fixturedef.argname == "assets" and not ours:
        from pytest_assets.replaced_fixture import fixture_file  # a replaced fixture only

        where = fixture_file(request.config, fixturedef.func)
        _session(request.config).describe_replacement(result, where)
    return result


def _check_assets(assets: object) -> None:
    from pytest_assets.assets import Assets

    if not isinstance(assets, Assets):  # a conftest's own assets fixture returned another thing
        message = (
            f"the assets fixture returned a {type(assets).__name__}, not a "
            "pytest_assets.Assets: build it with Assets(...) or Assets.from_config(...)"
        )
        pytest.fail(message, pytrace=False)


@pytest.fixture
def asset(
    assets: Assets, pytestconfig: pytest.Config, request: pytest.FixtureRequest
) -> AssetFetcher:
    """A callable: ``asset("test/asset:1") -> pathlib.Path``, resolved through ``assets``."""
    _check_assets(assets)
    session = _session(pytestconfig)
    session.watch(assets)
    return AssetFetcher(assets, session, request.node)


@pytest.fixture(scope="session")
def model_library(assets: Assets, pytestconfig: pytest.Config) -> Any:
    """A callable: ``model_library(models=...) -> modelkit.ModelLibrary`` (the extra
    ``pytest-assets[modelkit]``), every model's asset resolved through ``assets``."""
    from pytest_assets.modelkit_fixture import session_libraries  # modelkit users only

    _check_assets(assets)
    try:
        return session_libraries(assets, _session(pytestconfig))
    except AssetsError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


# -- the end of the run: xdist workers report, the controller sums up --------------------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker, hand the records and pins to the controller; there (or without
    xdist), remember the partial specs, write or check ``assets.lock``."""
    ours = _session(session.config)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        ours.local_report().publish(workeroutput)
        from pytest_assets.run_report import publish

        uses: list[Use] = session.config.stash[_USES]
        publish(workeroutput, uses)
        return
    failed = ours.finish()
    if session.config.option.assets_report:
        failed = _write_report(session.config) or failed
    if failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _write_report(config: pytest.Config) -> bool:
    """``--assets-report FILE``; True (the run fails) when it cannot be written."""
    from pytest_assets.redact import redact_url
    from pytest_assets.run_report import report_body, write_report

    path = config.invocation_params.dir / config.option.assets_report
    try:
        loaded = _session(config).loaded()
        store = redact_url(loaded.store) if loaded.store else None
        uses: list[Use] = config.stash[_USES]
        write_report(path, report_body(uses, store, loaded.lock_file))
    except AssetsError as exc:
        config.get_terminal_writer().line(f"pytest-assets: error: {exc}", red=True)
        return True
    return False


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist controller: collect what a finished worker resolved."""
    _session(node.config).worker_finished(getattr(node, "workeroutput", {}))
    from pytest_assets.run_report import received

    node.config.stash[_USES].extend(received(getattr(node, "workeroutput", {})))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    if not hasattr(config, "workerinput"):  # the controller prints the whole run's
        from pytest_assets.terminal import write_summary

        write_summary(terminalreporter, _session(config))
