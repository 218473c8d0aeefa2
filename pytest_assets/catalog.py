"""What a store says about its assets, read and checked: ``<name>.versions``, a version's
``.meta``, the asset names, and whether the store itself exists.

Everything read here is untrusted input (another tool, a hand edit, a hostile bucket): it is
validated before resolution, fetching or pushing act on it, and a store that is not there is
told apart from an asset that is not there (a typo in the setting is not a missing asset).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .errors import AssetNotFoundError, InvalidAssetSpecError, StoreError, StoreNotFoundError
from .layout import VersionObjects, outside_versions, version_objects
from .manifest import Manifest, parse_meta
from .spec import label
from .store import Store
from .versioning import Versioning, sort_versions


@dataclass(frozen=True)
class VersionMeta:
    """A version's ``.meta`` as the store holds it, and the manifest read from it."""

    meta: dict[str, Any]
    manifest: Manifest


@dataclass(frozen=True)
class Catalog:
    """One store's assets under one versioning; ``store_source`` says where the store
    setting came from (``environment ASSETS_STORE``), for messages about a wrong setting."""

    store: Store
    versioning: Versioning
    versioning_name: str
    store_source: str | None = None

    def read_versions(self, name: str) -> list[str] | None:
        """``<name>.versions``, newest first; None when the asset is unknown."""
        store = self.store
        data = store.read_json(store.versions_path(name), f"reading {name}.versions")
        if data is None:
            return None
        where = f"{store.display_url}/{name}.versions"
        if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
            raise StoreError(f'{where} is not of the form {{"versions": [...]}}')
        versions = data["versions"]
        for version in versions:
            try:
                if not isinstance(version, str):
                    raise InvalidAssetSpecError(f"{version!r} is not a string")
                self.versioning.check(version)
                if not self.versioning.is_complete(version):
                    raise InvalidAssetSpecError(f"{version!r} is not a complete version")
            except InvalidAssetSpecError as exc:
                raise StoreError(
                    f"{where} lists a version that does not parse under "
                    f"{self.versioning_name} versioning ({exc}); check assets_versioning, or "
                    "repair the store"
                ) from None
        return sort_versions(self.versioning, versions)

    def versions(self, name: str) -> list[str]:
        """Like ``read_versions``, but an unknown asset is an error that says what to do."""
        found = self.read_versions(name)
        if found is None:
            raise self.unknown_asset(name)
        return found

    def read_meta(self, name: str, version: str) -> VersionMeta:
        """The version's ``.meta``; a missing one is reported with the versions there are."""
        store = self.store
        meta = store.read_json(
            store.meta_path(name, version), f"reading {label(name, version)}.meta"
        )
        if meta is None:
            versions = self.versions(name)
            raise AssetNotFoundError(
                f"version {label(name, version)} does not exist in store {store.display_url}; "
                f"versions there: {', '.join(versions[:20]) or 'none'}"
            )
        where = f"{store.display_url}/{name}/{version}.meta"
        return VersionMeta(meta, parse_meta(meta, where))

    def version_objects(self, name: str) -> VersionObjects:
        """One listing of ``<name>/``, versions valid under the versioning: what pushes and
        the ``.versions`` merge must know."""
        store = self.store
        found = version_objects(base for base, _kind in store.list_dir(store.path(name)))
        valid = frozenset(sort_versions(self.versioning, found.metas | found.claims))
        return VersionObjects(found.metas & valid, found.claims & valid, found.nested)

    def names(self, prefix: str = "") -> list[str]:
        found = outside_versions(self.store.find_names(prefix), self.versioning)
        missing = None if found else self.missing_store()
        if missing is not None:
            raise missing
        return found

    def unknown_asset(self, name: str) -> AssetNotFoundError:
        missing = self.missing_store()
        if missing is not None:
            return missing
        return AssetNotFoundError(
            f"asset {name} does not exist in store {self.store.display_url} (no "
            f"{name}.versions there); check the name (pytest-assets ls lists the assets) or "
            "push it first"
        )

    def missing_store(self) -> StoreNotFoundError | None:
        """``store ... does not exist`` and what to do, when the store itself is missing: a
        missing bucket or directory is a wrong setting, not a missing asset."""
        store = self.store
        why = store.missing()
        if why is None:
            return None
        source = self.store_source
        check = f"check the store setting ({source}; a typo?)" if source else "check its URL"
        if not store.is_local:
            step = f"{check} and the endpoint, or create the bucket"
        else:
            parent = os.path.dirname(store.root.rstrip("/")) or "/"
            if os.path.exists(store.root):  # a file where the folder should be
                step = check
            elif os.path.isdir(parent):
                step = f"{check}, or push to it once to create it"
            else:
                why += f", nor its parent {parent}"
                step = f"{check}, or create {parent} if the path is right"
        message = f"store {store.display_url} does not exist: {why}; {step}"
        return StoreNotFoundError(store.scrub(message))  # the root is the URL, userinfo too

    def needs_new_directory(self) -> bool:
        """Whether a push must make the directory store's folder: only its own folder, when
        the parent exists, so a typo in the path is an error and not a new tree of folders."""
        store = self.store
        if not store.is_local or os.path.isdir(store.root or "/"):
            return False
        parent = os.path.dirname(store.root.rstrip("/")) or "/"
        if os.path.isdir(parent) and not os.path.exists(store.root):
            return True
        missing = self.missing_store()
        if missing is None:  # another push just made it
            return False
        raise missing


def describe(
    name: str, version: str, meta: dict[str, Any], manifest: Manifest, cached_path: str | None
) -> dict[str, Any]:
    """What ``info`` tells: the version's ``.meta``, its name and version, its content hash,
    how its files can be checked, and where it is cached (None when it is not)."""
    out = dict(meta)
    out["name"] = name
    out["version"] = version
    out["content_sha256"] = manifest.content_hash
    out["integrity"] = (
        "sha256"
        if parse_meta(meta, label(name, version)).has_hashes
        else "size only: pushed without hashes (modelkit), sizes checked against the store"
    )
    out["cached_path"] = cached_path
    return out
