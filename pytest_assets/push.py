"""The push protocol: a local file or folder becomes a new, immutable version.

1. hash the sources while the store's listing, the version this push could repeat, the
   asset's folder and the versions it would sit inside are read (one round trip);
2. refuse what could never be fetched back, or would land where another asset lives;
3. content equal to the version it would bump from (or names) pushes nothing;
4. claim a version (:mod:`.claims`), upload create-only, check that the sources did not
   change while they were uploaded (else take everything back);
5. write ``.meta`` and list the version in ``.versions`` (:mod:`.publish`).
Any step may be interrupted: a push of the same content later finishes the same version.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from . import __version__
from .catalog import Catalog
from .claims import Claim, claim_version, exists_error, resumable
from .errors import AssetExistsError, AssetsError, InvalidAssetSpecError, StoreError
from .foldednames import warn_clashes
from .layout import refuse_uncacheable
from .manifest import FileEntry, Manifest, build_meta, parse_meta
from .publish import publish
from .push_reuse import Reuse, followed_version, reuse_against
from .push_transfer import start_listing_originals, transfer
from .sources import LocalScan, changed_error, scan_local
from .spec import AssetSpec, label
from .store import Store
from .store_copy import no_copy_reason
from .versioning import sort_versions

log = logging.getLogger("pytest_assets")

_CLAIM_ATTEMPTS = 100


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
    reuse: Reuse | None = None  # against the version it follows: the diff, what is copied

    @property
    def total_size(self) -> int:
        return sum(entry.size or 0 for entry in self.files)


@dataclass(frozen=True)
class PushOptions:
    bump_major: bool = False
    dry_run: bool = False
    allow_identical: bool = False  # a new version even of the newest version's very bytes
    follow_links: bool = False  # upload what links leaving the folder point to
    pushed_from: str | None = None  # recorded in .meta: "notebook <path>" from %asset --push


@dataclass(frozen=True)
class Pusher:
    catalog: Catalog
    progress: bool
    say: Callable[[str], None]

    @property
    def store(self) -> Store:
        return self.catalog.store

    def push(self, source: Path, target: AssetSpec, options: PushOptions) -> PushReport:
        """Push ``source`` (it exists) as ``target`` (a name, a major, or a complete
        version; no sub-part)."""
        catalog, store, versioning = self.catalog, self.store, self.catalog.versioning
        name = target.name
        explicit = target.version is not None and versioning.is_complete(target.version)
        new_directory = catalog.needs_new_directory()
        if options.bump_major and target.version is not None:  # which major would win?
            raise InvalidAssetSpecError(
                f"--bump-major picks the version itself; drop it or the version in {target}"
            )
        compare = explicit or not options.allow_identical
        scan, (listed_or_none, base, base_meta, followed), objects, above = store.gather(
            # hashing the sources overlaps the first round trips
            lambda: scan_local(source, follow_links=options.follow_links),
            lambda: self._listing_and_base(target, options.bump_major, compare=compare),
            lambda: catalog.version_objects(name),
            lambda: self._versions_above(name),
        )
        manifest = scan.manifest
        warn_clashes(source, [entry.path for entry in manifest.files], self.say)
        if manifest.is_directory and not manifest.files:
            raise AssetsError(f"nothing to push: the folder {source} holds no files")
        if above:
            raise AssetExistsError(
                f"{name} cannot be pushed to {store.display_url}: its objects would go inside "
                f"the version {above[0]}, which modelkit's layout stores at the same place. "
                "Choose a name that does not continue an existing version's path"
            )
        listed = listed_or_none or []
        digest = manifest.content_hash
        report = partial(
            PushReport,
            store=store.display_url,
            explicit=explicit,
            dry_run=options.dry_run,
            files=manifest.files,
            ignored=scan.ignored,
        )
        if base is not None and base_meta is not None:
            same = parse_meta(base_meta, label(name, base)).content_hash == digest
            if same and base in listed:  # nothing to do: say which version holds it
                return report(spec=target.with_version(base), pushed=False, identical=True)
            if explicit and not same:
                raise exists_error(label(name, base), store, False)
        metas, claims, nested = objects.metas, set(objects.claims), objects.nested
        if explicit:
            assert target.version is not None  # explicit means complete
            version = target.version
        else:
            unlisted = metas - set(listed)
            version = resumable(
                store, versioning, name, digest, unlisted=unlisted, claims=claims
            ) or versioning.next_version(
                set(listed) | metas | claims, target.version, options.bump_major
            )
        self._refuse_clash(name, version, nested)
        refuse_uncacheable(name, version)
        reuse = reuse_against(name, version, manifest, followed, no_copy_reason(store))
        report = partial(report, reuse=reuse)
        if options.dry_run:
            if new_directory:
                self.say(store.scrub(f"would create a new directory store at {store.root}"))
            elif listed_or_none is None and not (metas or claims):  # a new asset: is the
                missing = catalog.missing_store()  # bucket there? (a push would say)
                if missing is not None:
                    raise missing
            return report(spec=target.with_version(version), pushed=False, identical=False)
        reuse = start_listing_originals(store, name, version, reuse)  # while claiming
        report = partial(report, reuse=reuse)
        if new_directory:
            with contextlib.suppress(FileExistsError):  # a concurrent push made it
                store.create_directory()
                self.say(store.scrub(f"created a new directory store at {store.root}"))
        for _attempt in range(_CLAIM_ATTEMPTS):
            claim = self._claim(name, version, digest)
            if claim.taken_by is None:
                break
            if explicit:
                raise claim.taken_by
            version = versioning.next_version(
                set(listed) | metas | claims | {version}, target.version, options.bump_major
            )
            claims.add(version)
            self._refuse_clash(name, version, nested)
        else:
            raise StoreError(f"could not claim a version of {name}: too many concurrent pushes")
        write_meta = (
            None
            if claim.meta_written
            else self._upload_checked(
                source, name, version, scan, fresh=claim.fresh, reuse=reuse, options=options
            )
        )
        publish(
            catalog, name, version, claim=store.claim_path(name, version), write_meta=write_meta
        )
        return report(spec=target.with_version(version), pushed=True, identical=False)

    # -- steps ------------------------------------------------------------------------------

    def _claim(self, name: str, version: str, digest: str) -> Claim:
        return claim_version(
            self.store,
            name,
            version,
            digest,
            listed=lambda: self.catalog.read_versions(name) or [],
            missing_store=self.catalog.missing_store,
        )

    def _upload_checked(
        self,
        source: Path,
        name: str,
        version: str,
        scan: LocalScan,
        *,
        fresh: bool,
        reuse: Reuse,
        options: PushOptions,
    ) -> Callable[[], None]:
        """Upload, then check the sources still hold what was hashed; the ``.meta`` writer
        for :func:`publish`. A source that changed takes the upload back: nothing is published."""
        store, what = self.store, label(name, version)
        manifest = scan.manifest
        try:
            self._upload(source, name, version, manifest, resuming=not fresh, reuse=reuse)
        except (OSError, AssetsError):
            changed = scan.changed()  # a source deleted or replaced while it was read?
            if not changed:
                raise
        else:
            changed = scan.changed()
        if changed:  # what was uploaded may not be what was hashed: publish none of it
            error = changed_error(f"cannot push {source} as {what} to {store.display_url}", changed)
            try:
                self._withdraw(name, version, manifest)
            except AssetsError as exc:  # the claim stays: later pushes take another version
                log.warning("%s: could not take back its objects: %s", what, exc)
            raise error
        meta = build_meta(manifest, __version__, pushed_from=options.pushed_from)  # + commit
        meta_bytes = json.dumps(meta).encode()
        meta_path = store.meta_path(name, version)
        digest = manifest.content_hash

        def write_meta() -> None:
            try:
                store.write_bytes(meta_path, meta_bytes, f"writing {what}.meta", create_only=True)
            except FileExistsError:
                self._check_same_content(name, version, digest)

        return write_meta

    def _listing_and_base(
        self, target: AssetSpec, bump_major: bool, *, compare: bool
    ) -> tuple[list[str] | None, str | None, Any, tuple[str, Manifest] | None]:
        """``.versions``, then the ``.meta`` of the version this push could repeat (the one it
        names, or the newest it would bump from) and of the version it follows (what is
        compared and copied); the sources' hashing hides the second read."""
        versioning, name = self.catalog.versioning, target.name
        listed = self.catalog.read_versions(name)
        if target.version is not None and versioning.is_complete(target.version):
            base: str | None = target.version
        else:  # a new major has no version to repeat
            matching = [v for v in listed or [] if versioning.matches(target.version, v)]
            base = matching[0] if compare and matching and not bump_major else None
        followed = followed_version(versioning, listed or [], target.version, bump_major)
        wanted = sorted({v for v in (base, followed) if v is not None})
        read = self.store.gather(*(partial(self._meta, name, v) for v in wanted)) if wanted else ()
        metas = dict(zip(wanted, read, strict=True))
        base_meta, follows = metas.get(base) if base else None, metas.get(followed or "")
        if not followed or follows is None:
            return listed, base, base_meta, None
        return listed, base, base_meta, (followed, parse_meta(follows, label(name, followed)))

    def _meta(self, name: str, version: str) -> Any:
        return self.store.read_json(
            self.store.meta_path(name, version), f"reading {label(name, version)}.meta"
        )

    def _versions_above(self, name: str) -> list[str]:
        """The versions that ``name`` would sit inside: ``a:1.0`` for ``a/1.0/b`` (modelkit's
        layout puts both under ``a/1.0/``)."""
        store, versioning = self.store, self.catalog.versioning
        parts = name.split("/")
        splits = [
            ("/".join(parts[:i]), parts[i])
            for i in range(1, len(parts))
            if sort_versions(versioning, {parts[i]})
        ]
        if not splits:
            return []
        found = store.gather(
            *(lambda p=p, v=v: store.info(store.meta_path(p, v)) for p, v in splits)
        )
        return [label(p, v) for (p, v), info in zip(splits, found, strict=True) if info]

    def _refuse_clash(self, name: str, version: str, nested: set[str]) -> None:
        if version in nested:
            raise AssetExistsError(
                f"{label(name, version)} cannot be pushed to {self.store.display_url}: its "
                f"objects would go under {name}/{version}/, where the asset {name}/{version} "
                "already lives. Push under another name or version"
            )

    def _check_same_content(self, name: str, version: str, digest: str) -> None:
        what = label(name, version)
        meta = self.store.read_json(self.store.meta_path(name, version), f"reading {what}.meta")
        if meta is None or parse_meta(meta, what).content_hash != digest:
            raise exists_error(what, self.store, False)

    def _upload(
        self,
        source: Path,
        name: str,
        version: str,
        manifest: Manifest,
        *,
        resuming: bool,
        reuse: Reuse,
    ) -> None:
        """Upload create-only; when finishing an interrupted push, skip what it uploaded;
        what the followed version holds is copied inside the store meanwhile
        (:mod:`.push_transfer`)."""
        store, what = self.store, label(name, version)
        if not manifest.is_directory:
            remote = store.object_path(name, version)
            info = store.info(remote) if resuming else None
            if info is not None and info.size != manifest.files[0].size:
                raise exists_error(what, store, False)
            pairs = [] if info is not None else [(str(source), remote)]
        else:
            # A new claim means nothing of ours is there yet; create-only writes refuse the rest.
            existing = store.find_below(store.object_path(name, version)) if resuming else {}
            pairs = []
            for entry in manifest.files:
                remote = store.path(name, version, *entry.path.split("/"))
                if entry.path in existing:
                    if existing[entry.path] != entry.size:
                        raise exists_error(what, store, False)
                    continue  # uploaded by the interrupted run we are finishing
                pairs.append((str(source / entry.path), remote))
        transfer(
            store,
            self.catalog.versioning,
            name,
            version,
            manifest,
            pairs,
            reuse=reuse,
            resuming=resuming,
            progress=self.progress,
        )

    def _withdraw(self, name: str, version: str, manifest: Manifest) -> None:
        """Take back an upload that must not be published: its objects, then its claim, so the
        version is free again for the same push once the source holds still."""
        store, what = self.store, label(name, version)
        removing = f"removing the unpublished objects of {what}"
        if manifest.is_directory:
            store.delete_below(store.object_path(name, version), removing)
        else:
            store.delete(store.object_path(name, version), removing)
        store.delete(store.claim_path(name, version), f"releasing the claim on {what}")
