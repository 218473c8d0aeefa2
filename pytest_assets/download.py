"""Download one version into the cache: the atomic step of a fetch.

1. take the version's download lock (mutual exclusion between processes; correctness never
   depends on it) and look again: another process may have installed it meanwhile;
2. read the version's ``.meta`` (and, for modelkit's hashless assets, the store's sizes);
3. get every object into a private staging folder on the cache's filesystem;
4. check each file's size and sha256 against the manifest (hashed on the way in where the
   transfer can, else read back once);
5. install: the record first, then one rename of the data into place.
Nothing is ever handed out from the staging folder, and it is removed whatever happens.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import fetch_reuse, ranged
from .cache import Cache, cache_error
from .catalog import Catalog
from .errors import AssetsError, CacheError, IntegrityError, StoreError
from .localdisk import force_rmtree
from .locking import version_lock
from .manifest import FileEntry, Manifest, check_file
from .progress import ByteProgress, FileProgress
from .sharing import LOCK_MODE, make_dirs, shared, unwritable
from .spec import label
from .store import Store


def download_version(
    catalog: Catalog,
    cache: Cache,
    name: str,
    version: str,
    *,
    progress: bool,
    notify: Callable[[str], None],
    replace: Callable[[], bool] | None = None,
    tiers: Sequence[Cache] = (),
) -> Path:
    """The version's path in the cache, downloaded under its lock unless already there; a
    cached copy is kept unless ``replace`` says (under the lock, so only one process mends
    it) that it must go. Files the cache or the read-only ``tiers`` hold are reused."""
    what = label(name, version)
    cache.ensure()
    refused = unwritable(cache.directory, cache.books)
    if refused is not None:
        raise CacheError(f"cache directory {cache.directory}: {what} is not cached; {refused}")
    lock = cache.lock_path(name, version)
    try:
        make_dirs(lock.parent, cache.directory)
        with version_lock(
            lock,
            what,
            progress=lambda: cache.staged_bytes(name, version),
            notify=notify,
            mode=LOCK_MODE if shared(cache.directory) else 0o644,
        ):
            if cache.has(name, version):
                if replace is None or not replace():
                    return cache.data_path(name, version)
                cache.remove(name, version)
            cache.clean_stale_temps()
            return _download_locked(catalog, cache, name, version, progress, tiers)
    except OSError as exc:
        raise cache_error(exc, cache.directory, f"fetching {what}") from None


def damaged_copy(what: str, damage: str, *, offline: bool, say: Callable[[str], None]) -> None:
    """A cached copy that lost files is never handed out: online it is downloaded again (say
    so), offline that cannot be done (say what to do)."""
    if offline:
        raise IntegrityError(
            f"the cached copy of {what} is damaged: {damage}; offline mode is on, so it "
            f"cannot be downloaded again: turn offline mode off and fetch it, or run "
            f"pytest-assets verify --repair {what} (the copy was left as it is)"
        )
    say(f"warning: the cached copy of {what} is damaged: {damage}; downloading it again")


def _download_locked(
    catalog: Catalog,
    cache: Cache,
    name: str,
    version: str,
    progress: bool,
    tiers: Sequence[Cache],
) -> Path:
    store = catalog.store
    what = label(name, version)
    found = catalog.read_meta(name, version)
    manifest = found.manifest
    sizes = _listed_sizes(store, name, version, manifest)
    staging = cache.temp_dir(name, version)
    try:
        staged = staging / "data"
        if manifest.is_directory:
            staged.mkdir()
            pairs = [
                (store.path(name, version, *f.path.split("/")), str(staged / f.path))
                for f in manifest.files
            ]
        else:
            pairs = [(store.object_path(name, version), str(staged))]
        entries = {
            local: entry for entry, (_remote, local) in zip(manifest.files, pairs, strict=True)
        }
        # Content the cache (or a tier) already holds is placed and re-hashed while the rest
        # downloads (the version's requests do not wait for local work); what could not be
        # placed (a cached file changed on disk) is downloaded after.
        known = fetch_reuse.find_known(cache, entries, tiers)
        held = known.locals
        objects = _big_objects(store, cache, name, version, manifest, sizes, pairs)
        big = {o.local for o in objects}
        bar = FileProgress(progress, f"fetching {what}", len(pairs) - len(big | held))
        bytes_bar = ByteProgress(
            progress,
            f"fetching {what}",
            sum(o.entry.size or 0 for o in objects if o.local not in held),
        )

        def fetch(wanted: Callable[[str], bool]) -> dict[str, tuple[int, str]]:
            """Download the wanted files: (size, sha256) by local path of those hashed on the
            way in."""
            got: dict[str, tuple[int, str]] = {}
            small = [pair for pair in pairs if pair[1] not in big and wanted(pair[1])]
            if manifest.is_directory:
                got.update(store.get_files(small, f"downloading {what}", bar))
            elif small:
                streamed = store.get_file_hashed(*small[0], f"downloading {what}")
                got.update({small[0][1]: streamed} if streamed else {})
                bar.advance()
            # after the small ones, so that together they stay within the store's budget
            pool = ranged.Pool(store.max_connections)
            chosen = [o for o in objects if wanted(o.local)]
            got.update(ranged.fetch_many(store, chosen, pool, bytes_bar.advance))
            return got

        try:
            with ThreadPoolExecutor(max_workers=1) as placer:
                placing = placer.submit(known.place)
                measured = fetch(lambda local: local not in held)
                reused = placing.result()
            measured.update(reused)
            missed = held - set(reused)
            if missed:
                measured.update(fetch(lambda local: local in missed))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            _check_staging(staging)
            raise _incomplete_version(store, name, version, manifest, exc) from None
        finally:
            bar.close()
            bytes_bar.close()
        files: dict[str, dict[str, Any]] = {}
        for entry, (_remote, local) in zip(manifest.files, pairs, strict=True):
            if not os.path.isfile(local):
                _check_staging(staging)
                raise _incomplete_version(store, name, version, manifest, None)
            where = f"{what}[{entry.path}]" if entry.path else what
            checked = _with_listed_size(entry, sizes)
            size, digest = check_file(
                local, checked, f"{where} from {store.display_url}", measured.get(local)
            )
            files[entry.path] = {"size": size, "sha256": digest}
        record = {
            "meta": found.meta,
            "files": files,
            "integrity": "sha256" if manifest.has_hashes else "size",
            "store": store.display_url,
            "fetched_at": _dt.datetime.now(_dt.UTC).isoformat(),
        }
        # indexed first: a kill after the rename leaves no unindexed version, and an entry
        # of a version never installed is found stale (no record) and dropped
        fetch_reuse.remember(cache, name, version, record)
        executable = {entry.path for entry in manifest.files if entry.executable}
        return cache.install(name, version, staged, record, executable)
    finally:
        force_rmtree(staging)  # read-only parts included (made so before a failed install)


def _big_objects(
    store: Store,
    cache: Cache,
    name: str,
    version: str,
    manifest: Manifest,
    sizes: dict[str, int],
    pairs: list[tuple[str, str]],
) -> list[ranged.BigObject]:
    """The objects fetched by the big-object engine (see :mod:`ranged`)."""
    if not ranged.supports(store):
        return []
    big = []
    for listed, (remote, local) in zip(manifest.files, pairs, strict=True):
        entry = _with_listed_size(listed, sizes)
        if entry.size is not None and entry.size >= ranged.BIG_OBJECT_BYTES:
            where = label(name, version) + (f"[{entry.path}]" if entry.path else "")
            partial = cache.partial_path(name, version, entry.path)
            make_dirs(partial.parent, cache.directory)  # ranged makes the object's own folder
            big.append(ranged.BigObject(remote, local, entry, partial, where))
    return big


def _with_listed_size(entry: FileEntry, sizes: dict[str, int]) -> FileEntry:
    if entry.size is not None:
        return entry
    return FileEntry(entry.path, sizes.get(entry.path), entry.sha256, entry.executable)


def _check_staging(staging: Path) -> None:
    """A download folder that vanished means the cache was deleted under us, not the store."""
    if not staging.is_dir():
        raise FileNotFoundError(errno.ENOENT, "the cache was deleted during the download", staging)


def _listed_sizes(store: Store, name: str, version: str, manifest: Manifest) -> dict[str, int]:
    """modelkit's .meta has no sizes: take them from the store's listing instead."""
    if all(entry.size is not None for entry in manifest.files):
        return {}
    if not manifest.is_directory:
        info = store.info(store.object_path(name, version))
        return {"": info.size} if info else {}
    return store.find_below(store.object_path(name, version))


def _incomplete_version(
    store: Store, name: str, version: str, manifest: Manifest, exc: Exception | None
) -> AssetsError:
    what = label(name, version)
    if not manifest.is_directory:
        if store.find_below(store.object_path(name, version)):
            return StoreError(
                f"{what} in store {store.display_url} is a folder, but its .meta says it is a "
                "single file; the store is damaged, nothing was cached"
            )
        return IntegrityError(
            f"{what}: the store {store.display_url} has its .meta but not its object; the "
            "version is incomplete in the store, nothing was cached"
        )
    present = store.find_below(store.object_path(name, version))
    missing = [f.path for f in manifest.files if f.path not in present]
    shown = ", ".join(missing[:10]) or str(exc)
    return IntegrityError(
        f"{what}: .meta lists objects that the store {store.display_url} does not hold "
        f"({shown}); the version is incomplete in the store, nothing was cached"
    )
