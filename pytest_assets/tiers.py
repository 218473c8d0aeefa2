"""Read-only shared cache tiers: cache directories that pytest-assets wrote (a baked image
layer, an NFS share, a CI cache restored by ``actions/cache``), consulted in order before the
writable cache.

A tier is only ever read: a complete version there is returned in place (no copy, no write, no
lock file, so a read-only mount works), with the same checks a hit in the writable cache gets.
A version half-written or damaged in a tier is skipped with a warning, never returned; the
fetch then goes on to the next tier, the writable cache, the store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import Cache, CachedVersion
from .cache_admin import Problem, cached, verify
from .errors import AssetsError, ConfigError
from .spec import AssetSpec
from .storekey import expand_home
from .versioning import Versioning

if TYPE_CHECKING:
    from .config import IniFile

ENV = "ASSETS_SHARED_DIRS"
INI_KEY = "assets_shared_dirs"

PathList = Sequence[str | os.PathLike[str]]


def shared_dirs_setting(
    explicit: PathList | None, environ: Mapping[str, str], ini: IniFile | None, cwd: Path
) -> tuple[Path, ...]:
    """The tiers: an argument, else ``ASSETS_SHARED_DIRS`` (separated by ``os.pathsep``), else
    the ini's ``assets_shared_dirs`` (one per line, relative to the ini file), else none. An
    empty variable means none, like an unset one."""
    if explicit is not None:
        return _paths(list(explicit), cwd, "argument shared_dirs")
    if environ.get(ENV, "").strip():
        if "://" in environ[ENV]:  # before the split: "s3://b" holds os.pathsep
            _paths([environ[ENV]], cwd, f"environment {ENV}")
        parts = [p for p in environ[ENV].split(os.pathsep) if p.strip()]
        return _paths(parts, cwd, f"environment {ENV}")
    value = ini.values.get(INI_KEY) if ini is not None else None
    lines = value.splitlines() if isinstance(value, str) else list(value or [])
    lines = [str(line).strip() for line in lines if str(line).strip()]
    if ini is not None and lines:
        return _paths(lines, ini.directory, f"{INI_KEY} in {ini.path}")
    return ()


def _paths(values: PathList, base: Path, where: str) -> tuple[Path, ...]:
    found = []
    for value in values:
        text = os.fspath(value).strip()
        if "://" in text:
            raise ConfigError(
                f"shared cache directory {text!r} ({where}) is a URL; a shared tier is a local "
                "directory (a mount) that pytest-assets wrote, e.g. /mnt/assets-cache"
            )
        found.append(Path(os.path.normpath(base / expand_home(text, "shared cache directory"))))
    return tuple(dict.fromkeys(found))


class Tiers:
    """The shared tiers of one ``Assets``, as the store whose key folder is ``store_folder``
    sees them; ``say`` gets the warnings (once per damaged version and tier)."""

    def __init__(
        self, dirs: Sequence[Path], store_folder: str | None, say: Callable[[str], None]
    ) -> None:
        self.caches = tuple(Cache(d, store_folder) for d in dirs)
        self._say = say
        self._warned: set[tuple[Path, str, str]] = set()

    @property
    def directories(self) -> list[Path]:
        return [tier.directory for tier in self.caches]

    def find(self, name: str, version: str, sub_part: str | None = None) -> Cache | None:
        """The first tier holding the version whole (for a sub-part: the sub-part whole)."""
        for tier in self.caches:
            try:
                view = tier.seen_for(name, version)
            except AssetsError:
                continue  # cached there from several stores, none configured: not ours to pick
            if view is None:
                continue
            if not view.has(name, version):
                if view.store_folder and os.path.lexists(view.data_path(name, version)):
                    self._warn(tier, name, version, "its data is there without its record")
                continue
            damage = view.damage(name, version, sub_part)
            if damage is None:
                return view
            self._warn(tier, name, version, damage)
        return None

    def _warn(self, tier: Cache, name: str, version: str, problem: str) -> None:
        """Once per version and tier: a half-written or damaged copy is skipped, never used."""
        key = (tier.directory, name, version)
        if key not in self._warned:
            self._warned.add(key)
            self._say(
                f"warning: the shared cache {tier.directory} holds an incomplete or damaged "
                f"copy of {name}:{version} ({problem}); skipped: it is read-only to us, so "
                "rebuild that tier (pytest-assets verify shows what is wrong there)"
            )

    def record(self, name: str, version: str) -> dict[str, Any] | None:
        """The record of the version in the first tier holding it whole."""
        found = self.find(name, version)
        return None if found is None else found.record(name, version)

    def versions(self, name: str) -> list[str]:
        """Versions of ``name`` held in any tier (unsorted), for offline resolution."""
        held: dict[str, None] = {}
        for tier in self.caches:
            if tier.store_folder is not None:
                held.update(dict.fromkeys(tier.versions(name)))
        return list(held)

    def listed(
        self, versioning: Versioning, wanted: AssetSpec | None
    ) -> list[tuple[Path, list[CachedVersion]]]:
        """Each tier with the versions it holds (of ``wanted``), for ``cache ls``: listed as
        they are, never pruned (a tier is read-only to us)."""
        return [(tier.directory, cached(tier, versioning, wanted)) for tier in self.caches]


def verify_tiers(tiers: Tiers, versioning: Versioning, wanted: AssetSpec | None) -> list[Problem]:
    """Re-hash the tiers' copies too, reporting only: a tier is read-only to us (rebuilt by
    whoever bakes or shares it), so nothing there is ever repaired."""
    problems = []
    for tier in tiers.caches:
        for found in verify(tier, versioning, wanted, repair=False, download=None):
            message = f"shared cache {tier.directory} (read-only, not repaired): {found.message}"
            problems.append(
                Problem(
                    found.name, found.version, message, kind=found.kind, tier=str(tier.directory)
                )
            )
    return problems
