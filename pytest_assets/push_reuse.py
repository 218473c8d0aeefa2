"""A push against the version it follows: which version that is, what changed since (the
summary a push prints, a dry run included), and which files need not be sent again because
the store holds their content already (:mod:`.store_copy` copies them server-side)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .claims import exists_error
from .diff import ADDED, CHANGED, UNCHANGED, VersionDiff, diff_manifests
from .errors import StoreError
from .manifest import FileEntry, Manifest
from .spec import label
from .store import Store
from .store_copy import Copy, copy_objects, reusable
from .versioning import Versioning

if TYPE_CHECKING:
    from .push import PushReport

log = logging.getLogger("pytest_assets")


def followed_version(
    versioning: Versioning, listed: list[str], target: str | None, bump_major: bool
) -> str | None:
    """The listed version a push follows: for a named version, the newest below it; for a
    major, its newest version (else the newest of all); else, and for a new major, the newest."""
    if not listed:
        return None
    if target is not None and versioning.is_complete(target):
        key = versioning.sort_key(target)
        older = [v for v in listed if versioning.sort_key(v) < key]
        return older[0] if older else None
    if target is not None and not bump_major:
        matching = [v for v in listed if versioning.matches(target, v)]
        if matching:
            return matching[0]
    return listed[0]


@dataclass(frozen=True)
class Reuse:
    """A push's new version against the one it follows."""

    diff: VersionDiff | None  # None for an asset's first version
    copies: dict[str, FileEntry]  # new path -> the followed version's entry of that content
    followed: str | None  # the version followed
    no_copy: str | None = None  # why the store cannot copy (those files are uploaded), or None
    # Filled by the push: known files whose original differed from its .meta, so uploaded.
    uploaded_instead: set[str] = field(default_factory=set, compare=False)
    # What the store lists for the originals, once asked (:mod:`.push_transfer`); None: ask.
    originals: Callable[[], dict[str, dict[str, Any]] | None] = field(
        default=lambda: None, compare=False
    )

    def summary(self) -> str:
        """``1 changed, 999 unchanged (copied in the store), 1 added``."""
        if self.diff is None:
            return "a new asset: every file uploaded"
        if not self.copies:
            return self.diff.summary()
        notes = {}
        copied = set(self.copies) - self.uploaded_instead
        for status in (UNCHANGED, CHANGED, ADDED):
            paths = {c.path for c in self.diff.changes if c.status == status}
            moved = len(paths & copied)
            if not moved:
                continue
            if self.no_copy is not None:
                what = f"uploaded again: {self.no_copy}"
            else:
                what = "copied in the store"
            notes[status] = what if moved == len(paths) else f"{moved} {what}"
        return self.diff.summary(notes)

    @property
    def lines(self) -> list[str]:
        """The summary against the followed version, and the diff's notes (none for an
        asset's first version: there is nothing to compare)."""
        if self.diff is None:
            return []
        return [f"against {self.diff.old}: {self.summary()}", *self.diff.notes]


def headline(report: PushReport) -> str:
    """The first line a push prints: what it did (or would do), where."""
    if report.identical and report.explicit:
        return (
            f"{report.spec} was already pushed to {report.store} with identical content; "
            "nothing to do"
        )
    if report.identical:
        return f"{report.spec} in {report.store} already has this content; nothing pushed"
    return f"{'would push' if report.dry_run else 'pushed'} {report.spec} to {report.store}"


def reuse_against(
    name: str,
    version: str,
    manifest: Manifest,
    followed: tuple[str, Manifest] | None,
    no_copy: str | None,
) -> Reuse:
    if followed is None:
        return Reuse(None, {}, None, no_copy)
    base_version, base = followed
    diff = diff_manifests(base, manifest, label(name, base_version), label(name, version))
    return Reuse(diff, reusable(base, manifest), base_version, no_copy)


def split_known(
    store: Store,
    name: str,
    version: str,
    manifest: Manifest,
    pairs: list[tuple[str, str]],
    reuse: Reuse,
) -> tuple[list[Copy], list[tuple[str, str]]]:
    """The (local, remote) pairs whose content the followed version holds, as copies inside
    the store, and the pairs left to upload."""
    followed = reuse.followed
    if followed is None or not reuse.copies or reuse.no_copy is not None:
        return [], pairs

    def remote(version: str, rel: str) -> str:
        return (
            store.path(name, version, *rel.split("/")) if rel else store.object_path(name, version)
        )

    entries = {remote(version, e.path): e for e in manifest.files}
    copies, uploads = [], []
    for local, target in pairs:
        entry = entries[target]
        known = reuse.copies.get(entry.path)
        if known is None:
            uploads.append((local, target))
        else:
            copies.append(Copy(remote(followed, known.path), target, entry))
    return copies, uploads


def copy_known(
    store: Store,
    name: str,
    version: str,
    copies: list[Copy],
    reuse: Reuse,
    originals: dict[str, dict[str, Any]] | None = None,
) -> list[Copy]:
    """Make the copies in the store; those that could not be made (to upload instead)."""
    if not copies:
        return []
    followed = reuse.followed
    try:
        left = copy_objects(
            store, copies, f"copying {label(name, version)} in the store", originals
        )
    except FileExistsError:
        raise exists_error(label(name, version), store, False) from None
    except FileNotFoundError:  # the followed version's objects went away under us
        raise StoreError(
            f"{label(name, str(followed))} lost objects in store {store.display_url} while "
            f"{label(name, version)} was copying them; nothing was published, push again"
        ) from None
    reuse.uploaded_instead.update(c.entry.path for c in left)
    if left:
        log.warning(
            "%s: %d file(s) of %s differ in the store from its .meta (damaged?) and were "
            "uploaded instead of copied",
            label(name, version),
            len(left),
            label(name, str(followed)),
        )
    return left
