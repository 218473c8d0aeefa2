"""Big files pushed as parallel parts: S3 multipart uploads, GCS parallel composite uploads.

One stream per object is capped by what one connection carries, so a file of at least
:data:`BIG_FILE_BYTES` goes up in parts of at most :data:`PART_BYTES`, :data:`MAX_CONNECTIONS`
at once, on the backend's event loop (s3transfer's 8 MB parts, but more at once than its 10;
smaller parts for a file that would not give every connection one). At most that many parts
are in memory.

Create-only as the single-stream put: S3 ``CompleteMultipartUpload`` with ``If-None-Match: *``
(moto honours it), GCS ``compose`` with ``ifGenerationMatch=0`` on the final object (the GCS
emulator ignores it, as it ignores every create-only write; the version's claim protects it).
Nothing is visible under the object's name before the last call, so a kill never leaves a
partial object. What a failure leaves is taken back at once (the upload aborted, the parts
deleted); what a kill leaves (an open S3 upload, GCS parts under ``<name>/<version>.parts/``,
which is no version in modelkit's layout) is cleaned by the next push of the asset
(:func:`clean_orphans`) once the version's claim shows that no live push owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any, TypeVar

from .locking import process_is_gone
from .progress import FileProgress
from .store import Store
from .versioning import Versioning, sort_versions

log = logging.getLogger("pytest_assets")
T = TypeVar("T")

# Files at least this big go in parts (s3transfer's multipart_threshold is 8 MB).
BIG_FILE_BYTES = 8 * 1024 * 1024
# The largest part (s3transfer's multipart_chunksize). A killed push uploads the file again.
PART_BYTES = 8 * 1024 * 1024
# Parts in flight for one push, within the store's budget. s3transfer sends 10; on the
# benchmarks' capped link (4 MB/s a connection, 48 MB/s in all, 40 ms RTT) a 256 MB push took
# 13.3 s with 10 (boto3's upload_file 11.2 s), 11.1 s with 12 and 10.3 s with 16 on moto, and
# 14.1 s against 11.3 s on GCS: up to 16 x 8 MB of parts in memory.
MAX_CONNECTIONS = 16
# S3 refuses parts below 5 MiB (all but the last) and uploads of more than 10,000 parts;
# a GCS composite object holds at most 1,024 components, 32 per compose request, and each
# part costs a request and an object, so GCS parts stay above 1 MiB.
S3_MIN_PART_BYTES = 5 * 1024 * 1024
GCS_MIN_PART_BYTES = 1024 * 1024
_S3_MAX_PARTS = 10_000
_GCS_MAX_PARTS = 1024
_GCS_COMPOSE_MAX = 32
# A claim this old whose holder cannot be checked (another host) is taken as abandoned.
STALE_CLAIM_SECONDS = 24 * 3600.0
PARTS_SUFFIX = ".parts"
_S3 = {"s3", "s3a"}
_GCS = {"gs", "gcs"}


def supports(store: Store) -> bool:
    """Parallel parts are implemented for s3fs and gcsfs only."""
    return store.is_async and bool(store.protocols & (_S3 | _GCS))


def is_big(store: Store, size: int) -> bool:
    return size >= BIG_FILE_BYTES and supports(store)


def part_size(store: Store, size: int) -> int:
    """The part size for a file of ``size`` bytes: the file split over the connections, at
    most :data:`PART_BYTES` (a 16 MB file in two 8 MB parts used 2 connections of 16), at
    least the backend's minimum, larger when its part count limit needs it."""
    share = -(-size // MAX_CONNECTIONS)
    if store.protocols & _S3:
        part, limit = max(S3_MIN_PART_BYTES, min(PART_BYTES, share)), _S3_MAX_PARTS
    else:
        part, limit = min(PART_BYTES, max(GCS_MIN_PART_BYTES, share)), _GCS_MAX_PARTS
    return max(part, -(-size // limit))


def put_files(
    store: Store,
    pairs: Sequence[tuple[str, str]],
    what: str,
    progress: FileProgress | None = None,
    *,
    parts: str,
) -> None:
    """``Store.put_files``, with the big files taken out and uploaded in parallel parts
    (:func:`put_big`) while the small ones go in bulk; GCS parts wait in ``parts``."""
    big = {p for p in pairs if is_big(store, os.path.getsize(p[0]))} if supports(store) else set()
    small = [pair for pair in pairs if pair not in big]
    if not big:
        store.put_files(small, what, progress)
        return
    store.gather(
        lambda: put_big(store, sorted(big), what, folder=parts),
        lambda: store.put_files(small, what, progress),
    )
    if progress is not None:  # after the bulk put's callback, which sets the count it saw
        progress.advance(len(big))


def put_big(store: Store, pairs: Sequence[tuple[str, str]], what: str, *, folder: str) -> None:
    """Upload each (local, remote) pair in parallel parts, create-only (FileExistsError when
    an object is there); the parts of all files share :data:`MAX_CONNECTIONS`. ``folder``
    holds GCS parts until they are composed: the version's ``Store.parts_path``, outside the
    version's own objects."""
    _run(store, what, _put_all(store, pairs, folder))


async def _put_all(store: Store, pairs: Sequence[tuple[str, str]], folder: str) -> None:
    fs, gate, files = (
        store.fs,
        asyncio.Semaphore(min(MAX_CONNECTIONS, store.max_connections)),
        asyncio.Semaphore(4),
    )

    async def one(local: str, remote: str) -> None:
        async with files:  # a few files open at once, each keeping the connections busy
            with open(local, "rb") as handle:
                fd = handle.fileno()
                size = os.fstat(fd).st_size
                parts = _parts(size, part_size(store, size))
                if store.protocols & _S3:
                    await _s3_put(fs, fd, parts, remote, gate)
                else:
                    await _gcs_put(fs, fd, parts, remote, folder, gate)

    await _all_or_none([one(*pair) for pair in pairs])


async def _all_or_none(work: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Await all; the first failure cancels the rest (and waits for them) before it is raised."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _run(store: Store, what: str, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` on the backend's event loop; an interrupt (Ctrl-C) cancels it, which
    aborts the upload rather than letting it complete behind the caller's back."""
    future = asyncio.run_coroutine_threadsafe(work, store.fs.loop)
    try:
        return store._call(what, future.result)
    except BaseException:
        future.cancel()
        raise


def _parts(size: int, part: int) -> list[tuple[int, int]]:
    return [(start, min(start + part, size)) for start in range(0, size, part)] or [(0, 0)]


async def _each_part(
    fd: int,
    parts: list[tuple[int, int]],
    send: Callable[[int, bytes], Awaitable[Any]],
    gate: asyncio.Semaphore,
) -> list[Any]:
    """``send(index, data)`` for every part, as ``gate`` lets them; a part is read only once
    its turn comes, so at most the gate's count of parts are in memory."""
    loop = asyncio.get_running_loop()

    async def one(index: int) -> Any:
        start, end = parts[index]
        async with gate:
            data = await loop.run_in_executor(None, os.pread, fd, end - start, start)
            if len(data) != end - start:
                raise OSError(f"the file shrank while it was being pushed (part {index + 1})")
            return await send(index, data)

    return await _all_or_none([one(i) for i in range(len(parts))])


async def _s3_put(
    fs: Any, fd: int, parts: list[tuple[int, int]], remote: str, gate: asyncio.Semaphore
) -> None:
    bucket, key, _ = fs.split_path(remote)
    upload = await fs._call_s3("create_multipart_upload", Bucket=bucket, Key=key)
    upload_id = upload["UploadId"]

    async def send(index: int, data: bytes) -> dict[str, Any]:
        number = index + 1
        out = await fs._call_s3(
            "upload_part",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
        )
        return {"PartNumber": number, "ETag": out["ETag"]}

    try:
        done = await _each_part(fd, parts, send, gate)
        await fs._call_s3(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": done},
            IfNoneMatch="*",
        )
    except BaseException:
        await _quietly(
            fs._call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        )
        raise


async def _gcs_put(
    fs: Any,
    fd: int,
    parts: list[tuple[int, int]],
    remote: str,
    folder: str,
    gate: asyncio.Semaphore,
) -> None:
    stem = f"{folder}/{uuid.uuid4().hex}"
    names = [f"{stem}-{i:04d}" for i in range(len(parts))]
    made: list[str] = []

    async def send(index: int, data: bytes) -> None:
        made.append(names[index])
        await fs._pipe_file(names[index], data)

    try:
        await _each_part(fd, parts, send, gate)
        sources = names
        level = 0
        while len(sources) > _GCS_COMPOSE_MAX:  # compose in groups of 32, then the groups
            level += 1
            groups = [
                sources[i : i + _GCS_COMPOSE_MAX] for i in range(0, len(sources), _GCS_COMPOSE_MAX)
            ]
            sources = [f"{stem}-c{level}-{j:04d}" for j in range(len(groups))]
            made.extend(sources)
            await asyncio.gather(
                *(
                    _compose(fs, target, group, False)
                    for target, group in zip(sources, groups, strict=True)
                )
            )
        await _compose(fs, remote, sources, True)
    finally:
        if made:
            await _quietly(_delete(fs, made))


async def _compose(fs: Any, target: str, sources: list[str], create_only: bool) -> None:
    bucket, key, _ = fs.split_path(target)
    extra = {"ifGenerationMatch": 0} if create_only else {}
    await fs._call(
        "POST",
        "b/{}/o/{}/compose",
        bucket,
        key,
        headers={"Content-Type": "application/json"},
        json={
            "kind": "storage#composeRequest",
            "sourceObjects": [{"name": fs.split_path(s)[1]} for s in sources],
            "destination": {"name": key, "bucket": bucket},
        },
        **extra,
    )


async def _delete(fs: Any, paths: list[str]) -> None:
    """Delete the parts; those a failed or cancelled upload never created are no error."""
    with contextlib.suppress(FileNotFoundError):
        await fs._rm(paths)


async def _quietly(call: Awaitable[Any]) -> None:
    """Clean up after a failure without hiding it; a kill meanwhile is the next push's."""
    try:
        await asyncio.shield(call)
    except BaseException as exc:  # the failure being cleaned up wins
        log.warning("could not clean up a parallel upload: %s", exc)


# -- after a kill: the next push cleans up --------------------------------------------------


def clean_orphans(store: Store, versioning: Versioning, name: str, *, fresh: str = "") -> None:
    """Abort the open S3 uploads and delete the GCS parts that no live push of ``name`` owns:
    those of the version ``fresh`` whose claim this push has just made (whatever is there
    predates it), of a version whose claim is gone, or is held by a process of this host that
    is dead, or is older than :data:`STALE_CLAIM_SECONDS`. Run before this push uploads
    anything (the claim of a version it resumes still names the dead pusher). Failures are
    logged at info level: a leftover costs storage, never correctness."""
    if not supports(store):
        return
    try:
        orphaned = partial(_orphaned, store, versioning, name, fresh)
        if store.protocols & _S3:
            _clean_s3(store, name, orphaned)
        else:
            _clean_gcs(store, name, orphaned)
    except Exception as exc:  # e.g. no s3:ListBucketMultipartUploads: no warning every push
        log.info("%s: could not clean up interrupted uploads: %s", name, store.scrub(str(exc)))


def _clean_s3(store: Store, name: str, orphaned: Callable[[str], bool]) -> None:
    fs = store.fs
    bucket, prefix, _ = fs.split_path(store.path(name) + "/")
    listing = fs._call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix)
    listed = _run(store, f"listing interrupted uploads of {name}", listing)
    uploads = [
        (upload["Key"], upload["UploadId"])
        for upload in listed.get("Uploads", [])
        if orphaned(upload["Key"].removeprefix(prefix).split("/")[0])
    ]

    async def abort_all() -> None:
        await asyncio.gather(
            *(
                fs._call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload)
                for key, upload in uploads
            )
        )

    if uploads:
        _run(store, f"aborting interrupted uploads of {name}", abort_all())
        log.info("%s: aborted %d interrupted multipart uploads", name, len(uploads))


def _clean_gcs(store: Store, name: str, orphaned: Callable[[str], bool]) -> None:
    for base, _kind in store.list_dir(store.path(name)):
        if base.endswith(PARTS_SUFFIX) and orphaned(base.removesuffix(PARTS_SUFFIX)):
            store.delete_below(store.path(name, base), f"deleting interrupted parts of {name}")


def _orphaned(store: Store, versioning: Versioning, name: str, fresh: str, version: str) -> bool:
    if not sort_versions(versioning, {version}):  # another asset's (name/sub/...), or junk
        return False
    if version == fresh:
        return True
    claim = store.read_json(store.claim_path(name, version), "reading a claim")
    if not isinstance(claim, dict):
        return True  # a live push holds its claim from before its first part to its end
    pid, _, host = str(claim.get("by", "")).partition("@")
    stamp = claim.get("time")
    if isinstance(stamp, int | float) and time.time() - stamp > STALE_CLAIM_SECONDS:
        return True
    with contextlib.suppress(ValueError):
        return process_is_gone(host, int(pid))
    return False
