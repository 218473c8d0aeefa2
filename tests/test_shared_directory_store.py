"""A directory store shared by a team (a mounted volume, a group folder): every file a push
writes, and ``assets.lock``, get the mode the umask gives, 0666 less the umask, as any other
tool's files do; so a group umask (002) lets the whole group read and push."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_assets import Assets


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The test's umask for the whole process, restored afterwards."""
    mask: int = request.param
    old = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(old)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "src" / "model"
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(b"w" * 100)
    (root / "sub" / "labels.txt").write_text("cat\n")
    return root


def _modes(root: Path) -> dict[str, int]:
    return {
        path.relative_to(root).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in root.rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], indirect=True, ids=["022", "002", "077"])
def test_every_file_a_push_writes_gets_the_mode_the_umask_gives(
    umask: int, folder: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    assets = Assets(store=str(store), cache_dir=tmp_path / "cache")
    assets.push(folder, "team/model")
    assets.push(folder / "weights.bin", "team/weights")
    modes = _modes(store)
    assert {"team/model.versions", "team/model/0.0.meta", "team/weights/0.0"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o666 & ~umask)


@pytest.mark.parametrize("umask", [0o022, 0o002], indirect=True, ids=["022", "002"])
def test_assets_lock_gets_the_mode_the_umask_gives(
    umask: int, folder: Path, tmp_path: Path
) -> None:
    lock = tmp_path / "project" / "assets.lock"
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "c", lock_file=lock)
    assets.push(folder, "team/model")
    assets.update_lock(["team/model:0"])
    assert stat.S_IMODE(lock.stat().st_mode) == 0o666 & ~umask
