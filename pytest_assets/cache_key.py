"""``pytest-assets cache key``: a CI cache key (``actions/cache``, GitLab's ``cache:key``) for
the cache a lock file fills.

Made of the lock's pins alone (spec, version, ``.meta`` hash), never of paths, comments or
line order, so every checkout of one commit on every machine gets the same key, and any pin
that moves gives a new one; plus the cache's format version, so a cache written in a layout
this release cannot read is never restored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import ConfigError
from .pinfile import PinFile

# Bumped whenever the cache's layout (folders per store, records, read-only modes) changes in
# a way an older release cannot read.
CACHE_FORMAT = 1


def cache_key(lock_file: Path) -> str:
    """``pytest-assets-c1-<16 hex>`` for the pins of ``lock_file``."""
    pins = PinFile.read(lock_file)
    if pins is None:
        raise ConfigError(
            f"no lock file at {lock_file} to make a cache key of: pass --lock FILE, or write "
            "one with pytest --assets-lock (or pytest-assets lock SPEC ...)"
        )
    lines = sorted(f"{key} {pin.version} {pin.meta_sha256}\n" for key, pin in pins.entries.items())
    digest = hashlib.sha256(f"cache format {CACHE_FORMAT}\n{''.join(lines)}".encode())
    return f"pytest-assets-c{CACHE_FORMAT}-{digest.hexdigest()[:16]}"
