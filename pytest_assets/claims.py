"""Claims: how concurrent pushers agree on who writes a version.

A push takes its version with a create-only ``<name>/<version>.claim`` object before it
uploads anything (GCS ``ifGenerationMatch=0``, S3 ``If-None-Match: *``, ``O_EXCL`` locally),
and releases it once the version is listed in ``.versions``. A claim names the content it is
for, so an interrupted push of the same content can be finished instead of started again.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from .errors import AssetExistsError, StoreError, StoreNotFoundError
from .manifest import parse_meta
from .spec import label
from .store import Store
from .versioning import Versioning, sort_versions


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming one version."""

    taken_by: AssetExistsError | None  # why the version is not ours; None when it is
    meta_written: bool = False  # an interrupted push got as far as .meta: only .versions left
    fresh: bool = False  # our claim object is new (nothing of ours was uploaded yet)

    @property
    def ours(self) -> bool:
        return self.taken_by is None


def exists_error(what: str, store: Store, same: bool) -> AssetExistsError:
    content = (
        "with identical content, so there is nothing to do" if same else "with different content"
    )
    return AssetExistsError(
        f"{what} already exists in store {store.display_url} {content}; versions are "
        "immutable: push without a version (or with only the major) to get the next one"
    )


def claim_version(
    store: Store,
    name: str,
    version: str,
    digest: str,
    *,
    listed: Callable[[], list[str]],
    missing_store: Callable[[], StoreNotFoundError | None],
) -> Claim:
    """Take ``version`` for the content ``digest`` with a create-only claim object.

    The claim and ``.meta`` are read back together, after the write: another pusher may have
    finished this version and released its claim just before ours. ``listed`` reads the
    versions listed now (only needed when a ``.meta`` of this content is already there)."""
    what = label(name, version)
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
        store.write_bytes(path, json.dumps(body).encode(), f"claiming {what}", create_only=True)
        fresh = True
    except FileExistsError:
        fresh = False
    except FileNotFoundError as exc:  # a create-only write finds no bucket to write to
        raise missing_store() or StoreError(
            f"store {store.display_url} answered 'not found' while claiming {what} "
            f"({store.scrub(str(exc))}); check the store URL"
        ) from None
    claim, meta = store.gather(
        lambda: store.read_json(path, f"reading the claim on {what}"),
        lambda: store.read_json(meta_path, f"reading {what}.meta"),
    )
    claimed = isinstance(claim, dict)
    mine = claimed and (claim.get("nonce") == nonce or claim.get("content_sha256") == digest)
    if fresh and claimed and claim.get("nonce") != nonce and not mine:
        # A backend that ignores create-only writes (the GCS emulator): last writer won.
        return Claim(AssetExistsError(f"{what} was claimed concurrently by {claim.get('by')}"))
    if meta is not None:
        same = parse_meta(meta, what).content_hash == digest
        if same and (not fresh or version not in listed()):
            return Claim(None, meta_written=True, fresh=fresh)  # interrupted after .meta
        if fresh:
            store.delete(path, f"releasing the claim on {what}")
        return Claim(exists_error(what, store, same))
    if not fresh and not claimed:
        # The claim that stopped ours vanished: its push just finished (its .meta may have
        # landed after our read). Not ours either way: let the caller move on.
        return Claim(AssetExistsError(f"{what} was pushed concurrently by another process"))
    if claimed and not mine:
        by = claim.get("by", "?")
        return Claim(
            AssetExistsError(
                f"{what} is being pushed with other content by {by} (or that push was "
                f"abandoned: then delete {path} in the store); versions are immutable, push "
                "without a version to get the next one"
            )
        )
    return Claim(None, fresh=fresh)


def resumable(
    store: Store,
    versioning: Versioning,
    name: str,
    digest: str,
    *,
    unlisted: set[str],
    claims: set[str],
) -> str | None:
    """An interrupted push of this very content (a ``.meta`` not yet listed, or a claim for
    this content): finish it rather than start another version."""
    for version in sort_versions(versioning, unlisted | claims):
        if version in unlisted:
            meta = store.read_json(store.meta_path(name, version), "reading .meta")
            if meta is not None and parse_meta(meta, name).content_hash == digest:
                return version
        else:
            claim = store.read_json(store.claim_path(name, version), "reading claim")
            if isinstance(claim, dict) and claim.get("content_sha256") == digest:
                return version
    return None
