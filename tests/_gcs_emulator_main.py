"""Launcher for gcp-storage-emulator, run as a subprocess by ``servers.start_gcs_emulator``.

Why not the ``gcp-storage-emulator`` console script: the emulator needs three fixes, and one
option, that can only be applied in its own process, before its server starts. Each is a
monkeypatch of the installed package; the server itself is built exactly as its CLI
does (``gcp_storage_emulator.server.create_server``).

1. Listen backlog. The emulator is a single-threaded ``http.server.HTTPServer`` with the
   stdlib backlog of 5, so a client opening many connections at once (gcsfs bulk
   ``put``/``get``) gets connections reset. A larger backlog queues them instead.
2. Trailing ``\\r`` eaten. gcsfs sends simple uploads as ``multipart/related`` with bare
   LF line endings; the emulator parses them with ``email`` which also accepts CRLF
   before the closing boundary, so an object whose content ends in ``b"\\r"`` is stored
   one byte short (about 1 in 256 random binary objects). We re-split the body using the
   line ending the client actually used, falling back to the emulator's parser.
3. Quadratic writes. Every write re-serialises the metadata of *all* objects to a
   ``.meta`` JSON document, which in memory mode is never read back; as a test session
   piles up objects every write gets slower. In memory mode that write is skipped.

4. Optionally, a thread per request (``PYTEST_ASSETS_GCS_EMULATOR_THREADS=1`` in the
   environment; the tests leave it off). The emulator answers one request at a time and writes
   each response whole before it reads the next request, so behind a link that caps each
   connection (benchmarks/delay_proxy.py) a ranged GET waits until every response before it
   has been carried, but for what the socket buffers hold (~4.6 MB a response here), and a
   response left open (a stream read halfway) holds every other request back until it is
   closed. Real GCS serves connections at once; a benchmark of parallel ranges through the
   capped link measures the emulator unless this is on.

Usage: ``python _gcs_emulator_main.py --port PORT [--host 127.0.0.1] [--data-dir DIR]``.
Without ``--data-dir`` objects live in memory only and vanish when the process ends.
"""

from __future__ import annotations

import argparse
import email
import email.message
import http.server
import io
import json
import logging
import os
import signal
import socketserver
import sys
import threading
from types import FrameType
from typing import Any

from gcp_storage_emulator import server as emulator_server  # type: ignore[import-untyped]
from gcp_storage_emulator.storage import Storage  # type: ignore[import-untyped]

# (1) Read when the emulator's HTTPServer (a TCPServer subclass) starts listening.
socketserver.TCPServer.request_queue_size = 1024

_original_read_data = emulator_server._read_data
_original_write_config = Storage._write_config_to_file


def _split_multipart_related(raw: bytes, content_type: str) -> dict[str, Any] | None:
    """Parse a two-part (metadata JSON, content) upload body byte-exactly, or None."""
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_boundary()
    if not boundary:
        return None
    dash = b"--" + boundary.encode()
    if not raw.startswith(dash):
        return None
    eol = b"\r\n" if raw[len(dash) : len(dash) + 2] == b"\r\n" else b"\n"
    chunks = (eol + raw).split(eol + dash)
    if len(chunks) != 4 or chunks[0] or not chunks[3].startswith(b"--"):
        return None
    parts = []
    for chunk in chunks[1:3]:
        head, sep, body = chunk.removeprefix(eol).partition(eol + eol)
        if not sep:
            return None
        parts.append((email.message_from_bytes(head + b"\n\n"), body))
    (_, meta), (content_headers, content) = parts
    encoding = content_headers.get("Content-Transfer-Encoding", "binary").lower()
    if encoding not in ("binary", "8bit", "7bit"):
        return None
    return {
        "meta": json.loads(meta),
        "content": content,
        "content-type": content_headers.get_content_type(),
    }


class _Replay:
    """Stands in for the request handler so the original parser can re-read a body."""

    def __init__(self, headers: Any, raw: bytes) -> None:
        keys = ("Content-Type", "Content-Encoding")
        self.headers = {k: headers[k] for k in keys if headers.get(k) is not None}
        self.headers["Content-Length"] = str(len(raw))
        self.rfile = io.BytesIO(raw)


def _read_data(request_handler: Any, query: dict[str, list[str]]) -> Any:
    """(2) The emulator's ``_read_data``, byte-exact for ``multipart/related`` uploads."""
    content_type = request_handler.headers.get("Content-Type") or ""
    if not content_type.startswith("multipart/related"):
        return _original_read_data(request_handler, query)
    raw = emulator_server._read_raw_data(request_handler) or b""
    decoded = emulator_server._decode_raw_data(raw, request_handler)
    parsed = _split_multipart_related(decoded, content_type) if decoded else None
    if parsed is not None:
        return parsed
    return _original_read_data(_Replay(request_handler.headers, raw), query)


def _write_config_to_file(self: Any) -> None:
    """(3) Skip the all-objects ``.meta`` dump when nothing will ever read it back."""
    if not self._use_memory_fs:
        _original_write_config(self)


emulator_server._read_data = _read_data
Storage._write_config_to_file = _write_config_to_file


class _ThreadingHTTPServer(http.server.ThreadingHTTPServer):
    """(4) ``http.server.HTTPServer`` as the emulator builds it, one thread per request."""

    daemon_threads = True


if os.environ.get("PYTEST_ASSETS_GCS_EMULATOR_THREADS") == "1":
    emulator_server.server.HTTPServer = _ThreadingHTTPServer


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then shut the HTTP server down cleanly."""
    parser = argparse.ArgumentParser(description="gcp-storage-emulator for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", default=None, help="persist here (default: in memory)")
    args = parser.parse_args(argv)

    # The emulator logs every request at INFO/DEBUG, and a WARNING for every JSON
    # response ("Content handled as string"); keep only real problems.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)

    # The emulator binds its socket inside a thread and its start() waits forever for
    # that thread to signal readiness; a bind error (port taken) would hang us instead
    # of exiting, so turn any uncaught thread exception into a prompt non-zero exit.
    def _thread_died(exc: threading.ExceptHookArgs) -> None:
        threading.__excepthook__(exc)
        sys.stderr.flush()
        os._exit(1)

    threading.excepthook = _thread_died

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    server = emulator_server.create_server(
        args.host,
        args.port,
        in_memory=args.data_dir is None,
        data_dir=args.data_dir,
    )
    server.start()  # binds the socket in a thread and waits until it listens
    print(f"gcs emulator listening on http://{args.host}:{args.port}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
