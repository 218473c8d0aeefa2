"""What the plugin prints: the header lines that explain the run (store, cache, mode, the lock
file, anything overridden), and at the end the summary of every spec the session resolved (one
line at ``-q``) followed by the ``assets.lock`` lines.

Overrides and a replaced ``assets`` fixture are shown loudly (yellow, at any ``-q``): a run that
did not use the store must never look like one that did.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .display import plural
from .errors import AssetsError
from .replaced_fixture import overriding_fixtures

if TYPE_CHECKING:
    from .plugin_session import PluginSession
    from .xdist_report import Record, ReplacedLine


def header_lines(session: PluginSession) -> list[str]:
    """One line: the store, the cache and the mode that explain this run; overrides, loudly."""
    try:
        loaded = session.loaded()
    except AssetsError as exc:
        lines = [f"assets: configuration error: {exc}"]
    else:
        from .config import Origin
        from .redact import redact_url
        from .storage_options import describe_options
        from .storekey import endpoint_in_use

        store = redact_url(loaded.store) if loaded.store else "none (set --assets-store)"
        mode = "offline" if loaded.offline else "online"
        extra = "" if loaded.versioning == "major_minor" else f", {loaded.versioning} versioning"
        if loaded.source("max_connections").origin is not Origin.DEFAULT:
            extra += f", {loaded.max_connections} connections"
        if loaded.storage_options:
            store += f" ({describe_options(loaded.storage_options)})"
        endpoint = endpoint_in_use(loaded.store, loaded.storage_options) if loaded.store else None
        if endpoint is not None and endpoint[1] != "storage options":  # those are shown above
            store += f" via {redact_url(endpoint[0])} ({endpoint[1]})"
        lines = [f"assets: store {store}, cache {loaded.cache_dir}, {mode}{extra}"]
        option = session.config.option
        lines += _pin_header(loaded.lock_file, bool(option.assets_lock), session.lock_check)
    lines += [
        f"assets: the assets fixture is overridden in {where}: these settings apply only if it "
        "reads them; the summary says what it used"
        for where in overriding_fixtures(session.config)
    ]
    lines += [
        f"assets: OVERRIDDEN {name} -> {path} (a local {_kind(path)}, not the store)"
        for name, path in session.overrides.items()
    ]
    return lines


def _pin_header(path: Path | None, write: bool, check: bool) -> list[str]:
    if path is None:
        return []
    if path.exists():
        line = f"assets: partial specs resolve through the lock {path}"
    elif write or check:
        line = f"assets: no lock at {path} yet"
    else:
        return []
    if write:
        line += ", written at the end (--assets-lock)"
    if check:
        line += ", checked (--assets-lock-check)"
    return [line]


def _kind(path: Path) -> str:
    return "folder" if path.is_dir() else "file"


def write_summary(terminalreporter: pytest.TerminalReporter, session: PluginSession) -> None:
    """The specs resolved (each with its exact version and content hash), what a replaced
    ``assets`` fixture used, then the ``assets.lock`` lines; less at ``-q``, nothing at ``-qq``
    but what is loud."""
    verbosity = int(session.config.getoption("verbose"))
    records = session.records()
    if records:
        _summary(terminalreporter, verbosity, records, session.replaced)
    elif verbosity >= 0:
        if session.pin_lines or session.replaced:
            terminalreporter.write_sep("=", "pytest-assets")
        _replaced(terminalreporter, session.replaced)
    else:
        _replaced(terminalreporter, [line for line in session.replaced if line.ignored])
    for line in session.pin_lines:
        if line.color or verbosity >= -1:
            markup = {line.color: True, "bold": True} if line.color else {}
            terminalreporter.write_line(line.text, **markup)


def _replaced(terminalreporter: pytest.TerminalReporter, lines: list[ReplacedLine]) -> None:
    """What a conftest's ``assets`` used, then each setting it ignored (loudly, at any -q)."""
    for line in lines:
        terminalreporter.write_line(line.text, yellow=line.ignored, bold=line.ignored)


def _summary(
    terminalreporter: pytest.TerminalReporter,
    verbosity: int,
    records: list[Record],
    replaced: list[ReplacedLine],
) -> None:
    overridden = [r for r in records if r.override is not None]
    if verbosity < 0:
        line = _one_line(records, overridden, terminalreporter._tw.fullwidth)
        if overridden or verbosity == -1:
            terminalreporter.write_line(line, yellow=bool(overridden), bold=bool(overridden))
        _replaced(terminalreporter, [line for line in replaced if line.ignored])
        return
    title = f"pytest-assets: {plural(len(records) - len(overridden), 'spec')} resolved"
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
            via = "  (assets.lock)" if r.pinned else ""
            terminalreporter.write_line(f"{r.requested:<{width}} -> {r.version}  {digest}{via}")


def _one_line(records: list[Record], overridden: list[Record], width: int) -> str:
    """``-q``: the exact versions that ran (and what was overridden), or just the counts."""
    count = len(records) - len(overridden)
    versions = sorted({f"{r.name}:{r.version}" for r in records if r.override is None})
    names = sorted({r.name for r in overridden})
    parts = [f"{', '.join(versions)} ({plural(count, 'spec')})"] if versions else []
    if names:
        parts.append(f"OVERRIDDEN: {', '.join(names)}")
    line = "assets: " + "; ".join(parts)
    if len(line) <= width:
        return line
    line = f"assets: {plural(count, 'spec')} resolved to {plural(len(versions), 'version')}"
    if names:
        line += f"; {plural(len(names), 'asset')} OVERRIDDEN"
    return line + " (drop -q to list them)"
