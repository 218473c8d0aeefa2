"""Administration of the cache, over frozen ``CachedVersion`` values: list, verify (report,
or with ``repair`` mend) and prune. Only ``repair`` and ``prune`` change anything."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from .cache import Cache, CachedVersion, expected_mode
from .errors import AssetsError, ConfigError
from .manifest import compare, sha256_file
from .spec import AssetSpec, label
from .versioning import Versioning, sort_versions


@dataclass(frozen=True)
class Problem:
    """One finding of ``verify``: a damaged file (``kind`` "damaged"); an "extra", a file the
    version does not hold (a test's ``__pycache__/``); a "mode", a file or folder made writable
    or that lost its execute bit. Extras and modes leave the version's bytes intact."""

    name: str
    version: str
    message: str
    repaired: bool = False
    kind: Literal["damaged", "extra", "mode"] = "damaged"

    def __str__(self) -> str:
        done = {"extra": "removed", "mode": "mode restored"}.get(self.kind, "downloaded again")
        return self.message + (f" (repaired: {done})" if self.repaired else "")


@dataclass(frozen=True)
class Pruned:
    """What ``prune`` removed, and what it kept only because ``assets.lock`` pins it."""

    removed: list[CachedVersion]
    pinned: list[CachedVersion]


def cached(cache: Cache, versioning: Versioning, wanted: AssetSpec | None) -> list[CachedVersion]:
    """The cached versions (of ``wanted``'s name and matching its version, if given)."""
    return [
        entry for entry in cache.entries() if _wanted(versioning, wanted, entry.name, entry.version)
    ]


def verify(
    cache: Cache,
    versioning: Versioning,
    wanted: AssetSpec | None,
    *,
    repair: bool,
    download: Callable[[str, str], object] | None,
) -> list[Problem]:
    """Re-hash cached copies against their records: one Problem per damaged file and per
    extra. With ``repair``, extras are removed and damaged versions of this store downloaded
    again through ``download`` (None offline: damage is then left as it is). A repair that
    fails is reported with what it found, and the check goes on with the other versions."""
    damaged = f"its record in {cache.books} is damaged, so its files cannot be checked"
    own = cache.store_folder  # another store's versions can only be reported
    problems: list[Problem] = []
    hashed: dict[tuple[int, ...], tuple[int, str]] = {}  # a file shared by versions: hashed once
    for folder, name, version in cache.unreadable():
        if _wanted(versioning, wanted, name, version):
            mend = download if repair and folder == own else None
            problems.extend(_mend(mend, name, version, [f"{label(name, version)}: {damaged}"]))
    for entry in cached(cache, versioning, wanted):
        name, version = entry.name, entry.version
        found, extra = damaged_files(entry, hashed), extras(entry)
        extra_messages = [
            f"{label(name, version)}[{rel}]: not part of the version ({entry.path / rel})"
            for rel in extra
        ]
        modes = [] if found else wrong_modes(entry)  # a new download mends modes too
        if found:  # a new download replaces the extras and the modes too
            mend = download if repair and entry.store_folder == own else None
            mended = _mend(mend, name, version, found)
            problems.extend(mended)
            fixed = all(problem.repaired for problem in mended)
        else:
            fixed = repair and bool(extra or modes)
            if fixed:
                cache.within(entry.store_folder).tidy(entry, extra)
        problems.extend(Problem(name, version, m, fixed, "extra") for m in extra_messages)
        problems.extend(Problem(name, version, m, fixed, "mode") for m in modes)
    return problems


def _mend(
    download: Callable[[str, str], object] | None, name: str, version: str, found: list[str]
) -> list[Problem]:
    """The problems of one damaged version, downloaded again if ``download`` is given; a
    download that fails keeps the problems and says why, so nothing found is lost."""
    if download is None:
        return [Problem(name, version, message) for message in found]
    try:
        download(name, version)
    except AssetsError as exc:
        return [Problem(name, version, f"{m}; could not repair it: {exc}") for m in found]
    return [Problem(name, version, message, True) for message in found]


def prune(
    cache: Cache,
    versioning: Versioning,
    keep: int,
    *,
    pins: Collection[tuple[str, str]],
    dry_run: bool,
) -> Pruned:
    """Keep the newest ``keep`` cached versions of each asset and every pinned one; remove
    the rest (or, with ``dry_run``, only say which)."""
    if keep < 0:
        raise ConfigError(f"the number of versions to keep must be 0 or more, not {keep}")
    by_name: dict[tuple[str, str], list[CachedVersion]] = {}
    for entry in cache.entries():
        by_name.setdefault((entry.store_folder, entry.name), []).append(entry)
    removed, pinned = [], []
    for entries in by_name.values():
        # newest first; versions of another versioning system are not ours to rank: kept
        order = sort_versions(versioning, (e.version for e in entries))
        ranked = sorted(
            (e for e in entries if e.version in order), key=lambda e: order.index(e.version)
        )
        for entry in ranked[keep:]:
            if (entry.name, entry.version) in pins:
                pinned.append(entry)
                continue
            if not dry_run:
                cache.within(entry.store_folder).remove(entry.name, entry.version)
            removed.append(entry)
    return Pruned(removed, pinned)


def damaged_files(
    entry: CachedVersion, hashed: dict[tuple[int, ...], tuple[int, str]] | None = None
) -> list[str]:
    """Re-hash a cached version against our record: one sentence per damaged file.
    ``hashed`` keeps (size, sha256) by inode and stamps across versions, so a file that
    several versions share (a hardlink) is read once and reported for each version holding it."""
    problems: list[str] = []
    hashed = {} if hashed is None else hashed
    what = label(entry.name, entry.version)
    for file in entry.manifest.files:
        local = entry.path / file.path if file.path else entry.path
        where = f"{what}[{file.path}]" if file.path else what
        if not local.is_file():
            problems.append(f"{where}: missing from the cache at {local}")
            continue
        info = local.stat()
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        if key not in hashed:
            hashed[key] = sha256_file(local)
        mismatch = compare(file, *hashed[key])
        if mismatch is not None and mismatch.what == "size":
            problems.append(f"{where}: size {mismatch.found}, expected {file.size} ({local})")
        elif mismatch is not None:
            problems.append(f"{where}: sha256 mismatch ({local})")
    return problems


def wrong_modes(entry: CachedVersion) -> list[str]:
    """Files of a cached version whose mode is not the cache's (made writable, or the execute
    bit lost, by a test or a person): their bytes may still be right, but the next write will
    not fail. Folders are left to ``extras``: writing into one leaves a file there."""
    what = label(entry.name, entry.version)
    found = []
    for file in entry.manifest.files:
        local = entry.path.joinpath(*file.path.split("/")) if file.path else entry.path
        try:
            mode = stat.S_IMODE(os.lstat(local).st_mode)
        except OSError:
            continue  # missing: damage, reported by damaged_files
        want = expected_mode(False, file.executable)
        if mode != want:
            where = f"{what}[{file.path}]" if file.path else what
            found.append(f"{where}: mode {mode:o}, expected {want:o} ({local})")
    return found


def extras(entry: CachedVersion) -> list[str]:
    """What a cached folder holds beyond its version (a test's ``__pycache__/``, a file
    written by hand), top-most paths only, folders ending in "/". Not damage: the
    version's own files are checked by ``damaged_files``."""
    manifest = entry.manifest
    if not manifest.is_directory or not entry.path.is_dir():
        return []
    expected = {f.path for f in manifest.files}
    needed = {f.path.rsplit("/", 1)[0] for f in manifest.files if "/" in f.path}
    needed |= {p.rsplit("/", i)[0] for p in needed for i in range(1, p.count("/") + 1)}
    found = []
    top = str(entry.path)
    for root, dirs, files in os.walk(top):
        rel_root = os.path.relpath(root, top).replace(os.sep, "/")
        prefix = "" if rel_root == "." else rel_root + "/"
        for name in list(dirs):
            rel = prefix + name
            if rel in expected or rel not in needed:  # a file turned folder is damage
                dirs.remove(name)
                if rel not in expected:
                    found.append(rel + "/")
        found.extend(prefix + name for name in files if prefix + name not in expected)
    return sorted(found)


def _wanted(versioning: Versioning, wanted: AssetSpec | None, name: str, version: str) -> bool:
    return wanted is None or (name == wanted.name and versioning.matches(wanted.version, version))
