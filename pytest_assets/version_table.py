"""The versions of one asset with what tells them apart: when and by whom each was pushed, its
content hash (two versions with one hash hold the same bytes), and which ``assets.lock`` pins.
Read by the command line's ``versions``; the metadata of each version is read at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .display import push_date
from .errors import AssetsError
from .spec import AssetSpec

if TYPE_CHECKING:
    from .assets import Assets


@dataclass(frozen=True)
class VersionRow:
    version: str
    pushed: str  # "2026-11-26 18:43 UTC", "?" when the metadata cannot be read
    pushed_by: str
    content: str  # the first 12 digits of the content sha256, "?" without one (modelkit's)
    pinned_by: tuple[str, ...]  # the assets.lock entries pinning this version


def version_rows(assets: Assets, name: str) -> list[VersionRow]:
    """Newest first, as ``assets.versions``."""
    spec = assets.parse(name)
    versions = assets.versions(spec.name)
    pins = assets.pins.file()
    pinned: dict[str, list[str]] = {}
    for key, pin in (pins.entries if pins is not None else {}).items():
        if AssetSpec.parse(key).name == spec.name:
            pinned.setdefault(pin.version, []).append(key)

    def row(version: str) -> VersionRow:
        try:
            meta = assets.info(spec.with_version(version))
        except AssetsError:
            meta = {}
        digest = meta.get("content_sha256")
        return VersionRow(
            version,
            push_date(meta.get("push_date")),
            str(meta.get("pushed_by") or "?"),
            str(digest)[:12] if digest else "?",
            tuple(sorted(pinned.get(version, ()))),
        )

    if len(versions) < 2 or assets.offline:
        return [row(version) for version in versions]
    assets.store  # noqa: B018 -- build the store once, before threads share it
    with ThreadPoolExecutor(max_workers=min(8, len(versions))) as pool:
        return list(pool.map(row, versions))
