"""A loopback TCP forwarder that counts the bytes a client sends to a server: what tests of
"not sent again" measure, at the wire rather than inside our code."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any


class ByteCounter:
    """Forward ``127.0.0.1:port`` to ``upstream``; ``sent`` is every byte clients sent, and
    ``requests`` the start of each chunk they sent (request lines and headers, to read)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.sent = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.sent = 0
            self.requests.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, up: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if up:
                    with self._lock:
                        self.sent += len(data)
                        self.requests.append(data[:2048])
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


def through(options: dict[str, Any], counter: ByteCounter) -> dict[str, Any]:
    """The storage options of a test server, pointed at ``counter`` instead."""
    out = dict(options)
    if "endpoint_url" in out:  # gcsfs
        out["endpoint_url"] = f"http://127.0.0.1:{counter.port}"
    else:  # s3fs
        out["client_kwargs"] = {"endpoint_url": f"http://127.0.0.1:{counter.port}"}
    return out


@contextlib.contextmanager
def counting(port: int) -> Iterator[ByteCounter]:
    counter = ByteCounter(port)
    try:
        yield counter
    finally:
        counter.close()
