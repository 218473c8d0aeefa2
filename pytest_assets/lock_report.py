"""Which ``assets.lock`` entries are behind: a pin is chosen once, so newer versions pushed
since then go unseen until someone looks. Reads each locked name's versions once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .spec import AssetSpec

if TYPE_CHECKING:
    from .assets import Assets


@dataclass(frozen=True)
class Behind:
    key: str  # the locked partial spec, "demo/vocab:0"
    pinned: str
    newest: str


def outdated(assets: Assets) -> list[Behind]:
    """The entries whose pinned version is not the newest matching one, sorted by spec."""
    pins = assets.pins.file()
    if pins is None:
        return []
    behind = []
    for key, pin in sorted(pins.entries.items()):
        newest = assets.resolver.newest(AssetSpec.parse(key, versioning=assets.versioning_name))
        if newest != pin.version:
            behind.append(Behind(key, pin.version, newest))
    return behind
