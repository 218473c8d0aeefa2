"""The stores a benchmark runs against, the proxies in front of them, and small measuring tools.

Everything listens on 127.0.0.1: the GCS emulator, moto and Azurite come from
``tests/servers.py``, each ``+20ms`` store is the same server behind ``delay_proxy.py``.
Importing this module sets ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` (gcsfs reads it at
import; without it every write stalls on a gRPC probe against the emulator).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "tests"))

from servers import (  # noqa: E402
    Server,
    start_azurite,
    start_gcs_emulator,
    start_moto,
    unique_bucket_name,
)

HOST = "127.0.0.1"
PREFIX = "bench"
MB = 1 << 20
# The capped link (``+cap``): what one connection carries each way, and what all of them
# carry together (the NIC), so that 12 connections fill the link. 48 MB/s is a sixth of what
# the proxy itself carried on this 2-core VM (~300 MB/s, 12 streams; linkmeter.py), so the
# caps, not the proxy, set the pace; and moto and the emulator serve one stream faster.
CONN_RATE = 4.0 * MB
LINK_RATE = 48.0 * MB
LINK_STREAMS = 12


class Proxy:
    """``delay_proxy.py`` in its own process (so it never competes for our GIL)."""

    def __init__(
        self,
        upstream_port: int,
        delay: float,
        conn_rate: float | None = None,
        link_rate: float | None = None,
    ) -> None:
        self.delay = delay
        self.conn_rate, self.link_rate = conn_rate, link_rate
        caps = [("--conn-rate", conn_rate), ("--link-rate", link_rate)]
        self._proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "delay_proxy.py"),
                "--upstream",
                f"{HOST}:{upstream_port}",
                "--delay",
                str(delay),
                *[arg for flag, rate in caps if rate for arg in (flag, repr(rate))],
            ],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().split()
        if len(line) != 2:
            self.close()
            raise RuntimeError("delay_proxy.py did not start")
        self.port, self.control_port = int(line[0]), int(line[1])

    def _ask(self, command: str) -> dict[str, Any]:
        with socket.create_connection((HOST, self.control_port), timeout=30) as sock:
            sock.sendall(command.encode() + b"\n")
            with sock.makefile("r") as reply:
                answer: dict[str, Any] = json.loads(reply.readline())
                return answer

    def stats(self) -> dict[str, Any]:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(5)


@dataclass
class Target:
    """One store as the benchmarks see it: a URL, fsspec options, maybe a proxy in front."""

    label: str
    kind: str  # local | gcs | s3 | az
    url: str
    options: dict[str, Any]
    bucket: str
    endpoint: str | None = None
    proxy: Proxy | None = None

    @property
    def remote(self) -> bool:
        return self.kind != "local"

    @property
    def capped(self) -> bool:
        return self.proxy is not None and self.proxy.link_rate is not None

    @property
    def delayed(self) -> bool:
        return self.proxy is not None and self.proxy.delay > 0

    def modelkit_provider(self) -> Any:
        """modelkit 0.1.x's StorageProvider on the same store (its own clients, our endpoint)."""
        from modelkit.assets.remote import StorageProvider

        if self.kind == "local":
            return StorageProvider(provider="local", bucket=self.bucket, prefix=PREFIX)
        if self.kind == "gcs":
            from google.auth.credentials import AnonymousCredentials
            from google.cloud.storage import Client

            client = Client(
                project="bench",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": self.endpoint},
            )
            return StorageProvider(provider="gcs", bucket=self.bucket, prefix=PREFIX, client=client)
        if self.kind == "az":
            connection = self.options["connection_string"]
            return StorageProvider(
                provider="az", bucket=self.bucket, prefix=PREFIX, connection_string=connection
            )
        return StorageProvider(
            provider="s3",
            bucket=self.bucket,
            prefix=PREFIX,
            s3_endpoint=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _options(server: Server, endpoint: str) -> dict[str, Any]:
    return _at(server.kind, dict(server.storage_options()), server.endpoint, endpoint)


def _at(kind: str, options: dict[str, Any], old: str | None, endpoint: str) -> dict[str, Any]:
    """``options`` pointed at ``endpoint`` (a proxy) instead of ``old``."""
    if kind == "gcs":
        options["endpoint_url"] = endpoint
    elif kind == "az":
        options["connection_string"] = options["connection_string"].replace(str(old), endpoint)
    else:
        options["client_kwargs"] = {"endpoint_url": endpoint}
    return options


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """``values`` in the environment a server started meanwhile inherits."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def stores(labels: list[str], workspace: Path, delay: float = 0.02) -> Iterator[list[Target]]:
    """Start what ``labels`` need (local, gcs, s3, az, gcs+20ms, s3+20ms, gcs+cap, s3+cap) and
    yield the targets. ``+cap`` is ``+20ms`` with ``CONN_RATE`` and ``LINK_RATE``."""
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        buckets: dict[str, str] = {}
        targets = []
        for label in labels:
            kind = label.split("+")[0]
            if kind == "local":
                root = workspace / "local-store"
                root.mkdir(exist_ok=True)
                targets.append(
                    Target(label, "local", str(root / PREFIX), {}, bucket=str(root), endpoint=None)
                )
                continue
            # The capped link's GCS emulator serves a thread per request, as GCS (and moto)
            # serve connections at once: one at a time, every ranged GET behind the capped
            # link queues until the responses before it are carried (tests/_gcs_emulator_main.py)
            key = f"{kind}-threaded" if kind == "gcs" and label.endswith("+cap") else kind
            if key not in servers:
                start = {"gcs": start_gcs_emulator, "s3": start_moto, "az": start_azurite}[kind]
                with _environment(PYTEST_ASSETS_GCS_EMULATOR_THREADS="1" if key != kind else "0"):
                    server = start()
                stack.callback(server.close)
                servers[key] = server
                buckets[key] = unique_bucket_name("bench")
                server.make_bucket(buckets[key])
            server, bucket = servers[key], buckets[key]
            proxy = None
            endpoint = server.endpoint
            if "+" in label:
                capped = label.endswith("+cap")
                caps = (CONN_RATE, LINK_RATE) if capped else (None, None)
                proxy = Proxy(server.port, delay, *caps)
                stack.callback(proxy.close)
                endpoint = f"http://{HOST}:{proxy.port}"
            url = f"{server.protocol}://{bucket}/{PREFIX}"
            targets.append(
                Target(label, kind, url, _options(server, endpoint), bucket, endpoint, proxy)
            )
        yield targets


def counting_proxy(target: Target) -> tuple[Target, Proxy]:
    """The same store behind a zero-delay proxy: counts HTTP requests, adds no latency."""
    assert target.remote and target.proxy is None and target.endpoint
    port = int(urlsplit(target.endpoint).port or 0)
    proxy = Proxy(port, 0.0)
    endpoint = f"http://{HOST}:{proxy.port}"
    options = _at(target.kind, dict(target.options), target.endpoint, endpoint)
    counted = Target(target.label, target.kind, target.url, options, target.bucket, endpoint, proxy)
    return counted, proxy


def object_reads(stats: dict[str, Any]) -> Counter[str]:
    """Data reads (GET of an object's bytes) per object key, from a proxy's request log."""
    reads: Counter[str] = Counter()
    for target, count in stats.get("by_target", {}).items():
        method, _, raw = target.partition(" ")
        if method != "GET":
            continue
        parts = urlsplit(raw)
        path = unquote(parts.path)
        if "/download/storage/v1/b/" in path and "alt=media" in parts.query:
            key = path.split("/o/", 1)[1]  # GCS media download
        elif "/storage/v1/" in path or parts.query:
            continue  # GCS metadata or listing, S3 listing
        else:
            key = path.lstrip("/").split("/", 1)[-1]  # S3: /bucket/key
        reads[key] += count
    return reads


@dataclass
class CallCounter:
    """Counts every method call made on a wrapped fsspec filesystem."""

    calls: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class CountingFS:
    """Stands in for a Store's fsspec filesystem and counts the calls that reach it."""

    def __init__(self, fs: Any, counter: CallCounter) -> None:
        self._fs = fs
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._fs, name)
        if callable(value) and not name.startswith("__"):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self._counter.calls[name] += 1
                return value(*args, **kwargs)

            return counted
        return value


def count_store_calls(assets: Any) -> CallCounter:
    """Route an ``Assets`` object's store through a CountingFS (the store is built if needed)."""
    counter = CallCounter()
    store = assets.store
    store._fs = CountingFS(store.fs, counter)
    return counter


# -- data ------------------------------------------------------------------------------------


def make_tree(root: Path, files: int, size: int) -> Path:
    """``files`` random files of ``size`` bytes, 100 to a folder (asset-like nesting)."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        folder = root / f"part-{i // 100:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"file-{i:04d}.bin").write_bytes(os.urandom(size))
    return root


def make_big(path: Path, size: int) -> Path:
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for i in range(size >> 20):
            handle.write(chunk[i % 7 :] + chunk[: i % 7])  # distinct MBs, cheap to make
    return path


def tree_pairs(root: Path) -> list[str]:
    """Relative POSIX paths of every file below ``root``, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# -- measuring -------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@contextmanager
def scratch(parent: Path, name: str) -> Iterator[Path]:
    """A fresh folder, removed afterwards even when its files are read-only (a cache)."""
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
    try:
        yield path
    finally:
        for item in path.rglob("*"):
            if item.is_dir() and not item.is_symlink():
                item.chmod(0o700)
        shutil.rmtree(path, ignore_errors=True)


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    return env
