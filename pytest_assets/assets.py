"""``Assets``: the one resolver-and-cache object every face calls.

fetch: spec -> resolve (one memoised read of ``<name>.versions``) -> cache hit (no network) or
a locked, verified download renamed into place. push: claim a version with a create-only
object, upload create-only, write ``.meta``, then merge into ``.versions`` under a store lock.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from . import __version__
from .cache import (
    Cache,
    CachedVersion,
    cache_error,
    manifest_from_record,
    refuse_uncacheable,
    remove_staging,
)
from .config import Config, load_config
from .errors import (
    AssetExistsError,
    AssetNotFoundError,
    AssetsError,
    ConfigError,
    IntegrityError,
    InvalidAssetSpecError,
    OfflineError,
    StoreError,
    StoreNotFoundError,
)
from .layout import version_objects
from .lockfile import LockEntry, LockFile, lock_key, meta_hash
from .locking import process_is_gone, version_lock
from .manifest import FileEntry, Manifest, build_meta, check_file, parse_meta
from .progress import FileProgress
from .redact import redact_url
from .sources import changed_error, scan_local
from .spec import AssetSpec
from .store import Store, local_directory
from .storekey import store_key
from .versioning import Versioning, get_versioning, sort_versions

log = logging.getLogger("pytest_assets")

_STORE_LOCK_STALE_SECONDS = 60.0
_STORE_LOCK_WAIT_SECONDS = 300.0


def _check_staging(staging: Path) -> None:
    """A download folder that vanished means the cache was deleted under us, not the store."""
    if not staging.is_dir():
        raise FileNotFoundError(errno.ENOENT, "the cache was deleted during the download", staging)


def _refuse_overlap(store: str | None, cache_dir: Path) -> None:
    """A cache in a directory store (or around it) would write CACHEDIR.TAG and downloads
    among its objects, and prune or verify --repair would delete them: refuse before anything
    is written. Only paths are compared (links resolved), so building an Assets stays cheap."""
    folder = local_directory(store) if store else None
    if folder is None:
        return
    store_dir, cache_real = os.path.realpath(folder), os.path.realpath(cache_dir)
    if os.path.commonpath([store_dir, cache_real]) not in (store_dir, cache_real):
        return
    where = (
        "are the same directory"
        if store_dir == cache_real
        else "overlap: the cache is inside the store"
        if os.path.commonpath([store_dir, cache_real]) == store_dir
        else "overlap: the store is inside the cache"
    )
    raise ConfigError(
        f"the cache directory {cache_dir} and the store {redact_url(store or '')} {where}; "
        "the cache would write into the store and its prune would delete store data: point "
        "ASSETS_DIR / --cache-dir (or the store) at a directory outside the other"
    )


@dataclass(frozen=True)
class Resolution:
    """What one request resolved to: the summary and the lock file are made of these."""

    requested: str
    resolved: AssetSpec
    from_cache: bool
    locked: bool = False  # the version came from assets.lock, not from the store's listing


@dataclass(frozen=True)
class PushReport:
    """What a push did, for callers that need more than the version (the command line)."""

    spec: AssetSpec  # the version pushed, or the existing version that holds this content
    store: str  # the store's URL, credentials hidden
    pushed: bool  # a version was written (never for a dry run)
    identical: bool  # ``spec`` already held exactly this content, so nothing was pushed
    explicit: bool  # the push named its version in full
    dry_run: bool
    files: tuple[FileEntry, ...]  # what the source holds (path "" for a file asset)
    ignored: tuple[str, ...]  # left out by the ignore rules (folders end with "/")

    @property
    def total_size(self) -> int:
        return sum(entry.size or 0 for entry in self.files)


@dataclass(frozen=True)
class Problem:
    """One finding of ``verify``: a damaged file (``kind`` "damaged"), or an "extra", a file
    the version does not hold (a test's ``__pycache__/``), which leaves the version intact."""

    name: str
    version: str
    message: str
    repaired: bool = False
    kind: Literal["damaged", "extra"] = "damaged"

    def __str__(self) -> str:
        done = " (repaired: removed)" if self.kind == "extra" else " (repaired: downloaded again)"
        return self.message + (done if self.repaired else "")


@dataclass(frozen=True)
class Pruned:
    """What ``prune`` removed, and what it kept only because ``assets.lock`` pins it."""

    removed: list[CachedVersion]
    pinned: list[CachedVersion]


def _no_store() -> ConfigError:
    return ConfigError(
        "no asset store is configured: set ASSETS_STORE, the assets_store ini option, "
        "--assets-store (pytest) or --store (command line) to a URL such as "
        "gs://bucket/prefix, s3://bucket/prefix or a directory"
    )


class Assets:
    """Resolver and cache over one store; cheap to build, touches nothing until used."""

    def __init__(
        self,
        store: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        offline: bool = False,
        versioning: str = "major_minor",
        storage_options: Mapping[str, Any] | None = None,
        *,
        progress: bool = False,
        notify: Callable[[str], None] | None = None,
        config: Config | None = None,
        lock_file: str | os.PathLike[str] | None = None,
        lock_check: bool = False,
    ) -> None:
        if cache_dir is None:
            from .config import default_cache_dir

            cache_dir = default_cache_dir()
        self.store_url = store
        self.offline = offline
        self.versioning_name = versioning
        self.versioning: Versioning = get_versioning(versioning)
        self.storage_options = dict(storage_options or {})
        folder = store_key(store, self.storage_options).folder if store else None
        self.cache = Cache(Path(cache_dir), folder)
        _refuse_overlap(store, self.cache.directory)
        self.progress = progress
        self.notify = notify
        self.config = config
        self.history: list[Resolution] = []
        self._store: Store | None = None
        self._resolved: dict[tuple[str, str | None], str] = {}
        self._listed: dict[str, list[str]] = {}  # <name>.versions, read once per object
        self.lock_path = Path(lock_file) if lock_file is not None else None
        self.lock_check = lock_check
        self._lock: LockFile | None = None
        self._lock_read = False
        self._locked: dict[tuple[str, str | None], LockEntry] = {}
        self.unlocked: set[str] = set()  # partial specs a lock file did not cover
        self.lock_problems: list[str] = []
        self._lock_verdicts: dict[tuple[str, str], str | None] = {}  # checked once per version

    @classmethod
    def from_config(
        cls, start_dir: str | os.PathLike[str] | None = None, **overrides: Any
    ) -> Assets:
        """Arguments, then environment, then the pytest ini file, then defaults."""
        progress = overrides.pop("progress", False)
        notify = overrides.pop("notify", None)
        config = load_config(start_dir, **overrides)
        return cls.from_loaded(config, progress=progress, notify=notify)

    @classmethod
    def from_loaded(
        cls,
        config: Config,
        *,
        progress: bool = False,
        notify: Callable[[str], None] | None = None,
        lock_check: bool = False,
    ) -> Assets:
        return cls(
            store=config.store,
            cache_dir=config.cache_dir,
            offline=config.offline,
            versioning=config.versioning,
            storage_options=config.storage_options,
            progress=progress,
            notify=notify,
            config=config,
            lock_file=config.lock_file,
            lock_check=lock_check,
        )

    def __repr__(self) -> str:
        store = self._store_label()
        return (
            f"Assets(store={store!r}, cache_dir='{self.cache.directory}', offline={self.offline})"
        )

    # -- helpers ----------------------------------------------------------------------------

    def _store_label(self) -> str:
        if self.store_url is None:
            return "(no store)"
        return redact_url(self.store_url)

    @property
    def store(self) -> Store:
        if self.offline:
            raise OfflineError(
                "offline mode is on, so the store is not used: turn it off (drop --offline / "
                "ASSETS_OFFLINE) to reach the store"
            )
        if self._store is None:
            if not self.store_url:
                raise _no_store()
            from .config import check_store_value

            check_store_value(self.store_url, self._store_source() or "Assets(store=...)")
            self._store = Store(self.store_url, self.storage_options)
        return self._store

    def _cache_of(self, name: str, version: str) -> Cache:
        """The cache as the configured store sees it. With no store configured, a pinned
        version cached from exactly one store is that store's: there is no other to confuse
        it with; from several, which one is meant is not ours to guess."""
        if self.cache.store_folder is not None:
            return self.cache
        folders = self.cache.holding(name, version)
        if len(folders) == 1:
            return self.cache.within(folders[0])
        if not folders:
            raise _no_store()
        stores = ", ".join(sorted(self.cache.within(f).store_label(name, version) for f in folders))
        raise ConfigError(
            f"{name}:{version} is cached from {len(folders)} stores ({stores}) and no store is "
            "configured: set the store (ASSETS_STORE, --store, assets_store) to say which"
        )

    def _say(self, message: str) -> None:
        if self.notify is not None:
            self.notify(message)
        else:
            log.info(message)

    def parse(self, spec: str | AssetSpec) -> AssetSpec:
        if isinstance(spec, AssetSpec):
            if spec.version is not None:
                try:
                    self.versioning.check(spec.version)
                except InvalidAssetSpecError as exc:
                    raise InvalidAssetSpecError(f"spec {str(spec)!r}: {exc}") from None
            return spec
        return AssetSpec.parse(spec, versioning=self.versioning_name)

    def _is_complete(self, spec: AssetSpec) -> bool:
        return spec.version is not None and self.versioning.is_complete(spec.version)

    # -- versions ---------------------------------------------------------------------------

    def _read_versions(self, name: str) -> list[str] | None:
        """``<name>.versions`` from the store, newest first; None when the asset is unknown."""
        store = self.store
        data = store.read_json(store.versions_path(name), f"reading {name}.versions")
        if data is None:
            return None
        where = f"{store.display_url}/{name}.versions"
        if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
            raise StoreError(f'{where} is not of the form {{"versions": [...]}}')
        versions = data["versions"]
        for version in versions:
            try:
                if not isinstance(version, str):
                    raise InvalidAssetSpecError(f"{version!r} is not a string")
                self.versioning.check(version)
                if not self.versioning.is_complete(version):
                    raise InvalidAssetSpecError(f"{version!r} is not a complete version")
            except InvalidAssetSpecError as exc:
                raise StoreError(
                    f"{where} lists a version that does not parse under "
                    f"{self.versioning_name} versioning ({exc}); check assets_versioning, or "
                    "repair the store"
                ) from None
        return sort_versions(self.versioning, versions)

    def versions(self, name: str) -> list[str]:
        """Every version of ``name``, newest first, read fresh (offline: the cached ones)."""
        spec = self.parse(name)
        if self.offline:
            return sort_versions(self.versioning, self.cache.versions(spec.name))
        found = self._read_versions(spec.name)
        if found is None:
            raise self._unknown_asset(spec.name)
        return found

    def _store_source(self) -> str | None:
        """Where the store URL came from (``environment ASSETS_STORE``), when a loader said."""
        source = self.config.sources.get("store") if self.config is not None else None
        return source if source and source != "default" else None

    def _missing_store(self, store: Store) -> StoreNotFoundError | None:
        """``store ... does not exist`` and what to do, when the store itself is missing: a
        missing bucket or directory is a wrong setting, not a missing asset."""
        why = store.missing()
        if why is None:
            return None
        source = self._store_source()
        check = f"check the store setting ({source}; a typo?)" if source else "check its URL"
        if not store.is_local:
            step = f"{check} and the endpoint, or create the bucket"
        else:
            parent = os.path.dirname(store.root.rstrip("/")) or "/"
            if os.path.exists(store.root):  # a file where the folder should be
                step = check
            elif os.path.isdir(parent):
                step = f"{check}, or push to it once to create it"
            else:
                why += f", nor its parent {parent}"
                step = f"{check}, or create {parent} if the path is right"
        message = f"store {store.display_url} does not exist: {why}; {step}"
        return StoreNotFoundError(store.scrub(message))  # the root is the URL, userinfo too

    def _new_directory_store(self, store: Store) -> bool:
        """Whether a push must make the directory store's folder: only its own folder, when
        the parent exists, so a typo in the path is an error and not a new tree of folders."""
        if not store.is_local or os.path.isdir(store.root or "/"):
            return False
        parent = os.path.dirname(store.root.rstrip("/")) or "/"
        if os.path.isdir(parent) and not os.path.exists(store.root):
            return True
        missing = self._missing_store(store)
        if missing is None:  # another push just made it
            return False
        raise missing

    def _unknown_asset(self, name: str) -> AssetNotFoundError:
        missing = self._missing_store(self.store)
        if missing is not None:
            return missing
        return AssetNotFoundError(
            f"asset {name} does not exist in store {self.store.display_url} (no "
            f"{name}.versions there); check the name (pytest-assets ls lists the assets) or "
            "push it first"
        )

    def names(self, prefix: str = "") -> list[str]:
        if self.offline:
            return sorted(
                {entry.name for entry in self.cache.entries() if entry.name.startswith(prefix)}
            )
        found = self.store.find_names(prefix)
        missing = None if found else self._missing_store(self.store)
        if missing is not None:
            raise missing
        return found

    def resolve(self, spec: str | AssetSpec) -> AssetSpec:
        """Complete the version: one read of ``<name>.versions`` per name per object."""
        spec = self.parse(spec)
        if self._is_complete(spec):
            return spec
        key = (spec.name, spec.version)
        if key in self._resolved:
            return spec.with_version(self._resolved[key])
        lock = self.lock()
        if lock is not None:
            entry = lock.get(spec)
            if entry is not None:
                self._resolved[key] = entry.version
                self._locked[key] = entry
                return spec.with_version(entry.version)
        version = self._resolve_unlocked(spec)
        if lock is not None:
            self.unlocked.add(lock_key(spec))  # resolved, but outside the lock
        self._resolved[key] = version
        return spec.with_version(version)

    def _resolve_unlocked(self, spec: AssetSpec) -> str:
        """The newest matching version in the store (offline: in the cache)."""
        if self.offline:
            candidates = sort_versions(self.versioning, self.cache.versions(spec.name))
            where = f"the cache {self.cache.directory} (offline mode)"
        else:
            found = self._listed.get(spec.name)
            if found is None:
                found = self._read_versions(spec.name)
            if found is None:
                raise self._unknown_asset(spec.name)
            self._listed[spec.name] = found
            candidates = found
            where = f"store {self.store.display_url}"
        matching = [v for v in candidates if self.versioning.matches(spec.version, v)]
        if not matching:
            shown = ", ".join(candidates[:20]) or "none"
            wanted = f"{spec.name}:{spec.version}" if spec.version else spec.name
            hint = (
                "fetch it once online, or turn offline mode off"
                if self.offline
                else "pick one of the versions listed"
            )
            error = OfflineError if self.offline else AssetNotFoundError
            raise error(f"no version of {wanted} in {where}; versions there: {shown}; {hint}")
        return matching[0]

    # -- fetch ------------------------------------------------------------------------------

    def fetch(self, spec: str | AssetSpec) -> Path:
        """The local path of the asset (or its sub-part), complete and verified."""
        requested = self.parse(spec)
        resolved = self.resolve(requested)
        name, version = resolved.name, resolved.version
        assert version is not None
        cache = self._cache_of(name, version)
        key = (name, version)
        from_cache = cache.has(name, version)
        damage = cache.damage(name, version, resolved.sub_part) if from_cache else None
        if damage is not None:
            self._damaged_copy(name, version, damage)
            from_cache = False
        path = (
            cache.data_path(name, version)
            if from_cache
            else self._download(name, version, replace=lambda: bool(self.cache.damage(*key)))
        )
        entry = self._locked.get((requested.name, requested.version))
        self.history.append(Resolution(str(requested), resolved, from_cache, entry is not None))
        if entry is not None:
            self._check_locked(resolved, entry)
        if resolved.sub_part is None:
            return path
        return self._sub_part_path(resolved, path)

    # -- the lock file ----------------------------------------------------------------------

    def lock(self) -> LockFile | None:
        """``assets.lock`` if there is one: partial specs then resolve through it."""
        if not self._lock_read:
            self._lock = LockFile.read(self.lock_path) if self.lock_path else None
            self._lock_read = True
        return self._lock

    def adopt_lock(self, path: Path | None, check: bool) -> None:
        """Follow ``path`` unless a lock file was given or already read: an ``Assets`` built in
        a conftest then honours the session's ``assets.lock`` as the plugin's own does."""
        if self.lock_path is None and not self._lock_read:
            self.lock_path, self.lock_check = path, check

    def _check_locked(self, resolved: AssetSpec, entry: LockEntry) -> None:
        assert resolved.version is not None
        key = (resolved.name, resolved.version)
        if key not in self._lock_verdicts:
            actual = self.meta_sha256(*key)
            problem = None
            if actual != entry.meta_sha256:
                problem = (
                    f"{resolved.name}:{resolved.version} no longer matches {self.lock_path}: "
                    f"its metadata hash is {actual[:12]}..., the lock says "
                    f"{entry.meta_sha256[:12]}...; the version was re-created in the store: "
                    "find out why before re-locking it"
                )
                self.lock_problems.append(problem)
                if not self.lock_check:
                    self._say(f"warning: {problem}")  # the CLI and %asset print it on stderr
            self._lock_verdicts[key] = problem
        message = self._lock_verdicts[key]
        if message is not None and self.lock_check:
            raise IntegrityError(message)

    def meta_sha256(self, name: str, version: str) -> str:
        """The lock file's hash of a version's ``.meta`` (from the cache when it is there)."""
        record = self._cache_of(name, version).record(name, version)
        if record is not None:
            return meta_hash(record["meta"])
        meta, _manifest = self._read_meta(self.store, name, version)
        return meta_hash(meta)

    def session_lock_entries(self) -> dict[str, LockEntry]:
        """What every partial spec fetched so far resolved to, ready for ``assets.lock``."""
        entries = {}
        hashes: dict[tuple[str, str], str] = {}
        for resolution in self.history:
            requested = self.parse(resolution.requested)
            if self._is_complete(requested):
                continue
            name, version = resolution.resolved.name, resolution.resolved.version
            assert version is not None
            if (name, version) not in hashes:
                hashes[name, version] = self.meta_sha256(name, version)
            entries[lock_key(requested)] = LockEntry(version, hashes[name, version])
        return entries

    def update_lock(
        self,
        specs: list[str] | None = None,
        *,
        upgrade: bool = False,
        names: list[str] | None = None,
        entries: dict[str, LockEntry] | None = None,
    ) -> list[tuple[str, str | None, str]]:
        """Add ``specs`` (or ``entries``, else this session's partial specs) to the lock; with
        ``upgrade``, move the locked entries (of ``names``, else all) to the newest versions.
        Returns
        ``(spec, old version or None, new version)`` for every entry that changed."""
        if self.lock_path is None:
            raise ConfigError("no lock file location: pass lock_file= or use from_config()")
        lock = self.lock() or LockFile(self.lock_path)
        if upgrade:
            targets = {k: self.parse(k) for k in lock.entries}
            if names:
                missing = sorted(set(names) - {t.name for t in targets.values()})
                if missing:
                    raise ConfigError(
                        f"{', '.join(missing)}: no entry in {self.lock_path}; --upgrade takes "
                        "asset names that are locked (add a spec with pytest-assets lock SPEC)"
                    )
                targets = {k: t for k, t in targets.items() if t.name in names}
        elif specs is not None:
            targets = {}
            for text in specs:
                spec = self.parse(text)
                if self._is_complete(spec):
                    raise InvalidAssetSpecError(
                        f"{spec} is pinned to a complete version already; the lock file is for "
                        "partial specs such as name:1 or name"
                    )
                targets[lock_key(spec)] = spec
        else:
            found = self.session_lock_entries() if entries is None else entries
            merged = [
                (k, lock.entries[k].version if k in lock.entries else None, e.version)
                for k, e in sorted(found.items())
                if lock.entries.get(k) != e
            ]
            lock.entries.update(found)
            lock.write()
            self._lock, self._lock_read = lock, True
            return merged
        changes: list[tuple[str, str | None, str]] = []
        for key, spec in sorted(targets.items()):
            old = lock.entries.get(key)
            if old is not None and not upgrade:
                continue
            version = self._resolve_unlocked(spec)
            entry = LockEntry(version, self.meta_sha256(spec.name, version))
            if old != entry:
                changes.append((key, old.version if old else None, version))
            lock.entries[key] = entry
        lock.write()
        self._lock, self._lock_read = lock, True
        return changes

    def _runs_file(self) -> Path:
        assert self.lock_path is not None
        digest = hashlib.sha256(str(self.lock_path.absolute()).encode()).hexdigest()[:16]
        return self.cache.books / "runs" / f"{digest}.json"

    def remember_specs(self, specs: list[str]) -> None:
        """Keep the partial specs a test run used, so ``pytest-assets lock`` can lock them."""
        if self.lock_path is None or not specs:
            return
        self.cache.ensure()
        path = self._runs_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"lock_file": str(self.lock_path), "specs": sorted(set(specs))}
        path.write_text(json.dumps(body, indent=1), encoding="utf-8")

    def remembered_specs(self) -> list[str]:
        if self.lock_path is None:
            return []
        try:
            data = json.loads(self._runs_file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        specs = data.get("specs") if isinstance(data, dict) else None
        return [s for s in specs if isinstance(s, str)] if isinstance(specs, list) else []

    def _sub_part_path(self, spec: AssetSpec, path: Path) -> Path:
        assert spec.sub_part is not None and spec.version is not None
        target = path.joinpath(*spec.sub_part.split("/"))
        if path.is_dir() and os.path.lexists(target):
            return target
        record = self._cache_of(spec.name, spec.version).record(spec.name, spec.version)
        if path.is_dir() and record is not None:
            held = manifest_from_record(record, str(spec)).files
            shown = ", ".join(f.path for f in held[:20]) + (", ..." if len(held) > 20 else "")
            detail = f"it holds: {shown}"
        else:
            detail = "it is a single-file asset, so it has no sub-parts"
        raise AssetNotFoundError(
            f"{spec.name}:{spec.version} has no sub-part {spec.sub_part!r}; {detail}"
        )

    def _damaged_copy(self, name: str, version: str, damage: str) -> None:
        """A cached copy that lost files is never handed out: online it is fetched again."""
        label = f"{name}:{version}"
        if self.offline:
            raise IntegrityError(
                f"the cached copy of {label} is damaged: {damage}; offline mode is on, so it "
                f"cannot be downloaded again: turn offline mode off and fetch it, or run "
                f"pytest-assets verify --repair {label} (the copy was left as it is)"
            )
        self._say(f"warning: the cached copy of {label} is damaged: {damage}; downloading it again")

    def _download(
        self, name: str, version: str, *, replace: Callable[[], bool] | None = None
    ) -> Path:
        """Download under the version's lock; a copy already cached is kept unless ``replace``
        says (under the lock, so only one process repairs it) that it must go."""
        if self.offline:
            raise OfflineError(
                f"{name}:{version} is not in the cache {self.cache.directory} and offline mode "
                "is on: fetch it once with offline mode off"
            )
        store = self.store
        label = f"{name}:{version}"
        self.cache.ensure()
        lock = self.cache.lock_path(name, version)
        try:
            with version_lock(
                lock,
                label,
                progress=lambda: self.cache.staged_bytes(name, version),
                notify=self._say,
            ):
                if self.cache.has(name, version):
                    if replace is None or not replace():
                        return self.cache.data_path(name, version)
                    self.cache.remove(name, version)
                self.cache.clean_stale_temps()
                return self._download_locked(store, name, version)
        except OSError as exc:
            raise cache_error(exc, self.cache.directory, f"fetching {label}") from None

    def _read_meta(self, store: Store, name: str, version: str) -> tuple[dict[str, Any], Manifest]:
        label = f"{name}:{version}"
        meta = store.read_json(store.meta_path(name, version), f"reading {label}.meta")
        if meta is None:
            versions = self._read_versions(name)
            if versions is None:
                raise self._unknown_asset(name)
            raise AssetNotFoundError(
                f"version {label} does not exist in store {store.display_url}; versions there: "
                f"{', '.join(versions[:20]) or 'none'}"
            )
        where = f"{store.display_url}/{name}/{version}.meta"
        manifest = parse_meta(meta, where)
        return meta, manifest

    def _download_locked(self, store: Store, name: str, version: str) -> Path:
        label = f"{name}:{version}"
        meta, manifest = self._read_meta(store, name, version)
        sizes = self._listed_sizes(store, name, version, manifest)
        staging = self.cache.temp_dir(name, version)
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
            progress = FileProgress(self.progress, f"fetching {label}", len(pairs))
            # (size, sha256) by local path, for what was hashed on the way in: the rest is
            # hashed below, read back from the disk
            measurements: dict[str, tuple[int, str]] = {}
            try:
                if manifest.is_directory:
                    got = store.get_files(pairs, f"downloading {label}", progress)
                    measurements = got or {}
                else:
                    streamed = store.get_file_hashed(*pairs[0], f"downloading {label}")
                    measurements = {pairs[0][1]: streamed} if streamed else {}
                    progress.advance()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
                _check_staging(staging)
                raise self._incomplete_version(store, name, version, manifest, exc) from None
            finally:
                progress.close()
            files: dict[str, dict[str, Any]] = {}
            for entry, (_remote, local) in zip(manifest.files, pairs, strict=True):
                if not os.path.isfile(local):
                    _check_staging(staging)
                    raise self._incomplete_version(store, name, version, manifest, None)
                where = f"{label}[{entry.path}]" if entry.path else label
                checked = (
                    entry
                    if entry.size is not None
                    else FileEntry(entry.path, sizes.get(entry.path), entry.sha256)
                )
                measured = measurements.get(local)
                if measured is not None and (
                    checked.size in (None, measured[0]) and checked.sha256 in (None, measured[1])
                ):  # hashed on the way in, and it agrees: no second read
                    files[entry.path] = {"size": measured[0], "sha256": measured[1]}
                    continue
                size, digest = check_file(local, checked, f"{where} from {store.display_url}")
                files[entry.path] = {"size": size, "sha256": digest}
            record = {
                "meta": meta,
                "files": files,
                "integrity": "sha256" if manifest.has_hashes else "size",
                "store": store.display_url,
                "fetched_at": _dt.datetime.now(_dt.UTC).isoformat(),
            }
            return self.cache.install(name, version, staged, record)
        finally:
            remove_staging(staging)

    def _listed_sizes(
        self, store: Store, name: str, version: str, manifest: Manifest
    ) -> dict[str, int]:
        """modelkit's .meta has no sizes: take them from the store's listing instead."""
        if all(entry.size is not None for entry in manifest.files):
            return {}
        if not manifest.is_directory:
            info = store.info(store.object_path(name, version))
            return {"": info.size} if info else {}
        return store.find_below(store.object_path(name, version))

    def _incomplete_version(
        self, store: Store, name: str, version: str, manifest: Manifest, exc: Exception | None
    ) -> AssetsError:
        label = f"{name}:{version}"
        if not manifest.is_directory:
            if store.find_below(store.object_path(name, version)):
                return StoreError(
                    f"{label} in store {store.display_url} is a folder, but its .meta says it "
                    "is a single file; the store is damaged, nothing was cached"
                )
            return IntegrityError(
                f"{label}: the store {store.display_url} has its .meta but not its object; "
                "the version is incomplete in the store, nothing was cached"
            )
        present = store.find_below(store.object_path(name, version))
        missing = [f.path for f in manifest.files if f.path not in present]
        shown = ", ".join(missing[:10]) or str(exc)
        return IntegrityError(
            f"{label}: .meta lists objects that the store {store.display_url} does not hold "
            f"({shown}); the version is incomplete in the store, nothing was cached"
        )

    # -- info, verify, cache ----------------------------------------------------------------

    def info(self, spec: str | AssetSpec) -> dict[str, Any]:
        """The version's ``.meta`` plus name, version and how it can be checked."""
        resolved = self.resolve(spec)
        assert resolved.version is not None
        name, version = resolved.name, resolved.version
        cache = self._cache_of(name, version)
        record = cache.record(name, version)
        if record is not None and cache.has(name, version):
            meta, manifest = record["meta"], manifest_from_record(record, str(resolved))
            cached: str | None = str(cache.data_path(name, version))
        elif self.offline:
            raise OfflineError(
                f"{name}:{version} is not in the cache {self.cache.directory} and offline mode "
                "is on: fetch it once with offline mode off"
            )
        else:
            meta, manifest = self._read_meta(self.store, name, version)
            cached = None
        out = dict(meta)
        out["name"] = name
        out["version"] = version
        out["content_sha256"] = manifest.content_hash
        out["integrity"] = (
            "sha256"
            if parse_meta(meta, str(resolved)).has_hashes
            else "size only: pushed without hashes (modelkit), sizes checked against the store"
        )
        out["cached_path"] = cached
        return out

    def content_hash(self, name: str, version: str) -> str | None:
        """The content hash of a cached version (for the pytest summary and the lock file)."""
        record = self._cache_of(name, version).record(name, version)
        if record is None:
            return None
        return manifest_from_record(record, f"{name}:{version}").content_hash

    def cached(self, spec: str | AssetSpec | None = None) -> list[CachedVersion]:
        entries = list(self.cache.entries())
        if spec is None:
            return entries
        wanted = self.parse(spec)
        return [
            e
            for e in entries
            if e.name == wanted.name and self.versioning.matches(wanted.version, e.version)
        ]

    def verify(self, spec: str | AssetSpec | None = None, *, repair: bool = False) -> list[Problem]:
        """Re-hash cached copies against their records; only report, unless ``repair``.

        One Problem per damaged file and per extra (a file the version does not hold, such
        as ``__pycache__/`` left by a test's import: not damage, the version is intact).
        ``repair`` downloads damaged versions again (not offline: they are then left as they
        are) and removes extras."""
        wanted = None if spec is None else self.parse(spec)
        checked = [
            (entry, self.cache.verify(entry), self.cache.extras(entry))
            for entry in self.cached(spec)
        ]
        damaged = f"its record in {self.cache.books} is damaged, so its files cannot be checked"
        unreadable = [
            (folder, name, version)
            for folder, name, version in self.cache.unreadable()
            if wanted is None
            or (name == wanted.name and self.versioning.matches(wanted.version, version))
        ]
        problems: list[Problem] = []
        own = self.cache.store_folder  # another store's versions can only be reported
        for folder, name, version in unreadable:
            fixed = repair and not self.offline and folder == own
            if fixed:
                self._download(name, version, replace=lambda: True)
            problems.append(Problem(name, version, f"{name}:{version}: {damaged}", fixed))
        for entry, found, extras in checked:
            name, version = entry.name, entry.version
            fixed = repair and (not found or (not self.offline and entry.store_folder == own))
            if fixed and found:
                self._download(name, version, replace=lambda: True)
            elif fixed and extras:
                self.cache.within(entry.store_folder).remove_extras(entry, extras)
            problems.extend(Problem(name, version, message, fixed) for message in found)
            problems.extend(
                Problem(
                    name,
                    version,
                    f"{name}:{version}[{rel}]: not part of the version ({entry.path / rel})",
                    fixed,
                    "extra",
                )
                for rel in extras
            )
        return problems

    def prune(
        self, keep: int = 1, dry_run: bool = False, *, include_pinned: bool = False
    ) -> Pruned:
        """Keep the newest ``keep`` cached versions of each asset, and every version pinned in
        ``assets.lock`` (unless ``include_pinned``); remove the rest."""
        if keep < 0:
            raise ConfigError("--keep must be 0 or more")
        lock = None if include_pinned else self.lock()
        pins = set()
        for key, entry in (lock.entries if lock else {}).items():
            pins.add((self.parse(key).name, entry.version))
        by_name: dict[tuple[str, str], list[CachedVersion]] = {}
        for cached in self.cache.entries():
            by_name.setdefault((cached.store_folder, cached.name), []).append(cached)
        removed, pinned = [], []
        for entries in by_name.values():
            # newest first; versions of another versioning system are not ours to rank: kept
            order = sort_versions(self.versioning, (e.version for e in entries))
            ranked = sorted(
                (e for e in entries if e.version in order), key=lambda e: order.index(e.version)
            )
            for cached in ranked[keep:]:
                if (cached.name, cached.version) in pins:
                    pinned.append(cached)
                    continue
                if not dry_run:
                    self.cache.within(cached.store_folder).remove(cached.name, cached.version)
                removed.append(cached)
        return Pruned(removed, pinned)

    # -- push -------------------------------------------------------------------------------

    def push(
        self,
        path: str | os.PathLike[str],
        spec: str | AssetSpec,
        *,
        bump_major: bool = False,
        dry_run: bool = False,
        allow_identical: bool = False,
        follow_links: bool = False,
    ) -> AssetSpec:
        """Push a file or directory as a new, immutable version; returns the version pushed, or
        the existing one that already holds this content (``push_report`` tells them apart)."""
        return self.push_report(
            path,
            spec,
            bump_major=bump_major,
            dry_run=dry_run,
            allow_identical=allow_identical,
            follow_links=follow_links,
        ).spec

    def push_report(
        self,
        path: str | os.PathLike[str],
        spec: str | AssetSpec,
        *,
        bump_major: bool = False,
        dry_run: bool = False,
        allow_identical: bool = False,
        follow_links: bool = False,
    ) -> PushReport:
        """``push``, reporting what it did: content equal to the version it would bump from
        (or to the version it names) pushes nothing, unless ``allow_identical`` (a new version
        of the same bytes). Links leaving a folder are refused unless ``follow_links``."""
        target = self.parse(spec)
        if target.sub_part is not None:
            raise InvalidAssetSpecError(
                f"push takes name[:version], not a sub-part: {target} (push the whole folder)"
            )
        source = Path(path)
        if not source.exists():
            raise AssetNotFoundError(f"nothing to push: {source} does not exist")
        store = self.store
        new_directory = self._new_directory_store(store)
        explicit = self._is_complete(target)
        if bump_major and target.version is not None:  # a major too: which one would win?
            raise InvalidAssetSpecError(
                f"--bump-major picks the version itself; drop it or the version in {target}"
            )
        scan, (listed_or_none, base, base_meta), (metas, claims, nested), above = store.gather(
            # hashing the sources overlaps the first round trips
            lambda: scan_local(source, follow_links=follow_links),
            lambda: self._listing_and_base(
                store, target, bump_major, compare=explicit or not allow_identical
            ),
            lambda: self._version_objects(store, target.name),
            lambda: self._versions_above(store, target.name),
        )
        manifest = scan.manifest
        if manifest.is_directory and not manifest.files:
            raise AssetsError(f"nothing to push: the folder {source} holds no files")
        if above:
            raise AssetExistsError(
                f"{target.name} cannot be pushed to {store.display_url}: its objects would go "
                f"inside the version {above[0]}, which modelkit's layout stores at the same "
                "place. Choose a name that does not continue an existing version's path"
            )
        listed = listed_or_none or []
        digest = manifest.content_hash
        report = partial(
            PushReport,
            store=store.display_url,
            explicit=explicit,
            dry_run=dry_run,
            files=manifest.files,
            ignored=scan.ignored,
        )
        if base is not None and base_meta is not None:
            same = parse_meta(base_meta, f"{target.name}:{base}").content_hash == digest
            if same and base in listed:  # nothing to do: say which version holds it
                return report(spec=target.with_version(base), pushed=False, identical=True)
            if explicit and not same:
                raise self._exists_error(f"{target.name}:{base}", store, False)
        if explicit:
            assert target.version is not None
            version = target.version
        else:
            version = self._resumable(store, target.name, digest, metas - set(listed), claims) or (
                self.versioning.next_version(
                    set(listed) | metas | claims, target.version, bump_major
                )
            )
        self._layout_clash(store, target.name, version, nested)
        refuse_uncacheable(target.name, version)
        if dry_run:
            if new_directory:
                self._say(store.scrub(f"would create a new directory store at {store.root}"))
            elif listed_or_none is None and not (metas or claims):  # a new asset: is the
                missing = self._missing_store(store)  # bucket there? (a push would say)
                if missing is not None:
                    raise missing
            return report(spec=target.with_version(version), pushed=False, identical=False)
        if new_directory:
            with contextlib.suppress(FileExistsError):  # a concurrent push made it
                store.create_directory()
                self._say(store.scrub(f"created a new directory store at {store.root}"))
        for _attempt in range(100):
            taken_by, meta_written, fresh = self._claim(store, target.name, version, digest)
            if taken_by is None:
                break
            if explicit:
                raise taken_by
            version = self.versioning.next_version(
                set(listed) | metas | claims | {version}, target.version, bump_major
            )
            claims.add(version)
            self._layout_clash(store, target.name, version, nested)
        else:
            raise StoreError(
                f"could not claim a version of {target.name}: too many concurrent pushes"
            )
        label = f"{target.name}:{version}"
        meta_path = store.meta_path(target.name, version)
        write_meta: Callable[[], None] | None = None
        if not meta_written:
            self._upload(store, source, target.name, version, manifest, resuming=not fresh)
            changed = scan.changed()
            if changed:  # what was uploaded may not be what was hashed: publish none of it
                where = f"cannot push {source} as {label} to {store.display_url}"
                error = changed_error(where, changed)
                try:
                    self._withdraw(store, target.name, version, manifest)
                except AssetsError as exc:  # the claim stays: later pushes take another version
                    log.warning("%s: could not take back its objects: %s", label, exc)
                raise error
            meta = json.dumps(build_meta(manifest, __version__)).encode()  # this repo's commit

            def write_meta() -> None:
                try:
                    store.write_bytes(meta_path, meta, f"writing {label}.meta", create_only=True)
                except FileExistsError:
                    self._check_same_content(store, target.name, version, digest)

        self._add_to_versions(
            store,
            target.name,
            version,
            claim=store.claim_path(target.name, version),
            first=write_meta,
        )
        self._forget(target.name)
        return report(spec=target.with_version(version), pushed=True, identical=False)

    def _listing_and_base(
        self, store: Store, target: AssetSpec, bump_major: bool, *, compare: bool
    ) -> tuple[list[str] | None, str | None, Any]:
        """``.versions``, then the ``.meta`` of the version this push could repeat: the one it
        names, or the newest it would bump from (the sources' hashing hides the second read)."""
        listed = self._read_versions(target.name)
        if self._is_complete(target):
            base = target.version
        else:  # a new major has no version to repeat
            matching = [v for v in listed or [] if self.versioning.matches(target.version, v)]
            base = matching[0] if compare and matching and not bump_major else None
        if base is None:
            return listed, None, None
        meta = store.read_json(
            store.meta_path(target.name, base), f"reading {target.name}:{base}.meta"
        )
        return listed, base, meta

    def _withdraw(self, store: Store, name: str, version: str, manifest: Manifest) -> None:
        """Take back an upload that must not be published: its objects, then its claim, so the
        version is free again for the same push once the source holds still."""
        label = f"{name}:{version}"
        what = f"removing the unpublished objects of {label}"
        if manifest.is_directory:
            store.delete_below(store.object_path(name, version), what)
        else:
            store.delete(store.object_path(name, version), what)
        store.delete(store.claim_path(name, version), f"releasing the claim on {label}")

    def _forget(self, name: str) -> None:
        for key in [k for k in self._resolved if k[0] == name]:
            del self._resolved[key]
        self._listed.pop(name, None)

    def _version_objects(self, store: Store, name: str) -> tuple[set[str], set[str], set[str]]:
        """Versions with a ``.meta``, versions with a push in progress (a claim), and the
        assets named ``<name>/<x>`` (whose objects live where version ``x`` would)."""
        found = version_objects(base for base, _kind in store.list_dir(store.path(name)))
        valid = set(sort_versions(self.versioning, found.metas | found.claims))
        return valid & found.metas, valid & found.claims, set(found.nested)

    def _versions_above(self, store: Store, name: str) -> list[str]:
        """The versions that ``name`` would sit inside: ``a:1.0`` for ``a/1.0/b`` (modelkit's
        layout puts both under ``a/1.0/``)."""
        parts = name.split("/")
        splits = [
            ("/".join(parts[:i]), parts[i])
            for i in range(1, len(parts))
            if sort_versions(self.versioning, {parts[i]})
        ]
        if not splits:
            return []
        found = store.gather(
            *(lambda p=p, v=v: store.info(store.meta_path(p, v)) for p, v in splits)
        )
        return [f"{p}:{v}" for (p, v), info in zip(splits, found, strict=True) if info]

    def _layout_clash(self, store: Store, name: str, version: str, nested: set[str]) -> None:
        if version in nested:
            raise AssetExistsError(
                f"{name}:{version} cannot be pushed to {store.display_url}: its objects would go "
                f"under {name}/{version}/, where the asset {name}/{version} already lives. "
                "Push under another name or version"
            )

    def _resumable(
        self, store: Store, name: str, digest: str, unlisted: set[str], claims: set[str]
    ) -> str | None:
        """An interrupted push of this very content: finish it rather than start another."""
        for version in sort_versions(self.versioning, unlisted | claims):
            if version in unlisted:
                meta = store.read_json(store.meta_path(name, version), "reading .meta")
                if meta is not None and parse_meta(meta, name).content_hash == digest:
                    return version
            else:
                claim = store.read_json(store.claim_path(name, version), "reading claim")
                if isinstance(claim, dict) and claim.get("content_sha256") == digest:
                    return version
        return None

    def _claim(
        self, store: Store, name: str, version: str, digest: str
    ) -> tuple[AssetExistsError | None, bool, bool]:
        """Take ``version`` for this content with a create-only claim object.

        Returns (why it is taken, or None; whether its ``.meta`` is already written, i.e. an
        interrupted push only has ``.versions`` left to do; whether our claim is new). The
        claim and ``.meta`` are read back together, after the write: another pusher may have
        finished this version and released its claim just before ours."""
        label = f"{name}:{version}"
        path = store.claim_path(name, version)
        meta_path = store.meta_path(name, version)
        nonce = uuid.uuid4().hex
        body = {
            "content_sha256": digest,
            "by": f"{os.getpid()}@{socket.gethostname()}",
            "nonce": nonce,
            "time": time.time(),
        }
        try:
            store.write_bytes(
                path, json.dumps(body).encode(), f"claiming {label}", create_only=True
            )
            fresh = True
        except FileExistsError:
            fresh = False
        except FileNotFoundError as exc:  # a create-only write finds no bucket to write to
            raise self._missing_store(store) or StoreError(
                f"store {store.display_url} answered 'not found' while claiming {label} "
                f"({store.scrub(str(exc))}); check the store URL"
            ) from None
        claim, meta = store.gather(
            lambda: store.read_json(path, f"reading the claim on {label}"),
            lambda: store.read_json(meta_path, f"reading {label}.meta"),
        )
        claimed = isinstance(claim, dict)
        mine = claimed and (claim.get("nonce") == nonce or claim.get("content_sha256") == digest)
        if fresh and claimed and claim.get("nonce") != nonce and not mine:
            # A backend that ignores create-only writes (the GCS emulator): last writer won.
            return (
                AssetExistsError(f"{label} was claimed concurrently by {claim.get('by')}"),
                False,
                False,
            )
        if meta is not None:
            same = parse_meta(meta, label).content_hash == digest
            if same and (not fresh or version not in (self._read_versions(name) or [])):
                return None, True, fresh  # interrupted after .meta (or after .versions)
            if fresh:
                store.delete(path, f"releasing the claim on {label}")
            return self._exists_error(label, store, same), False, False
        if not fresh and not claimed:
            # The claim that stopped ours vanished: its push just finished (its .meta may have
            # landed after our read). Not ours either way: let the caller move on.
            return (
                AssetExistsError(f"{label} was pushed concurrently by another process"),
                False,
                False,
            )
        if claimed and not mine:
            by = claim.get("by", "?")
            return (
                AssetExistsError(
                    f"{label} is being pushed with other content by {by} (or that push was "
                    f"abandoned: then delete {path} in the store); versions are immutable, push "
                    "without a version to get the next one"
                ),
                False,
                False,
            )
        return None, False, fresh

    def _exists_error(self, label: str, store: Store, same: bool) -> AssetExistsError:
        content = (
            "with identical content, so there is nothing to do"
            if same
            else "with different content"
        )
        return AssetExistsError(
            f"{label} already exists in store {store.display_url} {content}; versions are "
            "immutable: push without a version (or with only the major) to get the next one"
        )

    def _check_same_content(self, store: Store, name: str, version: str, digest: str) -> None:
        label = f"{name}:{version}"
        meta = store.read_json(store.meta_path(name, version), f"reading {label}.meta")
        if meta is None or parse_meta(meta, label).content_hash != digest:
            raise self._exists_error(label, store, False)

    def _upload(
        self,
        store: Store,
        source: Path,
        name: str,
        version: str,
        manifest: Manifest,
        *,
        resuming: bool,
    ) -> None:
        """Upload create-only; when finishing an interrupted push, skip what it uploaded."""
        label = f"{name}:{version}"
        if not manifest.is_directory:
            remote = store.object_path(name, version)
            info = store.info(remote) if resuming else None
            if info is not None and info.size != manifest.files[0].size:
                raise self._exists_error(label, store, False)
            pairs = [] if info is not None else [(str(source), remote)]
        else:
            # A new claim means nothing of ours is there yet; create-only writes refuse the rest.
            existing = store.find_below(store.object_path(name, version)) if resuming else {}
            pairs = []
            for entry in manifest.files:
                remote = store.path(name, version, *entry.path.split("/"))
                if entry.path in existing:
                    if existing[entry.path] != entry.size:
                        raise self._exists_error(label, store, False)
                    continue  # uploaded by the interrupted run we are finishing
                pairs.append((str(source / entry.path), remote))
        progress = FileProgress(self.progress, f"pushing {label}", len(pairs))
        try:
            store.put_files(pairs, f"uploading {label}", progress)
        except FileExistsError:
            raise self._exists_error(label, store, False) from None
        finally:
            progress.close()

    def _add_to_versions(
        self,
        store: Store,
        name: str,
        version: str,
        claim: str,
        first: Callable[[], None] | None = None,
    ) -> None:
        """Merge under a create-only lock object; also re-adds versions a lost race dropped.

        ``first`` (writing ``.meta``) runs while the lock is being taken: the merge lists the
        ``.meta`` objects, so ``.meta`` must exist before the merge, not before the lock. The
        push's claim is released with the lock, once a read-back shows the version listed."""
        lock_path = store.versions_lock_path(name)
        for _round in range(5):
            token = self._lock_while(store, lock_path, name, first)
            first = None
            try:
                listed_or_none, (metas, _claims, _nested) = store.gather(
                    lambda: self._read_versions(name),
                    lambda: self._version_objects(store, name),
                )
                listed = listed_or_none or []
                merged = sort_versions(self.versioning, set(listed) | metas | {version})
                store.write_bytes(
                    store.versions_path(name),
                    json.dumps({"versions": merged}).encode(),
                    f"writing {name}.versions",
                    create_only=False,
                )
                listed_now, held = store.gather(
                    lambda: self._read_versions(name),
                    lambda: store.read_json(lock_path, "reading the .versions lock"),
                )
            except BaseException:
                self._release_store_lock(store, lock_path, token)
                raise
            releases: list[Callable[[], None]] = []
            if isinstance(held, dict) and held.get("token") == token:
                releases.append(partial(store.delete, lock_path, "unlocking .versions"))
            listed_ok = version in (listed_now or [])
            if listed_ok:
                what = f"releasing the claim on {name}:{version}"
                releases.append(partial(store.delete, claim, what))
            if releases:
                store.gather(*releases)
            if listed_ok:
                return
        raise StoreError(
            f"{name}:{version} was pushed but could not be added to {name}.versions in "
            f"{store.display_url}; push the same content again to finish it"
        )

    def _lock_while(
        self, store: Store, lock_path: str, name: str, work: Callable[[], None] | None
    ) -> str:
        """Take the ``.versions`` lock while ``work`` runs: one round trip instead of two."""
        if work is None:
            return self._take_store_lock(store, lock_path, name)
        with ThreadPoolExecutor(max_workers=1) as pool:
            taking = pool.submit(self._take_store_lock, store, lock_path, name)
            try:
                work()
            except BaseException:
                with contextlib.suppress(Exception):
                    self._release_store_lock(store, lock_path, taking.result())
                raise
            return taking.result()

    def _take_store_lock(self, store: Store, lock_path: str, name: str) -> str:
        token = uuid.uuid4().hex
        body = json.dumps(
            {"token": token, "time": time.time(), "by": socket.gethostname(), "pid": os.getpid()}
        )
        deadline = time.monotonic() + _STORE_LOCK_WAIT_SECONDS
        while True:
            try:
                store.write_bytes(lock_path, body.encode(), "locking .versions", create_only=True)
                return token
            except FileExistsError:
                held = store.read_json(lock_path, "reading the .versions lock")
                stamp = held.get("time") if isinstance(held, dict) else None
                if (
                    not isinstance(stamp, int | float)
                    or time.time() - stamp > _STORE_LOCK_STALE_SECONDS
                    or (isinstance(held, dict) and process_is_gone(held.get("by"), held.get("pid")))
                ):
                    store.delete(lock_path, "breaking a stale .versions lock")
                    continue
            if time.monotonic() > deadline:
                raise StoreError(
                    f"{name}.versions in {store.display_url} stayed locked for "
                    f"{_STORE_LOCK_WAIT_SECONDS:.0f} s; if no push is running, delete "
                    f"{lock_path}"
                )
            time.sleep(random.uniform(0.02, 0.2))

    def _release_store_lock(self, store: Store, lock_path: str, token: str) -> None:
        held = store.read_json(lock_path, "reading the .versions lock")
        if isinstance(held, dict) and held.get("token") == token:
            store.delete(lock_path, "unlocking .versions")
