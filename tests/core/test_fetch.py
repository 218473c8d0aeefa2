"""Fetching a version: the path, the bytes, sub-parts, partial specs, the cache hit."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import fsspec.core
import pytest
from support import MakeAssets, delete_store, raw, tree, write

from pytest_assets import (
    AssetNotFoundError,
    Assets,
    AssetSpec,
    StoreError,
    StoreNotFoundError,
)
from pytest_assets.store import Store

# -- fetch ------------------------------------------------------------------------------------


def test_fetch_of_a_file_asset_gives_a_path_with_the_pushed_bytes(
    assets: Assets, model: Path, cache_dir: Path
) -> None:
    assets.push(model, "models/m")
    path = assets.fetch("models/m")
    assert path == assets.cache.data_path("models/m", "0.0")
    assert path.relative_to(cache_dir).parts[1:] == ("models", "m", "0.0")
    assert path.read_bytes() == model.read_bytes()


def test_fetch_of_a_directory_asset_gives_the_whole_tree(
    assets: Assets, folder: Path, cache_dir: Path
) -> None:
    assets.push(folder, "d")
    path = assets.fetch("d:0")
    assert path.relative_to(cache_dir).parts[1:] == ("d", "0.0")
    assert tree(path) == tree(folder)


def test_fetch_of_a_partial_spec_gives_the_newest_match(assets: Assets, model: Path) -> None:
    assets.push(write(model, b"0.0"), "m")
    assets.push(write(model, b"1.0"), "m", bump_major=True)
    assets.push(write(model, b"0.1"), "m:0")
    fresh = Assets(store=assets.store_url, cache_dir=assets.cache.directory)
    assert fresh.fetch("m:0").read_bytes() == b"0.1"
    assert fresh.fetch("m").read_bytes() == b"1.0"
    assert fresh.resolve("m:1") == AssetSpec("m", "1.0")


@pytest.mark.parametrize(
    "spec", ["d:0.0[sub/b.bin]", "d:0.0/sub/b.bin", "d[/sub/b.bin]", "d:0/sub/b.bin"]
)
def test_fetch_of_a_sub_part_gives_that_file(assets: Assets, folder: Path, spec: str) -> None:
    assets.push(folder, "d")
    path = assets.fetch(spec)
    assert path.name == "b.bin"
    assert path.read_bytes() == bytes(range(256))


def test_fetch_of_a_sub_folder_gives_that_folder(assets: Assets, folder: Path) -> None:
    assets.push(folder, "d")
    assert assets.fetch("d[sub]").is_dir()


def test_a_sub_part_the_version_lacks_is_not_found_naming_what_it_holds(
    assets: Assets, folder: Path
) -> None:
    assets.push(folder, "d")
    with pytest.raises(
        AssetNotFoundError, match=r"no sub-part 'nope.txt'; it holds: a.txt, sub/b.bin"
    ):
        assets.fetch("d:0.0[nope.txt]")


def test_a_sub_part_of_a_file_asset_is_not_found_saying_it_is_a_single_file(
    assets: Assets, model: Path
) -> None:
    assets.push(model, "m")
    with pytest.raises(AssetNotFoundError, match="single-file asset"):
        assets.fetch("m[x]")


def test_an_unknown_asset_is_not_found_naming_the_store(assets: Assets) -> None:
    with pytest.raises(AssetNotFoundError, match="asset nope does not exist in store") as caught:
        assets.fetch("nope")
    assert isinstance(caught.value, LookupError)


@pytest.fixture
def said() -> list[str]:
    """What the core told the user (the CLI prints these on stderr)."""
    return []


@pytest.fixture(params=["directory", "file-url"])
def missing_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """A directory store's URL (plain path or file://) whose folder does not exist yet."""
    folder = tmp_path / "new-store"
    return (str(folder) if request.param == "directory" else folder.as_uri()), folder


@pytest.mark.parametrize(
    "action",
    [lambda a: a.fetch("m"), lambda a: a.fetch("m:0.0"), lambda a: a.fetch("m:0.0[x]"),
     lambda a: a.versions("m"), lambda a: a.names(), lambda a: a.info("m:0.0")],
    ids=["partial", "pinned", "sub-part", "versions", "names", "info"],
)  # fmt: skip
def test_a_directory_store_that_does_not_exist_says_so_instead_of_asset_not_found(
    missing_store: tuple[str, Path], cache_dir: Path, action: Callable[[Assets], Any]
) -> None:
    url, folder = missing_store
    assets = Assets(store=url, cache_dir=cache_dir)
    with pytest.raises(StoreNotFoundError) as caught:
        action(assets)
    assert str(caught.value) == (
        f"store {url} does not exist: there is no directory {folder}; check its URL, or push "
        "to it once to create it"
    )
    assert isinstance(caught.value, AssetNotFoundError)  # what a caller catching it expects


def test_a_push_creates_a_missing_directory_store_when_its_parent_exists_and_says_so(
    missing_store: tuple[str, Path], cache_dir: Path, model: Path, said: list[str]
) -> None:
    url, folder = missing_store
    assets = Assets(store=url, cache_dir=cache_dir, notify=said.append)
    assert assets.push(model, "m") == AssetSpec("m", "0.0")
    assert said == [f"created a new directory store at {folder}"]
    assert (folder / "m.versions").is_file()
    assets.push(write(model, b"v2"), "m")
    assert said == [f"created a new directory store at {folder}"]  # once


def test_a_push_to_a_directory_store_whose_parent_is_missing_is_refused_and_creates_nothing(
    tmp_path: Path, cache_dir: Path, model: Path
) -> None:
    folder = tmp_path / "typo" / "store"
    assets = Assets(store=str(folder), cache_dir=cache_dir)
    with pytest.raises(StoreNotFoundError) as caught:
        assets.push(model, "m")
    assert str(caught.value) == (
        f"store {folder} does not exist: there is no directory {folder}, nor its parent "
        f"{folder.parent}; check its URL, or create {folder.parent} if the path is right"
    )
    assert not folder.parent.exists()


def test_a_dry_run_push_to_a_missing_directory_store_says_it_would_create_it(
    missing_store: tuple[str, Path], cache_dir: Path, model: Path, said: list[str]
) -> None:
    url, folder = missing_store
    assets = Assets(store=url, cache_dir=cache_dir, notify=said.append)
    assert assets.push(model, "m", dry_run=True) == AssetSpec("m", "0.0")
    assert said == [f"would create a new directory store at {folder}"]
    assert not folder.exists()


def test_a_missing_store_names_the_setting_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETS_STORE", str(tmp_path / "nope"))
    assets = Assets.from_config(tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(StoreNotFoundError, match=r"check the store setting \(environment "):
        assets.fetch("m")


def test_an_unknown_major_is_not_found_listing_the_versions_that_exist(
    assets: Assets, model: Path
) -> None:
    assets.push(model, "m")
    assets.push(write(model, b"2"), "m", bump_major=True)
    with pytest.raises(AssetNotFoundError, match=r"no version of m:7.*versions there: 1\.0, 0\.0"):
        assets.fetch("m:7")


def test_an_unknown_complete_version_is_not_found_listing_the_versions(
    assets: Assets, model: Path
) -> None:
    assets.push(model, "m")
    with pytest.raises(
        AssetNotFoundError, match=r"version m:0\.5 does not exist.*versions there: 0\.0"
    ):
        assets.fetch("m:0.5")


def test_a_pinned_cached_version_is_returned_with_the_store_deleted(
    make_assets: MakeAssets, model: Path, folder: Path, store_url: str
) -> None:
    first = make_assets()
    first.push(model, "m")
    first.push(folder, "d")
    file_path, dir_path = first.fetch("m:0.0"), first.fetch("d:0.0[a.txt]")
    delete_store(store_url)
    again = make_assets()
    assert again.fetch("m:0.0") == file_path
    assert again.fetch("d:0.0[a.txt]") == dir_path
    with pytest.raises(AssetNotFoundError):
        again.fetch("m")


def test_a_warm_pinned_fetch_does_not_touch_the_store(
    make_assets: MakeAssets, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pusher = make_assets()
    pusher.push(model, "m")
    pusher.fetch("m:0.0")

    def no_store(self: Store) -> None:
        raise AssertionError("the store was opened")

    monkeypatch.setattr(Store, "_connect", no_store)
    assert make_assets().fetch("m:0.0").read_bytes() == model.read_bytes()


@pytest.fixture
def versions_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``.versions`` object read from any store, in order."""
    reads: list[str] = []
    original = Store.read_bytes

    def counting(self: Store, path: str, what: str) -> bytes | None:
        if path.endswith(".versions"):
            reads.append(path)
        return original(self, path, what)

    monkeypatch.setattr(Store, "read_bytes", counting)
    return reads


def test_a_partial_spec_costs_one_read_of_versions_for_the_life_of_the_object(
    make_assets: MakeAssets, folder: Path, versions_reads: list[str]
) -> None:
    make_assets().push(folder, "d")
    assets = make_assets()
    versions_reads.clear()
    assets.fetch("d")
    assets.fetch("d")
    assets.fetch("d:0[a.txt]")
    assets.fetch("d[sub/b.bin]")
    assets.resolve("d:0")
    assert len(versions_reads) == 1
    assert versions_reads[0].endswith("d.versions")


def test_the_memo_gives_one_answer_for_latest_even_after_another_push(
    make_assets: MakeAssets, model: Path
) -> None:
    reader, pusher = make_assets(), make_assets()
    pusher.push(model, "m")
    assert reader.resolve("m").version == "0.0"
    pusher.push(write(model, b"new"), "m")
    assert reader.resolve("m").version == "0.0"
    assert make_assets().resolve("m").version == "0.1"


def test_versions_is_read_fresh_every_time(make_assets: MakeAssets, model: Path) -> None:
    reader, pusher = make_assets(), make_assets()
    pusher.push(model, "m")
    assert reader.versions("m") == ["0.0"]
    pusher.push(write(model, b"new"), "m")
    assert reader.versions("m") == ["0.1", "0.0"]


def test_the_objects_own_push_refreshes_its_memo(assets: Assets, model: Path) -> None:
    assets.push(model, "m")
    assert assets.fetch("m").read_bytes() == model.read_bytes()
    assets.push(write(model, b"new"), "m")
    assert assets.resolve("m").version == "0.1"
    assert assets.fetch("m").read_bytes() == b"new"


def test_names_lists_assets_by_prefix(assets: Assets, model: Path) -> None:
    for name in ["cat/a", "cat/b", "dog/c", "top"]:
        assets.push(model, name)
    assert assets.names() == ["cat/a", "cat/b", "dog/c", "top"]
    assert assets.names("cat/") == ["cat/a", "cat/b"]
    assert assets.names("do") == ["dog/c"]


def test_a_bare_memory_store_lists_names_without_a_leading_slash(
    tmp_path: Path, model: Path
) -> None:
    name = f"bare-{uuid.uuid4().hex[:8]}/m"
    assets = Assets(store="memory://", cache_dir=tmp_path / "cache")
    try:
        assets.push(model, name)
        assert name in assets.names()
        assert assets.names(name.split("/")[0]) == [name]
    finally:
        fsspec.filesystem("memory").rm(f"/{name.split('/')[0]}", recursive=True)


@pytest.mark.parametrize("url", ["/", "file:///", "memory://"])
def test_a_store_at_the_filesystem_root_gives_absolute_object_paths(url: str) -> None:
    assert Store(url).versions_path("cat/m") == "/cat/m.versions"


def test_simple_date_versioning_pushes_a_stamp_and_fetches_it(
    make_assets: MakeAssets, model: Path
) -> None:
    assets = make_assets(versioning="simple_date")
    first = assets.push(model, "m")
    second = assets.push(write(model, b"2"), "m")
    assert first.version is not None and second.version is not None
    assert second.version > first.version
    assert assets.fetch("m").read_bytes() == b"2"
    assert assets.fetch(f"m:{first.version}").read_bytes() == b"weights v1" * 100


def test_a_versions_file_with_an_unreadable_version_is_a_store_error(
    assets: Assets, model: Path, store_url: str
) -> None:
    assets.push(model, "m")
    fs, root = raw(store_url)
    fs.pipe_file(f"{root}/m.versions", json.dumps({"versions": ["0.0", "latest"]}).encode())
    with pytest.raises(StoreError, match="does not parse under major_minor"):
        assets.fetch("m")
