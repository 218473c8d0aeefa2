"""The local-disk primitives below the store: whole-or-nothing writes and hashed copies."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from pytest_assets import localdisk


def test_a_write_that_fails_leaves_the_old_content_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.versions"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), localdisk.as_atomic(str(target)) as tmp:
        Path(tmp).write_bytes(b"half")
        raise RuntimeError("killed half-way")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.versions"]


def test_a_create_only_write_refuses_a_taken_name_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "v" / "0.0.meta"
    localdisk.write_atomic(str(target), b"first", create_only=True)
    with pytest.raises(FileExistsError):
        localdisk.write_atomic(str(target), b"second", create_only=True)
    localdisk.write_atomic(str(target), b"third")
    assert target.read_bytes() == b"third"
    assert os.listdir(target.parent) == ["0.0.meta"]


def test_a_written_file_is_readable_by_others_as_a_data_object_is(tmp_path: Path) -> None:
    """0666 less the umask, not ``mkstemp``'s 0600: a shared directory store has many users."""
    umask = os.umask(0o022)
    try:
        localdisk.write_atomic(str(tmp_path / "x.versions"), b"{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "x.versions").stat().st_mode) == 0o644


def test_a_copy_in_stages_outside_the_version_and_is_create_only(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "v").mkdir()
    source = tmp_path / "src"
    source.write_bytes(b"data")
    localdisk.copy_in(str(source), str(tmp_path / "v" / "f"), str(tmp_path / "tmp"))
    with pytest.raises(FileExistsError):
        localdisk.copy_in(str(source), str(tmp_path / "v" / "f"), str(tmp_path / "tmp"))
    assert (tmp_path / "v" / "f").read_bytes() == b"data"
    assert os.listdir(tmp_path / "tmp") == []


def test_a_copy_out_is_read_only_and_measured_on_the_way(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.write_bytes(b"data" * 1000)
    target = tmp_path / "copy"
    measured = localdisk.copy_out(str(source), str(target))
    assert measured == (4000, hashlib.sha256(b"data" * 1000).hexdigest())
    assert stat.S_IMODE(target.stat().st_mode) & 0o222 == 0


def test_a_folder_where_an_object_should_be_is_no_object(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(FileNotFoundError, match="no object there"):
        localdisk.copy_out(str(tmp_path / "folder"), str(tmp_path / "copy"))
