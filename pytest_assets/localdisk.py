"""Local-disk primitives below the store: whole-or-nothing writes, copies hashed on the way.

One step each, as dvc-objects' ``fs/utils.py`` has them: :func:`as_atomic` is the only
temp-then-link (or replace) there is, and every writer goes through it; a copy is hashed in the
same pass that makes it, with :mod:`manifest`'s sha256 (what a version's ``.meta`` records).
A directory store uses all of them; a remote store's download uses :func:`stream_hasher`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import queue
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from .errors import StoreError
from .manifest import HASH_CHUNK, sha256_stream

_PROBE_FILES = 8  # local copies timed before choosing between a loop and the thread pool
_SLOW_COPY_SECONDS = 0.002  # slower than this per file: a network share, use the pool
_PIPELINE_BYTES = 8 << 20  # from this size a local copy is hashed in a thread alongside
_PIPELINE_CHUNK = 8 << 20
_PIPELINE_BUFFERS = 3  # one being read, one being written and hashed, one spare
_READ_ONLY = 0o444  # cached files: a test cannot edit the shared copy by accident
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL


@contextlib.contextmanager
def as_atomic(
    path: str, *, create_only: bool = False, tmp_dir: str | None = None, tmp_prefix: str = ".tmp-"
) -> Iterator[str]:
    """A temp name to write ``path``'s content to; once the block ends without an error the
    temp takes ``path``'s place whole: linked when ``create_only`` (FileExistsError when taken),
    else replacing it. The temp is gone either way. It lives beside ``path`` unless ``tmp_dir``
    (on the same filesystem) says where."""
    folder = os.path.dirname(path) if tmp_dir is None else tmp_dir
    tmp = os.path.join(folder, f"{tmp_prefix}{uuid.uuid4().hex}")
    try:
        yield tmp
        if create_only:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_atomic(
    path: str, data: bytes, *, create_only: bool = False, tmp_prefix: str = ".tmp-"
) -> None:
    """Write ``data`` whole or not at all, synced before it takes the name. The file is
    created 0666 less the umask, as the data objects are (``mkstemp``'s 0600 kept ``.versions``
    and ``.meta`` from every other user of a shared directory store)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with (
        as_atomic(path, create_only=create_only, tmp_prefix=tmp_prefix) as tmp,
        open(os.open(tmp, _NEW_FILE, 0o666), "wb") as handle,
    ):
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def copy_in(source: str, target: str, tmp_dir: str) -> None:
    """Create-only, whole-or-nothing copy into a directory store. The temp file lives in
    ``tmp_dir``, outside every version; the caller makes the folders (once for all the files,
    not once per file)."""
    with as_atomic(target, create_only=True, tmp_dir=tmp_dir) as tmp:
        shutil.copyfile(source, tmp)


def copy_out(source: str, target: str, what: str = "copying") -> tuple[int, str]:
    """Copy one object out of a directory store, hashing it on the way: (size, sha256). The
    copy is created read-only, as the cache keeps it. A folder at the object's path, or a file
    where a folder should be, means there is no such object: as an object store would say."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        # non-blocking: opening a FIFO left in the store must not wait for a writer
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except (IsADirectoryError, NotADirectoryError) as exc:
        raise FileNotFoundError(errno.ENOENT, f"no object there ({exc.strerror})", source) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileNotFoundError(errno.ENOENT, "no object there (a folder)", source)
        if not stat.S_ISREG(info.st_mode):  # /dev/zero would fill the disk, a FIFO hang
            raise StoreError(
                f"{what}: {source} in the directory store is {_special_kind(info.st_mode)}, "
                "not a regular file: the store is damaged there; put the version's file back "
                "(or remove the version); nothing was cached"
            )
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb") as reader, open(os.open(target, flags, _READ_ONLY), "wb") as out:
        if info.st_size >= _PIPELINE_BYTES:
            return pipelined_copy_hashing(fd, out.fileno())
        return sha256_stream(reader, copy_to=out)


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a file"


def pipelined_copy_hashing(source_fd: int, target_fd: int) -> tuple[int, str]:
    """A big file: one read of the source into a buffer that a thread hashes while this one
    writes it out, so the sha256 (the slower half: ~0.9 GB/s here against ~1.7 GB/s for the
    copy) overlaps the copy and reads nothing twice. The kernel copy it replaced (sendfile,
    then a thread reading the copy back to hash it) paid an extra pass over every byte: 256 MB
    took 350 ms against 270 ms. What is hashed is exactly the bytes written to the cache."""
    buffers: queue.Queue[bytearray] = queue.Queue()
    for _ in range(_PIPELINE_BUFFERS):
        buffers.put(bytearray(_PIPELINE_CHUNK))
    filled: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
    digest = hashlib.sha256()

    def hash_them() -> None:
        while (item := filled.get()) is not None:
            buffer, length = item
            with memoryview(buffer) as view:
                digest.update(view[:length])
            buffers.put(buffer)  # free again once both its hash and its write are done

    hasher = threading.Thread(target=hash_them, name="pytest-assets-hash", daemon=True)
    hasher.start()
    size = 0
    try:
        while True:
            buffer = buffers.get()
            with memoryview(buffer) as view:
                length = os.readv(source_fd, [view])
                if not length:
                    break
                filled.put((buffer, length))
                written = 0
                while written < length:
                    written += os.write(target_fd, view[written:length])
            size += length
    finally:
        filled.put(None)
        hasher.join()
    return size, digest.hexdigest()


def copy_while_fast(copy: Callable[[str, str], object], pairs: Sequence[tuple[str, str]]) -> int:
    """``copy`` over the (source, target) pairs in a loop while each copy is fast; how many it
    did (the rest are for a thread pool). On a local disk a copy takes well under a millisecond
    and threads only contend (1,000 x 10 KB on 2 cores: 33 ms in a loop, ~100 ms with 16
    threads); a mounted network share (NFS, SMB) is slow per file, and there overlapping pays."""
    started, done = time.perf_counter(), 0
    while done < len(pairs) and (
        done < _PROBE_FILES or (time.perf_counter() - started) / done < _SLOW_COPY_SECONDS
    ):
        copy(*pairs[done])
        done += 1
    return done


class StreamHasher(Protocol):
    """An fsspec callback that also hashes the file it reports on (see :func:`stream_hasher`)."""

    def set_size(self, size: int) -> None: ...

    def relative_update(self, inc: int = 1) -> None: ...

    def finish(self) -> tuple[int, str] | None: ...


def stream_hasher(local: str) -> StreamHasher:
    """An fsspec callback that sha256es ``local`` in a thread while a single-stream download
    writes it, so hashing overlaps the writing instead of following it.

    Only the bytes the writer reports written are read; a new ``set_size`` is a new attempt
    (gcsfs retries reopen the file), which restarts the hash. ``finish()`` reads the rest and
    returns (size, sha256), or None if the file did not end where the hash did.
    """
    from fsspec.callbacks import Callback  # only once a copy is big or a download streams

    class _StreamHasher(Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._cond = threading.Condition()
            self._attempt = 0
            self._written = 0
            self._done = False
            self._result: tuple[int, str] | None = None
            self._thread = threading.Thread(target=self._run, name="pytest-assets-hash")
            self._thread.daemon = True
            self._thread.start()

        def set_size(self, size: int) -> None:
            with self._cond:
                self._attempt += 1
                self._written = 0
                self._cond.notify()
            super().set_size(size)

        def relative_update(self, inc: int = 1) -> None:
            with self._cond:
                self._written += inc
                self._cond.notify()
            super().relative_update(inc)

        def finish(self) -> tuple[int, str] | None:
            with self._cond:
                self._done = True
                self._cond.notify()
            self._thread.join()
            return self._result

        def _run(self) -> None:
            attempt, offset, digest, fd = -1, 0, hashlib.sha256(), -1
            try:
                while True:
                    with self._cond:
                        while not self._done and (
                            self._attempt == attempt and self._written <= offset
                        ):
                            self._cond.wait()
                        done, now, limit = self._done, self._attempt, self._written
                    if now != attempt:
                        attempt, offset, digest = now, 0, hashlib.sha256()
                        if fd >= 0:
                            os.close(fd)
                            fd = -1
                    if fd < 0:
                        try:
                            fd = os.open(local, os.O_RDONLY)
                        except FileNotFoundError:
                            if done:
                                return
                            with self._cond:
                                self._cond.wait(0.005)
                            continue
                    data = os.pread(
                        fd, HASH_CHUNK if done else min(HASH_CHUNK, limit - offset), offset
                    )
                    if data:
                        digest.update(data)
                        offset += len(data)
                    elif done:
                        if os.fstat(fd).st_size == offset:
                            self._result = (offset, digest.hexdigest())
                        return
                    else:  # reported but still in the writer's buffer
                        with self._cond:
                            self._cond.wait(0.005)
            except OSError:
                return  # no result: the caller hashes the file itself
            finally:
                if fd >= 0:
                    os.close(fd)

    hasher: StreamHasher = _StreamHasher()
    return hasher


def force_rmtree(path: Path) -> None:
    """Delete a file or a tree, read-only parts included (the cache makes its copies so)."""

    def onerror(func: Any, target: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(target), 0o700)
            if os.path.isdir(target) and not os.path.islink(target):
                # never a file's mode: a cached file may be a hardlink shared with another
                # version, and unlinking needs only its folder writable
                os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, onerror=onerror)
    else:
        path.unlink(missing_ok=True)
