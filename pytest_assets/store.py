"""The object store, reached through fsspec: connection, error translation, reads, writes.

Every call into fsspec goes through :meth:`Store._call`, which turns the zoo of backend
exceptions (aiohttp, botocore, gcsfs' HttpError, OSError) into our :class:`StoreError` with the
store's URL, the cause and the next step, with credentials scrubbed. ``FileNotFoundError`` and
``FileExistsError`` pass through: callers give them meaning (a missing version, a taken one).
The names of the objects are modelkit's (:mod:`layout`); a directory store is read and written
by :mod:`localdisk`, not through fsspec.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from . import localdisk
from .connections import DEFAULT_MAX_CONNECTIONS
from .errors import StoreError
from .faces import PYTHON
from .layout import Layout
from .progress import FileProgress
from .reachable import gcs_endpoint, probe
from .redact import redact_url, secrets_in_environment, secrets_in_options, secrets_in_url
from .store_errors import NoTraceback, StoreErrors, install_hint

T = TypeVar("T")

_LOCAL_PROTOCOLS = {"file", "local"}
# Stores inside a bucket: the store is missing when the bucket is (a missing prefix is empty).
_BUCKET_PROTOCOLS = {"s3", "s3a", "gs", "gcs", "az", "abfs", "adl", "oss", "oci"}
_THREADS = 16  # transfers at once on a backend without bulk calls (sync ones, directories)


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


@dataclass(frozen=True)
class ObjectVersion:
    """What ranged reads of one object are pinned to: its size and its version token (S3's
    ETag, sent as ``If-Match``; GCS's generation, read by number), so that the ranges of one
    download can never come from two different objects."""

    size: int
    token: str


def version_of(info: Mapping[str, Any]) -> ObjectVersion | None:
    """What fsspec's ``info`` says of an object's version; None when it gives no token."""
    token = info.get("generation") or info.get("ETag") or info.get("etag")
    return ObjectVersion(int(info.get("size") or 0), str(token)) if token else None


class Store:
    """One store root: ``gs://bucket/prefix``, ``s3://...``, ``memory://x``, a directory."""

    def __init__(
        self,
        url: str,
        storage_options: Mapping[str, Any] | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        *,
        offline_hint: str = PYTHON.offline,
    ) -> None:
        self.url = url
        self.max_connections = max_connections  # requests one download may have open at once
        self.display_url = redact_url(url)
        self.storage_options = dict(storage_options or {})
        secrets = {
            *secrets_in_options(self.storage_options),
            *secrets_in_url(url),
            *secrets_in_environment(os.environ),
        }
        secrets_first = sorted(secrets, key=len, reverse=True)
        self.errors = StoreErrors(self.display_url, secrets_first, offline_hint)
        self._fs: Any = None
        self._layout = Layout("")

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._connect()
        return self._fs

    @property
    def layout(self) -> Layout:
        """modelkit's names below this store's root (known once connected)."""
        if self._fs is None:
            self._connect()
        return self._layout

    @property
    def root(self) -> str:
        return self.layout.root

    def _connect(self) -> None:
        import fsspec.core

        # gcsfs logs every exhausted retry with a traceback (which pytest then shows under
        # "Captured log"); our error says it in one line, so its log keeps one line too.
        gcsfs_log = logging.getLogger("gcsfs")
        if not any(isinstance(f, NoTraceback) for f in gcsfs_log.filters):
            gcsfs_log.addFilter(NoTraceback())
        options = dict(self.storage_options)
        if "://" in self.url and not self.url.startswith(("file://", "local://", "memory://")):
            # Listings must be fresh: other processes push and claim versions behind our back.
            options.setdefault("use_listings_cache", False)
        if self.url.startswith(("az://", "abfs://", "abfss://")):
            # adlfs reads AZURE_STORAGE_* when the options name no account, and fsspec reuses
            # an instance by its options alone: a later change of those variables would reach
            # the account of the first one.
            options.setdefault("skip_instance_cache", True)
        if self.url.startswith(("s3://", "s3a://")):
            # botocore's pool holds 10 connections, so a bulk get ran 10 requests at a time
            # (benchmarks: 1,000 objects at 40 ms RTT took 7.5 s; 3.4 s with 64): the budget.
            config = dict(options.get("config_kwargs") or {})
            config.setdefault("max_pool_connections", self.max_connections)
            options["config_kwargs"] = config
        endpoint = gcs_endpoint(self.url, options)
        if endpoint is not None:  # before gcsfs looks for credentials and retries
            self._call(f"connecting to {redact_url(endpoint)}", probe, endpoint)
        try:
            fs, root = fsspec.core.url_to_fs(self.url, **options)
        except ImportError as exc:
            raise StoreError(
                f"store {self.display_url} needs a backend that is not installed ({exc}); "
                f"{install_hint(self.url)}"
            ) from None
        except ValueError as exc:
            raise StoreError(
                f"store {self.display_url} is not a URL fsspec understands: {self.scrub(str(exc))}"
            ) from None
        self._fs = fs
        self._layout = Layout(str(root).rstrip("/"), str(getattr(fs, "root_marker", "")))

    @property
    def protocols(self) -> set[str]:
        """The backend's names for itself (``{"gs", "gcs"}``)."""
        protocol = self.fs.protocol
        return {protocol} if isinstance(protocol, str) else set(protocol)

    @property
    def is_local(self) -> bool:
        return bool(self.protocols & _LOCAL_PROTOCOLS)

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
        bucket = self.root.lstrip("/").split("/", 1)[0]
        if not self.protocols & _BUCKET_PROTOCOLS or not bucket:
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
        return self.errors.scrub(text)

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.errors.call(what, fn, *args, **kwargs)

    # -- modelkit's names, from the layout (so callers ask the store for them) ---------------

    def path(self, *parts: str) -> str:
        return self.layout.path(*parts)

    def versions_path(self, name: str) -> str:
        return self.layout.versions_path(name)

    def object_path(self, name: str, version: str) -> str:
        return self.layout.object_path(name, version)

    def meta_path(self, name: str, version: str) -> str:
        return self.layout.meta_path(name, version)

    def claim_path(self, name: str, version: str) -> str:
        return self.layout.claim_path(name, version)

    def versions_lock_path(self, name: str) -> str:
        return self.layout.versions_lock_path(name)

    def parts_path(self, name: str, version: str) -> str:
        return self.layout.parts_path(name, version)

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
        try:
            found = self._call("listing assets", self.fs.find, self.layout.names_folder(prefix))
        except FileNotFoundError:
            return []
        names = (self.layout.name_of(str(path)) for path in found)
        return sorted(name for name in names if name is not None and name.startswith(prefix))

    # -- writes -----------------------------------------------------------------------------

    def write_bytes(self, path: str, data: bytes, what: str, *, create_only: bool) -> None:
        """Write one object whole; with ``create_only`` raise FileExistsError when taken."""
        if self.is_local:
            self._call(what, localdisk.write_atomic, path, data, create_only=create_only)
            return
        mode = "create" if create_only else "overwrite"
        self._call(what, self.fs.pipe_file, path, data, mode=mode)

    def delete(self, path: str, what: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._call(what, self._rm_file, path)

    def _rm_file(self, path: str) -> None:
        """adlfs before 2025 has no ``rm_file`` under the fsspec we admit (NotImplementedError,
        seen in the lowest-versions session); its ``rm`` of one path is the same request."""
        try:
            self.fs.rm_file(path)
        except NotImplementedError:
            self.fs.rm(path)

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
            tmp_dir = self.layout.local_tmp_path()
            for folder in {tmp_dir, *(os.path.dirname(remote) for _, remote in pairs)}:
                self._call(what, os.makedirs, folder, exist_ok=True)
            self._threads(what, partial(localdisk.copy_in, tmp_dir=tmp_dir), pairs, progress)
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
            return self._threads(what, partial(localdisk.copy_out, what=what), pairs, progress)
        if self.is_async:
            options = {"batch_size": self.max_connections, **self.download_options()}
            self._bulk(what, self.fs.get, pairs, progress, **options)
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
            return self.get_files([(remote, local)], what).get(local)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        hasher = localdisk.stream_hasher(local)
        try:
            self._call(what, self.fs.get_file, remote, local, callback=hasher, **options)
        except BaseException:
            hasher.finish()
            raise
        return hasher.finish()

    def download_options(self) -> dict[str, Any]:
        """Per-object ``get`` options: one streamed request per object.

        By default gcsfs spends two metadata requests per object before its GET, and gcsfs
        and s3fs fetch a large object in ranged parts buffered in memory (s3fs: 10 parts of
        50 MB at once). The parallelism we need comes from fetching many objects at once.
        """
        fs, protocols = self.fs, self.protocols
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

        done = localdisk.copy_while_fast(job, pairs) if self.is_local else 0
        pending = pairs[done:]
        if len(pending) == 1:
            job(*pending[0])
        elif pending:
            with ThreadPoolExecutor(max_workers=min(_THREADS, len(pending))) as pool:
                for future in [pool.submit(job, a, b) for a, b in pending]:
                    future.result()
        return results
