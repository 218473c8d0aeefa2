"""``Assets``: the one facade every face calls; each step of DESIGN.md's flow has its room.

resolve (:mod:`.resolution`, pins in :mod:`.pins`) -> cache hit (:mod:`.cache`, no network)
or a locked, verified download (:mod:`.download`); push (:mod:`.push`: claims, upload,
``.meta``, then :mod:`.publish`); cache administration (:mod:`.cache_admin`). What the store
says about its assets is read and checked once, in :mod:`.catalog`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .cache import Cache, CachedVersion, manifest_from_record, sub_part_path
from .cache_admin import Problem, Pruned, cached, prune, verify
from .catalog import Catalog, describe
from .config import Config, load_config
from .connections import parse_max_connections
from .diff import VersionDiff, diff_infos
from .download import damaged_copy, download_version
from .errors import (
    AssetNotFoundError,
    ConfigError,
    InvalidAssetSpecError,
    OfflineError,
)
from .faces import PYTHON, Face
from .pinfile import Pin, meta_hash
from .pins import PinChange, PinSession, Resolution
from .push import Pusher, PushOptions, PushReport
from .redact import redact_url
from .resolution import Resolver
from .spec import AssetSpec, check_prefix, label
from .store import Store, local_directory
from .storekey import store_key
from .tiers import Tiers, shared_dirs_setting, verify_tiers
from .versioning import Versioning, get_versioning, sort_versions

__all__ = ["Assets", "Problem", "Pruned", "PushReport", "Resolution"]

log = logging.getLogger("pytest_assets")


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
        max_connections: int | None = None,
        face: Face = PYTHON,
        shared_dirs: Sequence[str | os.PathLike[str]] | None = None,
    ) -> None:
        if cache_dir is None:
            from .config import default_cache_dir

            cache_dir = default_cache_dir()
        self.store_url = store
        self.offline = offline
        self.versioning_name = versioning
        self.versioning: Versioning = get_versioning(versioning)
        self.storage_options = dict(storage_options or {})
        self.max_connections = parse_max_connections(max_connections, "argument")
        folder = store_key(store, self.storage_options).folder if store else None
        self.cache = Cache(Path(cache_dir), folder)
        tier_dirs = shared_dirs_setting(shared_dirs, {}, None, Path.cwd()) if shared_dirs else ()
        self.tiers = Tiers(tier_dirs, folder, self._say)  # read-only, before self.cache
        _refuse_overlap(store, self.cache.directory)
        self.progress = progress
        self.notify = notify
        self.face = face  # how the options our messages name are spelled
        # A local stand-in for a spec (pytest's --assets-override), asked before the store, so
        # `assets.fetch` in a session fixture sees what `asset()` in a test sees.
        self.redirect: Callable[[AssetSpec], Path | None] | None = None
        self.config = config
        self.history: list[Resolution] = []
        self._catalog: Catalog | None = None
        path = Path(lock_file) if lock_file is not None else None
        self.pins = PinSession(
            path, lock_check, self.versioning, runs_dir=self.cache.books / "runs", say=self._say
        )
        self.resolver = Resolver(
            self.versioning,
            self.pins,
            self.cache,
            lambda: self.catalog,
            offline=offline,
            tiers=self.tiers,
        )

    @classmethod
    def from_config(
        cls, start_dir: str | os.PathLike[str] | None = None, **overrides: Any
    ) -> Assets:
        """Arguments, then environment, then the pytest ini file, then defaults."""
        progress = overrides.pop("progress", False)
        notify = overrides.pop("notify", None)
        face = overrides.pop("face", PYTHON)
        config = load_config(start_dir, **overrides)
        return cls.from_loaded(config, progress=progress, notify=notify, face=face)

    @classmethod
    def from_loaded(
        cls,
        config: Config,
        *,
        progress: bool = False,
        notify: Callable[[str], None] | None = None,
        lock_check: bool = False,
        face: Face = PYTHON,
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
            max_connections=config.max_connections,
            face=face,
            shared_dirs=config.shared_dirs,
        )

    def __repr__(self) -> str:
        store = "(no store)" if self.store_url is None else redact_url(self.store_url)
        return (
            f"Assets(store={store!r}, cache_dir='{self.cache.directory}', offline={self.offline})"
        )

    # -- the store --------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.catalog.store

    @property
    def catalog(self) -> Catalog:
        """The store and what it says about its assets; built on first use, never offline."""
        if self.offline:
            raise OfflineError(
                f"offline mode is on, so the store is not used: turn it off ({self.face.online}) "
                "to reach the store"
            )
        if self._catalog is None:
            if not self.store_url:
                raise _no_store()
            from .store_url import check_store_value

            source = self._store_source()
            check_store_value(self.store_url, source or "Assets(store=...)")
            store = Store(
                self.store_url,
                self.storage_options,
                self.max_connections,
                offline_hint=self.face.offline,
            )
            self._catalog = Catalog(store, self.versioning, self.versioning_name, source)
        return self._catalog

    def _store_source(self) -> str | None:
        """Where the store URL came from (``environment ASSETS_STORE``), when a loader said."""
        source = self.config.sources.get("store") if self.config is not None else None
        return source if source and source != "default" else None

    def _cache_of(self, name: str, version: str) -> Cache:
        """The cache as the configured store sees it (with no store, as the one store that
        left this version sees it)."""
        found = self.cache.seen_for(name, version)
        if found is None:
            raise _no_store()
        return found

    def _say(self, message: str) -> None:
        if self.notify is not None:
            self.notify(message)
        else:
            log.info(message)

    # -- specs and versions -----------------------------------------------------------------

    def parse(self, spec: str | AssetSpec) -> AssetSpec:
        if isinstance(spec, AssetSpec):
            if spec.version is not None:
                try:
                    self.versioning.check(spec.version)
                except InvalidAssetSpecError as exc:
                    raise InvalidAssetSpecError(f"spec {str(spec)!r}: {exc}") from None
            return spec
        return AssetSpec.parse(spec, versioning=self.versioning_name)

    def resolve(self, spec: str | AssetSpec) -> AssetSpec:
        """Complete the version: one read of ``<name>.versions`` per name per object."""
        return self.resolver.resolve(self.parse(spec))

    def versions(self, name: str) -> list[str]:
        """Every version of ``name``, newest first, read fresh (offline: the cached ones)."""
        spec = self.parse(name)
        if self.offline:  # what the tiers and the cache hold: what offline fetches can use
            held = {*self.cache.versions(spec.name), *self.tiers.versions(spec.name)}
            return sort_versions(self.versioning, list(held))
        return self.catalog.versions(spec.name)

    def names(self, prefix: str = "") -> list[str]:
        check_prefix(prefix)
        if self.offline:
            views = [self.cache, *self.tiers.caches]
            held = {entry.name for view in views for entry in view.entries()}
            return sorted(name for name in held if name.startswith(prefix))
        return self.catalog.names(prefix)

    # -- fetch ------------------------------------------------------------------------------

    def fetch(self, spec: str | AssetSpec) -> Path:
        """The local path of the asset (or its sub-part), complete and verified."""
        requested = self.parse(spec)
        if self.redirect is not None and (local := self.redirect(requested)) is not None:
            return local
        resolved = self.resolver.resolve(requested)
        name, version = resolved.name, resolved.version
        assert version is not None  # resolve completes it
        tier = self.tiers.find(name, version, resolved.sub_part)  # checked there, used in place
        cache = tier or self._cache_of(name, version)
        from_cache = tier is not None or cache.has(name, version)
        damage = cache.damage(name, version, resolved.sub_part) if from_cache and not tier else None
        if damage is not None:
            damaged_copy(label(name, version), damage, offline=self.offline, say=self._say)
            from_cache = False
        path = (
            cache.data_path(name, version)
            if from_cache
            else self._download(name, version, replace=lambda: bool(cache.damage(name, version)))
        )
        pin = self.pins.used(requested)
        source = f"shared cache {tier.directory}" if tier else "cache" if from_cache else "store"
        self.history.append(
            Resolution(str(requested), resolved, from_cache, pin is not None, source)
        )
        if pin is not None:
            self.pins.check_fetched(resolved, pin, self.meta_sha256)
        if resolved.sub_part is None:
            return path
        return sub_part_path(path, resolved, cache.record(name, version))

    def _download(
        self, name: str, version: str, *, replace: Callable[[], bool] | None = None
    ) -> Path:
        if self.offline:
            raise OfflineError(
                f"{label(name, version)} is not in the cache {self.cache.directory} and offline "
                "mode is on: fetch it once with offline mode off"
            )
        return download_version(
            self.catalog,
            self.cache,
            name,
            version,
            progress=self.progress,
            notify=self._say,
            replace=replace,
            tiers=self.tiers.caches,
        )

    # -- assets.lock: the pins --------------------------------------------------------------

    def meta_sha256(self, name: str, version: str) -> str:
        """The lock file's hash of a version's ``.meta`` (from the cache when it is there)."""
        record = self.tiers.record(name, version) or self._cache_of(name, version).record(
            name, version
        )
        if record is not None:
            return meta_hash(record["meta"])
        return meta_hash(self.catalog.read_meta(name, version).meta)

    def session_lock_entries(self) -> dict[str, Pin]:
        """What every partial spec fetched so far resolved to, ready for ``assets.lock``."""
        return self.pins.of_session(self.history, self.meta_sha256)

    def update_lock(
        self,
        specs: list[str] | None = None,
        *,
        upgrade: bool = False,
        names: list[str] | None = None,
        entries: dict[str, Pin] | None = None,
        dry_run: bool = False,
    ) -> list[PinChange]:
        """Add ``specs`` (or ``entries``, else this session's partial specs) to the lock; with
        ``upgrade``, move the pins (of ``names``, else all) to the newest versions. Returns
        ``(spec, old version or None, new version)`` for every pin that changed."""
        if not upgrade and specs is None:
            return self.pins.merge(self.session_lock_entries() if entries is None else entries)
        return self.pins.update(
            specs,
            upgrade=upgrade,
            names=names,
            newest=self.resolver.newest,
            meta_sha256=self.meta_sha256,
            dry_run=dry_run,
        )

    def remember_specs(self, specs: list[str]) -> None:
        """Keep the partial specs a test run used, so ``pytest-assets lock`` can lock them;
        never the first thing written into the cache (a run served by shared tiers writes
        nothing there: nothing is left for ``sync --last-run`` to fetch)."""
        if self.cache.books.is_dir():
            self.pins.remember_specs(specs)

    # -- info and the cache -----------------------------------------------------------------

    def info(self, spec: str | AssetSpec) -> dict[str, Any]:
        """The version's ``.meta`` plus name, version and how it can be checked."""
        resolved = self.resolve(spec)
        assert resolved.version is not None  # resolve completes it
        name, version = resolved.name, resolved.version
        cache = self.tiers.find(name, version) or self._cache_of(name, version)
        record = cache.record(name, version)
        if record is not None and cache.has(name, version):
            meta, manifest = record["meta"], manifest_from_record(record, str(resolved))
            cached_path: str | None = str(cache.data_path(name, version))
        elif self.offline:
            raise OfflineError(
                f"{label(name, version)} is not in the cache {self.cache.directory} and offline "
                "mode is on: fetch it once with offline mode off"
            )
        else:
            found = self.catalog.read_meta(name, version)
            meta, manifest = found.meta, found.manifest
            cached_path = None
        return describe(name, version, meta, manifest, cached_path)

    def diff(self, old: str | AssetSpec, new: str | AssetSpec) -> VersionDiff:
        """What changed from ``old`` to ``new``: from their ``.meta`` (or the cache's copy of
        it), never their data."""
        return diff_infos(
            self.info(old), self.info(new), None if self.offline else self.listed_sizes
        )

    def listed_sizes(self, name: str, version: str, is_directory: bool) -> dict[str, int]:
        """The sizes the store lists for a version (modelkit's ``.meta`` has none)."""
        store = self.store
        if is_directory:
            return store.find_below(store.object_path(name, version))
        found = store.info(store.object_path(name, version))
        return {} if found is None else {"": found.size}

    def content_hash(self, name: str, version: str) -> str | None:
        """The content hash of a cached version (for the pytest summary and the lock file)."""
        record = self.tiers.record(name, version) or self._cache_of(name, version).record(
            name, version
        )
        if record is None:
            return None
        return manifest_from_record(record, label(name, version)).content_hash

    def cached(self, spec: str | AssetSpec | None = None) -> list[CachedVersion]:
        return cached(self.cache, self.versioning, None if spec is None else self.parse(spec))

    def verify(self, spec: str | AssetSpec | None = None, *, repair: bool = False) -> list[Problem]:
        """Re-hash cached copies (:func:`.cache_admin.verify`): only report, unless ``repair``
        (download damaged versions again, not offline; remove extras)."""
        download_again = partial(self._download, replace=lambda: True)
        wanted = None if spec is None else self.parse(spec)
        problems = verify(
            self.cache,
            self.versioning,
            wanted,
            repair=repair,
            download=None if self.offline else download_again,
        )
        return problems + verify_tiers(self.tiers, self.versioning, wanted)

    def prune(
        self, keep: int = 1, dry_run: bool = False, *, include_pinned: bool = False
    ) -> Pruned:
        """Keep the newest ``keep`` cached versions of each asset, and every version pinned in
        ``assets.lock`` (unless ``include_pinned``); remove the rest."""
        pin_file = None if include_pinned else self.pins.file()
        pins = {
            (self.parse(key).name, pin.version)
            for key, pin in (pin_file.entries if pin_file else {}).items()
        }
        return prune(self.cache, self.versioning, keep, pins=pins, dry_run=dry_run)

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
        pushed_from: str | None = None,
    ) -> PushReport:
        """``push``, reporting what it did: content equal to the version it would bump from
        (or to the version it names) pushes nothing, unless ``allow_identical`` (a new version
        of the same bytes). Links leaving a folder are refused unless ``follow_links``;
        ``pushed_from`` goes into ``.meta`` (``%asset --push`` names the notebook)."""
        target = self.parse(spec)
        if target.sub_part is not None:
            raise InvalidAssetSpecError(
                f"push takes name[:version], not a sub-part: {target} (push the whole folder)"
            )
        source = Path(path)
        if not source.exists():
            raise AssetNotFoundError(f"nothing to push: {source} does not exist")
        options = PushOptions(bump_major, dry_run, allow_identical, follow_links, pushed_from)
        report = Pusher(self.catalog, self.progress, self._say).push(source, target, options)
        if report.pushed:
            self.resolver.forget(target.name)
        return report


def _no_store() -> ConfigError:
    return ConfigError(
        "no asset store is configured: set ASSETS_STORE, the assets_store ini option, "
        "--assets-store (pytest) or --store (command line) to a URL such as "
        "gs://bucket/prefix, s3://bucket/prefix or a directory"
    )


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
