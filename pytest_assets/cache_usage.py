"""How much disk cached versions take: the apparent size (the sum of every version's files, what
``du --apparent-size`` of each version would say) and the real size (each distinct file counted
once: versions that share content share inodes, see :mod:`.reuse`). A reflinked file is its own
inode here; the blocks it shares are the filesystem's to count."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .cache import CachedVersion
from .display import human_size, plural


@dataclass(frozen=True)
class Usage:
    apparent: int
    real: int

    @property
    def shared(self) -> int:
        """Bytes that more than one listed file holds without taking the disk twice."""
        return self.apparent - self.real


@dataclass(frozen=True)
class VersionUsage:
    """One cached version as ``cache ls`` and ``%asset --cache`` show it."""

    entry: CachedVersion
    apparent: int
    shared: int  # of ``apparent``: bytes of files another listed version holds too

    @property
    def label(self) -> str:
        return f"{self.entry.name}:{self.entry.version}"


def usage(entries: Iterable[CachedVersion]) -> Usage:
    """The apparent and real size of ``entries`` together."""
    return listing(entries)[1]


def listing(entries: Iterable[CachedVersion]) -> tuple[list[VersionUsage], Usage]:
    """Each version's sizes, and the totals: one ``lstat`` per file, no reads."""
    files = [(entry, list(_files(entry.path))) for entry in entries]
    holders: dict[tuple[int, int], int] = {}
    sizes: dict[tuple[int, int], int] = {}
    for _entry, found in files:
        for key, size in set(found):
            holders[key] = holders.get(key, 0) + 1
            sizes[key] = size
    rows = [
        VersionUsage(
            entry,
            sum(size for _key, size in found),
            sum(size for key, size in found if holders[key] > 1),
        )
        for entry, found in files
    ]
    return rows, Usage(sum(row.apparent for row in rows), sum(sizes.values()))


def summary(total: Usage, versions: int) -> str:
    """``3 versions, 5.9 MB (3.0 MB on disk: files shared between versions are kept once)``."""
    text = f"{plural(versions, 'version')}, {human_size(total.apparent)}"
    if total.shared:
        kept = "files shared between versions are kept once"
        return f"{text} ({human_size(total.real)} on disk: {kept})"
    return text


def _files(path: Path) -> Iterator[tuple[tuple[int, int], int]]:
    """((device, inode), size) of every regular file of a cached version."""
    paths = [str(path)] if not path.is_dir() else _walk(str(path))
    for item in paths:
        try:
            info = os.lstat(item)
        except OSError:
            continue
        yield (info.st_dev, info.st_ino), info.st_size


def _walk(top: str) -> Iterator[str]:
    for root, _dirs, files in os.walk(top):
        for name in files:
            yield os.path.join(root, name)
