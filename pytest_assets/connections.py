"""The store's connection budget: how many requests one download may have open at once.

One budget covers a whole download: the small files' bulk requests, then the streams and
ranges of its big files (:class:`ranged.Pool`), so an asset of a few big and many small files
never holds more connections than this. The default keeps what the bulk path measured best
(1,000 small objects at 40 ms RTT: 7.5 s with botocore's 10 connections, 3.4 s with 64); one
big object uses at most ``ranged.OBJECT_CONNECTIONS`` of it (12 filled the capped link). A
budget of 1 reads one object at a time in one stream.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

DEFAULT_MAX_CONNECTIONS = 64


def parse_max_connections(value: Any, where: str) -> int:
    """A budget of at least 1 from an argument, a variable or the ini (``where`` says which);
    the default for None."""
    if value is None:
        return DEFAULT_MAX_CONNECTIONS
    text = str(value).strip()
    number = None if isinstance(value, bool) or not text.isdigit() else int(text)
    if number is None or number < 1:
        raise ConfigError(
            f"max_connections ({where}) is {value!r}: it must be a whole number of at least 1 "
            f"(1 reads one object at a time in one stream; default {DEFAULT_MAX_CONNECTIONS})"
        )
    return number
