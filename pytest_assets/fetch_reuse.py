"""Fetch what is new: before a version is downloaded, every file whose sha256 the cache already
holds (any store, asset or version, found through :mod:`.content_index`) is placed into the
staging folder from the cached copy, and only the rest goes to the store.

A file is placed by a reflink where the filesystem has one (its own inode, shared blocks),
else a hardlink (cached files are read-only, so sharing an inode is safe while nobody makes it
writable; ``verify`` finds one that was), else a copy. Then the staged file is hashed in full,
exactly as a download is checked: a size or a stamp can be made to lie (``touch -d``), a full
hash cannot, and reading a local file costs far less than fetching it again. A file that does
not hash to what the new ``.meta`` says is removed and downloaded: a cached file changed on
disk is never reused.

A ``.meta`` names only sha256s; where the bytes come from is the index's and our records' say,
and every source is checked to be a regular file inside the cache's own data (real path, no
symlink on the way, not the bookkeeping folder) of a version whose record lists that very
content. The target is always a new file in the version's private staging folder.

A miss also reuses what the read-only shared tiers hold, found through their own indexes
(opened read-only, never filled or mended: a tier without one offers nothing), after the
writable cache's. From a tier a file is reflinked or copied, never hardlinked: a tier is not
ours (a baked layer, another team's share, another user's files), and a hardlink would make
the new version share its inode, so making our copy read-only would chmod the tier's file, a
repair or an edit in our cache would damage the tier's copy, and a tier rebuilt by its owner
would no longer own its bytes alone. A reflink is a private inode: safe wherever it works.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import BOOKKEEPING, Cache, expected_mode
from .content_index import ContentIndex, Holder
from .manifest import FileEntry, compare, sha256_file, unsafe_relpath

_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
_WORKERS = 4  # big files placed and hashed at once: local reads, a few suffice
_POOLED_BYTES = 1024 * 1024  # from this size a file is hashed in the pool


_UNFILLABLE: set[Path] = set()  # indexes that could not be written, in this process


def index_of(cache: Cache) -> ContentIndex:
    """The cache's index, with the versions cached before it existed added once (tried once
    per process where the index cannot be written: never a walk of the records per fetch)."""
    index = ContentIndex(cache.books)
    if index.path not in _UNFILLABLE and not index.filled():
        for entry in cache.entries():
            index.add(entry.store_folder, entry.name, entry.version, entry.record.get("files", {}))
        index.mark_filled()
        if not index.filled():
            _UNFILLABLE.add(index.path)
    return index


def remember(cache: Cache, name: str, version: str, record: Mapping[str, Any]) -> None:
    """Index a version just installed: its files become known content."""
    files = record.get("files")
    if cache.store_folder is not None and isinstance(files, dict):
        index_of(cache).add(cache.store_folder, name, version, files)


Job = tuple[str, FileEntry, list[Holder]]  # staged local path, its entry, who holds it


@dataclass
class _From:
    """The files to place from one cache (ours, or a tier), through its index."""

    source: Cache
    index: ContentIndex
    hardlink: bool  # only from our own cache: a tier's inode is not ours to share
    todo: list[Job]

    def place(self) -> dict[str, tuple[int, str]]:
        for folder in {os.path.dirname(local) for local, _e, _h in self.todo}:
            os.makedirs(folder, exist_ok=True)
        sources, how = _Sources(self.source), {"reflink": True, "hardlink": self.hardlink}
        index = self.index

        def one(job: Job) -> tuple[str, tuple[int, str] | None]:
            return _place_one(sources, index, how, *job)

        # Small files one after another: a thread per file costs more than hashing 10 KB.
        big = [job for job in self.todo if (job[1].size or 0) >= _POOLED_BYTES]
        placed = [one(job) for job in self.todo if (job[1].size or 0) < _POOLED_BYTES]
        if big:
            with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
                placed.extend(pool.map(one, big))
        return {local: measured for local, measured in placed if measured is not None}


@dataclass
class Known:
    """The files of a new version whose content the cache or a tier knows, before they are
    placed: a fetch downloads the others meanwhile, and afterwards whatever could not be
    placed (a cached file changed on disk)."""

    groups: list[_From]

    @property
    def locals(self) -> set[str]:
        return {local for group in self.groups for local, _e, _h in group.todo}

    def place(self) -> dict[str, tuple[int, str]]:
        """Place and check each file; (size, sha256) by local path of those placed."""
        placed: dict[str, tuple[int, str]] = {}
        for group in self.groups:
            placed.update(group.place())
        return placed


def find_known(
    cache: Cache, entries: Mapping[str, FileEntry], tiers: Sequence[Cache] = ()
) -> Known:
    """The entries whose sha256 the cache's index holds, then the tiers' (read-only) for the
    rest: one lookup per index, nothing placed yet."""
    rest = {local: e for local, e in entries.items() if e.sha256 and e.size is not None}
    groups: list[_From] = []
    for k, source in enumerate([cache, *tiers]):
        if not rest:
            break
        index = index_of(cache) if k == 0 else ContentIndex(source.books, read_only=True)
        holders = index.lookup(e.sha256 for e in rest.values() if e.sha256)
        todo = [(local, e, holders[e.sha256]) for local, e in rest.items() if e.sha256 in holders]
        if todo:
            groups.append(_From(source, index, k == 0, todo))
        rest = {local: e for local, e in rest.items() if e.sha256 not in holders}
    return Known(groups)


def _place_one(
    sources: _Sources,
    index: ContentIndex,
    how: dict[str, bool],
    local: str,
    entry: FileEntry,
    holders: list[Holder],
) -> tuple[str, tuple[int, str] | None]:
    for holder in holders:
        found = sources.path(holder, entry)
        if found is None:  # kept: its version may be being installed right now
            continue
        source, info = found
        # A hardlink shares the mode and owner too: only from a copy of ours that has the new
        # file's mode, so making the new version read-only never changes another version's
        # file (nor fails on another user's, in a shared cache).
        same_mode = stat.S_IMODE(info.st_mode) == expected_mode(False, entry.executable)
        same_mode = same_mode and info.st_uid == os.geteuid() and how["hardlink"]
        try:
            method = place(source, local, hardlink_ok=same_mode, reflink=how["reflink"])
            measured = sha256_file(local)
        except OSError:
            _remove(local)
            continue
        how["reflink"] = method == "reflink"  # one filesystem: one failure says it for all
        if compare(entry, *measured) is None:
            return local, measured
        _remove(local)  # changed on disk since it was cached: never reused
        index.drop(holder)
    return local, None


class _Sources:
    """Where an index entry's bytes are, if they are our own, checked content."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.root = os.path.realpath(cache.directory)
        self.books = os.path.join(self.root, BOOKKEEPING)
        self._records: dict[tuple[str, str, str], dict[str, Any] | None] = {}
        self._folders: dict[str, str | None] = {}

    def path(self, holder: Holder, entry: FileEntry) -> tuple[str, os.stat_result] | None:
        """The holder's file and its ``lstat``, when it is a regular file inside the cache's
        data (no symlink anywhere below the cache root) that its version's record lists with
        this content."""
        name, rel = holder.name, holder.relpath
        if rel and unsafe_relpath(rel):
            return None
        view = self.cache.within(holder.folder)
        key = (holder.folder, name, holder.version)
        if key not in self._records:  # one check and one read per version, not per file
            safe = not any(unsafe_relpath(part) for part in key)
            self._records[key] = view.record(name, holder.version) if safe else None
        record = self._records[key]
        files = record.get("files") if record else None
        detail = files.get(rel) if isinstance(files, dict) else None
        if not isinstance(detail, dict) or (detail.get("size"), detail.get("sha256")) != (
            entry.size,
            entry.sha256,
        ):
            return None
        data = view.data_path(name, holder.version)
        path = os.path.join(data, *rel.split("/")) if rel else str(data)
        folder, leaf = os.path.split(path)
        inside = self._inside(folder)
        if inside is None:
            return None
        source = os.path.join(inside, leaf)
        try:
            info = os.lstat(source)
        except OSError:
            return None
        ok = stat.S_ISREG(info.st_mode) and info.st_size == entry.size
        return (source, info) if ok else None

    def _inside(self, folder: str) -> str | None:
        """``folder``'s real path when it is inside the cache's data with no symlink on the
        way (one ``realpath`` per folder and fetch), else None."""
        if folder not in self._folders:
            inside = os.path.join(self.root, os.path.relpath(folder, self.cache.directory))
            ok = (
                os.path.realpath(folder) == inside
                and inside.startswith(self.root + os.sep)
                and inside != self.books
                and not inside.startswith(self.books + os.sep)
            )
            self._folders[folder] = inside if ok else None
        return self._folders[folder]


def place(source: str, target: str, *, hardlink_ok: bool, reflink: bool = True) -> str:
    """Put ``source``'s bytes at the new path ``target`` (its folder exists): "reflink",
    "hardlink" or "copy"."""
    before = os.lstat(source)
    if reflink and _reflink(source, target):
        return "reflink"
    if hardlink_ok:
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.EMLINK, errno.EXDEV, errno.EPERM, errno.ENOTSUP):
                raise
        else:
            after = os.lstat(target)
            if (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino):
                return "hardlink"
            _remove(target)  # the source was swapped under us: copy what is there instead
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(source, flags)
    with os.fdopen(fd, "rb") as src, open(target, "xb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    return "copy"


def _reflink(source: str, target: str) -> bool:
    """A copy-on-write clone where the filesystem has one (btrfs, XFS, bcachefs: FICLONE)."""
    try:
        src = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        os.close(src)
        raise
    try:
        fcntl.ioctl(dst, _FICLONE, src)
        cloned = True
    except OSError:
        cloned = False
    finally:
        os.close(src)
        os.close(dst)
    if not cloned:
        _remove(target)
    return cloned


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
