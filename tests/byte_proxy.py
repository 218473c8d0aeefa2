"""A TCP proxy on loopback that counts what a server sends and which byte ranges were asked for.

Tests of ranged fetches put it between the clients (any process) and moto or the GCS emulator,
so "each byte is read once" and "a resumed fetch reads only the rest" are counted on the wire,
not inside the client under test. Plain threads and sockets, like ``servers.py``.

Only connections opened since the last :meth:`ByteProxy.reset` count: a SIGKILLed client's
connections may still carry a response's tail after it died, and that must not be taken for
the next fetch's reads. moto and the emulator close each connection after its response, so a
fetch after a reset opens only new ones (were one kept alive, its reads would go uncounted and
the tests' exact range lists would fail, not pass).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any

from servers import HOST, StoreUnderTest

_RANGE = re.compile(rb"\r\nrange: *bytes=(\d+)-(\d+)\r\n", re.IGNORECASE)
_REQUEST = re.compile(rb"(?:\A|\n)(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/1\.[01]\r\n")
_CHUNK = 256 * 1024


@dataclass
class Traffic:
    """What went through the proxy since the last :meth:`ByteProxy.reset`."""

    down: int = 0  # bytes from the server to the clients, headers included
    ranges: list[tuple[int, int]] = field(default_factory=list)  # (start, end exclusive)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, target)

    @property
    def range_bytes(self) -> int:
        return sum(end - start for start, end in self.ranges)


class ByteProxy:
    """Forward ``HOST:port`` to ``upstream`` (``host:port``), counting as it goes."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.lock = threading.Lock()
        self.traffic = Traffic()
        self.generation = 0  # bumped by reset: older connections no longer count
        self.open: dict[int, int] = {}  # connections still open, by generation
        # the link drops: every connection is cut once this much went down since the reset
        self.cut_after: int | None = None
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def reset(self) -> Traffic:
        """The traffic so far; counting starts again from nothing, on new connections. Waits
        (a few seconds at most) for older connections to close first."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(self.open.values()):
            time.sleep(0.02)
        with self.lock:
            seen, self.traffic = self.traffic, Traffic()
            self.generation += 1
            self.cut_after = None
        return seen

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                generation = self.generation
                self.open[generation] = self.open.get(generation, 0) + 2
            for args in ((client, server, True, generation), (server, client, False, generation)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, upstream: bool, generation: int
    ) -> None:
        pending = b""  # requests' bytes after the last complete header block
        try:
            while data := source.recv(_CHUNK):
                with self.lock:
                    if not upstream and self.cut_after is not None:
                        data = data[: max(0, self.cut_after - self.traffic.down)]
                if not data:
                    break
                sink.sendall(data)
                found: list[tuple[int, int]] = []
                asked: list[tuple[str, str]] = []
                if upstream:
                    pending += data
                    end = pending.rfind(b"\r\n\r\n")
                    cut = end + 4 if end >= 0 else 0
                    found = [(int(a), int(b) + 1) for a, b in _RANGE.findall(pending[:cut])]
                    asked = [(m.decode(), t.decode()) for m, t in _REQUEST.findall(pending[:cut])]
                    pending = pending[cut:][-_CHUNK:]  # a body is not headers: keep it bounded
                with self.lock:
                    if generation != self.generation:
                        continue
                    if upstream:
                        self.traffic.ranges += found
                        self.traffic.requests += asked
                    else:
                        self.traffic.down += len(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open[generation] -= 1
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def behind(store: StoreUnderTest, proxy: ByteProxy) -> StoreUnderTest:
    """The same store, reached through ``proxy``."""
    options: dict[str, Any] = dict(store.storage_options)
    if "client_kwargs" in options:  # s3fs
        options["client_kwargs"] = {**options["client_kwargs"], "endpoint_url": proxy.endpoint}
    else:  # gcsfs
        options["endpoint_url"] = proxy.endpoint
    return replace(store, storage_options=options)


@contextmanager
def counting(store: StoreUnderTest) -> Iterator[tuple[StoreUnderTest, ByteProxy]]:
    """``store`` behind a new :class:`ByteProxy` for the length of the block."""
    options = store.storage_options
    endpoint = (options.get("client_kwargs") or {}).get("endpoint_url") or options["endpoint_url"]
    proxy = ByteProxy(endpoint.split("://", 1)[1])
    try:
        yield behind(store, proxy), proxy
    finally:
        proxy.close()
