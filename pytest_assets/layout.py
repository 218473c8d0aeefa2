"""modelkit's names for the objects of a store, so that production and tests share one store.

    <root>/<name>.versions          the versions, newest first
    <root>/<name>/<version>         a file asset, or the folder of a directory asset's objects
    <root>/<name>/<version>.meta    the version's manifest

Ours beside them: ``<name>/<version>.claim`` (a push in progress), ``<name>.versions.lock``
(a push merging ``.versions``), ``<name>/<version>.parts/`` (GCS parts of a big file until
they are composed into the version's object; no version ends with ``.parts``) and, in a
directory store, the folder ``.pytest-assets-tmp`` (no asset name starts with ``.``).
Names only: the store reads and writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidAssetSpecError
from .versioning import Versioning

VERSIONS = ".versions"
META = ".meta"
CLAIM = ".claim"
PARTS = ".parts"
VERSIONS_LOCK = ".versions.lock"
LOCAL_TMP = ".pytest-assets-tmp"
# A cache path component holds at most 255 bytes on every common filesystem; a name segment
# also becomes "<segment>.versions.lock" in a directory store. S3 and GCS keys stop at 1,024.
_SEGMENT_BYTES = 255 - len(".versions.lock")
_NAME_BYTES = 1000


@dataclass(frozen=True)
class VersionObjects:
    """What a listing of ``<root>/<name>/`` holds, by version: the reverse of the names."""

    metas: frozenset[str]  # versions with a .meta
    claims: frozenset[str]  # versions with a push in progress
    nested: frozenset[str]  # assets named <name>/<x>, whose objects live where version x would


def version_objects(basenames: Iterable[str]) -> VersionObjects:
    metas, claims, nested = set(), set(), set()
    for base in basenames:
        if base.endswith(META):
            metas.add(base.removesuffix(META))
        elif base.endswith(CLAIM):
            claims.add(base.removesuffix(CLAIM))
        elif base.endswith(VERSIONS):
            nested.add(base.removesuffix(VERSIONS))
    return VersionObjects(frozenset(metas), frozenset(claims), frozenset(nested))


@dataclass(frozen=True)
class Layout:
    """The paths of one store root inside its filesystem.

    ``root`` has no trailing ``/``; it is "" for a store at the filesystem's root
    (``memory://``, ``/``, ``file:///``), whose paths start with the ``root_marker``."""

    root: str
    root_marker: str = ""

    def path(self, *parts: str) -> str:
        if not self.root:
            return self.root_marker + "/".join(parts)
        return "/".join([self.root, *parts])

    def versions_path(self, name: str) -> str:
        return self.path(f"{name}{VERSIONS}")

    def object_path(self, name: str, version: str) -> str:
        return self.path(name, version)

    def meta_path(self, name: str, version: str) -> str:
        return self.path(name, f"{version}{META}")

    def claim_path(self, name: str, version: str) -> str:
        return self.path(name, f"{version}{CLAIM}")

    def versions_lock_path(self, name: str) -> str:
        return self.path(f"{name}{VERSIONS_LOCK}")

    def parts_path(self, name: str, version: str) -> str:
        return self.path(name, f"{version}{PARTS}")

    def local_tmp_path(self) -> str:
        """Where a directory store stages what it copies in: outside every version, so a
        killed copy leaves no debris among a version's objects."""
        return self.path(LOCAL_TMP)

    def names_folder(self, prefix: str) -> str:
        """The folder whose listing holds every asset name that starts with ``prefix``."""
        if prefix and not prefix.endswith("/"):
            return self.path(prefix).rsplit("/", 1)[0]
        return self.path(prefix.rstrip("/")) if prefix.strip("/") else self.root

    def name_of(self, path: str) -> str | None:
        """The asset whose ``.versions`` is at ``path``, or None when it is no such object."""
        root = self.root + "/" if self.root else ""
        if not path.endswith(VERSIONS) or not path.startswith(root):
            return None
        return path[len(root) : -len(VERSIONS)].lstrip("/")  # root "" (memory://): "/a.versions"


def outside_versions(names: list[str], versioning: Versioning) -> list[str]:
    """The names whose ``.versions`` is no file inside another asset's version: a directory
    asset may hold a ``notes.versions`` of its own, which names no asset."""
    known = set(names)

    def inside(name: str) -> bool:
        parts = name.split("/")
        return any(
            "/".join(parts[:i]) in known and _is_version(versioning, parts[i])
            for i in range(1, len(parts) - 1)
        )

    return [name for name in names if not inside(name)]


def _is_version(versioning: Versioning, text: str) -> bool:
    try:
        versioning.check(text)
    except InvalidAssetSpecError:
        return False
    return versioning.is_complete(text)


def refuse_uncacheable(name: str, version: str) -> None:
    """Refuse, before a push writes anything, a version that no cache could hold: the store
    would take it, and every fetch of it would fail."""
    label = f"{name}:{version}"
    long = [s for s in [*name.split("/"), version] if len(s.encode()) > _SEGMENT_BYTES]
    if long:
        raise InvalidAssetSpecError(
            f"cannot push {label[:80]}...: the part {long[0][:40]!r}... is "
            f"{len(long[0].encode())} bytes, and a cache folder name holds at most "
            f"{_SEGMENT_BYTES}; split the name with '/' or shorten it"
        )
    if len(f"{name}/{version}".encode()) > _NAME_BYTES:
        raise InvalidAssetSpecError(
            f"cannot push {label[:80]}...: the name is {len(name.encode())} bytes, longer than "
            f"the {_NAME_BYTES} a store key and a cache path can hold; shorten it"
        )
