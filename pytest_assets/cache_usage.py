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


@dataclass(frozen=True)
class Usage:
    apparent: int
    real: int

    @property
    def shared(self) -> int:
        """Bytes that more than one listed file holds without taking the disk twice."""
        return self.apparent - self.real


def usage(entries: Iterable[CachedVersion]) -> Usage:
    """The apparent and real size of ``entries`` together."""
    apparent = 0
    seen: dict[tuple[int, int], int] = {}
    for entry in entries:
        for key, size in _files(entry.path):
            apparent += size
            seen[key] = size
    return Usage(apparent, sum(seen.values()))


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
