"""What changed between two versions, from their ``.meta`` alone: no data is downloaded.

Files are matched by path. A file whose two entries both carry a sha256 is unchanged when the
hashes and sizes agree; modelkit's versions have no hashes, so there only the sizes can be
compared, and equal sizes mean "unknown", never "unchanged". A file asset and a directory
asset share no paths: the file is removed and the directory's files added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .display import human_size, plural
from .manifest import FileEntry, Manifest, parse_meta

ADDED, REMOVED, CHANGED, UNCHANGED, UNKNOWN = "added", "removed", "changed", "unchanged", "unknown"
_ORDER = (CHANGED, UNKNOWN, UNCHANGED, ADDED, REMOVED)


@dataclass(frozen=True)
class FileChange:
    """One path of either version; a size is None where that version lacks the file (or
    its ``.meta`` gives no size)."""

    path: str  # "" for the single file of a file asset
    status: str
    old_size: int | None
    new_size: int | None


@dataclass(frozen=True)
class VersionDiff:
    old: str  # the versions' labels, ``name:version``
    new: str
    old_is_directory: bool
    new_is_directory: bool
    changes: tuple[FileChange, ...]  # every path of either version, sorted
    hashless: tuple[str, ...] = ()  # the labels of the versions without hashes

    def count(self, status: str) -> int:
        return sum(1 for change in self.changes if change.status == status)

    @property
    def identical(self) -> bool:
        return all(change.status == UNCHANGED for change in self.changes)

    @property
    def shown(self) -> tuple[FileChange, ...]:
        """What a person wants listed: every path that is not known to be unchanged."""
        return tuple(c for c in self.changes if c.status != UNCHANGED)

    def summary(self, notes: dict[str, str] | None = None) -> str:
        """``1 changed, 999 unchanged (copied in the store), 1 added``; ``notes`` adds a word
        after a count (what a push did with those files)."""
        notes = notes or {}
        if not self.changes:
            return "no files"
        if self.identical and not notes:
            return f"identical ({plural(len(self.changes), 'file')})"
        parts = []
        for status in _ORDER:
            count = self.count(status)
            if count:
                note = f" ({notes[status]})" if status in notes else ""
                what = "of unknown change" if status == UNKNOWN else status
                parts.append(f"{count} {what}{note}")
        return ", ".join(parts)

    @property
    def notes(self) -> list[str]:
        """What a reader must know to trust the counts."""
        out = []
        if self.old_is_directory != self.new_is_directory:
            kinds = ("a file", "a directory")
            out.append(
                f"{self.old} is {kinds[self.old_is_directory]} asset, {self.new} "
                f"{kinds[self.new_is_directory]}: no file is common to both"
            )
        if self.hashless:
            out.append(
                f"{' and '.join(self.hashless)} {'has' if len(self.hashless) == 1 else 'have'} "
                "no hashes (pushed by modelkit): only sizes were compared, so a file of the "
                "same size may still have changed"
            )
        return out

    def rows(self, name_of_file: str = "") -> list[tuple[str, str, str, str]]:
        """(status, path, old size, new size) of every shown change; the single file of a file
        asset is named ``name_of_file``."""
        return [
            (c.status, c.path or name_of_file or "(the file)", _size(c.old_size), _size(c.new_size))
            for c in self.shown
        ]

    def text(self, name_of_file: str = "") -> str:
        """The summary, the notes, then one line per shown change: what the CLI prints."""
        lines = [f"{self.old} -> {self.new}: {self.summary()}", *self.notes]
        rows = self.rows(name_of_file)
        if rows:
            widths = [max(len(row[i]) for row in rows) for i in range(4)]
            for row in rows:
                cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
                lines.append(("  " + "  ".join(cells)).rstrip())
        return "\n".join(lines)


def _size(size: int | None) -> str:
    return "-" if size is None else human_size(size)


def diff_manifests(old: Manifest, new: Manifest, old_label: str, new_label: str) -> VersionDiff:
    """Compare two versions' manifests (from their ``.meta``)."""
    before = {e.path: e for e in old.files}
    after = {e.path: e for e in new.files}
    changes = []
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a is None:
            assert b is not None
            changes.append(FileChange(path, ADDED, None, b.size))
        elif b is None:
            changes.append(FileChange(path, REMOVED, a.size, None))
        else:
            changes.append(FileChange(path, _status(a, b), a.size, b.size))
    hashless = tuple(
        label for label, m in ((old_label, old), (new_label, new)) if m.files and not m.has_hashes
    )
    return VersionDiff(
        old_label, new_label, old.is_directory, new.is_directory, tuple(changes), hashless
    )


def _status(a: FileEntry, b: FileEntry) -> str:
    if a.size is not None and b.size is not None and a.size != b.size:
        return CHANGED
    if a.sha256 is None or b.sha256 is None or a.size is None or b.size is None:
        return UNKNOWN
    if a.sha256 != b.sha256 or a.executable != b.executable:
        return CHANGED
    return UNCHANGED


Sizes = Callable[[str, str, bool], Mapping[str, int]]  # (name, version, is_directory) -> sizes


def diff_infos(
    old: Mapping[str, Any], new: Mapping[str, Any], sizes: Sizes | None = None
) -> VersionDiff:
    """Compare two versions from what ``Assets.info`` returns for them (each ``.meta``).
    modelkit's ``.meta`` gives no sizes: ``sizes`` reads them from the store's listing."""
    manifests = []
    for info in (old, new):
        manifest = parse_meta(info, f"{info.get('name')}:{info.get('version')}")
        if sizes is not None and any(e.size is None for e in manifest.files):
            listed = sizes(str(info["name"]), str(info["version"]), manifest.is_directory)
            files = tuple(
                e if e.size is not None else replace(e, size=listed.get(e.path))
                for e in manifest.files
            )
            manifest = replace(manifest, files=files)
        manifests.append(manifest)
    labels = [f"{info.get('name')}:{info.get('version')}" for info in (old, new)]
    return diff_manifests(manifests[0], manifests[1], *labels)
