"""``pytest-assets sync``: fill the cache with every version a project needs, in one pass.

What a Dockerfile or a CI job runs before the tests. The versions come from ``assets.lock``
(or the specs given, or the last pytest run's); every version missing from the cache is fetched
at once with the others, not one asset after another, so their objects share the store's one
connection pool (s3fs: the 64 connections :class:`.store.Store` sets). Each version still goes
through :meth:`Assets.fetch`: its lock, its verification, the pin's ``.meta`` hash check.
A dry run reads only ``.meta`` objects (and for modelkit's hashless versions a listing), never
data. One failed version does not stop the others; the report lists every failure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .cache import manifest_from_record
from .display import human_size, plural
from .errors import AssetsError, ConfigError
from .progress import FileProgress
from .spec import AssetSpec, label

if TYPE_CHECKING:
    from .assets import Assets

# Versions in flight at most. Each takes a lock, a staging folder and a hashing thread while
# its objects share the store's connection pool: past a few per core more of them add threads,
# not connections, so the budget decides below this cap (see versions_in_flight).
SYNC_VERSIONS_IN_FLIGHT = 16


def versions_in_flight(max_connections: int) -> int:
    """As many versions at once as the store's connection budget allows, within the cap: a
    budget of 1 (one object at a time) syncs one version at a time, 4 at most 4."""
    return max(1, min(max_connections, SYNC_VERSIONS_IN_FLIGHT))


CACHED, FETCHED, TO_FETCH, FAILED = "already cached", "fetched", "to fetch", "failed"


@dataclass(frozen=True)
class SyncItem:
    """One version of the pass (or a spec that did not resolve: then ``version`` is None)."""

    spec: str
    name: str
    version: str | None
    status: str
    size: int | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return self.spec if self.version is None else label(self.name, self.version)


@dataclass(frozen=True)
class SyncReport:
    items: tuple[SyncItem, ...]
    dry_run: bool

    def of(self, status: str) -> list[SyncItem]:
        return [item for item in self.items if item.status == status]

    @property
    def failures(self) -> list[SyncItem]:
        return self.of(FAILED)

    def summary(self) -> str:
        """``12 versions, 3.4 GB: 2 fetched, 10 already cached`` (sizes that are known)."""
        versions = [item for item in self.items if item.version is not None]
        total = sum(item.size or 0 for item in versions)
        parts = []
        for status in (TO_FETCH, FETCHED, CACHED, FAILED):
            found = self.of(status)
            if found:
                size = sum(item.size or 0 for item in found)
                shown = f" ({human_size(size)})" if status == TO_FETCH and size else ""
                parts.append(f"{len(found)} {status}{shown}")
        head = f"{plural(len(versions), 'version')}, {human_size(total)}"
        return f"{head}: {', '.join(parts) or 'nothing to do'}"


def sync_specs(assets: Assets, specs: list[str], *, last_run: bool) -> list[str]:
    """The specs of the pass: those given, those the last pytest run used, else every entry
    of ``assets.lock``."""
    chosen = list(specs)
    if last_run:
        remembered = assets.pins.remembered_specs()
        if not remembered:
            raise ConfigError(
                f"--last-run: no pytest run with the lock file {assets.pins.path} is remembered "
                "in this cache; run pytest once, or name the specs, or sync assets.lock"
            )
        chosen += remembered
    if chosen:
        return list(dict.fromkeys(chosen))
    pin_file = assets.pins.file()
    if pin_file is None or not pin_file.entries:
        state = "does not exist" if pin_file is None else "pins nothing"
        raise ConfigError(
            f"nothing to sync: the lock file {assets.pins.path} {state}; pass --lock FILE, "
            "name specs (pytest-assets sync vocab:1 ...), or write one with pytest --assets-lock"
        )
    return sorted(pin_file.entries)


def sync(
    assets: Assets,
    specs: list[str],
    *,
    dry_run: bool = False,
    progress: bool = False,
    workers: int | None = None,
) -> SyncReport:
    """Resolve every spec (through the pins), then fetch every version not in the cache, all
    in one parallel pass under one progress bar (``workers`` versions at once, by default as
    the connection budget allows); a dry run sizes them from their ``.meta``."""
    if workers is None:
        workers = versions_in_flight(assets.max_connections)
    first: dict[tuple[str, str], SyncItem] = {}
    failed: list[SyncItem] = []
    for text in specs:
        try:
            spec = assets.parse(text)
            resolved = assets.resolve(spec)
        except AssetsError as exc:
            name = text.split(":", 1)[0].split("[", 1)[0]
            failed.append(SyncItem(text, name, None, FAILED, error=str(exc)))
            continue
        assert resolved.version is not None  # resolve completes it
        key = (resolved.name, resolved.version)
        if key not in first:
            first[key] = _cached_item(assets, str(spec.without_sub_part()), *key)
    missing = [item for item in first.values() if item.status != CACHED]
    if missing and not assets.offline:
        _ = assets.store.fs  # connect once, before the threads share the store
    step = _size_from_meta if dry_run else _fetch
    done: dict[tuple[str, str], SyncItem] = {}
    bar = FileProgress(progress and not dry_run, "syncing", len(missing), unit="version")
    try:
        with _quiet(assets), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for item in pool.map(lambda item: _step(assets, item, step, bar), missing):
                assert item.version is not None
                done[item.name, item.version] = item
    finally:
        bar.close()
    items = [done.get(key, item) for key, item in first.items()]
    return SyncReport((*items, *failed), dry_run)


def _cached_item(assets: Assets, spec: str, name: str, version: str) -> SyncItem:
    """``CACHED`` with its size when the version is whole in a shared tier or the cache, else
    ``TO_FETCH`` (a tier's copy is used in place: it is not copied into the cache)."""
    try:
        view = assets.tiers.find(name, version) or assets.cache.seen_for(name, version)
    except AssetsError:
        view = None
    if view is not None and view.has(name, version) and view.damage(name, version) is None:
        record = view.record(name, version)
        size = manifest_from_record(record, label(name, version)).total_size if record else None
        return SyncItem(spec, name, version, CACHED, size)
    return SyncItem(spec, name, version, TO_FETCH)


def _step(
    assets: Assets, item: SyncItem, step: Callable[[Assets, SyncItem], SyncItem], bar: FileProgress
) -> SyncItem:
    try:
        return step(assets, item)
    except AssetsError as exc:
        return SyncItem(item.spec, item.name, item.version, FAILED, item.size, str(exc))
    finally:
        bar.advance()


def _fetch(assets: Assets, item: SyncItem) -> SyncItem:
    assert item.version is not None
    assets.fetch(AssetSpec.parse(item.spec, versioning=assets.versioning_name))
    found = _cached_item(assets, item.spec, item.name, item.version)
    return SyncItem(item.spec, item.name, item.version, FETCHED, found.size)


def _size_from_meta(assets: Assets, item: SyncItem) -> SyncItem:
    assert item.version is not None
    manifest = assets.catalog.read_meta(item.name, item.version).manifest
    size: int | None = manifest.total_size
    if any(entry.size is None for entry in manifest.files):  # modelkit's .meta: no sizes
        size = sum(assets.listed_sizes(item.name, item.version, manifest.is_directory).values())
    return SyncItem(item.spec, item.name, item.version, TO_FETCH, size)


@contextlib.contextmanager
def _quiet(assets: Assets) -> Iterator[None]:
    """No bar per version while the pass shows its own."""
    shown, assets.progress = assets.progress, False
    try:
        yield
    finally:
        assets.progress = shown
