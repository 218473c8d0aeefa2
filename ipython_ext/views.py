"""What ``%asset`` shows: small values that render as text in a terminal and as HTML in Jupyter.

IPython picks ``_repr_html_`` in a notebook and ``__repr__`` elsewhere, so one object serves
both, and the data stays reachable (``info = %asset --info x`` then ``info.data``).
Absolute paths under the working directory are shown relative to it: a notebook's readers think
in terms of the notebook's folder, and saved outputs stay free of machine-specific paths.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_assets.display import human_size

# Keys the info view lays out itself; any other key in .meta is listed after them as it is.
_FILE_KEYS = {"files", "contents", "size", "sha256", "is_directory"}
_ORDER = (
    ("push_date", "pushed"),
    ("pushed_by", "pushed by"),
    ("tool", "tool"),
    ("git_commit", "git commit"),
    ("integrity", "integrity"),
    ("content_sha256", "content sha256"),
    ("cached_path", "cached at"),
)


def shown_path(text: str, cwd: str | None = None) -> str:
    """``text`` with the working directory's prefix dropped, when it starts with it."""
    base = os.path.abspath(cwd or os.getcwd())
    if base == os.sep:
        return text
    if text == base:
        return "."
    prefix = base.rstrip(os.sep) + os.sep
    return text.replace(prefix, "") if prefix in text else text


def push_date(value: Any) -> str:
    """``2026-11-26 18:36 UTC`` from modelkit's or our ISO stamp; anything else as it is."""
    if not isinstance(value, str) or not value:
        return "?"
    try:
        stamp = _dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(_dt.UTC)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


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
        count = len(self.versions)
        title = f"{self.name}: {count} version{'s' if count != 1 else ''}, newest first"
        return "\n".join([title, *_columns(self.versions)])

    def _repr_html_(self) -> str:
        return _table(("version", "pushed", "by"), self.versions, f"{self.name}, newest first")


@dataclass(frozen=True)
class InfoView:
    """``%asset --info SPEC``: one version's metadata, files, sizes and hashes."""

    data: Mapping[str, Any]
    cwd: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"{self.data.get('name')}:{self.data.get('version')}"

    def fields(self) -> list[tuple[str, str]]:
        """(label, value) pairs: known keys in a useful order, then any other .meta key."""
        out: list[tuple[str, str]] = []
        known = {key for key, _ in _ORDER}
        for key, label in _ORDER:
            if key not in self.data:
                continue
            value = self.data[key]
            if key == "push_date":
                shown = push_date(value)
            elif key == "cached_path":
                shown = shown_path(str(value), self.cwd) if value else "not cached"
            else:
                shown = str(value)
            out.append((label, shown))
        for key in sorted(self.data):
            if key not in known and key not in _FILE_KEYS and key not in ("name", "version"):
                out.append((key, str(self.data[key])))
        return out

    def files(self) -> list[tuple[str, str, str]]:
        """(path, size, sha256) per file; a file asset is one row named after the asset."""
        if not self.data.get("is_directory"):
            return [(self.label, _size(self.data.get("size")), str(self.data.get("sha256") or "-"))]
        detail = self.data.get("files")
        detail = detail if isinstance(detail, Mapping) else {}
        rows = []
        for rel in self.data.get("contents") or sorted(detail):
            entry = detail.get(rel)
            entry = entry if isinstance(entry, Mapping) else {}
            rows.append((str(rel), _size(entry.get("size")), str(entry.get("sha256") or "-")))
        return rows

    def __repr__(self) -> str:
        kind = "directory" if self.data.get("is_directory") else "file"
        lines = [f"{self.label} ({kind})", *_columns(self.fields())]
        files = self.files()
        lines.append(f"  files ({len(files)}):")
        lines.extend(_columns(files, indent="    "))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        kind = "directory" if self.data.get("is_directory") else "file"
        return _table(("", ""), self.fields(), f"{self.label} ({kind})") + _table(
            ("file", "size", "sha256"), self.files()
        )


def _size(value: Any) -> str:
    return human_size(value) if isinstance(value, int) else "?"
