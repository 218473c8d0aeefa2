"""The exceptions every face reports: one hierarchy, messages that name the asset, the store and
the next step, so the CLI, the fixture and the magic can print ``str(exc)`` and nothing else."""

from __future__ import annotations


class AssetsError(Exception):
    """Base of every error pytest-assets raises on purpose."""


class InvalidAssetSpecError(AssetsError, ValueError):
    """A spec string (or a version) that does not fit the grammar or the versioning system."""


class AssetNotFoundError(AssetsError, LookupError):
    """The asset, the version or the sub-part does not exist where we looked."""


class AssetExistsError(AssetsError):
    """A push to a version that already exists: versions are immutable."""


class IntegrityError(AssetsError):
    """Bytes that disagree with the version's metadata (size or sha256)."""


class SourceChangedError(AssetsError):
    """A file changed while it was being pushed: nothing was published, push it again later."""


class StoreError(AssetsError):
    """The store could not be reached, refused access, or answered something unusable."""


class StoreNotFoundError(StoreError, AssetNotFoundError):
    """The store itself is missing (no bucket, no directory): so is every asset in it."""


class OfflineError(AssetsError):
    """Offline mode was asked to do something that needs the store."""


class CacheError(AssetsError):
    """The local cache directory cannot be used (read-only, full, deleted, ...)."""


class ConfigError(AssetsError):
    """The configuration is incomplete or contradicts itself (no store, bad value)."""
