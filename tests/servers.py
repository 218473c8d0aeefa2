"""Real object-store servers on loopback for tests: gcp-storage-emulator, moto (S3), Azurite.

Each server runs as a subprocess bound to 127.0.0.1 on a free port, so tests exercise
the real fsspec backends (gcsfs, s3fs, adlfs) over real HTTP, including failure modes such as
a server that dies mid-download (``Server.stop`` / ``Server.start`` keep the port).

Plain Python on purpose (no pytest import) so throwaway scripts and benchmarks can
start servers too. Bucket creation uses bare HTTP rather than gcsfs/s3fs so that
importing this module never imports gcsfs: gcsfs must see
``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` *before* its first import (see conftest.py).

Known server quirks (see tests/test_servers.py for the asserted behaviour):

* gcp-storage-emulator handles one request at a time; ``_gcs_emulator_main.py`` raises
  its listen backlog so concurrent clients queue instead of being reset.
* The emulator ignores ``ifGenerationMatch=0``: gcsfs ``mode="create"`` overwrites.
* The emulator answers unsupported calls with 501, which gcsfs retries for ~30 s.
* In-memory state (moto and Azurite always, the emulator unless given ``data_dir``) is lost
  on ``stop``/``restart``.
* Azurite (Node.js) is installed by tests/setup-env.sh into ``.azurite/`` with npm; where it
  is not there, :func:`azurite_missing` says why and the Azure tests are skipped.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Server",
    "ServerExitedError",
    "ServerStartError",
    "azure_retries",
    "azurite_missing",
    "free_port",
    "gcsfs_retries",
    "start_azurite",
    "start_gcs_emulator",
    "start_moto",
    "unique_bucket_name",
]

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 30.0  # moto imports boto and flask; a cold start can take seconds
STOP_TIMEOUT = 5.0
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_GCS_LAUNCHER = Path(__file__).with_name("_gcs_emulator_main.py")
_AZURITE = Path(__file__).parent.parent / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's one account, with the well-known key it documents (no secret: every Azurite has it).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

Kind = Literal["gcs", "s3", "az"]


@dataclass(frozen=True)
class StoreUnderTest:
    """Where a test may read and write: a URL prefix plus the fsspec options to reach it."""

    url: str
    storage_options: dict[str, Any] = field(hash=False)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Racy by nature (another process may take it before the server binds); the
    ``start_*`` functions retry on a fresh port if the server fails to bind.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def unique_bucket_name(prefix: str = "t") -> str:
    """A fresh bucket name valid for both GCS and S3 (``[a-z0-9-]``, 3-63 chars)."""
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def _pdeathsig_setter() -> Callable[[], None] | None:
    """Linux only: a preexec_fn making the kernel SIGTERM the server when its parent dies.

    Without it a SIGKILLed pytest (timeout, OOM) leaves servers listening forever. The
    libc function is resolved here, in the parent, so the forked child runs no imports.
    """
    if sys.platform != "linux":
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    sigterm = int(signal.SIGTERM)

    def setter() -> None:  # pragma: no cover - runs in the child between fork and exec
        prctl(pr_set_pdeathsig, sigterm)

    return setter


_SET_PDEATHSIG = _pdeathsig_setter()


class ServerStartError(RuntimeError):
    """The server process exited or never answered HTTP within the startup timeout."""


class ServerExitedError(ServerStartError):
    """The server process exited during startup (e.g. its port was taken meanwhile)."""


class Server:
    """A storage server subprocess on a fixed loopback port.

    ``stop()`` then ``start()`` (or ``restart()``) brings it back on the same port and
    endpoint, so already-built fsspec instances keep pointing at it.
    """

    def __init__(
        self,
        kind: Kind,
        port: int,
        data_dir: Path | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.kind: Kind = kind
        self.port = port
        self.data_dir = data_dir
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    # -- identity ----------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:45678``."""
        return f"http://{HOST}:{self.port}"

    @property
    def protocol(self) -> str:
        """fsspec protocol served: ``gs``, ``s3`` or ``az``."""
        return {"gcs": "gs", "s3": "s3", "az": "az"}[self.kind]

    @property
    def connection_string(self) -> str:
        """Azurite's connection string (its account and key), as adlfs and modelkit take it."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={self.endpoint}/{AZURITE_ACCOUNT};"
        )

    def storage_options(self) -> dict[str, Any]:
        """fsspec ``storage_options`` that point gcsfs/s3fs at this server.

        S3 leaves ``region_name`` unset on purpose: with a region, s3fs sends a
        LocationConstraint that moto rejects for bucket creation.
        """
        if self.kind == "gcs":
            return {"endpoint_url": self.endpoint, "token": "anon"}
        if self.kind == "az":
            return {"connection_string": self.connection_string}
        return {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": self.endpoint},
        }

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<Server {self.kind} {self.endpoint} {state}>"

    # -- lifecycle ---------------------------------------------------------------------

    def _argv(self) -> tuple[list[str], bytes]:
        """Command line, and the line it prints once its socket is bound."""
        if self.kind == "gcs":
            argv = [sys.executable, str(_GCS_LAUNCHER), "--host", HOST, "--port", str(self.port)]
            if self.data_dir is not None:
                argv += ["--data-dir", str(self.data_dir)]
            return argv, f"gcs emulator listening on {self.endpoint}".encode()
        if self.kind == "az":
            missing = azurite_missing()
            if missing:
                raise ServerStartError(missing)
            argv = [str(_AZURITE), "--blobHost", HOST, "--blobPort", str(self.port)]
            argv += ["--inMemoryPersistence", "--loose", "--skipApiVersionCheck"]
            argv += ["--extentMemoryLimit", "512"]
            return argv, f"successfully listens on {self.endpoint}".encode()
        # The console script sits next to the venv's interpreter.
        moto = Path(sys.executable).with_name("moto_server")
        if not moto.exists():
            raise ServerStartError(f"moto_server not found next to {sys.executable}")
        return [str(moto), "-H", HOST, "-p", str(self.port)], f"Running on {self.endpoint}".encode()

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the process and block until it answers HTTP (or raise ServerStartError)."""
        if self.is_running:
            return
        argv, ready_line = self._argv()
        if self._log_path is None:
            # A file, not a pipe: nobody drains the server's output, and a full pipe
            # would eventually block the server mid-request.
            fd, name = tempfile.mkstemp(prefix=f"{self.kind}-server-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        log_start = self._log_path.stat().st_size
        env = dict(os.environ, MOTO_PORT=str(self.port), PYTHONUNBUFFERED="1")
        # PDEATHSIG fires when the *thread* that forked exits, so only tie the server's
        # life to the main thread; a restart from a helper thread must outlive it.
        in_main = threading.current_thread() is threading.main_thread()
        # Append mode: the server writes at the end whatever log_tail() reads meanwhile.
        with self._log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_SET_PDEATHSIG if in_main else None,
            )
        self._wait_until_up(ready_line, log_start)

    def _wait_until_up(self, ready_line: bytes, log_start: int) -> None:
        """Wait for our process to report its bound socket, then for an HTTP answer.

        The log line guards against a port race: if another program grabbed the port,
        our server fails to bind, never prints it, and exits.
        """
        assert self._proc is not None and self._log_path is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            with self._log_path.open("rb") as log:
                log.seek(log_start)
                bound = ready_line in log.read()
            if bound and _answers_http(self.port):
                return
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise ServerExitedError(
                    f"{self.kind} server exited with code {code} before answering on "
                    f"{self.endpoint}; output:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self._terminate()
                raise ServerStartError(
                    f"{self.kind} server did not answer on {self.endpoint} within "
                    f"{self.startup_timeout:.0f}s; output:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s); idempotent."""
        self._terminate()

    def kill(self) -> None:
        """SIGKILL the server: an abrupt death, with no graceful connection close."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop and start again on the same port (state survives only for GCS + data_dir)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its log file."""
        self.stop()
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log_tail(self, limit: int = 4000) -> str:
        """Last ``limit`` bytes of the server's combined stdout/stderr (all runs so far)."""
        if self._log_path is None:
            return ""
        with self._log_path.open("rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - limit))
            return log.read().decode("utf-8", "replace")

    # -- data --------------------------------------------------------------------------

    def make_bucket(self, name: str) -> None:
        """Create bucket ``name`` over plain HTTP (no gcsfs/s3fs import needed)."""
        if not _BUCKET_RE.match(name):
            raise ValueError(f"bucket name must match {_BUCKET_RE.pattern}: {name!r}")
        if self.kind == "az":
            # Azure signs every request with the account key: the SDK does that (it is adlfs'
            # own dependency and imports neither gcsfs nor s3fs).
            from azure.storage.blob import BlobServiceClient

            with BlobServiceClient.from_connection_string(self.connection_string) as client:
                client.create_container(name)
            return
        if self.kind == "gcs":
            body = json.dumps({"name": name}).encode()
            status, text = _http(
                self.port,
                "POST",
                "/storage/v1/b?project=test",
                body,
                {"Content-Type": "application/json"},
            )
        else:
            status, text = _http(self.port, "PUT", f"/{name}", b"", {})
        if status not in (200, 201):
            raise RuntimeError(f"creating bucket {name!r} on {self}: HTTP {status}: {text}")


def _http(
    port: int, method: str, path: str, body: bytes, headers: dict[str, str], timeout: float = 10
) -> tuple[int, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _answers_http(port: int) -> bool:
    """True once anything answers HTTP on the port (any status counts as up)."""
    try:
        _http(port, "GET", "/", b"", {}, timeout=1)
    except (OSError, http.client.HTTPException):
        return False
    return True


def _start(kind: Kind, data_dir: Path | None, startup_timeout: float, attempts: int = 3) -> Server:
    """Start on a free port, retrying on a new port if the process dies (port race)."""
    for attempt in range(attempts):
        server = Server(kind, free_port(), data_dir=data_dir, startup_timeout=startup_timeout)
        try:
            server.start()
        except ServerExitedError:
            server.close()
            if attempt == attempts - 1:
                raise
            continue
        except BaseException:
            server.close()
            raise
        return server
    raise AssertionError("unreachable")


def start_gcs_emulator(
    data_dir: Path | None = None, startup_timeout: float = STARTUP_TIMEOUT
) -> Server:
    """Start gcp-storage-emulator via ``_gcs_emulator_main.py``; in memory unless ``data_dir``.

    Pass ``data_dir`` (e.g. a tmp dir) when objects must survive ``restart()``.
    """
    return _start("gcs", data_dir, startup_timeout)


def start_moto(startup_timeout: float = STARTUP_TIMEOUT) -> Server:
    """Start ``moto_server`` (S3 and friends, in memory; state is lost on restart)."""
    return _start("s3", None, startup_timeout)


def azurite_missing() -> str | None:
    """Why Azurite cannot be started here, or None when it can."""
    if _AZURITE.exists():
        return None
    if shutil.which("npm") is None:
        return (
            "Azurite needs Node.js and npm, which are not installed (install Node.js 18 or "
            "newer, then run bash tests/setup-env.sh)"
        )
    return f"Azurite is not installed in {_AZURITE.parents[2]}: run bash tests/setup-env.sh"


def start_azurite(startup_timeout: float = STARTUP_TIMEOUT) -> Server:
    """Start Azurite's blob service (in memory; state is lost on restart)."""
    return _start("az", None, startup_timeout)


@contextlib.contextmanager
def gcsfs_retries(attempts: int) -> Iterator[None]:
    """Temporarily make every gcsfs HTTP request try ``attempts`` times (default 6).

    gcsfs has no option for this: ``GCSFileSystem._request`` (and the downloads'
    ``_get_file_request``, ``_get_file_concurrent``) are decorated with a fixed
    ``retry_request(retries=6)`` (backoff 1+2+4+8+16 s plus jitter), so a dead server
    or a 5xx (the emulator's 501 for unsupported calls) takes ~33 s to surface; the
    ``retries`` attribute is not consulted. This swaps the decorated methods, process-wide.
    """
    from gcsfs.core import GCSFileSystem
    from gcsfs.retry import retry_request

    names = ("_request", "_get_file_request", "_get_file_concurrent")
    originals = {
        name: GCSFileSystem.__dict__[name] for name in names if name in vars(GCSFileSystem)
    }
    for name, original in originals.items():
        setattr(GCSFileSystem, name, retry_request(retries=attempts)(original.__wrapped__))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(GCSFileSystem, name, original)


@contextlib.contextmanager
def azure_retries(attempts: int, backoff: float = 0.2) -> Iterator[None]:
    """Make the Azure clients built meanwhile try each request ``attempts`` times, ``backoff``
    seconds apart (the SDK's default retries a refused connection 3 times, 15 s, 18 s and 24 s
    apart: a dead Azurite took 84 s to surface). Process-wide, like :func:`gcsfs_retries`."""
    from azure.storage.blob._shared.policies_async import ExponentialRetry

    original = ExponentialRetry.__init__

    def init(self: ExponentialRetry, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", attempts - 1)
        kwargs.setdefault("initial_backoff", backoff)
        kwargs.setdefault("increment_base", 1)
        original(self, **kwargs)

    ExponentialRetry.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        ExponentialRetry.__init__ = original  # type: ignore[method-assign]


@contextlib.contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A stand-in HTTP endpoint on loopback (a store front that denies, echoes, ...): its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
