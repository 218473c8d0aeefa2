"""Copies inside the store: a new version's files that the version it follows already holds
(same sha256 and size in its ``.meta``) are copied server-side instead of uploaded again.

Every version stays self-contained in modelkit's layout (a copy, never a reference), so
modelkit and older versions of us read it as any other. The copies are create-only where the
backend honours it (S3 ``CopyObject`` with ``If-None-Match: *``, a GCS rewrite with
``ifGenerationMatch=0``, ``O_EXCL`` on a directory store) and are checked before the push
publishes anything: the backend's own fingerprint of the copy against the original's (S3's
ETag, GCS's crc32c and size, in the copy's own response; a directory store hashes the copy),
and a copy its response cannot vouch for (an S3 multipart original, whose ETag is no MD5) is
asked for its size right after it is made, in its own task: no listing after the last copy.
An original whose size in the store disagrees with its ``.meta`` is not copied (its damage
must not spread): that file is uploaded, as it is on a backend without server-side copies.

A copy is one request (S3 ``CopyObject`` up to 5 GiB, above that in parts; one rewrite call
on GCS when it is done at once, else the calls its ``rewriteToken`` asks for), the biggest
first: its server-side time then overlaps the small ones'.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from . import localdisk
from .manifest import FileEntry, Manifest, sha256_stream
from .store import Store

# Copies in flight on an async backend. They send no data, so the bandwidth budget is not
# theirs to share; but more did not help where measured: moto and the GCS emulator spend
# 2-10 ms of CPU on each copy (the emulator one request at a time), so 64 at 40 ms RTT
# already keep them busy, and s3fs's pool holds the budget's 64 connections anyway.
_AT_ONCE = 64
_THREADS = 8  # copies at once on a directory store or a sync backend


@dataclass(frozen=True)
class Copy:
    """One object to copy: the original (in the version followed) and the new object."""

    source: str
    target: str
    entry: FileEntry  # what the new version's .meta says of it


def reusable(base: Manifest | None, new: Manifest) -> dict[str, FileEntry]:
    """The new version's entries whose content ``base`` holds, by new path, mapped to base's
    entry (same sha256 and size; any path: a moved file is copied too). Hashless versions
    (modelkit's) give nothing: their content is unknown."""
    if base is None:
        return {}
    known: dict[tuple[str, int | None], FileEntry] = {
        (e.sha256, e.size): e for e in base.files if e.sha256 and e.size is not None
    }
    return {
        entry.path: known[(entry.sha256, entry.size)]
        for entry in new.files
        if entry.sha256 and (entry.sha256, entry.size) in known
    }


def no_copy_reason(store: Store) -> str | None:
    """Why this backend has no server-side copy (so unchanged files are uploaded), or None."""
    if store.is_local or store.protocols & {"s3", "s3a", "gs", "gcs"}:
        return None
    from fsspec.spec import AbstractFileSystem

    if type(store.fs).cp_file is AbstractFileSystem.cp_file:
        name = sorted(store.protocols)[0]
        return f"{name}:// has no server-side copy"
    return None


def copy_objects(
    store: Store,
    copies: Sequence[Copy],
    what: str,
    originals: dict[str, dict[str, Any]] | None = None,
) -> list[Copy]:
    """Copy inside the store, each copy checked; returns the copies it could not make (the
    original's size disagrees with its ``.meta``, or the backend cannot copy): upload those.
    FileExistsError when a target is taken (another push got there: the claim says whose).
    ``originals`` is what :func:`list_originals` found, when a push listed them earlier."""
    if not copies:
        return []
    if store.is_local:
        return _local(store, copies, what)
    if originals is None:
        originals = list_originals(store, copies, what)
    sound = [c for c in copies if _size(originals.get(c.source)) == c.entry.size]
    sound.sort(key=lambda c: -(c.entry.size or 0))  # the longest copy starts first
    left = [c for c in copies if c not in sound]
    protocols = store.protocols
    if protocols & {"s3", "s3a"}:
        bad = _run_async(store, what, [partial_s3(store, c, originals[c.source]) for c in sound])
    elif protocols & {"gs", "gcs"}:
        bad = _run_async(store, what, [partial_gcs(store, c, originals[c.source]) for c in sound])
    elif no_copy_reason(store) is not None:
        return list(copies)
    else:
        bad = _threaded(store, what, sound, lambda c: store.fs.cp_file(c.source, c.target))
        _check_sizes(store, sound, what)  # a plain cp_file says nothing of what it made
    return left + bad


def list_originals(store: Store, copies: Sequence[Copy], what: str) -> dict[str, dict[str, Any]]:
    """What the store lists for the copies' originals (size, ETag or crc32c), by path; a
    push asks while it claims its version, so the copies need not wait for it."""
    if not copies or store.is_local:
        return {}
    return _details(store, [c.source for c in copies], f"listing the originals of {what}")


def _size(info: dict[str, Any] | None) -> int | None:
    return None if info is None else int(info.get("size") or 0)


def _details(store: Store, paths: Sequence[str], what: str) -> dict[str, dict[str, Any]]:
    """What the store lists for ``paths`` (size, ETag or crc32c): one listing of the folder
    they share (a version's), paginated by the backend, never one request per object."""
    fs, wanted = store.fs, set(paths)
    if len(wanted) == 1:
        (path,) = wanted
        try:
            return {path: store.errors.call(what, fs.info, path)}
        except FileNotFoundError:
            return {}
    folder = os.path.commonpath(list(wanted))
    try:
        listed = store.errors.call(what, fs.find, folder, detail=True)
    except FileNotFoundError:
        return {}
    found = {fs._strip_protocol(path): info for path, info in listed.items()}
    return {path: found[path] for path in wanted if path in found}


def _check_sizes(store: Store, copies: Sequence[Copy], what: str) -> None:
    """Every copy is there with its size, before anything is published; a copy that is not
    is an error of the store, and nothing is published."""
    if not copies:
        return
    there = _details(store, [c.target for c in copies], f"checking the copies of {what}")
    for copy in copies:
        _check_size(store, copy, _size(there.get(copy.target)), what)


def _check_size(store: Store, copy: Copy, size: int | None, what: str) -> None:
    from .errors import StoreError

    if size != copy.entry.size:
        raise StoreError(
            f"{what}: the copy of {copy.source} in store {store.display_url} is "
            f"{'missing' if size is None else f'{size} bytes, not {copy.entry.size}'}; "
            "nothing was published, push again"
        )


async def _asked_size(store: Store, copy: Copy, what: str) -> None:
    """The size the store gives for a copy just made (a HEAD), checked."""
    try:
        info = await store.fs._info(copy.target)
    except FileNotFoundError:
        info = None
    _check_size(store, copy, _size(info), what)


# -- directory stores ------------------------------------------------------------------------


def _local(store: Store, copies: Sequence[Copy], what: str) -> list[Copy]:
    tmp_dir = store.layout.local_tmp_path()
    for folder in {tmp_dir, *(os.path.dirname(c.target) for c in copies)}:
        store.errors.call(what, os.makedirs, folder, exist_ok=True)

    def one(copy: Copy) -> bool:
        """A hashed copy, linked in create-only once it holds the entry's bytes."""
        try:
            with (
                localdisk.as_atomic(copy.target, create_only=True, tmp_dir=tmp_dir) as tmp,
                open(copy.source, "rb") as reader,
                open(tmp, "xb") as out,
            ):
                if sha256_stream(reader, copy_to=out) != (copy.entry.size, copy.entry.sha256):
                    raise _Damaged
        except (_Damaged, FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return False
        return True

    return _threaded(store, what, copies, one)


class _Damaged(Exception):
    """The original does not hold what its ``.meta`` says: upload the file instead."""


def _threaded(
    store: Store, what: str, copies: Sequence[Copy], copy: Callable[[Copy], object]
) -> list[Copy]:
    """``copy`` over the copies in a pool; the copies it returned False for."""

    def job(c: Copy) -> bool:
        return store.errors.call(what, copy, c) is not False

    with ThreadPoolExecutor(max_workers=min(_THREADS, len(copies))) as pool:
        done = list(pool.map(job, copies))
    return [c for c, ok in zip(copies, done, strict=True) if not ok]


# -- object stores ---------------------------------------------------------------------------


def _run_async(store: Store, what: str, jobs: list[Callable[[], Any]]) -> list[Copy]:
    """Run the backend's copy coroutines on its loop, a bounded number at once."""
    if not jobs:
        return []
    from fsspec.asyn import sync

    async def run_all() -> list[Copy]:
        gate = asyncio.Semaphore(_AT_ONCE)

        async def one(job: Callable[[], Any]) -> Copy | None:
            async with gate:
                result: Copy | None = await job()
                return result

        results = await asyncio.gather(*(one(job) for job in jobs))
        return [r for r in results if r is not None]

    found: list[Copy] = store.errors.call(what, sync, store.fs.loop, run_all)
    return found


def _unquoted(value: Any) -> str:
    return str(value or "").strip('"')


def partial_s3(store: Store, copy: Copy, original: dict[str, Any]) -> Callable[[], Any]:
    """CopyObject, create-only; its ETag must be the original's (a copy of a single-part
    object keeps its MD5 ETag, which vouches for its bytes; a multipart one's differs, so the
    copy's size is asked for)."""
    fs = store.fs

    async def run() -> Copy | None:
        bucket, key, _ = fs.split_path(copy.target)
        src_bucket, src_key, _ = fs.split_path(copy.source)
        source = {"Bucket": src_bucket, "Key": src_key}
        if int(original.get("size") or 0) > 5 * 2**30:  # CopyObject's limit: copy in parts
            await fs._copy_managed(copy.source, copy.target, int(original["size"]))
            await _asked_size(store, copy, "copying in parts")
            return None
        out = await fs._call_s3(
            "copy_object", Bucket=bucket, Key=key, CopySource=source, IfNoneMatch="*"
        )
        etag = _unquoted((out.get("CopyObjectResult") or {}).get("ETag"))
        before = _unquoted(original.get("ETag") or original.get("etag"))
        if etag and before and "-" not in before:
            if etag != before:
                raise _mismatch(store, copy, f"ETag {etag}, the original's {before}")
        else:  # nothing in the answer vouches for the copy's bytes: its size, then
            await _asked_size(store, copy, "copying in the store")
        return None

    return run


def partial_gcs(store: Store, copy: Copy, original: dict[str, Any]) -> Callable[[], Any]:
    """A rewrite, create-only (``ifGenerationMatch=0``); its crc32c must be the original's."""
    fs = store.fs

    async def run() -> Copy | None:
        src_bucket, src_key, _ = fs.split_path(copy.source)
        bucket, key, _ = fs.split_path(copy.target)
        token: str | None = None
        while True:
            out = await fs._call(
                "POST",
                "b/{}/o/{}/rewriteTo/b/{}/o/{}",
                src_bucket,
                src_key,
                bucket,
                key,
                headers={"Content-Type": "application/json"},
                json_out=True,
                ifGenerationMatch=0,
                rewriteToken=token,
            )
            if out.get("done") is True:
                break
            token = out["rewriteToken"]
        resource = out.get("resource") or {}
        crc, before = resource.get("crc32c"), original.get("crc32c")
        if crc and before and crc != before:
            raise _mismatch(store, copy, f"crc32c {crc}, the original's {before}")
        size = resource.get("size")
        if size is None:  # an answer without the object: ask for its size
            await _asked_size(store, copy, "copying in the store")
        elif int(size) != copy.entry.size:
            raise _mismatch(store, copy, f"{size} bytes, not {copy.entry.size}")
        return None

    return run


def _mismatch(store: Store, copy: Copy, detail: str) -> Exception:
    from .errors import StoreError

    return StoreError(
        f"the copy of {copy.source} in store {store.display_url} is not the original "
        f"({detail}); nothing was published, push again"
    )
