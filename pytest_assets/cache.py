"""The local cache: ``<cache>/<store>/<name>/<version>`` for people, ``<cache>/.pytest-assets/``
for us. ``<store>`` is the store's key folder (:mod:`.storekey`): a version cached from one store
is never found from another.

A version is in the cache when its data path exists *and* our record of it does; the record is
written before the data is renamed into place, so a data path without a record is never ours
(a crash, a hand-made folder, modelkit's cache) and is never handed out. Correctness rests on
atomic renames within one filesystem, never on the lock.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .content_index import ContentIndex
from .errors import AssetNotFoundError, CacheError, ConfigError
from .foldednames import normalised_match
from .localdisk import force_rmtree
from .locking import process_is_gone
from .manifest import FileEntry, Manifest, parse_meta
from .sharing import foreign_owner, make_dirs, widen
from .spec import AssetSpec
from .storekey import expand_home

BOOKKEEPING = ".pytest-assets"
_PARTIAL = "partial"  # big objects' ranged downloads, kept across processes to resume
_RECORDS = "records"  # not "meta": caches of before the store key hold their records there
_STORE_FOLDER = re.compile(r".+-[0-9a-f]{10}\Z")
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by pytest-assets.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_STALE_TMP_SECONDS = 24 * 3600
_FILE_MODE, _EXEC_MODE, _DIR_MODE = 0o444, 0o555, 0o555  # a cached copy is read-only
# A folder changed this recently may change again within one tick of its mtime (1-2 s on some
# filesystems): it is not trusted to show a later deletion, so it is checked file by file.
_RACY_NS = 2_000_000_000

# The folders of a version (or a file asset itself), and their (inode, mtime_ns)
Watched = tuple[tuple[str, ...], list[tuple[int, int]]]


@dataclass(frozen=True)
class CachedVersion:
    name: str
    version: str
    path: Path
    size: int
    record: dict[str, Any]
    store_folder: str

    @property
    def manifest(self) -> Manifest:
        return manifest_from_record(self.record, f"cached {self.name}:{self.version}")


def manifest_from_record(record: dict[str, Any], where: str) -> Manifest:
    """Our record holds the hashes we computed at download, also for modelkit's hashless assets."""
    base = parse_meta(record["meta"], where)
    files = record.get("files", {})
    entries = tuple(
        FileEntry(
            e.path,
            files.get(e.path, {}).get("size"),
            files.get(e.path, {}).get("sha256"),
            e.executable,
        )
        for e in base.files
    )
    return Manifest(base.is_directory, entries, base.raw)


def cache_error(exc: OSError, directory: Path, what: str) -> CacheError:
    """Name the directory and the fix; a full disk and a read-only cache are common and clear."""
    if exc.errno == errno.ENOSPC:
        hint = "the disk is full: free space, prune the cache (pytest-assets cache prune) or "
        hint += "point ASSETS_DIR elsewhere"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "it is not writable: fix its permissions or point ASSETS_DIR / --assets-dir "
        hint += "at a writable directory"
    elif exc.errno == errno.ENAMETOOLONG:
        hint = "a name in the path is longer than this filesystem allows; use a shorter asset "
        hint += "name (pushes refuse names no cache can hold)"
    elif exc.errno == errno.ENOENT:
        hint = "it (or part of it) disappeared while in use: run again; nothing was kept"
    else:
        hint = "check the directory, or point ASSETS_DIR at another one"
    return CacheError(f"cache directory {directory}: {what} failed ({exc.strerror or exc}); {hint}")


def sub_part_path(path: Path, spec: AssetSpec, record: dict[str, Any] | None) -> Path:
    """The sub-part inside a cached version, or an error listing what the version holds."""
    assert spec.sub_part is not None and spec.version is not None  # fetch checked both
    target = path.joinpath(*spec.sub_part.split("/"))
    if path.is_dir() and os.path.lexists(target):
        return target
    if path.is_dir() and (found := normalised_match(path, spec.sub_part)) is not None:
        return found
    if path.is_dir() and record is not None:
        held = manifest_from_record(record, str(spec)).files
        shown = ", ".join(f.path for f in held[:20]) + (", ..." if len(held) > 20 else "")
        detail = f"it holds: {shown}"
    else:
        detail = "it is a single-file asset, so it has no sub-parts"
    raise AssetNotFoundError(
        f"{spec.name}:{spec.version} has no sub-part {spec.sub_part!r}; {detail}"
    )


class Cache:
    """The cache at ``directory`` as seen from the store whose key folder is ``store_folder``;
    without one (no store configured) it only lists and administers what every store left."""

    def __init__(self, directory: Path, store_folder: str | None = None) -> None:
        self.directory = Path(expand_home(str(directory), "cache directory")).absolute()
        self.books = self.directory / BOOKKEEPING
        # versions found whole by `damage`, with the stamps that show they still are
        self._intact: dict[tuple[str, str], Watched] = {}
        # the warm hit's two paths, built once: pathlib's joins cost more than the stats
        self._paths: dict[tuple[str, str], tuple[Path, Path]] = {}
        self.store_folder = store_folder

    def within(self, store_folder: str) -> Cache:
        """The same cache, seen from another store (to administer its versions)."""
        return Cache(self.directory, store_folder)

    # -- paths ------------------------------------------------------------------------------

    @property
    def _folder(self) -> str:
        if self.store_folder is None:
            raise CacheError(
                f"cache directory {self.directory}: cached copies are kept per store, and no "
                "store is configured; set the store (ASSETS_STORE, --store, assets_store) even "
                "in offline mode, where it is not contacted"
            )
        return self.store_folder

    def _paths_of(self, name: str, version: str) -> tuple[Path, Path]:
        found = self._paths.get((name, version))
        if found is None:
            parts = name.split("/")
            found = (
                self.directory.joinpath(self._folder, *parts, version),
                self.books.joinpath(_RECORDS, self._folder, *parts, f"{version}.json"),
            )
            self._paths[name, version] = found
        return found

    def data_path(self, name: str, version: str) -> Path:
        return self._paths_of(name, version)[0]

    def record_path(self, name: str, version: str) -> Path:
        return self._paths_of(name, version)[1]

    def lock_path(self, name: str, version: str) -> Path:
        return self.books.joinpath("locks", self._folder, *name.split("/"), f"{version}.lock")

    def _store_folders(self) -> list[str]:
        if self.store_folder is not None:
            return [self.store_folder]
        try:
            found = os.listdir(self.books / _RECORDS)
        except OSError:
            return []
        return sorted(f for f in found if _STORE_FOLDER.match(f))

    def _records(self) -> Iterator[tuple[str, str, str]]:
        """(store folder, name, version) of every record file, in a stable order."""
        for folder in self._store_folders():
            root = self.books / _RECORDS / folder
            for record_file in sorted(root.rglob("*.json")) if root.is_dir() else []:
                rel = record_file.relative_to(root)
                yield folder, "/".join(rel.parts[:-1]), rel.name[: -len(".json")]

    # -- reads ------------------------------------------------------------------------------

    def has(self, name: str, version: str) -> bool:
        """The hot path of a warm fetch: two stats, no reads."""
        data, record = self._paths_of(name, version)
        return os.path.exists(record) and os.path.lexists(data)

    def seen_for(self, name: str, version: str) -> Cache | None:
        """This cache, or without a store configured, as seen from the one store this version
        is cached from: there is no other to confuse it with. From several, which one is meant
        is not ours to guess (ConfigError); from none, None."""
        if self.store_folder is not None:
            return self
        views = [self.within(f) for f in self._store_folders()]
        holding = [view for view in views if view.has(name, version)]
        if len(holding) <= 1:
            return holding[0] if holding else None
        stores = ", ".join(
            sorted(str((v.record(name, version) or {}).get("store")) for v in holding)
        )
        raise ConfigError(
            f"{name}:{version} is cached from {len(holding)} stores ({stores}) and no store is "
            "configured: set the store (ASSETS_STORE, --store, assets_store) to say which"
        )

    def record(self, name: str, version: str) -> dict[str, Any] | None:
        try:
            with open(self.record_path(name, version), encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and "meta" in data else None

    def versions(self, name: str) -> list[str]:
        """Versions of ``name`` complete in the cache (unsorted)."""
        folder = self.books.joinpath(_RECORDS, self._folder, *name.split("/"))
        try:
            entries = os.listdir(folder)
        except OSError:
            return []
        return [
            e[: -len(".json")]
            for e in entries
            if e.endswith(".json") and os.path.lexists(self.data_path(name, e[: -len(".json")]))
        ]

    def entries(self) -> Iterator[CachedVersion]:
        for folder, name, version in self._records():
            view = self.within(folder)
            record = view.record(name, version)
            data = view.data_path(name, version)
            if record is None or not os.path.lexists(data):
                continue
            yield CachedVersion(name, version, data, _disk_size(data), record, folder)

    def unreadable(self) -> Iterator[tuple[str, str, str]]:
        """(store folder, name, version) of data in place whose record is damaged: it cannot
        be checked."""
        for folder, name, version in self._records():
            view = self.within(folder)
            if view.record(name, version) is None and os.path.lexists(
                view.data_path(name, version)
            ):
                yield folder, name, version

    def damage(self, name: str, version: str, sub_part: str | None = None) -> str | None:
        """What is missing or cut short in a cached copy (None: nothing), by ``lstat`` alone:
        every file the record lists (for a sub-part, its files) is there with its size.

        No hashing: ``verify`` re-hashes. A whole version found intact is remembered with the
        stamps of the folders holding its files: a file deleted changes its folder's mtime, so
        the later hits of this session cost one stat per such folder, not one per file (a
        file cut short in place later in the session is left to ``verify``)."""
        key = (name, version)
        watched = self._intact.get(key)
        if watched is not None and _stamps(watched[0]) == watched[1]:
            return None
        self._intact.pop(key, None)
        label = f"{name}:{version}"
        record = self.record(name, version)
        files = record.get("files") if record else None
        if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
            return f"{label}: its record in {self.books} is damaged, so it cannot be checked"
        root = str(self.data_path(name, version))
        inside = (sub_part or "").rstrip("/") + "/"
        for rel, detail in files.items():
            if sub_part is not None and rel and rel != sub_part and not rel.startswith(inside):
                continue
            local = os.path.join(root, *rel.split("/")) if rel else root
            where = f"{label}[{rel}]" if rel else label
            try:
                info = os.lstat(local)
            except OSError:
                return f"{where} is missing from the cache ({local})"
            if not stat.S_ISREG(info.st_mode):
                return f"{where} is no longer a regular file ({local})"
            if info.st_size != detail.get("size", info.st_size):
                return f"{where} is {info.st_size} bytes, {detail['size']} expected ({local})"
        if sub_part is None:
            # A deletion changes the mtime of the folder that held the file; a folder removed
            # or replaced fails its lstat or changes inode. Folders without files of their own
            # need no watching; a file asset watches itself.
            folders = {os.path.join(root, *rel.split("/")[:-1]) for rel in files}
            paths = tuple(sorted(folders))
            stamps = _stamps(paths)
            now = time.time_ns()
            if stamps is not None and all(now - mtime > _RACY_NS for _ino, mtime in stamps):
                self._intact[key] = (paths, stamps)
        return None

    # -- writes -----------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the cache on first use (not before: an unused plugin creates nothing)."""
        try:
            make_dirs(self.books, self.directory)
            tag = self.directory / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text(_CACHEDIR_TAG)
                widen(tag, self.directory)
        except OSError as exc:
            raise cache_error(exc, self.directory, "creating the cache") from None

    def temp_dir(self, name: str, version: str) -> Path:
        """A private folder on the cache's filesystem, so the final rename is atomic."""
        self.ensure()
        owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path = self.books / "tmp" / f"{self._temp_prefix(name, version)}{owner}"
        try:
            make_dirs(path, self.directory)  # shared: another user can clear it if we die
        except OSError as exc:
            raise cache_error(exc, self.directory, "creating a download folder") from None
        return path

    def install(
        self, name: str, version: str, staged: Path, record: dict[str, Any], executable: set[str]
    ) -> Path:
        """Move a verified download into place: record first, then one rename of the data;
        ``executable`` (the files to leave executable) is the caller's, parsed once."""
        target = self.data_path(name, version)
        label = f"{name}:{version}"
        if self.has(name, version):
            # Another process (no lock on NFS, or a lock that timed out) got here first with
            # the same verified bytes: keep its copy, readers may hold it open.
            force_rmtree(staged)
            return target
        self._intact.pop((name, version), None)
        try:
            _make_read_only(staged, executable)
            record_path = self.record_path(name, version)
            make_dirs(record_path.parent, self.directory)
            tmp_record = record_path.with_name(f".{record_path.name}.{uuid.uuid4().hex[:8]}")
            tmp_record.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
            widen(tmp_record, record_path.parent)
            os.replace(tmp_record, record_path)
            make_dirs(target.parent, self.directory)
            if os.path.lexists(target) and (staged.is_dir() or target.is_dir()):
                # Data without a record is a leftover (a crash mid-removal, a hand-made
                # folder): never ours to hand out, so replace it.
                _remove_tree(target, self.books)
            os.rename(staged, target)
            if target.is_dir() and not target.is_symlink():
                # Last, as moving a read-only folder to another parent is refused (its ".."
                # would change); a kill just before leaves only this folder writable.
                target.chmod(_DIR_MODE)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and self.has(name, version):
                force_rmtree(staged)
                return target
            raise cache_error(exc, self.directory, f"storing {label}") from None
        return target

    def remove(self, name: str, version: str) -> None:
        """Forget a version: record first, so a half-removed version is never taken as whole."""
        if (owner := foreign_owner(self.data_path(name, version))) is not None:
            raise CacheError(
                f"cache directory {self.directory}: {name}:{version} was fetched by user {owner}"
                ", and only they (or root) can remove it: it was kept, whole"
            )
        self._intact.pop((name, version), None)
        try:
            self.record_path(name, version).unlink(missing_ok=True)
            ContentIndex(self.books).forget(self._folder, name, version)
        except OSError as exc:
            raise cache_error(exc, self.directory, f"removing {name}:{version}") from None
        data = self.data_path(name, version)
        if os.path.lexists(data):
            _remove_tree(data, self.books)

    def staged_bytes(self, name: str, version: str) -> int:
        """Bytes downloaded so far into this version's temp and partial folders: how a waiter
        sees that the lock holder is still making progress (blocks, as a partial file is
        preallocated sparse at its full size)."""
        prefix = self._temp_prefix(name, version)
        total = 0
        for parent in (self.books / "tmp", self.books / _PARTIAL):
            try:
                folders = [p for p in parent.iterdir() if p.name.startswith(prefix)]
            except OSError:
                continue
            for folder in folders:
                for root, _dirs, files in os.walk(folder):
                    for file in files:
                        with contextlib.suppress(OSError):
                            info = os.stat(os.path.join(root, file))
                            total += min(info.st_size, info.st_blocks * 512)
        return total

    def partial_path(self, name: str, version: str, relpath: str) -> Path:
        """The folder where a big object of this version is downloaded in ranges: it outlives
        the process, so the next fetch of the version (in any process, under its lock) keeps
        the ranges already there. Fixed-length names, like the temp folders."""
        key = hashlib.sha256(relpath.encode()).hexdigest()[:16]
        return self.books / _PARTIAL / f"{self._temp_prefix(name, version)}{key}"

    def _temp_prefix(self, name: str, version: str) -> str:
        """A fixed-length stand-in for the version: any name the store takes fits in one path
        component (a 239-character name did not, packed with host and pid)."""
        key = f"{self._folder}/{name}/{version}"
        return f"dl-{hashlib.sha256(key.encode()).hexdigest()[:20]}-"

    def clean_stale_temps(self) -> None:
        """Drop download folders that a killed process left behind: at once when it ran on
        this host and is gone, else after a day (partial downloads: after a day untouched)."""
        now = time.time()
        for parent in (self.books / "tmp", self.books / _PARTIAL):
            try:
                children = list(parent.iterdir())
            except OSError:
                continue
            for child in children:
                try:
                    if now - child.stat().st_mtime > _STALE_TMP_SECONDS or _abandoned(child.name):
                        force_rmtree(child)
                except OSError:
                    continue

    # -- checks -----------------------------------------------------------------------------

    def tidy(self, entry: CachedVersion, extras: list[str]) -> None:
        """Delete what ``extras`` found, then make the version read-only again (its modes as
        the record says: files 0444, executables and folders 0555)."""
        self._intact.pop((entry.name, entry.version), None)
        try:
            for rel in extras:
                target = entry.path.joinpath(*rel.rstrip("/").split("/"))
                target.parent.chmod(0o755)
                force_rmtree(target)
            executable = {f.path for f in entry.manifest.files if f.executable}
            _make_read_only(entry.path, executable)
            if entry.path.is_dir():  # a file asset has its mode from _make_read_only
                entry.path.chmod(_DIR_MODE)
        except OSError as exc:
            label = f"{entry.name}:{entry.version}"
            raise cache_error(exc, self.directory, f"tidying {label}") from None


def _stamps(paths: tuple[str, ...]) -> list[tuple[int, int]] | None:
    """(inode, mtime_ns) of each path; None when one is gone. The warm path: keep it lean."""
    try:
        return [(info.st_ino, info.st_mtime_ns) for info in map(os.lstat, paths)]
    except OSError:
        return None


def _abandoned(folder: str) -> bool:
    """A download folder ``dl-<key hash>-<host>-<pid>-<random>`` of a process of this host
    that no longer runs (killed, out of memory)."""
    head, _, pid = folder.rsplit("-", 1)[0].rpartition("-")
    host = socket.gethostname()
    return head.endswith(f"-{host}") and pid.isdigit() and process_is_gone(host, int(pid))


def _disk_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def expected_mode(is_folder: bool, executable: bool) -> int:
    """The mode a cached file or folder has: read-only, executable where pushed so."""
    return _DIR_MODE if is_folder else _EXEC_MODE if executable else _FILE_MODE


def _make_read_only(path: Path, executable: set[str]) -> None:
    """Cached files 0444 (0555 those in ``executable``; "" is a file asset) and the folders
    below ``path`` 0555, each after its contents: a test writing into its asset fails instead
    of changing what the next run reads. ``path`` itself is left to the caller (see install)."""
    if not path.is_dir() or path.is_symlink():
        path.chmod(_EXEC_MODE if "" in executable else _FILE_MODE)
        return
    top = str(path)
    for root, _dirs, files in os.walk(top, topdown=False):
        rel_root = os.path.relpath(root, top).replace(os.sep, "/")
        prefix = "" if rel_root == "." else rel_root + "/"
        for name in files:
            mode = _EXEC_MODE if prefix + name in executable else _FILE_MODE
            os.chmod(os.path.join(root, name), mode)
        if root != top:
            os.chmod(root, _DIR_MODE)


def _remove_tree(path: Path, books: Path) -> None:
    """Rename aside first (atomic), then delete at leisure: no reader sees a half-deleted tree.
    The trash is named like a download folder, so one a killed process left is cleaned up."""
    owner = f"{socket.gethostname()}-{os.getpid()}"
    aside = books / "tmp" / f"trash-{owner}-{uuid.uuid4().hex[:8]}"
    aside.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)  # a read-only folder cannot move to another parent
        os.rename(path, aside)
    except OSError:
        aside = path
    force_rmtree(aside)
