"""A download is checked against .meta before anything is handed out: sizes, hashes, incomplete and
hostile versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import cached_files, raw, read_json

from pytest_assets import (
    Assets,
    IntegrityError,
    StoreError,
)

# -- integrity --------------------------------------------------------------------------------


@pytest.mark.parametrize("same_size", [True, False], ids=["same-size", "other-size"])
@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_corrupted_object_in_the_store_is_an_integrity_error_and_caches_nothing(
    assets: Assets,
    folder: Path,
    model: Path,
    store_url: str,
    cache_dir: Path,
    same_size: bool,
    kind: str,
) -> None:
    source, rel, label = (
        (model, "m/0.0", "m:0.0")
        if kind == "file"
        else (folder, "m/0.0/sub/b.bin", "m:0.0[sub/b.bin]")
    )
    assets.push(source, "m")
    fs, root = raw(store_url)
    data = bytearray(fs.cat_file(f"{root}/{rel}"))
    data[3] ^= 0xFF
    fs.pipe_file(f"{root}/{rel}", bytes(data) if same_size else bytes(data) + b"x")
    with pytest.raises(IntegrityError, match=label.replace("[", r"\[").replace("]", r"\]")):
        assets.fetch("m")
    assert cached_files(cache_dir) == []
    assert not assets.cache.has("m", "0.0")
    assert list((cache_dir / ".pytest-assets" / "tmp").glob("*")) == []


def test_an_object_missing_from_the_store_is_an_integrity_error_naming_it(
    assets: Assets, folder: Path, store_url: str, cache_dir: Path
) -> None:
    assets.push(folder, "d")
    fs, root = raw(store_url)
    fs.rm_file(f"{root}/d/0.0/sub/b.bin")
    with pytest.raises(IntegrityError, match=r"does not hold.*sub/b\.bin"):
        assets.fetch("d")
    assert cached_files(cache_dir) == []


@pytest.mark.parametrize(
    ("contents", "fragment"),
    [
        (["../../x"], "unsafe path '../../x'"),
        (["a/../../x"], "unsafe path"),
        (["/tmp/x"], "unsafe path '/tmp/x'"),
        (["sub\\..\\..\\x"], "unsafe path"),
        (["C:/x"], "unsafe path"),
        (["a.txt", "a.txt"], "listed twice"),
        (["a.txt", "a.txt/b"], "both a file and a folder"),
        (["ok\nname"], "unsafe path"),
        ([""], "not a non-empty string"),
        ([7], "not a non-empty string"),
    ],
)
def test_a_meta_with_hostile_contents_is_refused_before_writing_anything(
    assets: Assets,
    folder: Path,
    store_url: str,
    cache_dir: Path,
    tmp_path: Path,
    contents: list[Any],
    fragment: str,
) -> None:
    assets.push(folder, "d")
    fs, root = raw(store_url)
    meta = read_json(store_url, "d/0.0.meta")
    meta["contents"] = contents
    fs.pipe_file(f"{root}/d/0.0.meta", json.dumps(meta).encode())
    before = sorted(p for p in tmp_path.rglob("*") if ".pytest-assets" not in p.parts)
    with pytest.raises(StoreError, match=fragment):
        assets.fetch("d")
    after = sorted(p for p in tmp_path.rglob("*") if ".pytest-assets" not in p.parts)
    bookkeeping = {cache_dir, cache_dir / "CACHEDIR.TAG"}
    assert [p for p in after if p not in before and p not in bookkeeping] == []
    assert list((cache_dir / ".pytest-assets" / "tmp").glob("*")) == []


def test_a_meta_that_is_not_json_is_a_store_error(
    assets: Assets, model: Path, store_url: str
) -> None:
    assets.push(model, "m")
    fs, root = raw(store_url)
    fs.pipe_file(f"{root}/m/0.0.meta", b"{not json")
    with pytest.raises(StoreError, match="is not valid JSON"):
        assets.fetch("m:0.0")
