"""A TCP proxy on loopback that adds a fixed delay each way and counts HTTP requests.

Kernel traffic shaping (``tc netem``) is not available on the benchmark machines, so latency
comes from here: every chunk read from one side is written to the other ``delay`` seconds later,
in order, without stop-and-wait (a pipe with latency, not a throttle). Connecting to the proxy
costs nothing, as with a client that reuses its connections; ``--handshake`` charges each new
connection the round trip of a real TCP handshake instead (its first bytes reach the server
three delays after the connect, not one).

Requests are counted by parsing the client-to-server byte stream as HTTP/1.1 (request line,
headers, ``Content-Length`` or chunked bodies), so a benchmark can check how many times each
object was read. A control port answers ``stats`` (JSON: request count, connections, a count
per ``METHOD target``, ``bytes_up``: what the clients sent, and ``bytes_down``: what reached
the clients) and ``reset``.

Rates model a real link: ``--conn-rate`` caps what one connection carries each way (a cloud
store's per-connection throughput), ``--link-rate`` caps all connections together each way (the
NIC). Both are shapers without credit (``_Pacer``): a chunk leaves once both its connection and
the link have had the time to send it, then arrives ``delay`` later. While a connection waits
the proxy stops reading from its sender, so the sender is held back as TCP would hold it.

Run: ``python benchmarks/delay_proxy.py --upstream 127.0.0.1:PORT --delay 0.02
[--conn-rate 4MB --link-rate 48MB]``; it prints ``PORT CONTROL_PORT`` on its first stdout line
once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

HOST = "127.0.0.1"
_CHUNK = 256 * 1024
_PACED_CHUNK = 64 * 1024  # smaller reads when paced: a chunk is the shaper's granularity
_SLACK = 0.01  # seconds a late wake-up may catch up (an event loop never wakes on time)


class _Pacer:
    """A byte-rate shaper (GCRA: a virtual clock of when the line is next free), O(1) a chunk.

    asyncio runs one task at a time, so one pacer shared by every connection needs no lock:
    bookings are served in the order they are made (a FIFO, fair because each connection has at
    most one chunk booked at a time).
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.free_at = 0.0

    def book(self, size: int, earliest: float) -> float:
        """Send ``size`` bytes starting no sooner than ``earliest``: when they have left."""
        self.free_at = max(self.free_at, earliest) + size / self.rate
        return self.free_at


def _leave_time(pacers: list[_Pacer], size: int, now: float) -> float:
    """When ``size`` bytes read at ``now`` have left through every pacer (the connection's,
    then the link's). A later pacer books the chunk to end when the earlier one's booking ends
    (or later if it is busy): the two caps overlap instead of adding up, as on a real path.
    ``_SLACK`` lets a connection that woke up late catch up instead of losing the time."""
    done = now - _SLACK
    for i, pacer in enumerate(pacers):
        done = pacer.book(size, done if i == 0 else done - size / pacer.rate)
    return max(done, now)


class _RequestCounter:
    """Incremental HTTP/1.1 request parser over one connection's client-to-server bytes."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = bytearray()
        self.body_left = 0  # bytes of a Content-Length body still to skip
        self.chunked = False
        self.broken = False

    def feed(self, data: bytes) -> None:
        self.stats.bytes_up += len(data)
        if self.broken:
            return
        self.buffer += data
        try:
            while self._step():
                pass
        except ValueError:  # not HTTP after all: stop counting on this connection
            self.broken = True
            self.stats.unparsed += 1

    def _step(self) -> bool:
        if self.body_left:
            taken = min(self.body_left, len(self.buffer))
            del self.buffer[:taken]
            self.body_left -= taken
            return bool(self.buffer) and not self.body_left
        if self.chunked:
            return self._chunk()
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > 65536:
                self.broken = True
                self.stats.unparsed += 1
            return False
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[: end + 4]
        parts = head[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self.broken = True
            self.stats.unparsed += 1
            return False
        self.stats.requests += 1
        self.stats.by_target[f"{parts[0]} {parts[1]}"] += 1
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                self.body_left = int(value.strip() or 0)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                self.chunked = True
        return bool(self.buffer)

    def _chunk(self) -> bool:
        """Skip one chunk of a chunked body (``size CRLF data CRLF``; size 0 ends it)."""
        end = self.buffer.find(b"\r\n")
        if end < 0:
            return False
        size = int(bytes(self.buffer[:end]).split(b";")[0] or b"0", 16)
        if size == 0:
            trailer_end = self.buffer.find(b"\r\n\r\n", end)
            if trailer_end < 0:
                return False
            del self.buffer[: trailer_end + 4]
            self.chunked = False
            return bool(self.buffer)
        if len(self.buffer) < end + 2 + size + 2:
            return False
        del self.buffer[: end + 2 + size + 2]
        return bool(self.buffer)


@dataclass
class Stats:
    connections: int = 0
    requests: int = 0
    unparsed: int = 0
    bytes_down: int = 0  # server to clients, headers included
    bytes_up: int = 0  # everything clients sent: request lines, headers and bodies
    by_target: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> str:
        return json.dumps(
            {
                "connections": self.connections,
                "requests": self.requests,
                "bytes_up": self.bytes_up,
                "unparsed": self.unparsed,
                "bytes_down": self.bytes_down,
                "by_target": dict(self.by_target),
            }
        )


class DelayProxy:
    """Forward ``HOST:port`` to ``upstream``, ``delay`` seconds late each way, each direction
    of a connection paced to ``conn_rate`` and each direction of all of them to ``link_rate``
    (bytes/s; ``None``: no cap)."""

    def __init__(
        self,
        upstream: tuple[str, int],
        delay: float,
        handshake: bool = False,
        conn_rate: float | None = None,
        link_rate: float | None = None,
    ) -> None:
        self.upstream = upstream
        self.delay = delay
        self.handshake = handshake
        self.conn_rate = conn_rate
        self.links = [_Pacer(link_rate), _Pacer(link_rate)] if link_rate else None  # up, down
        self.stats = Stats()
        self._live: set[asyncio.Future[None]] = set()

    def _pacers(self, direction: int) -> list[_Pacer]:
        """A new connection's shapers for one direction (0 up, 1 down), its own first."""
        pacers = [_Pacer(self.conn_rate)] if self.conn_rate else []
        return pacers + ([self.links[direction]] if self.links else [])

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        not_before: float,
        counter: _RequestCounter | None,
        pacers: list[_Pacer],
    ) -> None:
        # Bounded, as a TCP window is: a slow reader holds the sender back.
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=4096)
        chunk = _PACED_CHUNK if pacers else _CHUNK

        async def read() -> None:
            while True:
                try:
                    data = await reader.read(chunk)
                except OSError:
                    data = b""  # a reset ends this direction like a close
                if counter is not None and data:
                    counter.feed(data)
                sent = time.monotonic()
                if pacers and data:
                    sent = _leave_time(pacers, len(data), sent)
                    wait = sent - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)  # not reading meanwhile: the sender waits
                await queue.put((max(sent + self.delay, not_before), data))
                if not data:
                    return

        async def write() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    with contextlib.suppress(OSError):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return
                try:
                    writer.write(data)
                    await writer.drain()
                except OSError:
                    return  # the other side is gone
                if counter is None:  # the server-to-client direction
                    self.stats.bytes_down += len(data)

        reading = asyncio.ensure_future(read())
        try:
            await write()
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await reading

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        # SYN, SYN-ACK, then the request: what a real network charges a new connection.
        first_byte = time.monotonic() + 3 * self.delay if self.handshake else 0.0
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        counter = _RequestCounter(self.stats)
        up = asyncio.ensure_future(
            self._pump(client_r, server_w, first_byte, counter, self._pacers(0))
        )
        down = asyncio.ensure_future(self._pump(server_r, client_w, 0.0, None, self._pacers(1)))
        self._live |= {up, down}  # the loop holds tasks weakly: keep them alive here
        try:
            # The server closing ends the exchange; a client closing first still gets the
            # responses already on their way.
            await asyncio.wait([up, down], timeout=None, return_when=asyncio.FIRST_COMPLETED)
            if not down.done():
                await asyncio.wait([down], timeout=60)
        finally:
            for task in (up, down):
                task.cancel()
            for w in (client_w, server_w):
                with contextlib.suppress(OSError):
                    w.close()
            await asyncio.gather(up, down, return_exceptions=True)
            self._live -= {up, down}

    async def _control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while line := (await reader.readline()).strip():
                if line == b"reset":
                    # In place: open connections' counters hold this object.
                    vars(self.stats).update(vars(Stats()))
                    writer.write(b"{}\n")
                else:
                    writer.write(self.stats.as_json().encode() + b"\n")
                await writer.drain()
        writer.close()

    async def serve(self, port: int = 0, control_port: int = 0) -> None:
        server = await asyncio.start_server(self._handle, HOST, port, backlog=1024)
        control = await asyncio.start_server(self._control, HOST, control_port)
        ports = (server.sockets[0].getsockname()[1], control.sockets[0].getsockname()[1])
        print(*ports, flush=True)
        async with server, control:
            await asyncio.gather(server.serve_forever(), control.serve_forever())


def _rate(text: str) -> float:
    """``4MB``, ``512KB``, ``48e6``: bytes per second (MB = 2**20 bytes, as the benchmark does)."""
    units = {"GB": float(1 << 30), "MB": float(1 << 20), "KB": 1024.0, "B": 1.0}
    value = text.strip().upper().removesuffix("/S")
    for unit, factor in units.items():
        if value.endswith(unit):
            return float(value.removesuffix(unit)) * factor
    return float(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the server")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds each way")
    parser.add_argument("--handshake", action="store_true", help="charge new connections 1 RTT")
    parser.add_argument("--conn-rate", type=_rate, help="bytes/s per connection each way (4MB)")
    parser.add_argument("--link-rate", type=_rate, help="bytes/s of all connections each way")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    args = parser.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    if host not in (HOST, "localhost"):
        parser.error("the upstream must be on loopback")
    proxy = DelayProxy(
        (HOST, int(port)), args.delay, args.handshake, args.conn_rate, args.link_rate
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(proxy.serve(args.port, args.control_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
