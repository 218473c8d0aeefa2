"""Helpers for the core's tests: write sources, look at a store behind the core's back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import fsspec.core

from pytest_assets import (
    Assets,
)

MakeAssets = Callable[..., Assets]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def raw(url: str) -> tuple[Any, str]:
    """The store's fsspec filesystem and root, to look at (or tamper with) it behind our back."""
    fs, root = fsspec.core.url_to_fs(url)
    return fs, str(root).rstrip("/")


def read_json(url: str, rel: str) -> Any:
    fs, root = raw(url)
    return json.loads(fs.cat_file(f"{root}/{rel}"))


def store_files(url: str) -> list[str]:
    fs, root = raw(url)
    if not fs.exists(root):
        return []
    return sorted(str(p)[len(root) + 1 :] for p in fs.find(root))


def cached_files(cache: Path) -> list[str]:
    """Files of the cache outside its bookkeeping folder."""
    if not cache.exists():
        return []
    return sorted(
        p.relative_to(cache).as_posix()
        for p in cache.rglob("*")
        if p.is_file() and ".pytest-assets" not in p.parts and p.name != "CACHEDIR.TAG"
    )


def tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def delete_store(url: str) -> None:
    fs, root = raw(url)
    fs.rm(root, recursive=True)
