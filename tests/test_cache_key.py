"""``pytest-assets cache key``: one CI cache key per set of pins, wherever the checkout is."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pytest_assets import cache_key as cache_key_module
from pytest_assets.cache_key import cache_key
from pytest_assets.cli import main

HASH_A, HASH_B = "a" * 64, "b" * 64
LOCK = f"""# a comment
team/model:1 1.3 {HASH_A}
team/vocab 0.2 {HASH_B}
"""


def write_lock(folder: Path, text: str = LOCK) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "assets.lock"
    path.write_text(text)
    return path


def test_the_key_is_short_and_names_the_cache_format(tmp_path: Path) -> None:
    assert re.fullmatch(r"pytest-assets-c1-[0-9a-f]{16}", cache_key(write_lock(tmp_path)))


def test_the_same_lock_in_two_checkouts_gives_the_same_key(tmp_path: Path) -> None:
    first = write_lock(tmp_path / "runner-1" / "repo")
    second = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(first.parent, second)
    assert cache_key(first) == cache_key(second / "assets.lock")


def test_comments_and_line_order_do_not_change_the_key(tmp_path: Path) -> None:
    reordered = "\n".join(reversed(LOCK.splitlines()[1:])) + "\n# another comment\n"
    assert cache_key(write_lock(tmp_path / "a")) == cache_key(write_lock(tmp_path / "b", reordered))


@pytest.mark.parametrize(
    "changed",
    [
        LOCK.replace("1.3", "1.4"),  # a pin moved
        LOCK.replace(HASH_B, "c" * 64),  # a version re-created
        LOCK + f"team/extra:0 0.0 {HASH_A}\n",  # a spec added
    ],
    ids=["version", "meta-hash", "added"],
)
def test_a_changed_pin_changes_the_key(tmp_path: Path, changed: str) -> None:
    assert cache_key(write_lock(tmp_path / "a")) != cache_key(write_lock(tmp_path / "b", changed))


def test_a_new_cache_format_changes_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = write_lock(tmp_path)
    before = cache_key(lock)
    monkeypatch.setattr(cache_key_module, "CACHE_FORMAT", 2)
    assert cache_key(lock) != before
    assert cache_key(lock).startswith("pytest-assets-c2-")


def test_cli_cache_key_prints_only_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = write_lock(tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    assert main(["cache", "key", "--lock", str(lock)]) == 0
    assert capsys.readouterr().out == f"{cache_key(lock)}\n"


def test_cli_cache_key_defaults_to_the_assets_lock_of_the_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = write_lock(tmp_path / "repo")
    (lock.parent / "pytest.ini").write_text("[pytest]\n")
    (lock.parent / "tests").mkdir()
    monkeypatch.chdir(lock.parent / "tests")
    assert main(["cache", "key"]) == 0
    assert capsys.readouterr().out == f"{cache_key(lock)}\n"


def test_cli_cache_key_without_a_lock_file_exits_1_saying_how_to_write_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["cache", "key"]) == 1
    err = capsys.readouterr().err
    assert "no lock file" in err and "--assets-lock" in err and len(err.splitlines()) == 1
