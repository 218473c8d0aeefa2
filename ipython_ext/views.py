"""What ``%asset`` shows: small values that render as text in a terminal and as HTML in Jupyter.

IPython picks ``_repr_html_`` in a notebook and ``__repr__`` elsewhere, so one object serves
both, and the data stays reachable (``info = %asset --info x`` then ``info.data``).
Absolute paths under the working directory are shown relative to it: a notebook's readers think
in terms of the notebook's folder, and saved outputs stay free of machine-specific paths.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_assets.cache_usage import Usage, VersionUsage, summary
from pytest_assets.display import MetaRows, human_size, meta_rows, plural


def shown_path(text: str, cwd: str | None = None) -> str:
    """``text`` with the working directory's prefix dropped, when it starts with it."""
    base = os.path.abspath(cwd or os.getcwd())
    if base == os.sep:
        return text
    if text == base:
        return "."
    prefix = base.rstrip(os.sep) + os.sep
    return text.replace(prefix, "") if prefix in text else text


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _columns(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return [
        (indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


@dataclass(frozen=True)
class ConfigView:
    """The configuration in force and where each setting came from (``%asset`` alone)."""

    rows: Sequence[tuple[str, str, str]]

    def __repr__(self) -> str:
        return "\n".join(["asset configuration (setting, value, from):", *_columns(self.rows)])

    def _repr_html_(self) -> str:
        return _table(("setting", "value", "from"), self.rows, "asset configuration")


@dataclass(frozen=True)
class VersionsView:
    """``%asset --versions NAME``: newest first, with push dates."""

    name: str
    versions: Sequence[tuple[str, str, str]]  # (version, push date, pushed by)

    def __repr__(self) -> str:
        if not self.versions:
            return f"{self.name}: no versions"
        title = f"{self.name}: {plural(len(self.versions), 'version')}, newest first"
        return "\n".join([title, *_columns(self.versions)])

    def _repr_html_(self) -> str:
        return _table(("version", "pushed", "by"), self.versions, f"{self.name}, newest first")


@dataclass(frozen=True)
class InfoView:
    """``%asset --info SPEC``: one version's metadata, files, sizes and hashes."""

    data: Mapping[str, Any]
    cwd: str | None = field(default=None, compare=False)

    @property
    def rows(self) -> MetaRows:
        return meta_rows(self.data, lambda path: shown_path(path, self.cwd))

    def __repr__(self) -> str:
        rows = self.rows
        files = [row.cells for row in rows.files]
        lines = [f"{rows.label} ({rows.kind})", *_columns(rows.fields)]
        lines.append(f"  files ({len(files)}):")
        lines.extend(_columns(files, indent="    "))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = self.rows
        files = [row.cells for row in rows.files]
        return _table(("", ""), rows.fields, f"{rows.label} ({rows.kind})") + _table(
            ("file", "size", "sha256"), files
        )


@dataclass(frozen=True)
class CacheView:
    """``%asset --cache``: the cached versions, each with its apparent size and the part of it
    shared with other versions, and the real size on disk (shared files counted once)."""

    versions: Sequence[VersionUsage]
    total: Usage
    cwd: str | None = field(default=None, compare=False)

    @property
    def rows(self) -> list[tuple[str, str, str, str]]:
        return [
            (
                row.label,
                human_size(row.apparent),
                human_size(row.shared) if row.shared else "-",
                shown_path(str(row.entry.path), self.cwd),
            )
            for row in self.versions
        ]

    def __repr__(self) -> str:
        if not self.versions:
            return "the cache holds no versions"
        title = summary(self.total, len(self.versions))
        return "\n".join([f"{title}:", *_columns(self.rows)])

    def _repr_html_(self) -> str:
        caption = summary(self.total, len(self.versions))
        return _table(("version", "size", "shared", "path"), self.rows, caption)
