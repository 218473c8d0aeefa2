"""Raw TCP throughput through ``delay_proxy.py``: its own ceiling, and a check of its caps.

A byte source on loopback (threads: ``sendall``/``recv_into`` of 1 MB buffers release the GIL,
so the source and the readers cost little beside the proxy's own process) answers a line
``N`` with N bytes; ``streams`` connections through the proxy each ask for their share at once.
No HTTP and no object store: what this measures is the proxy alone.

``python benchmarks/linkmeter.py`` prints the proxy's ceiling and checks that
``--conn-rate``/``--link-rate`` hold (one stream at the per-connection cap; 12 and 24 streams
against the link's). Timings on a shared machine are noisy; the check prints, never asserts.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import harness as h

MB = 1 << 20
_BUFFER = memoryview(bytes(MB))


class Source:
    """A loopback TCP server that sends ``N`` zero bytes to whoever sends ``N\\n``."""

    def __init__(self) -> None:
        self._sock = socket.create_server((h.HOST, 0), backlog=256)
        self.port: int = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as request:
            left = int(request.readline())
            try:
                while left > 0:
                    sent = min(left, MB)
                    conn.sendall(_BUFFER[:sent])
                    left -= sent
            except OSError:
                return

    def close(self) -> None:
        self._sock.close()


@dataclass
class Reading:
    streams: int
    nbytes: int
    seconds: float
    slowest_stream: float  # seconds

    @property
    def rate(self) -> float:
        """Bytes per second, all streams together."""
        return self.nbytes / self.seconds


def read_through(port: int, streams: int, each: int) -> Reading:
    """``streams`` connections to ``port`` at once, each reading ``each`` bytes."""
    times: list[float] = [0.0] * streams
    start = time.perf_counter()

    def one(i: int) -> None:
        began = time.perf_counter()
        buffer = bytearray(MB)
        with socket.create_connection((h.HOST, port)) as conn:
            conn.sendall(f"{each}\n".encode())
            got = 0
            while got < each and (n := conn.recv_into(buffer)):
                got += n
        if got != each:
            raise RuntimeError(f"stream {i} read {got} bytes of {each}")
        times[i] = time.perf_counter() - began

    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Reading(streams, streams * each, time.perf_counter() - start, max(times))


@contextmanager
def proxied_source(
    delay: float, conn_rate: float | None = None, link_rate: float | None = None
) -> Iterator[int]:
    """A Source behind a proxy with these settings: yields the proxy's port."""
    source = Source()
    proxy = h.Proxy(source.port, delay, conn_rate, link_rate)
    try:
        yield proxy.port
    finally:
        proxy.close()
        source.close()


def ceiling(delay: float = 0.02, streams: int = 12, each: int = 32 * MB) -> Reading:
    """What the proxy itself carries, uncapped, with ``streams`` connections at once (the best
    of two readings: the first also pays for connections and page faults)."""
    with proxied_source(delay) as port:
        return max((read_through(port, streams, each) for _ in range(2)), key=lambda r: r.rate)


def ceiling_text() -> str:
    """The proxy's own throughput without caps, for a benchmark's header (20 ms, 1 and
    ``LINK_STREAMS`` raw TCP streams at once)."""
    one = ceiling(0.02, 1, 64 * MB)
    many = ceiling(0.02, h.LINK_STREAMS, 16 * MB)
    return (
        f"the proxy alone carries {one.rate / MB:.0f} MB/s on 1 stream, "
        f"{many.rate / MB:.0f} MB/s on {h.LINK_STREAMS} (raw TCP, uncapped)"
    )


def check(conn_rate: float, link_rate: float, delay: float, scale: float) -> list[str]:
    """Readings of each cap against what it should give; lines to print."""
    lines = []
    for streams in (1, 12):
        best = ceiling(delay, streams, int(32 * MB * scale))
        lines.append(f"ceiling, {streams:2d} streams uncapped: {best.rate / MB:6.1f} MB/s")
    single = int(conn_rate * 4 * scale)  # ~4 s at the cap
    with proxied_source(delay, conn_rate=conn_rate) as port:
        got = read_through(port, 1, single)
        want = single / conn_rate + delay
        lines.append(
            f"1 stream, conn cap {conn_rate / MB:g} MB/s: {single / MB:.0f} MB in "
            f"{got.seconds:.2f} s (expected ~{want:.2f} s) = {got.rate / MB:.2f} MB/s"
        )
        got = read_through(port, 12, single)
        lines.append(
            f"12 streams, conn cap only: {got.rate / MB:.1f} MB/s "
            f"(expected ~{12 * conn_rate / MB:g})"
        )
    with proxied_source(delay, conn_rate=conn_rate, link_rate=link_rate) as port:
        for streams in (12, 24):
            each = int(link_rate * 4 * scale / streams)
            got = read_through(port, streams, each)
            want = min(link_rate, streams * conn_rate)
            lines.append(
                f"{streams} streams, conn {conn_rate / MB:g} + link {link_rate / MB:g} MB/s: "
                f"{got.rate / MB:.1f} MB/s (expected ~{want / MB:g}), slowest stream "
                f"{got.slowest_stream:.2f} s of {got.seconds:.2f} s"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conn-rate", type=float, default=4, help="MB/s")
    parser.add_argument("--link-rate", type=float, default=48, help="MB/s")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds each way")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every transfer")
    args = parser.parse_args(argv)
    for line in check(args.conn_rate * MB, args.link_rate * MB, args.delay, args.scale):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
