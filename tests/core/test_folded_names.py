"""Names that look alike: a non-ASCII letter in an asset name, a sub-part typed in another
Unicode normalisation, and files that macOS and Windows would take for one."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from support import MakeAssets, write

from pytest_assets import Assets, AssetSpec, InvalidAssetSpecError

NFC = unicodedata.normalize("NFC", "café.txt")
NFD = unicodedata.normalize("NFD", "café.txt")


def test_a_non_ascii_letter_in_a_name_is_refused_saying_ascii_letters() -> None:
    with pytest.raises(InvalidAssetSpecError, match="may only hold ASCII letters"):
        AssetSpec.parse("démo/vocab")


def test_a_sub_part_typed_in_nfd_finds_the_file_pushed_in_nfc(
    assets: Assets, tmp_path: Path
) -> None:
    assert NFC != NFD
    write(tmp_path / "src" / "notes" / NFC, b"bonjour")
    assets.push(tmp_path / "src", "menu")
    assert assets.fetch(f"menu:0.0[notes/{NFD}]").read_bytes() == b"bonjour"
    assert assets.fetch(f"menu:0.0[notes/{NFC}]").read_bytes() == b"bonjour"


def test_a_push_warns_about_names_that_differ_only_by_case_or_normalisation(
    make_assets: MakeAssets, tmp_path: Path
) -> None:
    said: list[str] = []
    write(tmp_path / "src" / "README.md", b"a")
    write(tmp_path / "src" / "readme.md", b"b")
    write(tmp_path / "src" / "Data" / NFC, b"c")
    write(tmp_path / "src" / "Data" / NFD, b"d")
    write(tmp_path / "src" / "other.txt", b"e")
    make_assets(notify=said.append).push(tmp_path / "src", "clash")
    (warning,) = said
    assert "differ only by letter case or Unicode normalisation" in warning
    assert "'README.md' and 'readme.md'" in warning
    assert f"'Data/{NFC}' and 'Data/{NFD}'" in warning or f"'Data/{NFD}' and 'Data/{NFC}'" in (
        warning
    )
    assert "other.txt" not in warning


def test_a_push_of_distinct_names_says_nothing(make_assets: MakeAssets, tmp_path: Path) -> None:
    said: list[str] = []
    write(tmp_path / "src" / "a.txt", b"a")
    write(tmp_path / "src" / "b.txt", b"b")
    make_assets(notify=said.append).push(tmp_path / "src", "fine")
    assert said == []
