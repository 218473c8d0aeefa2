"""Diff: added, removed and changed files between two versions, from their ``.meta`` alone;
the summary a push prints against the version it follows, and a dry run's (nothing written)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pytest_assets import Assets
from pytest_assets.cli import main

MODELKIT_STORE = Path(__file__).parent / "data" / "modelkit_store" / "modelkit-assets"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    return root


@pytest.fixture
def assets(store: Path, tmp_path: Path) -> Assets:
    return Assets(store=str(store), cache_dir=tmp_path / "cache")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    write(root / "keep.txt", b"same")
    write(root / "change.txt", b"v1")
    write(root / "gone.txt", b"bye")
    return root


def second_version(folder: Path) -> None:
    write(folder / "change.txt", b"v2 longer")
    (folder / "gone.txt").unlink()
    write(folder / "sub" / "new.txt", b"hello")


def test_diff_lists_added_removed_and_changed_files_with_sizes(
    assets: Assets, folder: Path
) -> None:
    assets.push(folder, "d")
    second_version(folder)
    assets.push(folder, "d")
    diff = assets.diff("d:0.0", "d:0.1")
    assert diff.summary() == "1 changed, 1 unchanged, 1 added, 1 removed"
    assert diff.rows() == [
        ("changed", "change.txt", "2 B", "9 B"),
        ("removed", "gone.txt", "3 B", "-"),
        ("added", "sub/new.txt", "-", "5 B"),
    ]


def test_diff_reads_no_data(assets: Assets, folder: Path, store: Path) -> None:
    assets.push(folder, "d")
    second_version(folder)
    assets.push(folder, "d")
    for path in store.rglob("*.txt"):
        path.unlink()  # only the .meta objects are left to read
    assert assets.diff("d:0.0", "d:0.1").count("changed") == 1


def test_diff_of_identical_versions_says_identical(assets: Assets, folder: Path) -> None:
    assets.push(folder, "d")
    assets.push(folder, "d", allow_identical=True)
    diff = assets.diff("d:0.0", "d:0.1")
    assert diff.identical
    assert diff.summary() == "identical (3 files)"


def test_diff_between_a_file_asset_and_a_directory_asset_shares_no_file(
    assets: Assets, folder: Path, tmp_path: Path
) -> None:
    assets.push(write(tmp_path / "one.bin", b"x" * 10), "a")
    assets.push(folder, "a")
    diff = assets.diff("a:0.0", "a:0.1")
    assert diff.summary() == "3 added, 1 removed"
    assert diff.notes == ["a:0.0 is a file asset, a:0.1 a directory: no file is common to both"]
    assert ("removed", "a", "10 B", "-") in diff.rows("a")


def test_diff_of_modelkits_hashless_versions_compares_sizes_and_says_so(tmp_path: Path) -> None:
    store = tmp_path / "mk"
    shutil.copytree(MODELKIT_STORE, store)
    assets = Assets(store=str(store), cache_dir=tmp_path / "cache")
    diff = assets.diff("category/vocab:0.0", "category/vocab:0.1")
    assert diff.summary() == "1 changed"  # 17 bytes, then 23: sizes from the store's listing
    assert "only sizes were compared" in diff.notes[0]
    same = assets.diff("models/tiny:0.0", "models/tiny:0.0")
    assert not same.identical  # no hashes: equal sizes are not proof
    assert same.summary() == "3 of unknown change"


@pytest.fixture
def cli(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> object:
    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--store", str(store), "--cache-dir", str(tmp_path / "cache"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_diff_prints_the_summary_and_one_line_per_change(
    cli: object, folder: Path, assets: Assets
) -> None:
    assets.push(folder, "d")
    second_version(folder)
    assets.push(folder, "d")
    code, out, _ = cli("diff", "d:0.0", "d:0.1")  # type: ignore[operator]
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "d:0.0 -> d:0.1: 1 changed, 1 unchanged, 1 added, 1 removed"
    assert lines[1].split() == ["changed", "change.txt", "2", "B", "9", "B"]


def test_cli_push_prints_the_summary_against_the_version_it_follows(
    cli: object, folder: Path
) -> None:
    cli("push", str(folder), "d")  # type: ignore[operator]
    second_version(folder)
    code, out, _ = cli("push", str(folder), "d")  # type: ignore[operator]
    assert code == 0
    assert out.splitlines()[1] == (
        "  against d:0.0: 1 changed, 1 unchanged (copied in the store), 1 added, 1 removed"
    )


def test_push_dry_run_shows_the_summary_and_writes_nothing(
    cli: object, folder: Path, store: Path
) -> None:
    cli("push", str(folder), "d")  # type: ignore[operator]
    second_version(folder)
    before = sorted((p.relative_to(store), p.stat().st_mtime_ns) for p in store.rglob("*"))
    code, out, _ = cli("push", str(folder), "d", "--dry-run")  # type: ignore[operator]
    assert code == 0
    assert out.splitlines()[:2] == [
        f"would push d:0.1 to {store}",
        "  against d:0.0: 1 changed, 1 unchanged (copied in the store), 1 added, 1 removed",
    ]
    after = sorted((p.relative_to(store), p.stat().st_mtime_ns) for p in store.rglob("*"))
    assert after == before
    assert not os.path.exists(store / "d" / "0.1")
