"""Fixtures of the core's tests: an empty store of each local kind (``memory://``, a plain
directory, a ``file://`` URL), a cache, ``Assets`` on both, and sources to push. The GCS and
S3 servers, modelkit compatibility and concurrency have their own test files."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import fsspec.core
import pytest
from support import MakeAssets, write

from pytest_assets import (
    Assets,
)


@pytest.fixture(params=["memory", "directory", "file-url"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store of each local kind (a directory store's folder exists, as it does once
    someone created the store; missing stores have their own tests)."""
    if request.param != "memory":
        (tmp_path / "store").mkdir()
    if request.param == "memory":
        url = f"memory://pytest-assets-{uuid.uuid4().hex[:12]}"
        yield url
        fs, root = fsspec.core.url_to_fs(url)
        if fs.exists(root):
            fs.rm(root, recursive=True)
    elif request.param == "directory":
        yield str(tmp_path / "store")
    else:
        yield (tmp_path / "store").as_uri()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def make_assets(store_url: str, cache_dir: Path) -> MakeAssets:
    """A new ``Assets`` on the test's store and cache (a new object: a new memo)."""

    def make(**kwargs: Any) -> Assets:
        kwargs.setdefault("store", store_url)
        kwargs.setdefault("cache_dir", cache_dir)
        return Assets(**kwargs)

    return make


@pytest.fixture
def assets(make_assets: MakeAssets) -> Assets:
    return make_assets()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A directory asset: two files, one in a sub-folder."""
    root = tmp_path / "src" / "folder"
    write(root / "a.txt", b"alpha\n")
    write(root / "sub" / "b.bin", bytes(range(256)))
    return root


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A file asset."""
    return write(tmp_path / "src" / "model.bin", b"weights v1" * 100)
