"""What people read about an asset, built once for every face: the command line prints these
values as text, ``%asset`` as aligned text or an HTML table. One place decides which ``.meta``
keys are shown, in which order, under which label and how sizes and dates read."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Keys laid out as files; any other key of a .meta is listed after the known ones as it is.
_FILE_KEYS = {"files", "contents", "size", "sha256", "is_directory", "name", "version"}
_ORDER = (
    ("push_date", "pushed"),
    ("pushed_by", "pushed by"),
    ("pushed_from", "pushed from"),
    ("tool", "tool"),
    ("git_commit", "git commit"),
    ("integrity", "integrity"),
    ("content_sha256", "content sha256"),
    ("cached_path", "cached at"),
)


def human_size(size: int) -> str:
    """Bytes as people read them: 512 B, 1.5 KB, 3.2 MB, 1.1 GB."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def plural(count: int, noun: str) -> str:
    """``1 spec``, ``2 specs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


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


@dataclass(frozen=True)
class FileRow:
    """One file of a version as people read it: its path, size and sha256 (``-`` if unknown)."""

    path: str
    size: str
    sha256: str

    @property
    def cells(self) -> tuple[str, str, str]:
        return self.path, self.size, self.sha256


@dataclass(frozen=True)
class MetaRows:
    """One version's metadata (what ``Assets.info`` returns) ready to show: labelled fields in
    a useful order, then one row per file (a file asset is one row named after the asset)."""

    name: str
    version: str
    is_directory: bool
    fields: tuple[tuple[str, str], ...]  # (label, value)
    files: tuple[FileRow, ...]

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def kind(self) -> str:
        return "directory" if self.is_directory else "file"


def meta_rows(data: Mapping[str, Any], show_path: Callable[[str], str] = str) -> MetaRows:
    """The rows of ``data``; ``show_path`` shortens the cached path (a notebook shows it
    relative to its folder)."""
    name, version = str(data.get("name")), str(data.get("version"))
    fields: list[tuple[str, str]] = []
    for key, label in _ORDER:
        if key not in data:
            continue
        value = data[key]
        if key == "push_date":
            shown = push_date(value)
        elif key == "cached_path":
            shown = show_path(str(value)) if value else "not cached"
        else:
            shown = str(value)
        fields.append((label, shown))
    known = {key for key, _ in _ORDER} | _FILE_KEYS
    fields += [(key, str(data[key])) for key in sorted(data) if key not in known]
    is_directory = bool(data.get("is_directory"))
    files = _file_rows(data, f"{name}:{version}" if not is_directory else None)
    return MetaRows(name, version, is_directory, tuple(fields), files)


def _file_rows(data: Mapping[str, Any], file_asset: str | None) -> tuple[FileRow, ...]:
    """One row per file of a directory; for a file asset (named ``file_asset``), one row."""
    if file_asset is not None:
        label = file_asset
        return (FileRow(label, _size(data.get("size")), str(data.get("sha256") or "-")),)
    detail = data.get("files")
    detail = detail if isinstance(detail, Mapping) else {}
    rows = []
    for rel in data.get("contents") or sorted(detail):
        entry = detail.get(rel)
        entry = entry if isinstance(entry, Mapping) else {}
        rows.append(FileRow(str(rel), _size(entry.get("size")), str(entry.get("sha256") or "-")))
    return tuple(rows)


def _size(value: Any) -> str:
    return human_size(value) if isinstance(value, int) else "?"
