"""How each face spells the settings that messages point to: the core says "work from the
cache with offline mode (...)" once, and the face that runs fills in its own option, so a pytest
user reads ``--assets-offline``, a shell user ``--offline`` and a notebook ``%asset --offline``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Face:
    offline: str  # how to turn offline mode on
    online: str  # how to turn it off again


PYTHON = Face(
    offline="Assets(offline=True), ASSETS_OFFLINE=1",
    online="Assets(offline=False), unset ASSETS_OFFLINE",
)
CLI = Face(offline="--offline, ASSETS_OFFLINE=1", online="drop --offline, unset ASSETS_OFFLINE")
PYTEST = Face(
    offline="--assets-offline, ASSETS_OFFLINE=1",
    online="drop --assets-offline, unset ASSETS_OFFLINE, assets_offline = false",
)
MAGIC = Face(offline="%asset --offline, ASSETS_OFFLINE=1", online="%asset --online")
