"""Big objects as parallel ranged reads, hashed once in order, resumable across processes.

One stream per object is capped by what one connection carries (about 85-90 MB/s on S3), so
an object of at least :data:`BIG_OBJECT_BYTES` is read as ranges of :data:`RANGE_BYTES`, at
most :data:`MAX_CONNECTIONS` at once, on the backend's event loop. Each range is written at its
offset into a preallocated file of the object's partial folder (``Cache.partial_path``); the
calling thread hashes the file in order as the prefix of finished ranges grows, so the bytes
are read back from the page cache, once, and at most ``MAX_CONNECTIONS`` ranges are in memory.

Every range is pinned to the version the object had when the download began (S3: ``If-Match``
its ETag; GCS: its generation), so a replaced object can never mix two objects' bytes: the
server refuses (412, or 404 for a gone generation) and that is an :class:`IntegrityError`.
A ``state.json`` beside the data says which ranges are written and for which version; the next
fetch keeps those when the version still matches, reads the rest, hashes all of it again, and a
damaged kept part shows in the final sha256: the partial is dropped and read again, once.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from .errors import IntegrityError
from .localdisk import force_rmtree
from .manifest import HASH_CHUNK, FileEntry, compare
from .store import ObjectVersion, Store

# Objects at least this big go in ranges. Off for now (no object is this big): on loopback
# moto answers each ranged GET in ~0.1 s, so a 128 MB object took 1.37 s in ranges against
# 0.24 s in one stream, and no capped-link measurement has chosen the threshold yet. The
# engine is tested against both servers with a small threshold; set this from the
# capped-link benchmark (a first guess there: 16 MB).
BIG_OBJECT_BYTES = 1 << 62
# One range: 8 MB, aws-cli's (s3transfer's) part size; a kill loses at most this per connection.
RANGE_BYTES = 8 * 1024 * 1024
# Ranges in flight for one object (s3transfer uses 10); later the store's connection budget.
MAX_CONNECTIONS = 12
# Ranges shrink with the object so that every connection gets one (a 16 MB object in two 8 MB
# ranges used 2 connections of 12), but never below this: each range costs a round trip.
MIN_RANGE_BYTES = 1024 * 1024
_S3 = {"s3", "s3a"}
_GCS = {"gs", "gcs"}
_STATE_VERSION = 1


def supports(store: Store) -> bool:
    """Ranged reads pinned to a version are implemented for s3fs and gcsfs only."""
    return store.is_async and bool(store.protocols & (_S3 | _GCS))


def fetch_big(
    store: Store, remote: str, local: str, entry: FileEntry, partial: Path, what: str
) -> tuple[int, str]:
    """Download ``remote`` to ``local`` (a new path on the partial's filesystem) in ranges:
    (size, sha256) of the result, which the caller checks against ``entry`` as for any file.

    ``what`` names the object in errors. Kept ranges are only trusted where ``entry`` has a
    sha256 to catch a damaged one; when the result disagrees with ``entry`` after keeping
    ranges, they are dropped and the whole object is read once more.
    """
    version = store.object_version(remote)
    if version is None:
        raise IntegrityError(
            f"{what}: the store {store.display_url} gives no version (ETag or generation) for "
            "the object, so it cannot be read in ranges safely; nothing was cached"
        )
    if entry.size is not None and version.size != entry.size:
        raise IntegrityError(
            f"{what}: size {version.size} bytes in the store, but the version's metadata "
            f"says {entry.size}; the object was changed or truncated in the store, nothing "
            "was cached"
        )
    if entry.sha256 is None:
        force_rmtree(partial)  # nothing would catch a damaged kept range
    try:
        measured, kept = _Download(store, remote, version, partial, what).run()
        if kept and compare(entry, *measured) is not None:
            force_rmtree(partial)
            measured, _ = _Download(store, remote, version, partial, what).run()
    except IntegrityError:
        force_rmtree(partial)
        raise
    os.makedirs(os.path.dirname(local), exist_ok=True)
    os.replace(partial / "data", local)
    force_rmtree(partial)
    return measured


def range_size(size: int) -> int:
    """One range of an object of ``size`` bytes: the object split over the connections,
    between :data:`MIN_RANGE_BYTES` and :data:`RANGE_BYTES`."""
    share = -(-size // MAX_CONNECTIONS)
    return min(RANGE_BYTES, max(MIN_RANGE_BYTES, share))


def ranges(size: int, range_bytes: int) -> list[tuple[int, int]]:
    """(start, end) of each range, end exclusive; one empty range for an empty object."""
    return [(start, min(start + range_bytes, size)) for start in range(0, size, range_bytes)] or [
        (0, 0)
    ]


class _Download:
    """One pass over one object: the ranges not yet kept are read while the calling thread
    hashes the finished prefix."""

    def __init__(
        self, store: Store, remote: str, version: ObjectVersion, partial: Path, what: str
    ) -> None:
        self.store, self.remote, self.version, self.what = store, remote, version, what
        self.data, self.state_path = partial / "data", partial / "state.json"
        self.range_bytes = range_size(version.size)
        self.parts = ranges(version.size, self.range_bytes)
        self.done: set[int] = set()
        self.cond = threading.Condition()
        self.finished = threading.Event()  # the coroutine wrote its last byte
        partial.mkdir(parents=True, exist_ok=True)

    def run(self) -> tuple[tuple[int, str], bool]:
        """((size, sha256), whether ranges of an earlier pass were kept)."""
        kept = self._load_state()
        fd = os.open(self.data, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not kept:
                os.ftruncate(fd, 0)
                os.ftruncate(fd, self.version.size)  # sparse: blocks show progress
                self._save_state()
            self.done = set(kept)
            todo = [i for i in range(len(self.parts)) if i not in self.done]
            fs = self.store.fs
            future = asyncio.run_coroutine_threadsafe(self._fetch(fs, fd, todo), fs.loop)
            try:
                digest = self._hash(fd, future)
                self.store._call(f"downloading {self.what}", future.result)
            except BaseException:
                future.cancel()
                raise
            finally:
                self.finished.wait(60)  # no write may land after the fd is closed
            return (self.version.size, digest), bool(kept)
        finally:
            os.close(fd)

    # -- the calling thread: hash in order --------------------------------------------------

    def _hash(self, fd: int, future: Future[None]) -> str:
        hasher = hashlib.sha256()
        for index, (start, end) in enumerate(self.parts):
            with self.cond:
                while index not in self.done and not future.done():
                    self.cond.wait(0.5)
            if index not in self.done:
                self.store._call(f"downloading {self.what}", future.result)
                raise IntegrityError(f"{self.what}: the download ended before range {index}")
            for chunk in _read(fd, start, end):
                hasher.update(chunk)
        return hasher.hexdigest()

    # -- the event loop: ranges at once -----------------------------------------------------

    async def _fetch(self, fs: Any, fd: int, todo: list[int]) -> None:
        try:
            gate = asyncio.Semaphore(MAX_CONNECTIONS)

            async def one(index: int) -> None:
                start, end = self.parts[index]
                async with gate:
                    data = await self._read_range(fs, start, end)
                if len(data) != end - start:
                    raise IntegrityError(
                        f"{self.what}: the store {self.store.display_url} answered range "
                        f"{start}-{end} with {len(data)} bytes; the object changed during the "
                        "download, nothing was cached"
                    )
                os.pwrite(fd, data, start)
                with self.cond:
                    self.done.add(index)
                    self._save_state()
                    self.cond.notify_all()

            tasks = [asyncio.ensure_future(one(i)) for i in todo]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        finally:
            self.finished.set()
            with self.cond:
                self.cond.notify_all()

    async def _read_range(self, fs: Any, start: int, end: int) -> bytes:
        if start == end:
            return b""
        try:
            if self.store.protocols & _S3:
                bucket, key, _ = fs.split_path(self.remote)
                resp = await fs._call_s3(
                    "get_object",
                    Bucket=bucket,
                    Key=key,
                    Range=f"bytes={start}-{end - 1}",
                    IfMatch=self.version.token,
                )
                try:
                    return bytes(await resp["Body"].read())
                finally:
                    resp["Body"].close()
            data = await fs._cat_file(
                self.remote, start=start, end=end, generation=self.version.token
            )
            return bytes(data)
        except (FileNotFoundError, OSError) as exc:
            if isinstance(exc, FileNotFoundError) or _precondition_failed(exc):
                raise IntegrityError(
                    f"{self.what}: the object was replaced or deleted in the store "
                    f"{self.store.display_url} during the download (it no longer has the "
                    f"version {self.version.token}); nothing was cached, fetch again"
                ) from None
            raise

    # -- the state file ---------------------------------------------------------------------

    def _load_state(self) -> set[int]:
        """The ranges an earlier pass wrote, if it read this very version into this file."""
        try:
            state = json.loads(self.state_path.read_text())
            same = (
                state.get("format") == _STATE_VERSION
                and state.get("size") == self.version.size
                and state.get("token") == self.version.token
                and state.get("range_bytes") == self.range_bytes
                and self.data.stat().st_size == self.version.size
            )
        except (OSError, ValueError, AttributeError):
            return set()
        done = state.get("done") if same else None
        if not isinstance(done, list):
            return set()
        return {i for i in done if isinstance(i, int) and 0 <= i < len(self.parts)}

    def _save_state(self) -> None:
        """Atomically, after the range's bytes were written (a kill between loses one range)."""
        state = {
            "format": _STATE_VERSION,
            "size": self.version.size,
            "token": self.version.token,
            "range_bytes": self.range_bytes,
            "done": sorted(self.done),
        }
        tmp = self.state_path.with_name("state.json.tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.state_path)


def _read(fd: int, start: int, end: int) -> Iterator[bytes]:
    offset = start
    while offset < end:
        chunk = os.pread(fd, min(HASH_CHUNK, end - offset), offset)
        if not chunk:
            raise OSError(errno.EIO, "the partial download was cut short while hashing")
        yield chunk
        offset += len(chunk)


def _precondition_failed(exc: BaseException) -> bool:
    """S3's 412 for an ETag that no longer matches, as s3fs translates it (EINVAL), or raw."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            error = response.get("Error") or {}
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if error.get("Code") in ("PreconditionFailed", "412") or status == 412:
                return True
        if getattr(current, "status", None) == 412 or getattr(current, "code", None) == 412:
            return True
        text = str(current).lower()
        if isinstance(current, OSError) and current.errno == errno.EINVAL and "condition" in text:
            return True
        current = current.__cause__ or current.__context__
    return False
