"""What a push reads from the disk (issue 10): a source that changes while it is pushed is never
published; links leaving the folder are refused unless followed; version-control folders,
Python caches, OS litter and whatever ``.assetsignore`` names are left out."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path
from typing import Any

import fsspec.core
import pytest
from servers import StoreUnderTest

from pytest_assets import AssetNotFoundError, Assets, AssetsError, AssetSpec, SourceChangedError
from pytest_assets import sources as sources_module
from pytest_assets.sources import LocalScan, Stamp, scan_local
from pytest_assets.store import Store

CHANGED = "changed while it was being pushed; nothing was published; push again once it stops"


@pytest.fixture
def assets(any_store: StoreUnderTest, tmp_path: Path) -> Assets:
    return Assets(
        store=any_store.url,
        cache_dir=tmp_path / "cache",
        storage_options=any_store.storage_options,
    )


@pytest.fixture
def local(tmp_path: Path) -> Assets:
    """A directory store: links and ignore rules are the disk's business, not the backend's."""
    return Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "cache")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "src" / "model"
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(bytes(range(256)) * 64)
    (root / "sub" / "labels.txt").write_text("cat\ndog\n")
    return root


def objects(assets: Assets) -> list[str]:
    """Every object in the store, relative to its root, seen behind our back."""
    fs, root = fsspec.core.url_to_fs(assets.store_url, **assets.storage_options)
    root = str(root).rstrip("/")
    if not fs.exists(root):
        return []
    return sorted(str(p)[len(root) + 1 :] for p in fs.find(root))


def tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def write_during_upload(monkeypatch: pytest.MonkeyPatch, path: Path, data: bytes) -> None:
    """A writer racing the push: ``path`` grows after it was hashed, before it is uploaded."""
    original, calls = Store.put_files, []

    def racing(self: Store, pairs: Any, what: str, progress: Any = None) -> None:
        if not calls:
            with path.open("ab") as handle:
                handle.write(data)
        calls.append(what)
        original(self, pairs, what, progress)

    monkeypatch.setattr(Store, "put_files", racing)


# -- a source that changes during the push (case 2) -------------------------------------------


def test_a_file_appended_to_during_the_upload_is_not_published_and_is_named(
    assets: Assets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_during_upload(monkeypatch, folder / "weights.bin", b"one more epoch")
    with pytest.raises(SourceChangedError, match=rf"weights\.bin {CHANGED}"):
        assets.push(folder, "m")
    with pytest.raises(AssetNotFoundError):
        assets.versions("m")


def test_a_single_file_appended_to_during_the_upload_is_not_published(
    assets: Assets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = folder / "weights.bin"
    write_during_upload(monkeypatch, source, b"one more epoch")
    with pytest.raises(SourceChangedError, match=rf"{re.escape(str(source))} {CHANGED}"):
        assets.push(source, "m")
    with pytest.raises(AssetNotFoundError):
        assets.versions("m")


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_push_refused_for_a_changing_source_leaves_no_claim_and_no_objects(
    assets: Assets, folder: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    source = folder if kind == "directory" else folder / "weights.bin"
    write_during_upload(monkeypatch, folder / "weights.bin", b"one more epoch")
    with pytest.raises(SourceChangedError):
        assets.push(source, "m")
    assert objects(assets) == []


def test_a_file_deleted_during_the_upload_is_named_and_nothing_is_left_behind(
    assets: Assets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Store.put_files
    victim = sorted(p for p in folder.rglob("*") if p.is_file())[-1]

    def deleting(self: Store, pairs: Any, what: str, progress: Any = None) -> None:
        victim.unlink()
        original(self, pairs, what, progress)

    monkeypatch.setattr(Store, "put_files", deleting)
    with pytest.raises(SourceChangedError, match=rf"{re.escape(victim.name)} {CHANGED}"):
        assets.push(folder, "m")
    assert objects(assets) == []


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_push_again_once_the_source_holds_still_publishes_it(
    assets: Assets, folder: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    source = folder if kind == "directory" else folder / "weights.bin"
    with monkeypatch.context() as patch:
        write_during_upload(patch, folder / "weights.bin", b"one more epoch")
        with pytest.raises(SourceChangedError):
            assets.push(source, "m")
    assert assets.push(source, "m") == AssetSpec("m", "0.0")
    fetched = assets.fetch("m:0.0")
    if kind == "file":
        assert fetched.read_bytes() == source.read_bytes()
    else:
        assert tree(fetched) == tree(folder)


def test_a_file_changed_while_it_is_hashed_is_refused_before_anything_is_written(
    local: Assets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = sources_module.sha256_file

    def hash_then_grow(path: Any) -> tuple[int, str]:
        measured = original(path)
        with open(path, "ab") as handle:
            handle.write(b"!")
        return measured

    monkeypatch.setattr(sources_module, "sha256_file", hash_then_grow)
    with pytest.raises(SourceChangedError, match=rf"sub/labels\.txt {CHANGED}"):
        local.push(folder, "m")
    assert objects(local) == []


def _forged(scan: LocalScan, rel: str) -> LocalScan:
    """``scan`` as if ``rel`` had been written to without its stamp moving (one timestamp tick
    on a coarse file system): only reading it again can tell."""
    sources = tuple(
        dataclasses.replace(s, stamp=Stamp.of(s.path)) if s.rel == rel else s for s in scan.sources
    )
    return dataclasses.replace(scan, sources=sources)


def test_a_file_rewritten_within_one_timestamp_tick_is_caught_by_its_hash(folder: Path) -> None:
    scan = scan_local(folder)
    (folder / "weights.bin").write_bytes(bytes(reversed(range(256))) * 64)  # the same size
    assert _forged(scan, "weights.bin").changed() == ["weights.bin"]


def test_a_file_untouched_for_seconds_before_the_push_is_checked_by_its_stamp_alone(
    folder: Path,
) -> None:
    """A write after the hash moves the mtime of such a file, so it is not read twice."""
    old = os.stat(folder / "weights.bin").st_mtime_ns - 60 * 10**9
    os.utime(folder / "weights.bin", ns=(old, old))
    scan = scan_local(folder)
    (folder / "weights.bin").write_bytes(bytes(reversed(range(256))) * 64)
    os.utime(folder / "weights.bin", ns=(old, old))  # only the ctime says it was written
    assert _forged(scan, "weights.bin").changed() == []  # trusted: not read again
    assert scan.changed() == ["weights.bin"]


def test_on_a_file_system_keeping_whole_seconds_a_file_from_a_second_ago_is_hashed_again(
    folder: Path,
) -> None:
    """ext3, HFS+ and FAT round mtimes to the second: a rewrite can keep a 1 s old stamp."""
    second_ago = (time.time_ns() // 10**9 - 1) * 10**9
    os.utime(folder / "weights.bin", ns=(second_ago, second_ago))
    scan = scan_local(folder)
    (folder / "weights.bin").write_bytes(bytes(reversed(range(256))) * 64)
    os.utime(folder / "weights.bin", ns=(second_ago, second_ago))
    assert _forged(scan, "weights.bin").changed() == ["weights.bin"]


# -- links (case 10) --------------------------------------------------------------------------


def test_a_push_refuses_a_link_leaving_the_folder(
    local: Assets, folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "credentials").write_text("aws_secret_access_key = hunter2\n")
    (folder / "sub" / "config").symlink_to(tmp_path / "credentials")
    with pytest.raises(AssetsError, match=r"'sub/config': a symbolic link to .*outside the folder"):
        local.push(folder, "m")
    assert objects(local) == []


def test_a_push_refuses_a_relative_link_climbing_out_of_the_folder(
    local: Assets, folder: Path
) -> None:
    (folder.parent / "beside.txt").write_text("not part of the asset\n")
    (folder / "beside.txt").symlink_to(Path("..") / "beside.txt")
    with pytest.raises(AssetsError, match="--follow-links"):
        local.push(folder, "m")


def test_follow_links_pushes_what_a_link_leaving_the_folder_points_to(
    local: Assets, folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "shared.txt").write_text("shared vocabulary\n")
    (folder / "vocab.txt").symlink_to(tmp_path / "shared.txt")
    pushed = local.push(folder, "m", follow_links=True)
    fetched = local.fetch(f"{pushed}[vocab.txt]")
    assert not fetched.is_symlink()
    assert fetched.read_text() == "shared vocabulary\n"


def test_a_link_to_a_file_inside_the_folder_is_pushed_as_the_file(
    local: Assets, folder: Path
) -> None:
    (folder / "latest.txt").symlink_to(Path("sub") / "labels.txt")
    fetched = local.fetch(f"{local.push(folder, 'm')}[latest.txt]")
    assert not fetched.is_symlink()
    assert fetched.read_text() == "cat\ndog\n"


@pytest.mark.parametrize(
    ("link", "target", "ignore"),
    [("cfg", ".git/config", ""), ("settings", ".env", ".env\n"),
     ("cache", "sub/__pycache__/x.pyc", "")],
)  # fmt: skip
def test_a_push_refuses_a_link_to_a_file_the_ignore_rules_leave_out(
    local: Assets, folder: Path, link: str, target: str, ignore: str
) -> None:
    (folder / target).parent.mkdir(parents=True, exist_ok=True)
    (folder / target).write_text("token = hunter2\n")
    (folder / ".assetsignore").write_text(ignore)
    (folder / "sub" / link).symlink_to(folder / target)
    with pytest.raises(AssetsError) as caught:
        local.push(folder, "m")
    assert f"'sub/{link}': a symbolic link to {target!r}, which the ignore rules leave out" in str(
        caught.value
    )
    assert objects(local) == []


# -- what a folder leaves out (case 10) -------------------------------------------------------


def test_a_push_leaves_out_version_control_python_caches_and_os_litter(
    local: Assets, folder: Path
) -> None:
    litter = [
        ".git/HEAD",
        ".git/objects/ab/cdef",
        "sub/__pycache__/labels.cpython-311.pyc",
        "helpers.pyc",
        ".ipynb_checkpoints/explore-checkpoint.ipynb",
        ".DS_Store",
        "sub/._labels.txt",
        "Thumbs.db",
    ]
    for rel in litter:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"litter")
    fetched = local.fetch(local.push(folder, "m"))
    assert sorted(tree(fetched)) == ["sub/labels.txt", "weights.bin"]


def test_assetsignore_leaves_out_what_it_names_in_gitignore_syntax(
    local: Assets, folder: Path
) -> None:
    (folder / ".assetsignore").write_text("# scratch\n*.log\n/build/\n!keep.log\n")
    for rel in ["train.log", "sub/eval.log", "keep.log", "build/tmp.bin", "sub/build/kept.bin"]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(rel)
    fetched = local.fetch(local.push(folder, "m"))
    assert sorted(tree(fetched)) == [
        "keep.log",
        "sub/build/kept.bin",
        "sub/labels.txt",
        "weights.bin",
    ]


def test_an_assetsignore_negation_brings_back_a_default_exclusion(
    local: Assets, folder: Path
) -> None:
    (folder / ".assetsignore").write_text("!*.pyc\n")
    (folder / "compiled.pyc").write_bytes(b"bytecode the asset needs")
    fetched = local.fetch(local.push(folder, "m"))
    assert (fetched / "compiled.pyc").read_bytes() == b"bytecode the asset needs"


def test_what_the_ignore_rules_leave_out_is_not_refused(local: Assets, folder: Path) -> None:
    """A FIFO or a broken link that is ignored cannot stop the push."""
    os.mkfifo(folder / "pipe")
    (folder / "dangling").symlink_to(folder / "nowhere")
    (folder / ".assetsignore").write_text("pipe\ndangling\n")
    assert local.push(folder, "m") == AssetSpec("m", "0.0")


def test_a_folder_holding_only_ignored_files_is_refused_as_empty(
    local: Assets, tmp_path: Path
) -> None:
    root = tmp_path / "only-litter"
    (root / "__pycache__").mkdir(parents=True)
    (root / "__pycache__" / "x.pyc").write_bytes(b"x")
    (root / ".DS_Store").write_bytes(b"x")
    with pytest.raises(AssetsError, match="holds no files"):
        local.push(root, "m")


def test_a_folder_emptied_by_the_ignore_rules_says_they_left_everything_out(
    local: Assets, folder: Path
) -> None:
    (folder / ".assetsignore").write_text("*\n")
    with pytest.raises(AssetsError) as caught:
        local.push(folder, "m")
    assert (
        f"the folder {folder} holds no files once the ignore rules (.assetsignore and the "
        "defaults) leave out 1 file and 1 folder (sub/, weights.bin)"
    ) in str(caught.value)


def test_the_push_report_of_a_dry_run_lists_the_files_and_what_was_left_out(
    local: Assets, folder: Path
) -> None:
    (folder / ".assetsignore").write_text("*.log\n")
    (folder / "train.log").write_text("loss\n")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref\n")
    report = local.push_report(folder, "m", dry_run=True)
    assert (report.spec, report.pushed, report.dry_run) == (AssetSpec("m", "0.0"), False, True)
    assert [(f.path, f.size) for f in report.files] == [
        ("sub/labels.txt", 8),
        ("weights.bin", 256 * 64),
    ]
    assert report.total_size == 8 + 256 * 64
    assert report.ignored == (".git/", "train.log")
    assert objects(local) == []


# -- names a sub-part spec must reach (case 12) ------------------------------------------------


def test_a_file_with_square_brackets_in_its_name_is_fetched_as_a_sub_part(
    assets: Assets, folder: Path
) -> None:
    (folder / "sub" / "sp ace [1].txt").write_text("bracketed\n")
    pushed = assets.push(folder, "u/s")
    fetched = assets.fetch(f"{pushed}/sub/sp ace [1].txt")
    assert fetched.read_text() == "bracketed\n"


def test_a_push_refuses_a_file_name_no_sub_part_spec_can_name(local: Assets, folder: Path) -> None:
    (folder / "next\x85line.txt").write_text("C1 control character\n")
    with pytest.raises(AssetsError, match=r"'next\\x85line.txt': a name a fetch would refuse"):
        local.push(folder, "m")
