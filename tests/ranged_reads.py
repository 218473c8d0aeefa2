"""Counting the ranged GETs a fetch sends, where they leave for the server: aiohttp's request,
under both s3fs (aiobotocore) and gcsfs. A hook may run before each one (to fail it, or to
change the object in the store first)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_assets import ranged

_RANGE_HEADER = re.compile(r"bytes=(\d+)-(\d+)")
Hook = Callable[[int], Awaitable[None]]


@dataclass
class RangedReads:
    """The ranged GETs sent: (start, end exclusive), in the order sent; ``before`` runs before
    each one is sent (on the backend's loop), with the number sent so far."""

    range_bytes: int
    seen: list[tuple[int, int]] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)  # S3's If-Match, GCS's URL
    before: Hook | None = None

    async def sent(self, header: str | None, pin: str) -> None:
        match = _RANGE_HEADER.fullmatch(header or "")
        if match is None:
            return
        self.pins.append(pin)
        if self.before is not None:
            await self.before(len(self.seen))
        self.seen.append((int(match[1]), int(match[2]) + 1))

    def assert_split(self, size: int, first: int = 0) -> None:
        """One stream from range ``first`` asking for the rest, which read the start and
        stopped inside a range: the rest of that range and each one after it were asked for
        by one ranged request each."""
        grid = ranged.ranges(size, self.range_bytes)[first:]
        stolen = sorted(self.seen[1:])
        assert self.seen[0] == (grid[0][0], size)
        assert stolen, "the stream handed nothing over"
        (cut, end), whole = stolen[0], stolen[1:]
        inside = [i for i, (start, stop) in enumerate(grid) if start < cut < stop]
        assert inside, f"the stream stopped at {cut}, not inside a range"
        assert end == grid[inside[0]][1]
        assert whole == grid[inside[0] + 1 :]


def count_ranged_reads(monkeypatch: pytest.MonkeyPatch, range_bytes: int) -> RangedReads:
    import aiohttp
    from multidict import CIMultiDict

    recorder = RangedReads(range_bytes)
    request = aiohttp.ClientSession._request

    async def counted(self: Any, method: str, url: Any, **kwargs: Any) -> Any:
        if method == "GET":
            headers = CIMultiDict(kwargs.get("headers") or {})
            await recorder.sent(headers.get("Range"), headers.get("If-Match") or str(url))
        return await request(self, method, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", counted)
    return recorder
