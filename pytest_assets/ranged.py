"""Big objects: one stream that splits into parallel ranged reads once one connection shows
itself slow, hashed once in order, resumable across processes.

The rule. An object of at least :data:`BIG_OBJECT_BYTES` starts as one stream over all its
missing bytes, as a small one would. After :data:`PROBE_SECONDS` of bytes (a first look after
:data:`EARLY_PROBE_SECONDS` catches a stream plainly too slow) the stream's own rate says how
long it would need for the rest, and the tail is split off into ranges read in parallel
(:func:`should_split`) only when

- the stream would need more than :data:`SPLIT_SECONDS_LEFT` for the rest (every range costs
  a request, which the split has to win back), and
- one range takes longer to carry at that rate than the stream waited for its first byte
  (else parallel ranges mostly wait for answers: on loopback moto spends ~0.1 s of its CPU on
  each ranged GET, and 12 ranges of a 128 MB object took 1.37 s against 0.24 s in one stream),
- and the download may use more than one connection.

The stream then stops where it is, at once, and the rest of its range is the first one handed
over: a server that answers one request at a time (the GCS emulator) answers no range while the
stream's response over the whole rest is open, and elsewhere one more request costs a round
trip on one of a dozen connections. The ranges are read by up to :data:`OBJECT_CONNECTIONS`
connections, each holding a slot of the store's connection budget (:class:`Pool`, shared by
every big object of one download). Through a link that caps each connection (20 ms, 4 MB/s a
connection, 48 MB/s in all) ranges gave 4.5x (S3) and 7.7x (GCS) one stream; on loopback the
stream is fast and finishes as it began. The rule reads how the transfer behaves, not where
the store is: a fixed size threshold cannot win on both.

Each range is written at its offset into a preallocated file of the object's partial folder
(``Cache.partial_path``) as its body streams in (a chunk in memory per connection); the
calling thread hashes the file in order as the prefix of finished ranges grows, so the bytes
are read back from the page cache, once. Every request is pinned to the version the object
had when the download began (:mod:`pinned_reads`), so a replaced object can never mix two
objects' bytes. A ``state.json`` beside the data says, for which version, which ranges are
written and how far each unfinished one got (saved as chunks land, every 1 % of the object:
a kill loses what came since the last save, not every range in flight); the next fetch keeps
those bytes when the version still matches, reads each unfinished range from where it
stopped, hashes all of it again, and a damaged kept part shows in the final sha256: the
partial is dropped and read again, once.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import IntegrityError
from .localdisk import force_rmtree
from .manifest import HASH_CHUNK, FileEntry, compare
from .pinned_reads import GCS, S3, pinned_range
from .sharing import make_dirs, widen
from .store import ObjectVersion, Store, version_of

# Objects at least this big go through the engine; smaller ones keep the bulk path, many at once.
BIG_OBJECT_BYTES = 16 * 1024 * 1024
# The largest range: 16 MB (AWS's guidance: 8 or 16 MB byte-range requests). Each costs a
# request and a first byte (moto reads the whole object per ranged GET: 0.16 s at 256 MB).
RANGE_BYTES = 16 * 1024 * 1024
# Connections for one object (s3transfer uses 10; 12 filled the capped link), within the budget.
OBJECT_CONNECTIONS = 12
# Ranges shrink with the object so that every connection gets one, never below this.
MIN_RANGE_BYTES = 1024 * 1024
# How long the stream runs before its rate decides, and how long a rest is worth splitting.
PROBE_SECONDS = 0.25
SPLIT_SECONDS_LEFT = 1.0
# A first look, sooner, splits only a stream plainly too slow for what is left: on the capped
# link (4 MB/s a connection) the ranges of a 64 MB object start 0.15 s sooner, a tenth of the
# link's time; on loopback (530 MB/s) a stream would have to show ten times less to split there.
EARLY_PROBE_SECONDS = 0.1
EARLY_SECONDS_LEFT = 4.0
CHUNK_BYTES = 1024 * 1024  # read from a response body at a time
# state.json records the unfinished ranges' progress every 1/STATE_PARTS of the object, at least
# STATE_BYTES apart (a finished range at once): a kill loses ~1 %, for ~100 small writes.
STATE_BYTES = 256 * 1024
STATE_PARTS = 100
_STATE_VERSION = 1

Progress = Callable[[int], None]  # bytes written (or kept) since the last call


def supports(store: Store) -> bool:
    """Ranged reads pinned to a version are implemented for s3fs and gcsfs only."""
    return store.is_async and bool(store.protocols & (S3 | GCS))


def should_split(
    rate: float,
    left: int,
    first_byte: float,
    range_bytes: int,
    connections: int,
    probed: float | None = None,
) -> bool:
    """Whether a stream carrying ``rate`` bytes/s, with ``left`` bytes to go, that waited
    ``first_byte`` seconds for its first byte, should hand its tail to parallel ranges.

    ``probed``: seconds of bytes the rate was read over (None: the whole probe). Before
    :data:`PROBE_SECONDS` the rest must take more than :data:`EARLY_SECONDS_LEFT`: a rate read
    over less time is noisier (a process stalled for a moment, TCP's slow start), so only one
    far too slow counts.
    """
    if connections < 2 or left <= 0:
        return False
    if rate <= 0:
        return True
    early = probed is not None and probed < PROBE_SECONDS
    enough = EARLY_SECONDS_LEFT if early else SPLIT_SECONDS_LEFT
    return left / rate > enough and range_bytes / rate > first_byte


class Pool:
    """The store's connection budget for one download: every stream and range of its big
    objects holds one of ``budget`` slots while its request is open."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.per_object = min(budget, OBJECT_CONNECTIONS)
        self.stopped = False  # the download gave up: every transfer stops at its next chunk
        self._gate: asyncio.Semaphore | None = None

    @property
    def gate(self) -> asyncio.Semaphore:
        """Made on the backend's event loop, the only thread that uses it."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.budget)
        return self._gate


@dataclass(frozen=True)
class BigObject:
    remote: str
    local: str
    entry: FileEntry
    partial: Path
    what: str  # names the object in errors


def fetch_many(
    store: Store, objects: list[BigObject], pool: Pool, progress: Progress | None = None
) -> dict[str, tuple[int, str]]:
    """(size, sha256) by local path of every object, fetched at once within the pool (each
    hashed by a thread of its own); the first error is raised once all have stopped."""
    if len(objects) <= 1:
        return {o.local: fetch_big(store, o, pool, progress) for o in objects}
    with ThreadPoolExecutor(max_workers=min(len(objects), pool.budget, 16)) as threads:
        futures = [threads.submit(fetch_big, store, o, pool, progress) for o in objects]
        try:
            return {o.local: f.result() for o, f in zip(objects, futures, strict=True)}
        except BaseException:
            pool.stopped = True  # the running ones stop at their next chunk
            for future in futures:
                future.cancel()  # the waiting ones never start
            raise


def fetch_big(
    store: Store, job: BigObject, pool: Pool, progress: Progress | None = None
) -> tuple[int, str]:
    """Download ``job.remote`` to ``job.local`` (a new path on the partial's filesystem):
    (size, sha256) of the result, which the caller checks against ``job.entry`` as for any
    file.

    Kept ranges are only trusted where the entry has a sha256 to catch a damaged one; when
    the result disagrees with it after keeping ranges, they are dropped and the whole object
    is read once more.
    """
    entry, partial, what = job.entry, job.partial, job.what

    async def lookup() -> dict[str, Any]:
        fs = store.fs
        async with pool.gate:  # a request like any other, within the budget (gcsfs' _info
            # is two at once: the object and a listing)
            info: dict[str, Any] = await (
                fs._get_object(job.remote) if store.protocols & GCS else fs._info(job.remote)
            )
            return info

    future = asyncio.run_coroutine_threadsafe(lookup(), store.fs.loop)
    version = version_of(store._call(f"reading {job.remote}", future.result))
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

    def one_pass() -> tuple[tuple[int, str], bool]:
        return _Download(store, job.remote, version, partial, what, pool, progress).run()

    try:
        measured, kept = one_pass()
        if kept and compare(entry, *measured) is not None:
            force_rmtree(partial)
            measured, _ = one_pass()
    except IntegrityError:
        force_rmtree(partial)
        raise
    os.makedirs(os.path.dirname(job.local), exist_ok=True)
    os.replace(partial / "data", job.local)
    force_rmtree(partial)
    return measured


def range_size(size: int) -> int:
    """One range of an object of ``size`` bytes: the object split over
    :data:`OBJECT_CONNECTIONS` in whole waves, no connection idle while the last one ends (256
    MB in 8 MB ranges: waves of 12, 12, then 8; now 2 of 12 x 10.7 MB), within the bounds. Not
    over the budget: a partial stays resumable when the budget changes."""
    waves = max(1, -(-size // (RANGE_BYTES * OBJECT_CONNECTIONS)))
    share = -(-size // (waves * OBJECT_CONNECTIONS))
    return min(RANGE_BYTES, max(MIN_RANGE_BYTES, share))


def ranges(size: int, range_bytes: int) -> list[tuple[int, int]]:
    """(start, end) of each range, end exclusive; one empty range for an empty object."""
    return [(start, min(start + range_bytes, size)) for start in range(0, size, range_bytes)] or [
        (0, 0)
    ]


class _Download:
    """One pass over one object: a stream over the first run of missing ranges, and ranges
    for the rest (holes a killed pass left, and the tail the stream hands over), while the
    calling thread hashes the finished prefix."""

    def __init__(
        self,
        store: Store,
        remote: str,
        version: ObjectVersion,
        partial: Path,
        what: str,
        pool: Pool,
        progress: Progress | None,
    ) -> None:
        self.store, self.remote, self.version, self.what = store, remote, version, what
        self.pool, self.progress = pool, progress
        self.data, self.state_path = partial / "data", partial / "state.json"
        self.range_bytes = range_size(version.size)
        self.parts = ranges(version.size, self.range_bytes)
        self.done: set[int] = set()
        self.got: dict[int, int] = {}  # bytes written from the start of unfinished ranges
        self.unsaved = 0  # bytes written since the last save
        self.save_every = max(STATE_BYTES, version.size // STATE_PARTS)
        self.cond = threading.Condition()
        self.finished = threading.Event()  # the coroutine wrote its last byte
        # on the event loop only:
        self.stop = 0  # the stream's ranges end before this one
        self.stream_end = 0  # the stream stops at this byte (inside range ``stop`` once split)
        self.queue: list[int] = []  # ranges for the range readers, in order
        self.settled = False  # the stream will hand over nothing more
        self.more: asyncio.Event | None = None
        make_dirs(partial, partial.parent)  # shared like the cache: another user may resume

    def run(self) -> tuple[tuple[int, str], bool]:
        """((size, sha256), whether ranges of an earlier pass were kept)."""
        self.done, self.got = self._load_state()
        kept = bool(self.done or self.got)
        fd = os.open(self.data, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            widen(fd, self.data.parent)
            if not kept:
                os.ftruncate(fd, 0)
                os.ftruncate(fd, self.version.size)  # sparse: blocks show progress
                self._save_state()
            if self.progress is not None and kept:
                whole = sum(self.parts[i][1] - self.parts[i][0] for i in self.done)
                self.progress(whole + sum(self.got.values()))
            todo = [i for i in range(len(self.parts)) if i not in self.done]
            fs = self.store.fs
            future = asyncio.run_coroutine_threadsafe(self._fetch(fd, todo), fs.loop)
            try:
                digest = self._hash(fd, future)
                self.store._call(f"downloading {self.what}", future.result)
            except BaseException:
                future.cancel()
                raise
            finally:
                self.finished.wait(60)  # no write may land after the fd is closed
            return (self.version.size, digest), kept
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

    # -- the event loop: one stream, ranges once it is slow ---------------------------------

    async def _fetch(self, fd: int, todo: list[int]) -> None:
        try:
            if not todo:
                return
            run = 1  # the stream's run: ranges after the first that it would read from the start
            while run < len(todo) and todo[run] == todo[run - 1] + 1 and todo[run] not in self.got:
                run += 1
            self.stop, self.queue = todo[run - 1] + 1, todo[run:]
            self.stream_end = self.parts[todo[run - 1]][1]
            self.more = asyncio.Event()
            tasks = [asyncio.ensure_future(self._stream(fd, todo[0]))]
            tasks += [
                asyncio.ensure_future(self._ranges(fd)) for _ in range(self.pool.per_object - 1)
            ]
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

    async def _stream(self, fd: int, first: int) -> None:
        """Read from ``first`` up to :attr:`stream_end`, which a split moves back; then help with
        the ranges (with a budget of one, this is the only reader)."""
        try:
            async with self.pool.gate:
                await self._pull(fd, first, stream=True)
        finally:
            self._settle()
        await self._ranges(fd)

    async def _ranges(self, fd: int) -> None:
        assert self.more is not None
        while True:
            while not self.queue and not self.settled:
                await self.more.wait()
            if not self.queue:
                return
            index = self.queue.pop(0)
            async with self.pool.gate:
                await self._pull(fd, index, stream=False)

    async def _pull(self, fd: int, index: int, *, stream: bool) -> None:
        """Read range ``index`` (and, for the stream, the ones after it up to :attr:`stop`),
        writing each chunk at its offset as it arrives; from where an earlier pass stopped."""
        begin, single = self.parts[index][0] + self.got.get(index, 0), index + 1

        def limit() -> int:
            return self.stream_end if stream else self.parts[single - 1][1]

        if begin == limit():  # an empty object
            self._mark(index)
            return
        sent = time.monotonic()
        first_at = 0.0
        async with pinned_range(
            self.store, self.remote, self.version, begin, limit(), self.what
        ) as body:
            pos = begin
            while pos < limit():
                if self.pool.stopped:
                    raise asyncio.CancelledError
                data = await body.read(min(CHUNK_BYTES, limit() - pos))
                if not data:
                    raise IntegrityError(
                        f"{self.what}: the store {self.store.display_url} answered range "
                        f"{begin}-{limit()} with {pos - begin} bytes; the object changed "
                        "during the download, nothing was cached"
                    )
                first_at = first_at or time.monotonic()
                os.pwrite(fd, data, pos)
                pos += len(data)
                if self.progress is not None:
                    self.progress(len(data))
                while index < len(self.parts) and pos >= self.parts[index][1]:
                    self._mark(index)
                    index += 1
                if pos >= limit():
                    break
                self.got[index] = pos - self.parts[index][0]  # inside a range of ours
                self._note_progress(len(data))
                probed = time.monotonic() - first_at
                if (
                    stream
                    and not self.settled
                    and probed >= min(EARLY_PROBE_SECONDS, PROBE_SECONDS)
                ):
                    self._decide(index, pos, pos - begin, first_at - sent, probed)

    def _decide(
        self, index: int, pos: int, streamed: int, first_byte: float, probed: float
    ) -> None:
        """The stream, now at ``pos`` in range ``index`` after ``probed`` seconds of bytes,
        hands over the rest of that range and the ones after it (when there is one after it);
        or keeps all, once the probe is over."""
        rate = streamed / probed if probed > 0 else float("inf")
        left = self.stream_end - pos
        if index + 1 < self.stop and should_split(
            rate, left, first_byte, self.range_bytes, self.pool.per_object, probed
        ):
            self.queue = sorted([*self.queue, *range(index, self.stop)])
            self.stop, self.stream_end = index, pos
            self._settle()
        elif probed >= PROBE_SECONDS:
            self._settle()

    def _settle(self) -> None:
        self.settled = True
        if self.more is not None:
            self.more.set()

    def _mark(self, index: int) -> None:
        with self.cond:
            self.done.add(index)
            self.got.pop(index, None)
            self._save_state()
            self.cond.notify_all()

    def _note_progress(self, written: int) -> None:
        """Save the unfinished ranges' progress now and then (see :data:`STATE_PARTS`)."""
        self.unsaved += written
        if self.unsaved >= self.save_every:
            self._save_state()

    # -- the state file ---------------------------------------------------------------------

    def _load_state(self) -> tuple[set[int], dict[int, int]]:
        """The ranges an earlier pass wrote and the bytes it wrote of unfinished ones (from
        their start), if it read this very version into this file."""
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
            return set(), {}
        done = state.get("done") if same else None
        if not isinstance(done, list):
            return set(), {}
        kept = {i for i in done if isinstance(i, int) and 0 <= i < len(self.parts)}
        got: dict[int, int] = {}
        partly = state.get("partly")
        for key, value in partly.items() if isinstance(partly, dict) else ():
            index = int(key) if isinstance(key, str) and key.isdigit() else -1
            if 0 <= index < len(self.parts) and index not in kept and isinstance(value, int):
                start, end = self.parts[index]
                if 0 < value < end - start:
                    got[index] = value
        return kept, got

    def _save_state(self) -> None:
        """Atomically, after the bytes it records were written (a kill between loses what
        came since the last save)."""
        state = {
            "format": _STATE_VERSION,
            "size": self.version.size,
            "token": self.version.token,
            "range_bytes": self.range_bytes,
            "done": sorted(self.done),
            "partly": {str(i): n for i, n in sorted(self.got.items())},
        }
        self.unsaved = 0
        tmp = self.state_path.with_name("state.json.tmp")
        tmp.write_text(json.dumps(state))
        widen(tmp, tmp.parent)
        os.replace(tmp, self.state_path)


def _read(fd: int, start: int, end: int) -> Iterator[bytes]:
    offset = start
    while offset < end:
        chunk = os.pread(fd, min(HASH_CHUNK, end - offset), offset)
        if not chunk:
            raise OSError(errno.EIO, "the partial download was cut short while hashing")
        yield chunk
        offset += len(chunk)
