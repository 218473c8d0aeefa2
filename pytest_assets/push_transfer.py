"""A push's transfers at once: the copies inside the store and the uploads of new content run
side by side, not one after the other, and the originals the copies need are listed while the
version is claimed.

A copying push's time is the copies' (one request each, the server's work, no bytes on the
link), so the uploads, which use the link, hide under them; only what killed pushes left
(:func:`.multipart.clean_orphans`, which may remove parts of this very version) must be
cleaned before the first upload, and it runs alongside the copies too. The claim is taken
before any of this, exactly as for a push without copies.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from . import push_reuse
from .claims import exists_error
from .manifest import Manifest
from .multipart import clean_orphans, put_files
from .progress import FileProgress
from .push_reuse import Reuse
from .spec import label
from .store import Store
from .store_copy import Copy, list_originals
from .versioning import Versioning


def start_listing_originals(store: Store, name: str, version: str, reuse: Reuse) -> Reuse:
    """Begin listing the originals the push will copy (one listing of the followed version),
    so that it overlaps the claim: ``reuse`` with ``originals`` waiting for it."""
    followed = reuse.followed
    if followed is None or not reuse.copies or reuse.no_copy is not None or store.is_local:
        return reuse

    def remote(rel: str) -> str:
        return (
            store.path(name, followed, *rel.split("/"))
            if rel
            else store.object_path(name, followed)
        )

    copies = [Copy(remote(e.path), "", e) for e in reuse.copies.values()]
    pool = ThreadPoolExecutor(max_workers=1)
    future: Future[dict[str, dict[str, Any]]] = pool.submit(
        list_originals, store, copies, f"copying {label(name, version)} in the store"
    )
    pool.shutdown(wait=False)
    return dataclasses.replace(reuse, originals=future.result)


def transfer(
    store: Store,
    versioning: Versioning,
    name: str,
    version: str,
    manifest: Manifest,
    pairs: list[tuple[str, str]],
    *,
    reuse: Reuse,
    resuming: bool,
    progress: bool,
) -> None:
    """Copy what the followed version holds while the rest is uploaded, create-only both;
    what could not be copied (an original damaged in the store) is uploaded afterwards."""
    what = label(name, version)
    copies, uploads = push_reuse.split_known(store, name, version, manifest, pairs, reuse)
    local_of = {target: local for local, target in pairs}
    bar = FileProgress(progress, f"pushing {what}", len(uploads))

    def upload(batch: list[tuple[str, str]]) -> None:
        try:
            put_files(store, batch, f"uploading {what}", bar, parts=store.parts_path(name, version))
        except FileExistsError:
            raise exists_error(what, store, False) from None

    def cleaned_then_uploaded() -> None:
        # What killed pushes left (open uploads, parts), before this push starts its own.
        clean_orphans(store, versioning, name, fresh="" if resuming else version)
        upload(uploads)

    def copied() -> list[Copy]:
        return push_reuse.copy_known(store, name, version, copies, reuse, reuse.originals())

    try:
        if copies:
            left, _ = store.gather(copied, cleaned_then_uploaded)
        else:
            left = []
            cleaned_then_uploaded()
        if left:
            upload([(local_of[c.target], c.target) for c in left])
    finally:
        bar.close()
