"""pytest-assets: the same immutable, versioned files for tests, notebooks and production.

Imports are lazy so that ``import pytest_assets`` (and pytest start-up with the plugin) stays
cheap: fsspec, gcsfs and s3fs load only when a store is first used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .errors import (
    AssetExistsError,
    AssetNotFoundError,
    AssetsError,
    CacheError,
    ConfigError,
    IntegrityError,
    InvalidAssetSpecError,
    OfflineError,
    SourceChangedError,
    StoreError,
    StoreNotFoundError,
)
from .spec import AssetSpec

try:
    __version__ = version("pytest-assets")  # pyproject's, as installed: one place to bump
except PackageNotFoundError:  # the source on sys.path without an install
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from .assets import Assets, PushReport
    from .config import Config, load_config

__all__ = [
    "AssetExistsError",
    "AssetNotFoundError",
    "AssetSpec",
    "Assets",
    "AssetsError",
    "CacheError",
    "Config",
    "ConfigError",
    "IntegrityError",
    "InvalidAssetSpecError",
    "OfflineError",
    "PushReport",
    "SourceChangedError",
    "StoreError",
    "StoreNotFoundError",
    "__version__",
    "load_config",
]


def __getattr__(name: str) -> Any:
    if name in ("Assets", "PushReport"):
        from . import assets

        return getattr(assets, name)
    if name in ("Config", "load_config"):
        from . import config

        return getattr(config, name)
    raise AttributeError(f"module 'pytest_assets' has no attribute {name!r}")
