"""Asset specs: ``name[:version][[sub/part]]`` and ``name:1.2/sub/part`` (issue 2, point 1)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_assets import AssetsError, AssetSpec, InvalidAssetSpecError
from pytest_assets.versioning import get_versioning

# -- the grammar ------------------------------------------------------------------------------


def test_a_bare_name_has_no_version_and_no_sub_part() -> None:
    assert AssetSpec.parse("category/asset") == AssetSpec("category/asset", None, None)


def test_name_and_complete_version() -> None:
    assert AssetSpec.parse("category/asset:1.2") == AssetSpec("category/asset", "1.2", None)


def test_name_and_major_only() -> None:
    assert AssetSpec.parse("asset:1") == AssetSpec("asset", "1", None)


def test_brackets_form_gives_the_sub_part() -> None:
    spec = AssetSpec.parse("category/asset:1.2[dir/file.txt]")
    assert spec == AssetSpec("category/asset", "1.2", "dir/file.txt")


def test_slash_form_after_a_version_gives_the_sub_part() -> None:
    spec = AssetSpec.parse("category/asset:1.2/dir/file.txt")
    assert spec == AssetSpec("category/asset", "1.2", "dir/file.txt")


def test_slash_form_and_brackets_form_are_the_same_spec() -> None:
    assert AssetSpec.parse("a/b:1/x/y.txt") == AssetSpec.parse("a/b:1[x/y.txt]")


def test_a_leading_slash_inside_brackets_is_dropped() -> None:
    assert AssetSpec.parse("asset:1.2[/dir/file.txt]").sub_part == "dir/file.txt"


def test_sub_part_without_a_version() -> None:
    assert AssetSpec.parse("category/asset[model.pkl]") == AssetSpec(
        "category/asset", None, "model.pkl"
    )


def test_without_a_version_a_slash_belongs_to_the_name() -> None:
    assert AssetSpec.parse("a/b/c").name == "a/b/c"


def test_sub_part_may_hold_spaces_and_colons() -> None:
    assert AssetSpec.parse("asset:1[my dir/a:b.txt]").sub_part == "my dir/a:b.txt"


@pytest.mark.parametrize(
    "text",
    [
        "asset",
        "category/asset",
        "a/b/c:0",
        "asset:1.2",
        "asset:10.0[x]",
        "asset[dir/file.txt]",
        "asset:1.2[dir/sub/file.txt]",
    ],
)
def test_str_gives_the_canonical_text(text: str) -> None:
    assert str(AssetSpec.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    ["asset:1.2/dir/f.txt", "asset:1[/x]", "a/b:0.0[c/d e.txt]", "x[y]"],
)
def test_round_trip_parse_of_str_is_equal(text: str) -> None:
    spec = AssetSpec.parse(text)
    assert AssetSpec.parse(str(spec)) == spec


def test_specs_are_frozen_values() -> None:
    spec = AssetSpec.parse("asset:1")
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]
    assert {spec, AssetSpec("asset", "1")} == {spec}


# -- invalid input: one sentence naming the bad part ------------------------------------------


def test_invalid_spec_error_is_a_value_error_and_an_assets_error() -> None:
    with pytest.raises(ValueError):
        AssetSpec.parse("../x")
    assert issubclass(InvalidAssetSpecError, AssetsError)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        (":1.2", "asset name is empty"),
        ("a//b", "empty segment"),
        ("asset:1[a//b]", "empty segment"),
        ("asset:", "no version after it"),
        ("asset[]", "empty sub-part"),
    ],
)
def test_empty_name_segment_version_or_sub_part_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match=fragment):
        AssetSpec.parse(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("/asset", "starts with '/'"),
        ("asset/", "ends with '/'"),
        ("asset:1[dir/]", "ends with '/'"),
        ("asset:1/", "ends with '/' after the version"),
    ],
)
def test_leading_or_trailing_slash_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match=fragment):
        AssetSpec.parse(text)


@pytest.mark.parametrize(
    "text", ["../asset", "a/../b", "a/..", "asset:1[../x]", "asset:1/../x", "asset[a/../../b]"]
)
def test_dot_dot_segments_are_refused(text: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match=r"'\.\.' segment"):
        AssetSpec.parse(text)


def test_dot_segments_are_refused() -> None:
    with pytest.raises(InvalidAssetSpecError, match=r"'\.' segment"):
        AssetSpec.parse("asset:1[./x]")


@pytest.mark.parametrize("text", ["/etc/passwd", "asset:1[//etc/passwd]"])
def test_absolute_paths_are_refused(text: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match="starts with '/'"):
        AssetSpec.parse(text)


@pytest.mark.parametrize("text", ["a\\b", "asset:1[dir\\file]", "asset:1/dir\\file", "C:\\x"])
def test_backslashes_are_refused(text: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match=r"backslash|may only hold"):
        AssetSpec.parse(text)


def test_backslash_message_says_to_use_slashes() -> None:
    with pytest.raises(InvalidAssetSpecError, match="backslash: separate parts with '/'"):
        AssetSpec.parse("asset:1[dir\\file]")


@pytest.mark.parametrize("text", ["ass\x00et", "asset:1[a\nb]", "asset\t", "a\x7fb", "a:1[\x9b]"])
def test_control_characters_are_refused(text: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match="control character"):
        AssetSpec.parse(text)


@pytest.mark.parametrize(
    ("name", "version"), [("0\n", None), ("asset", "1\n"), ("a/b\n", None), ("asset", "1.2\n")]
)
def test_a_trailing_newline_is_refused_when_building_a_spec_from_parts(
    name: str, version: str | None
) -> None:
    """The fixtures and the magic build specs from parts; a name or version that only a
    ``$``-anchored pattern would accept must not slip past into store paths."""
    with pytest.raises(InvalidAssetSpecError, match="may only hold"):
        AssetSpec(name, version)


@pytest.mark.parametrize("version", ["1\n", "2024-01-31T12-00-00Z\n"])
def test_versionings_refuse_a_trailing_newline(version: str) -> None:
    for versioning in ("major_minor", "simple_date"):
        with pytest.raises(InvalidAssetSpecError):
            get_versioning(versioning).check(version)


@pytest.mark.parametrize("version", ["1.", ".1", "1.a", "latest", "1.2.3", "01", "-1", "1.02"])
def test_versions_that_do_not_fit_major_minor_are_refused(version: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match=f"version '{version}'") as caught:
        AssetSpec.parse(f"asset:{version}")
    assert "major_minor" in str(caught.value) or "may only hold" in str(caught.value)


def test_the_version_message_shows_how_to_write_one() -> None:
    with pytest.raises(InvalidAssetSpecError, match=r"MAJOR or MAJOR\.MINOR"):
        AssetSpec.parse("asset:latest")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("asset:1[x", "not closed"),
        ("asset:1]x", "not closed"),
        ("asset]", "']' without '['"),
        ("asset:1[a[b]", "square bracket"),
    ],
)
def test_misplaced_brackets_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match=re.escape(fragment)):
        AssetSpec.parse(text)


@pytest.mark.parametrize("sub_part", ["sp ace [1].txt", "x[y]", "a]b/[c", "d/[e]"])
def test_the_slash_form_takes_square_brackets_in_the_sub_part(sub_part: str) -> None:
    assert AssetSpec.parse(f"u/s:0.1/{sub_part}") == AssetSpec("u/s", "0.1", sub_part)


def test_a_sub_part_with_square_brackets_is_written_in_the_slash_form() -> None:
    assert str(AssetSpec("u/s", "0", "sp ace [1].txt")) == "u/s:0/sp ace [1].txt"


def test_square_brackets_inside_the_brackets_form_point_to_the_slash_form() -> None:
    with pytest.raises(InvalidAssetSpecError, match=re.escape("slash form, u/s:VERSION/a [1]")):
        AssetSpec.parse("u/s:0[a [1]]")


def test_a_sub_part_with_square_brackets_needs_a_version_to_be_written() -> None:
    with pytest.raises(InvalidAssetSpecError, match="slash form"):
        AssetSpec("u/s", None, "a [1]")


@pytest.mark.parametrize("text", [".hidden", "a/-x", "a b", "a:b:c", "na*me"])
def test_name_segments_hold_only_safe_characters(text: str) -> None:
    with pytest.raises(InvalidAssetSpecError):
        AssetSpec.parse(text)


def test_the_message_quotes_the_whole_spec() -> None:
    with pytest.raises(InvalidAssetSpecError, match=r"'cat/\.\./x:1'"):
        AssetSpec.parse("cat/../x:1")


def test_a_non_string_is_refused_with_invalid_asset_spec_error() -> None:
    with pytest.raises(InvalidAssetSpecError, match="must be a string"):
        AssetSpec.parse(12)  # type: ignore[arg-type]


def test_building_a_spec_directly_applies_the_same_rules() -> None:
    with pytest.raises(InvalidAssetSpecError, match=r"'\.\.' segment"):
        AssetSpec("a", "1.0", "../x")


# -- simple_date ------------------------------------------------------------------------------


def test_simple_date_spec_parses_a_utc_stamp() -> None:
    spec = AssetSpec.parse("asset:2024-01-31T12-00-00Z[f.txt]", versioning="simple_date")
    assert spec == AssetSpec("asset", "2024-01-31T12-00-00Z", "f.txt")


def test_simple_date_slash_form() -> None:
    spec = AssetSpec.parse("asset:2024-01-31T12-00-00Z/d/f.txt", versioning="simple_date")
    assert spec.sub_part == "d/f.txt"


@pytest.mark.parametrize("version", ["1.2", "2024-01-31", "2024-13-01T00-00-00Z", "latest"])
def test_simple_date_refuses_other_versions(version: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match=r"simple_date|not a real date"):
        AssetSpec.parse(f"asset:{version}", versioning="simple_date")


def test_major_minor_refuses_a_date_stamp() -> None:
    with pytest.raises(InvalidAssetSpecError, match="major_minor"):
        AssetSpec.parse("asset:2024-01-31T12-00-00Z")


# -- property ---------------------------------------------------------------------------------

_ALPHABET = st.sampled_from(list("ab1.0:/[]\\ -_\x00\n\x85Zé"))
_SPECISH = st.text(_ALPHABET, max_size=20)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=30), _SPECISH))
def test_any_text_parses_to_a_round_tripping_spec_or_raises_invalid_spec(text: str) -> None:
    for versioning in ("major_minor", "simple_date"):
        try:
            spec = AssetSpec.parse(text, versioning=versioning)
        except InvalidAssetSpecError as exc:
            assert str(exc)
            continue
        assert AssetSpec.parse(str(spec), versioning=versioning) == spec
