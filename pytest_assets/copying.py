"""``pytest-assets copy``: assets moved from one store to another as they are, every version
under its own number with its own ``.meta`` (push dates, pushers, hashes), not pushed again.

For a team moving from a shared directory to a bucket. Writes are create-only, so a version
already in the target is never changed; one there with other metadata is refused. An
interrupted copy is resumed by running it again: what is there and equal is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from .catalog import Catalog
from .errors import AssetExistsError, AssetsError
from .manifest import parse_meta
from .publish import publish
from .spec import label


@dataclass
class CopyReport:
    copied: list[str] = field(default_factory=list)  # "name:version"
    present: list[str] = field(default_factory=list)  # already in the target, identical
    skipped: list[str] = field(default_factory=list)  # listed without a .meta: nothing to copy


def copy_assets(
    source: Catalog, target: Catalog, names: list[str], say: Callable[[str], None]
) -> CopyReport:
    """Copy every version of ``names`` (none: every asset of ``source``), oldest first."""
    report = CopyReport()
    for name in names or source.names():
        listed = set(target.read_versions(name) or [])
        for version in reversed(source.versions(name)):
            outcome = _copy_version(source, target, name, version, listed)
            getattr(report, outcome).append(label(name, version))
            if outcome == "copied":
                say(f"copied {label(name, version)}")
    return report


def _copy_version(
    source: Catalog, target: Catalog, name: str, version: str, listed: set[str]
) -> str:
    src, dst = source.store, target.store
    what = label(name, version)
    meta_path = src.meta_path(name, version)
    meta = src.read_bytes(meta_path, f"reading {what}.meta")
    if meta is None:
        return "skipped"
    there = dst.read_bytes(dst.meta_path(name, version), f"reading {what}.meta")
    if there is not None and there != meta:
        raise AssetExistsError(
            f"{what} exists in {dst.display_url} with other metadata than in "
            f"{src.display_url}: versions are immutable, so it is left as it is; copy the "
            "other assets by name, or remove it from the target by hand"
        )
    if there is not None and version in listed:
        return "present"
    manifest = parse_meta(json.loads(meta), f"{src.display_url}: {what}")
    base = src.object_path(name, version)
    parts = sorted(src.find_below(base)) if manifest.is_directory else [""]
    for rel in parts:
        path = f"{base}/{rel}" if rel else base
        data = src.read_bytes(path, f"reading {what}")
        if data is None:
            raise AssetsError(f"{what}: {path} is listed but cannot be read in {src.display_url}")
        target_path = dst.object_path(name, version) + (f"/{rel}" if rel else "")
        _write_once(target, target_path, data, what)

    def write_meta() -> None:
        _write_once(target, dst.meta_path(name, version), meta, f"{what}.meta")

    publish(target, name, version, claim=dst.claim_path(name, version), write_meta=write_meta)
    return "copied"


def _write_once(target: Catalog, path: str, data: bytes, what: str) -> None:
    """Create ``path``; one already there (a copy interrupted after it) must hold ``data``."""
    store = target.store
    try:
        store.write_bytes(path, data, f"writing {what}", create_only=True)
    except FileExistsError:
        if store.read_bytes(path, f"reading {what}") != data:
            raise AssetExistsError(
                f"{what}: {path} exists in {store.display_url} with other bytes; it is left "
                "as it is"
            ) from None
