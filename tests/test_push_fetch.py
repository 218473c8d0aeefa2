"""Push and fetch through ``Assets`` on ``memory://``, plain-directory and ``file://`` stores.

The GCS and S3 servers, modelkit compatibility and concurrency have their own test files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import fsspec.core
import pytest

from pytest_assets import (
    AssetExistsError,
    AssetNotFoundError,
    Assets,
    AssetsError,
    AssetSpec,
    ConfigError,
    IntegrityError,
    InvalidAssetSpecError,
    OfflineError,
    StoreError,
    StoreNotFoundError,
)
from pytest_assets import assets as assets_module
from pytest_assets import localdisk as localdisk_module
from pytest_assets.manifest import sha256_file
from pytest_assets.store import Store

MakeAssets = Callable[..., Assets]


# -- fixtures ---------------------------------------------------------------------------------


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


# -- push: versions ---------------------------------------------------------------------------


def test_the_first_push_of_a_new_asset_is_0_0(assets: Assets, model: Path) -> None:
    assert assets.push(model, "models/m") == AssetSpec("models/m", "0.0")


def test_a_second_push_bumps_the_minor(assets: Assets, model: Path) -> None:
    assets.push(model, "m")
    write(model, b"weights v2")
    assert assets.push(model, "m").version == "0.1"


def test_a_push_with_a_major_bumps_the_minor_within_that_major(assets: Assets, model: Path) -> None:
    for content, spec in [(b"1", "m"), (b"2", "m:1.0"), (b"3", "m:1.1"), (b"4", "m:2.0")]:
        assets.push(write(model, content), spec)
    assert assets.push(write(model, b"5"), "m:1").version == "1.2"


def test_a_push_with_a_major_that_has_no_version_yet_starts_it_at_0(
    assets: Assets, model: Path
) -> None:
    assets.push(model, "m")
    assert assets.push(write(model, b"other"), "m:3").version == "3.0"


def test_bump_major_starts_the_next_major(assets: Assets, model: Path) -> None:
    assets.push(model, "m")
    assets.push(write(model, b"2"), "m")
    assert assets.push(write(model, b"3"), "m", bump_major=True).version == "1.0"


@pytest.mark.parametrize("spec", ["m:1.0", "m:1"])
def test_bump_major_with_a_version_in_the_spec_is_refused(
    assets: Assets, model: Path, spec: str
) -> None:
    assets.push(model, "m:2.0")
    with pytest.raises(InvalidAssetSpecError, match="--bump-major picks the version"):
        assets.push(write(model, b"new"), spec, bump_major=True)


def test_a_push_with_an_explicit_complete_version_uses_it(assets: Assets, model: Path) -> None:
    assert assets.push(model, "m:4.2").version == "4.2"
    assert assets.versions("m") == ["4.2"]


def test_versions_file_lists_every_version_newest_first(
    assets: Assets, model: Path, store_url: str
) -> None:
    for i in range(11):
        assets.push(write(model, str(i).encode()), "m")
    expected = [f"0.{i}" for i in range(10, -1, -1)]
    assert read_json(store_url, "m.versions") == {"versions": expected}
    assert assets.versions("m") == expected


def test_push_writes_modelkits_layout_and_leaves_no_claim_or_lock(
    assets: Assets, folder: Path, model: Path, store_url: str
) -> None:
    assets.push(folder, "cat/dir")
    assets.push(model, "cat/file")
    assert store_files(store_url) == [
        "cat/dir.versions",
        "cat/dir/0.0.meta",
        "cat/dir/0.0/a.txt",
        "cat/dir/0.0/sub/b.bin",
        "cat/file.versions",
        "cat/file/0.0",
        "cat/file/0.0.meta",
    ]


def test_a_push_refuses_a_sub_part(assets: Assets, folder: Path) -> None:
    with pytest.raises(InvalidAssetSpecError, match="not a sub-part"):
        assets.push(folder, "d:1.0[a.txt]")


def test_a_push_of_a_missing_path_is_refused(assets: Assets, tmp_path: Path) -> None:
    with pytest.raises(AssetNotFoundError, match="does not exist"):
        assets.push(tmp_path / "nope", "m")


def test_a_push_of_an_empty_folder_is_refused(assets: Assets, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssetsError, match="holds no files"):
        assets.push(tmp_path / "empty", "m")


def test_a_push_of_a_fifo_is_refused_instead_of_hanging(assets: Assets, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(AssetsError, match=r"cannot push .*pipe: a FIFO, not a regular file"):
        assets.push(tmp_path / "pipe", "m")


def test_a_folder_holding_a_fifo_is_refused_and_nothing_is_pushed(
    assets: Assets, folder: Path
) -> None:
    os.mkfifo(folder / "pipe")
    with pytest.raises(AssetsError, match=r"'pipe': a FIFO.*nothing was pushed"):
        assets.push(folder, "d")
    assert assets.names() == []


def test_a_folder_holding_a_name_a_fetch_would_refuse_is_not_pushed(
    assets: Assets, folder: Path
) -> None:
    """A version is immutable: one whose own fetch refuses it could never be mended."""
    (folder / "bad\nname").write_text("x")
    with pytest.raises(AssetsError, match=r"'bad\\nname': a name a fetch would refuse"):
        assets.push(folder, "d")
    assert assets.names() == []


def test_a_folder_holding_a_broken_link_is_refused(assets: Assets, folder: Path) -> None:
    (folder / "gone").symlink_to(folder / "nowhere")
    with pytest.raises(AssetsError, match="'gone': a broken symbolic link"):
        assets.push(folder, "d")


def test_a_folder_holding_a_link_to_a_folder_is_refused_rather_than_silently_dropped(
    assets: Assets, folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "f.txt").write_text("f")
    (folder / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(AssetsError, match="'linked': a symbolic link to a folder"):
        assets.push(folder, "d")


def test_a_name_inside_an_existing_version_is_refused(
    assets: Assets, folder: Path, model: Path
) -> None:
    """modelkit's layout stores ``d:0.0`` under ``d/0.0/``: an asset ``d/0.0`` would mix in."""
    assets.push(folder, "d:0.0")
    with pytest.raises(AssetExistsError, match=r"inside the version d:0\.0"):
        assets.push(model, "d/0.0")
    assert assets.names() == ["d"]


def test_a_version_where_an_asset_of_that_name_lives_is_refused(
    assets: Assets, folder: Path, model: Path
) -> None:
    assets.push(model, "d/0.0")
    with pytest.raises(AssetExistsError, match=r"where the asset d/0\.0 already lives"):
        assets.push(folder, "d")
    assert assets.push(folder, "d:0.1") == AssetSpec("d", "0.1")


def test_a_name_that_only_looks_like_a_version_path_is_pushed(
    assets: Assets, folder: Path, model: Path
) -> None:
    assets.push(folder, "d:0.0")
    assert assets.push(model, "d/1.0") == AssetSpec("d/1.0", "0.0")
    assert assets.fetch("d:0.0[a.txt]").read_bytes() == b"alpha\n"


# -- push: immutability -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_push_to_an_existing_version_with_the_same_content_pushes_nothing_and_returns_it(
    assets: Assets, folder: Path, model: Path, store_url: str, kind: str
) -> None:
    """Idempotent CI scripts: pushing the same bytes to the same version again is no error."""
    source = model if kind == "file" else folder
    assets.push(source, "m:1.0")
    before = store_files(store_url)
    report = assets.push_report(source, "m:1.0")
    assert (report.spec, report.pushed, report.identical) == (AssetSpec("m", "1.0"), False, True)
    assert store_files(store_url) == before


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_push_to_an_existing_version_with_other_content_is_refused_as_different(
    assets: Assets, folder: Path, model: Path, store_url: str, kind: str
) -> None:
    source = model if kind == "file" else folder
    assets.push(source, "m:1.0")
    before = {rel: raw(store_url)[0].cat_file(f"{raw(store_url)[1]}/{rel}") for rel in
              store_files(store_url)}  # fmt: skip
    changed = write(model, b"other") if kind == "file" else write(folder / "a.txt", b"other")
    assert changed.exists()
    with pytest.raises(AssetExistsError, match="with different content"):
        assets.push(source, "m:1.0")
    fs, root = raw(store_url)
    assert {rel: fs.cat_file(f"{root}/{rel}") for rel in store_files(store_url)} == before


def test_a_push_without_version_never_overwrites_it_takes_the_next(
    assets: Assets, model: Path
) -> None:
    assets.push(model, "m")
    assert assets.push(model, "m", allow_identical=True).version == "0.1"


# -- push: content identical to the version it would bump from (issue 10, case 12) ------------


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_push_of_the_newest_versions_content_pushes_nothing_and_returns_that_version(
    assets: Assets, folder: Path, model: Path, store_url: str, kind: str
) -> None:
    source = model if kind == "file" else folder
    assets.push(source, "m")
    before = store_files(store_url)
    report = assets.push_report(source, "m")
    assert (report.spec, report.pushed, report.identical) == (AssetSpec("m", "0.0"), False, True)
    assert report.store == assets.store.display_url
    assert store_files(store_url) == before
    assert assets.versions("m") == ["0.0"]


def test_push_returns_the_existing_version_when_it_pushes_nothing(
    assets: Assets, model: Path
) -> None:
    assets.push(model, "m")
    write(model, b"weights v2")
    assets.push(model, "m")
    assert assets.push(model, "m") == AssetSpec("m", "0.1")


def test_a_push_of_an_older_versions_content_is_a_new_version(assets: Assets, model: Path) -> None:
    """Only the version it would bump from counts: going back to old bytes is a change."""
    original = model.read_bytes()
    assets.push(model, "m")
    write(model, b"weights v2")
    assets.push(model, "m")
    write(model, original)
    assert assets.push(model, "m") == AssetSpec("m", "0.2")


def test_identical_content_is_judged_within_the_major_asked_for(
    assets: Assets, model: Path
) -> None:
    original = model.read_bytes()
    assets.push(model, "m")  # 0.0
    write(model, b"weights v2")
    assets.push(model, "m", bump_major=True)  # 1.0
    write(model, original)
    assert assets.push_report(model, "m:0").identical
    assert assets.push(model, "m:0") == AssetSpec("m", "0.0")
    assert assets.push(model, "m:1") == AssetSpec("m", "1.1")


def test_bump_major_pushes_the_newest_versions_content_as_the_new_major(
    assets: Assets, model: Path
) -> None:
    """A new major has no version to repeat: asking for one is asking for a new version."""
    assets.push(model, "m")
    assert assets.push(model, "m", bump_major=True) == AssetSpec("m", "1.0")


def test_allow_identical_pushes_a_new_version_of_the_same_content(
    assets: Assets, model: Path
) -> None:
    assets.push(model, "m")
    report = assets.push_report(model, "m", allow_identical=True)
    assert (report.spec, report.pushed, report.identical) == (AssetSpec("m", "0.1"), True, False)
    assert assets.fetch("m:0.1").read_bytes() == model.read_bytes()


def test_a_dry_run_of_the_newest_versions_content_says_nothing_would_be_pushed(
    assets: Assets, model: Path
) -> None:
    assets.push(model, "m")
    report = assets.push_report(model, "m", dry_run=True)
    assert (report.spec, report.pushed, report.identical) == (AssetSpec("m", "0.0"), False, True)


# -- push: dry run and metadata ---------------------------------------------------------------


def test_dry_run_returns_the_version_and_writes_nothing(
    assets: Assets, folder: Path, store_url: str, cache_dir: Path
) -> None:
    assert assets.push(folder, "m", dry_run=True) == AssetSpec("m", "0.0")
    assert store_files(store_url) == []
    assets.push(folder, "m")
    before = store_files(store_url)
    assert assets.push(folder, "m", bump_major=True, dry_run=True).version == "1.0"
    assert store_files(store_url) == before
    assert cached_files(cache_dir) == []


def test_a_dry_run_to_an_existing_version_with_other_content_is_refused_like_the_push(
    assets: Assets, model: Path, store_url: str
) -> None:
    assets.push(model, "m:1.0")
    write(model, b"x")
    before = store_files(store_url)
    with pytest.raises(AssetExistsError, match="with different content"):
        assets.push(model, "m:1.0", dry_run=True)
    assert store_files(store_url) == before


def test_a_dry_run_to_an_existing_version_with_the_same_content_says_nothing_to_do(
    assets: Assets, model: Path, store_url: str
) -> None:
    assets.push(model, "m:1.0")
    before = store_files(store_url)
    report = assets.push_report(model, "m:1.0", dry_run=True)
    assert (report.spec, report.identical, report.explicit) == (AssetSpec("m", "1.0"), True, True)
    assert store_files(store_url) == before


def test_meta_of_a_directory_holds_modelkits_keys_and_our_hashes(
    assets: Assets, folder: Path, store_url: str
) -> None:
    assets.push(folder, "d")
    meta = read_json(store_url, "d/0.0.meta")
    assert meta["is_directory"] is True
    assert meta["contents"] == ["a.txt", "sub/b.bin"]
    size, digest = sha256_file(folder / "sub" / "b.bin")
    assert meta["files"]["sub/b.bin"] == {"size": size, "sha256": digest}
    assert meta["files"]["a.txt"]["size"] == 6


def test_meta_of_a_file_holds_its_size_and_sha256(
    assets: Assets, model: Path, store_url: str
) -> None:
    assets.push(model, "m")
    meta = read_json(store_url, "m/0.0.meta")
    assert meta["is_directory"] is False
    assert "contents" not in meta
    assert (meta["size"], meta["sha256"]) == sha256_file(model)


def test_meta_records_the_executable_bit_only_where_it_is_set(
    assets: Assets, folder: Path, model: Path, store_url: str
) -> None:
    write(folder / "run.sh", b"#!/bin/sh\necho hi\n").chmod(0o755)
    assets.push(folder, "d")
    files = read_json(store_url, "d/0.0.meta")["files"]
    assert files["run.sh"]["executable"] is True
    assert "executable" not in files["a.txt"]
    assets.push(model, "plain")
    assert "executable" not in read_json(store_url, "plain/0.0.meta")
    model.chmod(0o755)
    assets.push(model, "script")
    assert read_json(store_url, "script/0.0.meta")["executable"] is True


def test_meta_says_who_pushed_when_and_with_which_tool(
    assets: Assets, model: Path, store_url: str
) -> None:
    import datetime as dt
    import getpass
    import socket

    import pytest_assets

    assets.push(model, "m")
    meta = read_json(store_url, "m/0.0.meta")
    assert meta["pushed_by"] == f"{getpass.getuser()}@{socket.gethostname()}"
    assert meta["tool"] == f"pytest-assets {pytest_assets.__version__}"
    pushed = dt.datetime.fromisoformat(meta["push_date"])
    assert pushed.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - pushed).total_seconds()) < 60


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_meta_records_the_git_commit_of_the_current_repository(
    assets: Assets, model: Path, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    write(repo / "train.py", b"print('train')\n")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "train")
    monkeypatch.chdir(repo)
    assets.push(model, "m")
    assert read_json(store_url, "m/0.0.meta")["git_commit"] == _git(repo, "rev-parse", "HEAD")


def test_meta_has_no_git_commit_outside_a_git_repository(
    assets: Assets, model: Path, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assets.push(model, "m")
    assert "git_commit" not in read_json(store_url, "m/0.0.meta")


def test_info_gives_the_meta_with_name_version_and_integrity(assets: Assets, model: Path) -> None:
    assets.push(model, "m")
    info = assets.info("m")
    assert (info["name"], info["version"], info["integrity"]) == ("m", "0.0", "sha256")
    assert info["sha256"] == sha256_file(model)[1]
    assert info["cached_path"] is None
    assets.fetch("m")
    assert assets.info("m:0.0")["cached_path"] == str(assets.fetch("m:0.0"))


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


def test_a_push_interrupted_on_a_bare_memory_store_resumes(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = f"bare-{uuid.uuid4().hex[:8]}"
    _fail_once(monkeypatch, assets_module, "build_meta")
    try:
        with pytest.raises(KeyboardInterrupt):
            Assets(store="memory://", cache_dir=tmp_path / "c").push(folder, f"{top}/d")
        resumed = Assets(store="memory://", cache_dir=tmp_path / "c").push(folder, f"{top}/d")
        assert resumed.version == "0.0"
    finally:
        fsspec.filesystem("memory").rm(f"/{top}", recursive=True)


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


# -- offline ----------------------------------------------------------------------------------


@pytest.fixture
def offline_after_fetching(
    make_assets: MakeAssets, model: Path, monkeypatch: pytest.MonkeyPatch
) -> Assets:
    """Versions 0.0 and 0.1 in the store, only 0.0 in the cache; then the store is unusable."""
    online = make_assets()
    online.push(model, "m")
    online.push(write(model, b"v0.1"), "m")
    online.fetch("m:0.0")

    def no_store(self: Store) -> None:
        raise AssertionError("offline mode opened the store")

    monkeypatch.setattr(Store, "_connect", no_store)
    return make_assets(offline=True)


def test_offline_a_pinned_version_comes_from_the_cache(offline_after_fetching: Assets) -> None:
    assert offline_after_fetching.fetch("m:0.0").read_bytes() == b"weights v1" * 100


def test_offline_a_partial_spec_resolves_against_cached_versions(
    offline_after_fetching: Assets,
) -> None:
    assert offline_after_fetching.resolve("m") == AssetSpec("m", "0.0")
    assert offline_after_fetching.fetch("m:0").read_bytes() == b"weights v1" * 100


def test_offline_a_pinned_version_not_cached_is_an_offline_error(
    offline_after_fetching: Assets,
) -> None:
    with pytest.raises(OfflineError, match="offline mode is on"):
        offline_after_fetching.fetch("m:0.1")


def test_offline_a_partial_spec_with_nothing_cached_is_an_offline_error(
    offline_after_fetching: Assets,
) -> None:
    with pytest.raises(OfflineError, match="offline"):
        offline_after_fetching.fetch("other")
    with pytest.raises(OfflineError, match="offline"):
        offline_after_fetching.fetch("m:1")


def test_offline_push_is_an_offline_error(offline_after_fetching: Assets, model: Path) -> None:
    with pytest.raises(OfflineError, match="offline mode is on"):
        offline_after_fetching.push(model, "m")


def test_offline_info_of_an_uncached_version_is_an_offline_error(
    offline_after_fetching: Assets,
) -> None:
    assert offline_after_fetching.info("m")["version"] == "0.0"
    with pytest.raises(OfflineError, match="offline mode is on"):
        offline_after_fetching.info("m:0.1")


def test_offline_versions_and_names_come_from_the_cache(offline_after_fetching: Assets) -> None:
    assert offline_after_fetching.versions("m") == ["0.0"]
    assert offline_after_fetching.names() == ["m"]


# -- no store configured ----------------------------------------------------------------------


def test_no_store_is_fine_until_the_store_is_needed(
    make_assets: MakeAssets, model: Path, cache_dir: Path
) -> None:
    online = make_assets()
    online.push(model, "m")
    online.fetch("m:0.0")
    storeless = Assets(store=None, cache_dir=cache_dir)
    assert storeless.fetch("m:0.0").read_bytes() == model.read_bytes()


@pytest.mark.parametrize(
    "action",
    [
        lambda a, p: a.fetch("m"),
        lambda a, p: a.fetch("m:0.3"),
        lambda a, p: a.push(p, "m"),
        lambda a, p: a.versions("m"),
        lambda a, p: a.names(),
        lambda a, p: a.info("m:0.0"),
    ],
    ids=["fetch-partial", "fetch-pinned-uncached", "push", "versions", "names", "info"],
)
def test_no_store_is_a_config_error_saying_how_to_set_one(
    tmp_path: Path, model: Path, action: Callable[[Assets, Path], Any]
) -> None:
    assets = Assets(store=None, cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="no asset store is configured: set ASSETS_STORE"):
        action(assets, model)


# -- interrupted pushes -----------------------------------------------------------------------


def _fail_once(monkeypatch: pytest.MonkeyPatch, target: Any, attribute: str) -> None:
    original = getattr(target, attribute)
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("killed mid-push")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, attribute, failing)


@pytest.mark.parametrize("kind", ["file", "directory"])
@pytest.mark.parametrize(
    "where",
    [(assets_module, "build_meta"), (Assets, "_add_to_versions")],
    ids=["before-meta", "before-versions"],
)
def test_an_interrupted_push_run_again_with_the_same_content_completes(
    make_assets: MakeAssets,
    folder: Path,
    model: Path,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    where: tuple[Any, str],
) -> None:
    source = model if kind == "file" else folder
    _fail_once(monkeypatch, *where)
    with pytest.raises(KeyboardInterrupt):
        make_assets().push(source, "m")
    assert "m/0.0.claim" in store_files(store_url)
    assert "m.versions" not in store_files(store_url)
    assert make_assets().push(source, "m") == AssetSpec("m", "0.0")
    assert make_assets().versions("m") == ["0.0"]
    assert "m/0.0.claim" not in store_files(store_url)
    fetched = make_assets().fetch("m")
    if kind == "file":
        assert fetched.read_bytes() == model.read_bytes()
    else:
        assert tree(fetched) == tree(folder)


@pytest.mark.parametrize(
    "where",
    [(assets_module, "build_meta"), (Assets, "_add_to_versions")],
    ids=["before-meta", "before-versions"],
)
def test_an_interrupted_push_run_again_with_other_content_is_refused(
    make_assets: MakeAssets,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: tuple[Any, str],
) -> None:
    _fail_once(monkeypatch, *where)
    with pytest.raises(KeyboardInterrupt):
        make_assets().push(folder, "m:1.0")
    write(folder / "a.txt", b"changed\n")
    with pytest.raises(AssetExistsError, match=r"m:1\.0"):
        make_assets().push(folder, "m:1.0")


def test_a_push_interrupted_mid_upload_resumes_with_the_missing_objects(
    make_assets: MakeAssets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Store.put_files
    uploaded: list[list[str]] = []

    def half_then_killed(self: Store, pairs: Any, what: str, progress: Any = None) -> None:
        uploaded.append([remote for _local, remote in pairs])
        if len(uploaded) == 1:
            original(self, pairs[:1], what, progress)
            raise KeyboardInterrupt("killed mid-upload")
        original(self, pairs, what, progress)

    monkeypatch.setattr(Store, "put_files", half_then_killed)
    with pytest.raises(KeyboardInterrupt):
        make_assets().push(folder, "d")
    assert make_assets().push(folder, "d").version == "0.0"
    assert [len(batch) for batch in uploaded] == [2, 1]
    assert tree(make_assets().fetch("d")) == tree(folder)


def test_an_interrupted_push_is_left_alone_by_a_push_of_other_content_without_version(
    make_assets: MakeAssets, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_once(monkeypatch, assets_module, "build_meta")
    with pytest.raises(KeyboardInterrupt):
        make_assets().push(model, "m")
    assert make_assets().push(write(model, b"other"), "m").version == "0.1"
    assert make_assets().fetch("m").read_bytes() == b"other"


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


# -- the cache --------------------------------------------------------------------------------


def test_cached_files_are_read_only(assets: Assets, folder: Path, model: Path) -> None:
    assets.push(folder, "d")
    assets.push(model, "m")
    paths = [assets.fetch("m"), *(p for p in assets.fetch("d").rglob("*") if p.is_file())]
    assert len(paths) == 3
    for path in paths:
        assert path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0


def test_cached_folders_are_read_only_too(assets: Assets, folder: Path) -> None:
    """A test that writes into its asset fails at once instead of changing the next run's."""
    assets.push(folder, "d")
    path = assets.fetch("d")
    assert [stat.S_IMODE(p.stat().st_mode) for p in (path, path / "sub")] == [0o555, 0o555]


def test_an_executable_file_comes_back_executable_and_read_only(
    assets: Assets, folder: Path, model: Path
) -> None:
    write(folder / "run.sh", b"#!/bin/sh\necho hi\n").chmod(0o755)
    model.chmod(0o755)
    assets.push(folder, "d")
    assets.push(model, "m")
    path = assets.fetch("d")
    assert stat.S_IMODE((path / "run.sh").stat().st_mode) == 0o555
    assert stat.S_IMODE((path / "a.txt").stat().st_mode) == 0o444
    assert stat.S_IMODE(assets.fetch("m").stat().st_mode) == 0o555


def _writable(path: Path) -> Path:
    """Undo the cache's read-only modes below ``path``, as a person or a test might."""
    for item in [path, *path.rglob("*")]:
        item.chmod(0o755 if item.is_dir() else 0o644)
    return path


def test_a_cached_file_deleted_is_downloaded_again_with_a_warning(
    make_assets: MakeAssets, folder: Path
) -> None:
    said: list[str] = []
    assets = make_assets(notify=said.append)
    assets.push(folder, "d")
    (_writable(assets.fetch("d")) / "sub" / "b.bin").unlink()
    assert tree(assets.fetch("d")) == tree(folder)
    assert len(said) == 1 and "d:0.0[sub/b.bin]" in said[0], said
    assert "downloading it again" in said[0]
    assert assets.verify() == []


def test_a_sub_part_deleted_from_the_cache_is_downloaded_again(
    make_assets: MakeAssets, folder: Path
) -> None:
    make_assets().push(folder, "d")
    (_writable(make_assets().fetch("d")) / "sub" / "b.bin").unlink()
    assert make_assets().fetch("d:0[sub/b.bin]").read_bytes() == bytes(range(256))


def test_a_cached_folder_emptied_is_downloaded_again(make_assets: MakeAssets, folder: Path) -> None:
    make_assets().push(folder, "d")
    path = _writable(make_assets().fetch("d"))
    for item in path.iterdir():
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    assert tree(make_assets().fetch("d")) == tree(folder)


def test_a_cached_file_cut_short_is_downloaded_again(make_assets: MakeAssets, model: Path) -> None:
    make_assets().push(model, "m")
    make_assets().fetch("m").chmod(0o644)
    make_assets().fetch("m").write_bytes(b"weights")
    assert make_assets().fetch("m").read_bytes() == model.read_bytes()


def test_a_deletion_later_in_the_same_session_is_noticed(
    make_assets: MakeAssets, folder: Path
) -> None:
    """Hits after the first check only stat the version's folders: a deletion changes one."""
    assets = make_assets()
    assets.push(folder, "d")
    path = assets.fetch("d")
    for item in [path, path / "sub"]:
        os.utime(item, (1e9, 1e9), follow_symlinks=False)  # an old cache: no mtime race
    assert assets.fetch("d") == path
    (_writable(path) / "sub" / "b.bin").unlink()
    assert assets.fetch("d[sub/b.bin]").read_bytes() == bytes(range(256))


def test_a_file_added_to_a_cached_folder_is_no_damage(
    make_assets: MakeAssets, folder: Path
) -> None:
    said: list[str] = []
    assets = make_assets(notify=said.append)
    assets.push(folder, "d")
    path = assets.fetch("d")
    write(_writable(path) / "__pycache__" / "x.pyc", b"compiled")
    assert make_assets(notify=said.append).fetch("d") == path
    assert (path / "__pycache__" / "x.pyc").exists() and said == []


def test_offline_a_damaged_copy_is_an_integrity_error_pointing_to_verify_repair(
    make_assets: MakeAssets, folder: Path
) -> None:
    make_assets().push(folder, "d")
    victim = _writable(make_assets().fetch("d")) / "a.txt"
    victim.unlink()
    with pytest.raises(IntegrityError) as failure:
        make_assets(offline=True).fetch("d:0.0")
    message = str(failure.value)
    assert "d:0.0[a.txt]" in message and "pytest-assets verify --repair" in message
    assert "offline" in message
    assert not victim.exists()  # left as it was


def _flip_a_byte(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_is_empty_for_a_clean_cache(assets: Assets, folder: Path) -> None:
    assets.push(folder, "d")
    assets.fetch("d")
    assert assets.verify() == []


def test_verify_reports_a_flipped_byte_and_changes_nothing(assets: Assets, folder: Path) -> None:
    assets.push(folder, "d")
    damaged = assets.fetch("d[sub/b.bin]")
    _flip_a_byte(damaged)
    flipped = damaged.read_bytes()
    problems = assets.verify()
    assert len(problems) == 1
    assert (problems[0].name, problems[0].version, problems[0].kind) == ("d", "0.0", "damaged")
    assert "d:0.0[sub/b.bin]: sha256 mismatch" in str(problems[0])
    assert assets.cache.has("d", "0.0") and damaged.read_bytes() == flipped
    assert [p.repaired for p in assets.verify(repair=True)] == [True]
    assert assets.fetch("d:0.0[sub/b.bin]").read_bytes() == bytes(range(256))
    assert assets.verify() == []


def test_verify_reports_a_truncated_file_and_an_extra_file(assets: Assets, folder: Path) -> None:
    assets.push(folder, "d")
    path = assets.fetch("d")
    (path / "a.txt").chmod(0o644)
    (path / "a.txt").write_bytes(b"")
    (path / "sub").chmod(0o755)
    write(path / "sub" / "extra.txt", b"x")
    problems = {str(p): p.kind for p in assets.verify("d")}
    assert [m for m, kind in problems.items() if kind == "damaged"] == [
        f"d:0.0[a.txt]: size 0, expected 6 ({path / 'a.txt'})"
    ]
    assert [m for m, kind in problems.items() if kind == "extra"] == [
        f"d:0.0[sub/extra.txt]: not part of the version ({path / 'sub' / 'extra.txt'})"
    ]


def test_verify_reports_a_pycache_folder_as_an_extra_and_keeps_the_version(
    assets: Assets, folder: Path
) -> None:
    """A test imported a .py from its asset: the version's own files are intact."""
    assets.push(folder, "d")
    path = assets.fetch("d")
    write(_writable(path) / "__pycache__" / "a.cpython-311.pyc", b"compiled")
    problems = assets.verify()
    assert [(p.kind, p.repaired) for p in problems] == [("extra", False)]
    assert "d:0.0[__pycache__/]: not part of the version" in str(problems[0])
    assert assets.cache.has("d", "0.0") and (path / "__pycache__" / "a.cpython-311.pyc").exists()


def test_verify_repair_removes_extras_and_makes_the_version_read_only_again(
    assets: Assets, folder: Path
) -> None:
    assets.push(folder, "d")
    path = assets.fetch("d")
    write(_writable(path) / "__pycache__" / "a.cpython-311.pyc", b"compiled")
    write(path / "sub" / "notes.txt", b"mine")
    problems = assets.verify(repair=True)
    assert [(p.kind, p.repaired) for p in problems] == [("extra", True), ("extra", True)]
    assert str(problems[0]).endswith("(repaired: removed)")
    assert tree(path) == tree(folder)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE((path / "sub").stat().st_mode) == 0o555
    assert assets.verify() == []


def test_verify_repair_offline_leaves_a_damaged_version_as_it_is(
    make_assets: MakeAssets, model: Path
) -> None:
    make_assets().push(model, "m")
    _flip_a_byte(make_assets().fetch("m"))
    problems = make_assets(offline=True).verify(repair=True)
    assert [(p.kind, p.repaired) for p in problems] == [("damaged", False)]
    assert make_assets().cache.has("m", "0.0")


def test_verify_with_repair_downloads_again_at_once(assets: Assets, model: Path) -> None:
    assets.push(model, "m")
    _flip_a_byte(assets.fetch("m"))
    problems = assets.verify("m", repair=True)
    assert [p.repaired for p in problems] == [True]
    assert assets.cache.has("m", "0.0")
    assert assets.fetch("m:0.0").read_bytes() == model.read_bytes()


def test_prune_keeps_the_newest_versions_of_each_asset(assets: Assets, model: Path) -> None:
    for i in range(3):
        assets.push(write(model, f"v{i}".encode()), "m")
        assets.fetch(f"m:0.{i}")
    assets.push(model, "other")
    assets.fetch("other")
    removed = assets.prune(keep=1).removed
    assert sorted(f"{e.name}:{e.version}" for e in removed) == ["m:0.0", "m:0.1"]
    assert sorted(f"{e.name}:{e.version}" for e in assets.cached()) == ["m:0.2", "other:0.0"]
    assert not (assets.cache.directory / "m" / "0.0").exists()


def test_prune_dry_run_removes_nothing(assets: Assets, model: Path) -> None:
    for i in range(3):
        assets.push(write(model, f"v{i}".encode()), "m")
        assets.fetch(f"m:0.{i}")
    assert len(assets.prune(keep=0, dry_run=True).removed) == 3
    assert len(assets.cached()) == 3


def test_prune_leaves_alone_versions_of_another_versioning_system(
    make_assets: MakeAssets, model: Path
) -> None:
    dated = make_assets(versioning="simple_date")
    dated.push(model, "dated")
    dated.fetch("dated")
    assets = make_assets()
    assets.push(model, "m")
    assets.fetch("m")
    assert [f"{e.name}:{e.version}" for e in assets.prune(keep=0).removed] == ["m:0.0"]
    assert [e.name for e in assets.cached()] == ["dated"]


def _pinned_middle_version(make_assets: MakeAssets, model: Path, lock: Path) -> Assets:
    """m:0.0, m:0.1 and m:0.2 cached; assets.lock pins m:0 to 0.1."""
    assets = make_assets(lock_file=lock)
    for i in range(3):
        assets.push(write(model, f"v{i}".encode()), "m")
        if i == 1:
            assets.update_lock(["m:0"])
        assets.fetch(f"m:0.{i}")
    return make_assets(lock_file=lock)


def test_prune_keeps_versions_pinned_in_assets_lock(
    make_assets: MakeAssets, model: Path, tmp_path: Path
) -> None:
    assets = _pinned_middle_version(make_assets, model, tmp_path / "assets.lock")
    pruned = assets.prune(keep=1)
    assert [f"{e.name}:{e.version}" for e in pruned.removed] == ["m:0.0"]
    assert [f"{e.name}:{e.version}" for e in pruned.pinned] == ["m:0.1"]
    assert sorted(e.version for e in assets.cached()) == ["0.1", "0.2"]


def test_prune_include_pinned_removes_pinned_versions_too(
    make_assets: MakeAssets, model: Path, tmp_path: Path
) -> None:
    assets = _pinned_middle_version(make_assets, model, tmp_path / "assets.lock")
    pruned = assets.prune(keep=1, include_pinned=True)
    assert sorted(e.version for e in pruned.removed) == ["0.0", "0.1"] and pruned.pinned == []
    assert [e.version for e in assets.cached()] == ["0.2"]


def test_an_object_missing_for_a_file_asset_is_an_integrity_error(
    assets: Assets, model: Path, store_url: str, cache_dir: Path
) -> None:
    assets.push(model, "m")
    fs, root = raw(store_url)
    fs.rm_file(f"{root}/m/0.0")
    with pytest.raises(IntegrityError, match=r"has its \.meta but not its object"):
        assets.fetch("m")
    assert cached_files(cache_dir) == []


def test_a_data_folder_without_our_record_is_never_handed_out(
    assets: Assets, model: Path, cache_dir: Path
) -> None:
    assets.push(model, "m")
    write(assets.cache.data_path("m", "0.0"), b"planted by hand")
    assert assets.fetch("m:0.0").read_bytes() == model.read_bytes()


def test_the_cache_is_tagged_and_bookkeeping_is_hidden(
    assets: Assets, model: Path, cache_dir: Path
) -> None:
    assets.push(model, "m")
    assets.fetch("m")
    assert (cache_dir / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")
    folder = assets.cache.data_path("m", "0.0").parent.parent.name
    assert sorted(p.name for p in cache_dir.iterdir()) == [".pytest-assets", "CACHEDIR.TAG", folder]


def test_the_cache_is_not_created_before_it_is_used(tmp_path: Path) -> None:
    Assets(store="memory://unused", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_store_objects_are_not_left_with_temp_names(
    assets: Assets, folder: Path, store_url: str
) -> None:
    assets.push(folder, "d")
    assets.push(folder, "d")
    assert [f for f in store_files(store_url) if ".tmp" in f or "lock" in f] == []


# -- a cache and a store in the same place ----------------------------------------------------


@pytest.mark.parametrize(
    ("store", "cache"),
    [
        ("shared", "shared"),
        ("shared", "shared/cache"),
        ("shared/store", "shared"),
        ("shared/./store/..", "shared/link"),
    ],
    ids=["same", "cache-inside-store", "store-inside-cache", "through-a-link"],
)
@pytest.mark.parametrize("form", ["path", "file-url"])
def test_a_cache_overlapping_a_directory_store_is_refused_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str, cache: str, form: str
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths, as on a command line
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "link").symlink_to(tmp_path / "shared")
    url = store if form == "path" else (tmp_path / store).as_uri()
    with pytest.raises(ConfigError) as failure:
        Assets(store=url, cache_dir=cache)
    message = str(failure.value)
    assert str(tmp_path / cache) in message and url in message, message
    assert "ASSETS_DIR" in message
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["link"]


def test_a_cache_next_to_a_directory_store_is_fine(tmp_path: Path, model: Path) -> None:
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "store-cache")
    assets.push(model, "m")
    assert assets.fetch("m").read_bytes() == model.read_bytes()


# -- local stores: a loop on fast disks, the pool on slow shares --------------------------------


def _copying_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slow: float) -> set[str]:
    monkeypatch.setattr(localdisk_module, "_SLOW_COPY_SECONDS", slow)
    copy, seen = localdisk_module.copy_out, set()

    def watched(source: str, target: str) -> None:
        seen.add(threading.current_thread().name)
        copy(source, target)

    monkeypatch.setattr(localdisk_module, "copy_out", watched)
    sources = [write(tmp_path / "store" / f"f{i}", b"x") for i in range(40)]
    pairs = [(str(s), str(tmp_path / "out" / s.name)) for s in sources]
    Store(str(tmp_path / "store")).get_files(pairs, "copying")
    assert all((tmp_path / "out" / s.name).read_bytes() == b"x" for s in sources)
    return seen


def test_a_local_store_copies_in_a_loop_while_each_copy_is_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads only contend on a local disk: 1,000 small copies took 3x longer with 16."""
    seen = _copying_threads(tmp_path, monkeypatch, slow=60.0)
    assert seen == {threading.current_thread().name}


def test_a_local_store_switches_to_the_pool_when_copies_are_slow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A network share mounted as a directory: per-file latency, where overlap pays."""
    seen = _copying_threads(tmp_path, monkeypatch, slow=0.0)
    assert threading.current_thread().name in seen  # the probe files
    assert len(seen) > 1


@pytest.fixture
def kernel_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Big-file copies (the kernel's, hashed alongside) from 64 KB, in 16 KB steps."""
    monkeypatch.setattr(localdisk_module, "_KERNEL_COPY_BYTES", 64 * 1024)
    monkeypatch.setattr(localdisk_module, "_KERNEL_COPY_CHUNK", 16 * 1024)


@pytest.mark.usefixtures("kernel_copies")
def test_a_big_file_from_a_directory_store_arrives_whole_and_read_only(tmp_path: Path) -> None:
    data = os.urandom(300 * 1024)
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "cache")
    assets.push(write(tmp_path / "big.bin", data), "big")
    fetched = assets.fetch("big:0.0")
    assert fetched.read_bytes() == data
    assert stat.S_IMODE(fetched.stat().st_mode) & 0o222 == 0


@pytest.mark.usefixtures("kernel_copies")
def test_a_big_file_changed_in_a_directory_store_is_refused(tmp_path: Path) -> None:
    data = os.urandom(300 * 1024)
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "cache")
    assets.push(write(tmp_path / "big.bin", data), "big")
    stored = tmp_path / "store" / "big" / "0.0"
    stored.chmod(0o644)
    stored.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
    with pytest.raises(IntegrityError, match="sha256"):
        assets.fetch("big:0.0")
    assert assets.cached() == []


@pytest.mark.usefixtures("kernel_copies")
def test_a_big_copy_whose_hashing_thread_gives_up_is_hashed_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream hasher answers None when it could not follow (an OSError): no shortcut."""
    real = localdisk_module.stream_hasher

    def giving_up(local: str) -> Any:
        hasher = real(local)
        finish = hasher.finish
        hasher.finish = lambda: (finish(), None)[1]
        return hasher

    monkeypatch.setattr(localdisk_module, "stream_hasher", giving_up)
    data = os.urandom(300 * 1024)
    (tmp_path / "store").mkdir()
    write(tmp_path / "store" / "big.bin", data)
    copied = tmp_path / "copy.bin"
    assert localdisk_module.copy_out(str(tmp_path / "store" / "big.bin"), str(copied)) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
