"""``%asset --push PATH SPEC`` and ``%asset --diff NAME:A NAME:B``: the command line's push and
diff, shown as text in a terminal and as tables in Jupyter. A push from here is recorded in the
version's ``.meta`` as coming from a notebook, with its path where the kernel knows it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_assets.assets import Assets
from pytest_assets.diff import VersionDiff
from pytest_assets.push import PushReport
from pytest_assets.push_reuse import headline

from .views import _columns, _table, shown_path


def notebook_origin(user_ns: dict[str, Any]) -> str:
    """``notebook <path>``: VS Code's ``__vsc_ipynb_file__``, Jupyter's ``__session__`` or
    ``JPY_SESSION_NAME``; just ``notebook`` when the kernel does not know its file."""
    for found in (
        user_ns.get("__vsc_ipynb_file__"),
        user_ns.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
    ):
        if isinstance(found, str) and found.strip():
            return f"notebook {found.strip()}"
    return "notebook"


def push(
    assets: Assets,
    path: str,
    spec: str,
    *,
    bump_major: bool,
    dry_run: bool,
    user_ns: dict[str, Any],
) -> PushView:
    """The command line's push (one core call), from the notebook's folder."""
    report = assets.push_report(
        Path(path).expanduser(),
        spec,
        bump_major=bump_major,
        dry_run=dry_run,
        pushed_from=notebook_origin(user_ns),
    )
    return PushView(report, Path(path).name)


@dataclass(frozen=True)
class PushView:
    """What a push did: its headline, the summary against the version it followed, and the
    changed files (``view.report`` keeps the whole report, ``view.spec`` the version)."""

    report: PushReport
    source_name: str = ""

    @property
    def spec(self) -> Any:
        return self.report.spec

    @property
    def lines(self) -> list[str]:
        reuse = self.report.reuse
        return [shown_path(headline(self.report)), *(reuse.lines if reuse else [])]

    def __repr__(self) -> str:
        diff = self.report.reuse.diff if self.report.reuse else None
        rows = diff.rows(self.source_name) if diff and not self.report.identical else []
        return "\n".join([*self.lines, *_columns(rows)])

    def _repr_html_(self) -> str:
        diff = self.report.reuse.diff if self.report.reuse else None
        lines = "".join(f"<div>{_escape(line)}</div>" for line in self.lines)
        if diff is None or self.report.identical or not diff.shown:
            return lines
        return lines + _table(("change", "file", "before", "after"), diff.rows(self.source_name))


@dataclass(frozen=True)
class DiffView:
    """``%asset --diff NAME:A NAME:B``; ``view.diff`` keeps the :class:`VersionDiff`."""

    diff: VersionDiff
    name: str

    def __repr__(self) -> str:
        return self.diff.text(self.name)

    def _repr_html_(self) -> str:
        diff = self.diff
        caption = f"{diff.old} -> {diff.new}: {diff.summary()}"
        notes = "".join(f"<div>{_escape(note)}</div>" for note in diff.notes)
        if not diff.shown:
            return f"<div>{_escape(caption)}</div>{notes}"
        return _table(("change", "file", "before", "after"), diff.rows(self.name), caption) + notes


def diff(assets: Assets, old: str, new: str) -> DiffView:
    return DiffView(assets.diff(old, new), assets.parse(old).name)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
