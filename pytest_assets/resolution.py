"""Resolution: a partial spec ("vocab:1", "vocab") becomes one exact version, for the life of
the ``Assets`` object (one answer for "latest" per session), through the pins first, then the
store's ``<name>.versions`` (read once per name), or offline the versions in the cache."""

from __future__ import annotations

from collections.abc import Callable

from .cache import Cache
from .catalog import Catalog
from .errors import AssetNotFoundError, OfflineError
from .pins import PinSession
from .spec import AssetSpec
from .versioning import Versioning, sort_versions


class Resolver:
    def __init__(
        self,
        versioning: Versioning,
        pins: PinSession,
        cache: Cache,
        catalog: Callable[[], Catalog],
        *,
        offline: bool,
    ) -> None:
        self.versioning = versioning
        self.pins = pins
        self.cache = cache
        self._catalog = catalog  # built on first use: offline never builds it
        self.offline = offline
        self._resolved: dict[tuple[str, str | None], str] = {}
        self._listed: dict[str, list[str]] = {}  # <name>.versions, read once per object

    def is_complete(self, spec: AssetSpec) -> bool:
        return spec.version is not None and self.versioning.is_complete(spec.version)

    def resolve(self, spec: AssetSpec) -> AssetSpec:
        """Complete the version: one read of ``<name>.versions`` per name per object."""
        if self.is_complete(spec):
            return spec
        key = (spec.name, spec.version)
        if key not in self._resolved:
            pin = self.pins.pin_for(spec)
            if pin is not None:
                self._resolved[key] = pin.version
                self.pins.announce(spec, pin.version)
            else:
                self._resolved[key] = self.newest(spec)
                self.pins.note_unpinned(spec)
        return spec.with_version(self._resolved[key])

    def newest(self, spec: AssetSpec) -> str:
        """The newest matching version in the store (offline: in the cache), pins aside."""
        if self.offline:
            candidates = sort_versions(self.versioning, self.cache.versions(spec.name))
            where = f"the cache {self.cache.directory} (offline mode)"
        else:
            catalog = self._catalog()
            if spec.name not in self._listed:
                self._listed[spec.name] = catalog.versions(spec.name)
            candidates = self._listed[spec.name]
            where = f"store {catalog.store.display_url}"
        matching = [v for v in candidates if self.versioning.matches(spec.version, v)]
        if not matching:
            shown = ", ".join(candidates[:20]) or "none"
            wanted = f"{spec.name}:{spec.version}" if spec.version else spec.name
            hint = (
                "fetch it once online, or turn offline mode off"
                if self.offline
                else "pick one of the versions listed"
            )
            error = OfflineError if self.offline else AssetNotFoundError
            raise error(f"no version of {wanted} in {where}; versions there: {shown}; {hint}")
        return matching[0]

    def forget(self, name: str) -> None:
        """After a push of ``name``: its next resolution reads the store again."""
        for key in [k for k in self._resolved if k[0] == name]:
            del self._resolved[key]
        self._listed.pop(name, None)
