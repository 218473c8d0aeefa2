"""The local cache: its layout, records, damaged copies, verify, prune, and its place beside the
store."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from support import MakeAssets, cached_files, raw, store_files, tree, write

from pytest_assets import (
    Assets,
    ConfigError,
    IntegrityError,
)
from pytest_assets.store import Store

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


def _writable_folders(path: Path) -> Path:
    """Open the folders of a cached version only: enough for a test to write a file there."""
    for item in [path, *path.rglob("*")]:
        if item.is_dir():
            item.chmod(0o755)
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
    write(_writable_folders(path) / "__pycache__" / "a.cpython-311.pyc", b"compiled")
    problems = assets.verify()
    assert [(p.kind, p.repaired) for p in problems] == [("extra", False)]
    assert "d:0.0[__pycache__/]: not part of the version" in str(problems[0])
    assert assets.cache.has("d", "0.0") and (path / "__pycache__" / "a.cpython-311.pyc").exists()


def test_verify_repair_removes_extras_and_makes_the_version_read_only_again(
    assets: Assets, folder: Path
) -> None:
    assets.push(folder, "d")
    path = assets.fetch("d")
    write(_writable_folders(path) / "__pycache__" / "a.cpython-311.pyc", b"compiled")
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


def test_verify_reports_a_cached_file_made_writable_and_keeps_the_version(
    assets: Assets, folder: Path
) -> None:
    assets.push(folder, "d")
    path = assets.fetch("d")
    (path / "a.txt").chmod(0o644)
    problems = assets.verify()
    assert [(p.kind, p.repaired) for p in problems] == [("mode", False)]
    assert "d:0.0[a.txt]: mode 644, expected 444" in problems[0].message
    assert assets.cache.has("d", "0.0")


def test_verify_reports_a_lost_execute_bit(assets: Assets, tmp_path: Path) -> None:
    source = tmp_path / "tool"
    write(source / "run.sh", b"#!/bin/sh\necho hi\n").chmod(0o755)
    assets.push(source, "t")
    path = assets.fetch("t")
    (path / "run.sh").chmod(0o444)
    [problem] = assets.verify()
    assert problem.message.startswith("t:0.0[run.sh]: mode 444, expected 555")


def test_verify_repair_restores_the_modes_without_downloading(
    assets: Assets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assets.push(folder, "d")
    path = assets.fetch("d")
    (path / "sub").chmod(0o755)
    (path / "a.txt").chmod(0o600)
    monkeypatch.setattr(Store, "get_files", None)  # a download would fail loudly
    assert all(p.repaired for p in assets.verify(repair=True))
    assert stat.S_IMODE((path / "sub").stat().st_mode) == 0o555
    assert stat.S_IMODE((path / "a.txt").stat().st_mode) == 0o444
    assert assets.verify() == []
