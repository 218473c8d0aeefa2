"""Pushing a file or a folder as a new, immutable version: the versions it takes, what it refuses,
what it writes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support import cached_files, raw, read_json, store_files, write

from pytest_assets import (
    AssetExistsError,
    AssetNotFoundError,
    Assets,
    AssetsError,
    AssetSpec,
    InvalidAssetSpecError,
)
from pytest_assets.manifest import sha256_file

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
