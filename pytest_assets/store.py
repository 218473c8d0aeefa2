"""The object store, reached through fsspec, in modelkit's layout.

Every call into fsspec goes through :meth:`Store._call`, which turns the zoo of backend
exceptions (aiohttp, botocore, gcsfs' HttpError, OSError) into our :class:`StoreError` with the
store's URL, the cause and the next step, with credentials scrubbed. ``FileNotFoundError`` and
``FileExistsError`` pass through: callers give them meaning (a missing version, a taken one).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import inspect
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from .errors import AssetsError, StoreError
from .manifest import sha256_file
from .progress import FileProgress
from .redact import redact_url, secrets_in_options, secrets_in_url

T = TypeVar("T")

_LOCAL_PROTOCOLS = {"file", "local"}
# Stores inside a bucket: the store is missing when the bucket is (a missing prefix is empty).
_BUCKET_PROTOCOLS = {"s3", "s3a", "gs", "gcs", "az", "abfs", "adl", "oss", "oci"}
# user:password@ (the password may hold an unencoded "/", as AWS secrets do) or token@
_THREADS = 16
_PROBE_FILES = 8  # local copies timed before choosing between a loop and the thread pool
_SLOW_COPY_SECONDS = 0.002  # slower than this per file: a network share, use the pool
_LOCAL_TMP = ".pytest-assets-tmp"  # in a directory store; no asset name starts with "."
_HASH_CHUNK = 1024 * 1024
_KERNEL_COPY_BYTES = 8 << 20  # from this size a local copy is the kernel's, hashed alongside
_KERNEL_COPY_CHUNK = 8 << 20
_READ_ONLY = 0o444  # cached files: a test cannot edit the shared copy by accident
_FORBIDDEN_WORDS = ("Forbidden", "Unauthorized", "Access Denied", "AccessDenied")
_LOCAL_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
# A store that did not answer is not asked again for this long: the backends' own retries
# already took seconds (gcsfs: ~33 s), and every test or cell after it would wait as long.
UNREACHABLE_FOR = 60.0
_CONNECTION_FAILURES = {
    "ClientConnectorError",  # aiohttp (gcsfs): refused, unresolvable, TLS failed
    "ServerDisconnectedError",
    "ServerTimeoutError",
    "EndpointConnectionError",  # botocore (s3fs)
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ReadTimeoutError",
}


def local_directory(url: str) -> str | None:
    """The directory of a directory store (a path, ``file://`` or ``local://``), else None;
    without fsspec, which a cheap check must not import."""
    for prefix in ("file://", "local://"):
        if url.startswith(prefix):
            return os.path.abspath(os.path.expanduser(url[len(prefix) :] or "/"))
    if "://" in url or "::" in url:
        return None
    return os.path.abspath(os.path.expanduser(url))


@dataclass(frozen=True)
class ObjectInfo:
    path: str
    size: int


class Store:
    """One store root: ``gs://bucket/prefix``, ``s3://...``, ``memory://x``, a directory."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self.display_url = redact_url(url)
        self.storage_options = dict(storage_options or {})
        self._secrets = sorted(
            {*secrets_in_options(self.storage_options), *secrets_in_url(url)}, key=len, reverse=True
        )
        self._fs: Any = None
        self._root = ""
        self._unreachable: tuple[float, str] | None = None  # (when, why), for UNREACHABLE_FOR

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._connect()
        return self._fs

    @property
    def root(self) -> str:
        if self._fs is None:
            self._connect()
        return self._root

    def _connect(self) -> None:
        import fsspec.core

        # gcsfs logs every exhausted retry with a traceback (which pytest then shows under
        # "Captured log"); our error says it in one line, so its log keeps one line too.
        gcsfs_log = logging.getLogger("gcsfs")
        if not any(isinstance(f, _NoTraceback) for f in gcsfs_log.filters):
            gcsfs_log.addFilter(_NoTraceback())
        options = dict(self.storage_options)
        if "://" in self.url and not self.url.startswith(("file://", "local://", "memory://")):
            # Listings must be fresh: other processes push and claim versions behind our back.
            options.setdefault("use_listings_cache", False)
        if self.url.startswith(("s3://", "s3a://")):
            # botocore's pool holds 10 connections, so a bulk get ran 10 requests at a time
            # (benchmarks: 1,000 objects at 40 ms RTT took 7.5 s; 3.4 s with 64).
            config = dict(options.get("config_kwargs") or {})
            config.setdefault("max_pool_connections", 64)
            options["config_kwargs"] = config
        try:
            fs, root = fsspec.core.url_to_fs(self.url, **options)
        except ImportError as exc:
            raise StoreError(
                f"store {self.display_url} needs a backend that is not installed ({exc}); "
                "install it, e.g. pip install 'pytest-assets[s3]' for s3:// stores"
            ) from None
        except ValueError as exc:
            raise StoreError(
                f"store {self.display_url} is not a URL fsspec understands: {self.scrub(str(exc))}"
            ) from None
        self._fs = fs
        self._root = str(root).rstrip("/")

    @property
    def is_local(self) -> bool:
        protocol = self.fs.protocol
        protocols = {protocol} if isinstance(protocol, str) else set(protocol)
        return bool(protocols & _LOCAL_PROTOCOLS)

    def missing(self) -> str | None:
        """Why the store itself is not there ("there is no bucket b"), or None when it is:
        the directory of a directory store, the bucket of a bucket store (a prefix inside an
        existing bucket is an empty store). Asked only once something was not found, so a
        working store pays nothing for it; a refusal or an error is not proof of absence."""
        if self.is_local:
            root = self.root or "/"
            if os.path.isdir(root):
                return None
            return f"there is no directory {root}" + (
                " (a file is there)" if os.path.exists(root) else ""
            )
        protocol = self.fs.protocol
        protocols = {protocol} if isinstance(protocol, str) else set(protocol)
        bucket = self.root.lstrip("/").split("/", 1)[0]
        if not protocols & _BUCKET_PROTOCOLS or not bucket:
            return None
        try:
            self._call(f"looking for the bucket {bucket}", self.fs.info, bucket)
        except FileNotFoundError:
            return f"there is no bucket {bucket}"
        except StoreError:
            return None
        return None

    def create_directory(self) -> None:
        """Make a directory store's root, refusing to make its parents: a typo in the path
        must not grow a new tree of folders (FileNotFoundError when the parent is missing)."""
        os.mkdir(self.root)

    @property
    def is_async(self) -> bool:
        return bool(getattr(self.fs, "async_impl", False))

    def scrub(self, text: str) -> str:
        """One line, no credentials: what goes into our error messages."""
        text = " ".join(redact_url(text).split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._refuse_if_unreachable(what)
        try:
            return fn(*args, **kwargs)
        except (FileNotFoundError, FileExistsError, AssetsError):
            raise
        except OSError as exc:
            if exc.errno in _LOCAL_DISK_ERRNOS:
                raise  # our disk, not the store: the caller names the cache directory
            raise self._wrap(what, exc) from None
        except Exception as exc:
            raise self._wrap(what, exc) from None

    def _wrap(self, what: str, exc: Exception) -> Exception:
        if isinstance(exc, PermissionError) or _looks_like_forbidden(exc):
            return StoreError(
                f"store {self.display_url} refused access while {what}: "
                f"{self.scrub(str(exc)) or type(exc).__name__}; check the credentials and "
                "permissions for this bucket"
            )
        if _looks_like_not_found(exc):
            return FileNotFoundError(str(exc))
        cause = f"{type(exc).__name__}: {self.scrub(str(exc))[:300]}"
        if _is_connection_failure(exc):
            self._unreachable = (time.monotonic(), f"while {what}: {cause}")
        return StoreError(
            f"could not reach store {self.display_url} while {what}: {cause}; {_NEXT_STEP}"
        )

    def _refuse_if_unreachable(self, what: str) -> None:
        if self._unreachable is None:
            return
        when, why = self._unreachable
        ago = time.monotonic() - when
        if ago >= UNREACHABLE_FOR:
            return
        raise StoreError(
            f"could not reach store {self.display_url} {ago:.0f} s ago ({why}); {what} was not "
            f"tried, as the store is left alone for another {UNREACHABLE_FOR - ago:.0f} s; "
            f"{_NEXT_STEP}"
        )

    # -- layout -----------------------------------------------------------------------------

    def path(self, *parts: str) -> str:
        if not self.root:  # a store at the filesystem's root: "memory://", "/", "file:///"
            return str(getattr(self.fs, "root_marker", "")) + "/".join(parts)
        return "/".join([self.root, *parts])

    def versions_path(self, name: str) -> str:
        return self.path(f"{name}.versions")

    def object_path(self, name: str, version: str) -> str:
        return self.path(name, version)

    def meta_path(self, name: str, version: str) -> str:
        return self.path(name, f"{version}.meta")

    # -- reads ------------------------------------------------------------------------------

    def read_bytes(self, path: str, what: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        # Small objects, one request each: s3fs otherwise sends a HEAD before every GET.
        options = self.download_options() if self.is_async else {}
        try:
            data = self._call(what, self.fs.cat_file, path, **options)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            return None
        return bytes(data)

    def read_json(self, path: str, what: str) -> Any | None:
        data = self.read_bytes(path, what)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise StoreError(
                f"{self.display_url}: {path.removeprefix(self.root + '/')} is not valid JSON "
                f"({exc}); the store is damaged, ask whoever pushed it to repair it"
            ) from None

    def list_dir(self, path: str) -> list[tuple[str, str]]:
        """Direct children of ``path`` as (basename, type) pairs; empty when there is none."""
        try:
            entries = self._call(f"listing {path}", self.fs.ls, path, detail=True)
        except FileNotFoundError:
            return []
        out = []
        for entry in entries:
            base = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            out.append((base, str(entry.get("type", "file"))))
        return out

    def find(self, path: str) -> list[ObjectInfo]:
        """Every object below ``path`` with its size (for assets whose .meta has no sizes)."""
        try:
            found = self._call(f"listing {path}", self.fs.find, path, detail=True)
        except FileNotFoundError:
            return []
        return [
            ObjectInfo(str(info["name"]), int(info.get("size") or 0))
            for info in found.values()
            if info.get("type", "file") != "directory"
        ]

    def find_below(self, path: str) -> dict[str, int]:
        """Objects strictly below ``path`` (a directory version), by relative path, with sizes."""
        base = path.rstrip("/") + "/"
        return {
            obj.path[len(base) :]: obj.size for obj in self.find(path) if obj.path.startswith(base)
        }

    def info(self, path: str) -> ObjectInfo | None:
        try:
            info = self._call(f"reading {path}", self.fs.info, path)
        except FileNotFoundError:
            return None
        return ObjectInfo(str(info["name"]), int(info.get("size") or 0))

    def find_names(self, prefix: str = "") -> list[str]:
        """Asset names: every ``<name>.versions`` object below the root (modelkit's listing)."""
        base = self.path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if prefix and not prefix.endswith("/"):
            base = self.path(prefix).rsplit("/", 1)[0]
        try:
            found = self._call("listing assets", self.fs.find, base)
        except FileNotFoundError:
            return []
        names = []
        root = self.root.rstrip("/") + "/" if self.root else ""
        for path in found:
            path = str(path)
            if path.endswith(".versions") and path.startswith(root):
                name = path[len(root) : -len(".versions")].lstrip("/")  # root "" (memory://)
                if name.startswith(prefix):
                    names.append(name)
        return sorted(names)

    # -- writes -----------------------------------------------------------------------------

    def write_bytes(self, path: str, data: bytes, what: str, *, create_only: bool) -> None:
        """Write one object whole; with ``create_only`` raise FileExistsError when taken."""
        if self.is_local:
            self._call(what, _local_write, path, data, create_only)
            return
        mode = "create" if create_only else "overwrite"
        self._call(what, self.fs.pipe_file, path, data, mode=mode)

    def delete(self, path: str, what: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._call(what, self.fs.rm_file, path)

    def delete_below(self, path: str, what: str) -> None:
        """Remove every object below ``path`` (a directory version); on a directory store its
        folders too, which would otherwise stand where a file of that name could go."""
        if self.is_local:
            with contextlib.suppress(FileNotFoundError):
                self._call(what, shutil.rmtree, path)
            return
        paths = [f"{path}/{rel}" for rel in self.find_below(path)]
        if paths:
            with contextlib.suppress(FileNotFoundError):
                self._call(what, self.fs.rm, paths)

    def put_files(
        self, pairs: Sequence[tuple[str, str]], what: str, progress: FileProgress | None = None
    ) -> None:
        """Upload (local, remote) pairs concurrently, each create-only."""
        if self.is_local:
            tmp_dir = self.path(_LOCAL_TMP)
            for folder in {tmp_dir, *(os.path.dirname(remote) for _, remote in pairs)}:
                self._call(what, os.makedirs, folder, exist_ok=True)
            self._threads(what, partial(_local_copy, tmp_dir=tmp_dir), pairs, progress)
        elif self.is_async:
            self._bulk(what, self.fs.put, pairs, progress, mode="create")
        else:
            self._threads(what, partial(self.fs.put_file, mode="create"), pairs, progress)

    def get_files(
        self, pairs: Sequence[tuple[str, str]], what: str, progress: FileProgress | None = None
    ) -> dict[str, tuple[int, str]]:
        """Download (remote, local) pairs concurrently: fsspec's bulk get on async backends.

        Returns (size, sha256) by local path for the files measured on the way (a directory
        store copies and hashes in one pass); the caller hashes the others afterwards."""
        for folder in {os.path.dirname(local) for _, local in pairs}:
            os.makedirs(folder, exist_ok=True)
        if self.is_local:
            return self._threads(what, _local_get, pairs, progress)
        if self.is_async:
            self._bulk(what, self.fs.get, pairs, progress, **self.download_options())
        else:
            self._threads(what, self.fs.get_file, pairs, progress)
        return {}

    def get_file_hashed(self, remote: str, local: str, what: str) -> tuple[int, str] | None:
        """Download one object, hashing it while it streams in: (size, sha256) of the file.

        None when the backend does not stream one request in order (sync backends, unknown
        options): then the caller hashes the file afterwards.
        """
        options = self.download_options() if self.is_async else {}
        if not options:
            return (self.get_files([(remote, local)], what) or {}).get(local)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        hasher = _stream_hasher(local)
        try:
            self._call(what, self.fs.get_file, remote, local, callback=hasher, **options)
        except BaseException:
            hasher.finish()
            raise
        result: tuple[int, str] | None = hasher.finish()
        return result

    def download_options(self) -> dict[str, Any]:
        """Per-object ``get`` options: one streamed request per object.

        By default gcsfs spends two metadata requests per object before its GET, and gcsfs
        and s3fs fetch a large object in ranged parts buffered in memory (s3fs: 10 parts of
        50 MB at once). The parallelism we need comes from fetching many objects at once.
        """
        fs = self.fs
        protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
        if protocols & {"gs", "gcs"} and hasattr(fs, "_get_file_concurrent"):
            return {"concurrency": 1}
        if "s3" in protocols and "max_concurrency" in inspect.signature(fs._get_file).parameters:
            return {"max_concurrency": 1}
        return {}

    def _bulk(
        self,
        what: str,
        fn: Callable[..., Any],
        pairs: Sequence[tuple[str, str]],
        progress: FileProgress | None,
        **kwargs: Any,
    ) -> None:
        if not pairs:
            return
        callback = progress.fsspec_callback() if progress else None
        if callback is not None:
            kwargs["callback"] = callback
        self._call(what, fn, [a for a, _ in pairs], [b for _, b in pairs], **kwargs)

    def gather(self, *calls: Callable[[], Any]) -> tuple[Any, ...]:
        """Run independent store requests at once: one round trip instead of several."""
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(call) for call in calls]
            return tuple(future.result() for future in futures)

    def _threads(
        self,
        what: str,
        fn: Callable[[str, str], Any],
        pairs: Sequence[tuple[str, str]],
        progress: FileProgress | None,
    ) -> dict[str, Any]:
        """``fn`` over the pairs; its results by target."""
        results: dict[str, Any] = {}

        def job(source: str, target: str) -> None:
            results[target] = self._call(what, fn, source, target)
            if progress is not None:
                progress.advance()

        done = 0
        if self.is_local:
            # On a local disk a copy takes well under a millisecond and threads only contend
            # (1,000 x 10 KB on 2 cores: 33 ms in a loop, ~100 ms with 16 threads); a mounted
            # network share (NFS, SMB) is slow per file, and there overlapping pays again.
            started = time.perf_counter()
            while done < len(pairs) and (
                done < _PROBE_FILES or (time.perf_counter() - started) / done < _SLOW_COPY_SECONDS
            ):
                job(*pairs[done])
                done += 1
        pending = pairs[done:]
        if len(pending) == 1:
            job(*pending[0])
        elif pending:
            with ThreadPoolExecutor(max_workers=min(_THREADS, len(pending))) as pool:
                for future in [pool.submit(job, a, b) for a, b in pending]:
                    future.result()
        return results


def _stream_hasher(local: str) -> Any:
    """An fsspec callback that sha256es ``local`` in a thread while a single-stream download
    writes it, so hashing overlaps the network instead of following it.

    Only the bytes the backend reports written are read; a new ``set_size`` is a new attempt
    (gcsfs retries reopen the file), which restarts the hash. ``finish()`` reads the rest and
    returns (size, sha256), or None if the file did not end where the hash did.
    """
    import hashlib
    import threading

    from fsspec.callbacks import Callback

    class StreamHasher(Callback):  # type: ignore[misc]
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
                        fd, _HASH_CHUNK if done else min(_HASH_CHUNK, limit - offset), offset
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

    return StreamHasher()


class _NoTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


_NEXT_STEP = (
    "check the URL and the network, or work from the cache with offline mode "
    "(--offline, ASSETS_OFFLINE=1)"
)


def _is_connection_failure(exc: BaseException) -> bool:
    """The store did not answer at all (as opposed to answering something we cannot use)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError) or any(
            cls.__name__ in _CONNECTION_FAILURES for cls in type(current).__mro__
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _looks_like_not_found(exc: Exception) -> bool:
    code = getattr(exc, "code", None) or getattr(exc, "status", None)
    return code == 404


def _looks_like_forbidden(exc: Exception) -> bool:
    """401/403 under the names backends give them (gcsfs raises a bare "Forbidden" OSError)."""
    code = getattr(exc, "code", None) or getattr(exc, "status", None)
    text = str(exc)
    return code in (401, 403) or text.startswith(_FORBIDDEN_WORDS) or "AccessDenied" in text


def _local_write(path: str, data: bytes, create_only: bool) -> None:
    """Whole-or-nothing local write: temp file, then link (create-only) or replace. The temp
    file is created 0666 less the umask, as the data objects are (``mkstemp``'s 0600 kept
    ``.versions`` and ``.meta`` from every other user of a shared directory store)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if create_only:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _local_get(source: str, target: str) -> tuple[int, str]:
    """Copy one object out of a directory store, hashing it on the way: (size, sha256). The
    copy is created read-only, as the cache keeps it. A folder at the object's path, or a file
    where a folder should be, means there is no such object: as an object store would say."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        with open(source, "rb") as reader, open(os.open(target, flags, _READ_ONLY), "wb") as out:
            if os.fstat(reader.fileno()).st_size >= _KERNEL_COPY_BYTES:
                return _kernel_copy_hashing(reader.fileno(), out.fileno(), target)
            digest, size = hashlib.sha256(), 0
            while chunk := reader.read(_HASH_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            return size, digest.hexdigest()
    except (IsADirectoryError, NotADirectoryError) as exc:
        raise FileNotFoundError(errno.ENOENT, f"no object there ({exc.strerror})", source) from None


def _kernel_copy_hashing(source_fd: int, target_fd: int, target: str) -> tuple[int, str]:
    """A big file: the kernel copies it (sendfile, ~4 GB/s from the page cache) while a thread
    hashes what has landed, so the sha256 (~2 GB/s) overlaps the copy instead of following it.
    It hashes the copy itself, never the source, so what is verified is what the cache keeps."""
    hasher = _stream_hasher(target)
    try:
        hasher.set_size(os.fstat(source_fd).st_size)
        while sent := os.sendfile(target_fd, source_fd, None, _KERNEL_COPY_CHUNK):
            hasher.relative_update(sent)
    finally:
        result: tuple[int, str] | None = hasher.finish()
    if result is None:  # the hashing thread could not follow: read the copy once more
        result = sha256_file(target)
    return result


def _local_copy(source: str, target: str, tmp_dir: str) -> None:
    """Create-only, whole-or-nothing copy into a local store: temp file, then link. The temp
    file lives outside every version, so a killed copy leaves no debris among its objects.
    The caller makes the folders (once for all the files, not once per file)."""
    tmp = os.path.join(tmp_dir, f".tmp-{uuid.uuid4().hex}")
    try:
        shutil.copyfile(source, tmp)
        os.link(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
