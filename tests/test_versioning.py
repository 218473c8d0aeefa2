"""Versioning systems: numeric ordering, partial versions, what the next push gets."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pytest_assets import ConfigError, InvalidAssetSpecError
from pytest_assets.versioning import get_versioning, sort_versions

MM = get_versioning("major_minor")
SD = get_versioning("simple_date")


# -- major_minor: ordering --------------------------------------------------------------------


def test_sorting_is_numeric_so_0_10_is_newer_than_0_9() -> None:
    assert sort_versions(MM, ["0.9", "0.10", "0.2"]) == ["0.10", "0.9", "0.2"]


def test_sorting_is_newest_first_across_majors() -> None:
    assert sort_versions(MM, ["1.0", "10.0", "2.5", "9.11"]) == ["10.0", "9.11", "2.5", "1.0"]


def test_sorting_drops_versions_the_system_cannot_read() -> None:
    assert sort_versions(MM, ["1.0", "latest", "1", "../x", "0.1"]) == ["1.0", "0.1"]


def test_sorting_drops_duplicates() -> None:
    assert sort_versions(MM, ["1.0", "1.0", "0.0"]) == ["1.0", "0.0"]


# -- major_minor: partial versions ------------------------------------------------------------


def test_a_major_matches_only_its_own_minors() -> None:
    assert MM.matches("1", "1.3")
    assert not MM.matches("1", "10.0")
    assert not MM.matches("1", "11.2")


def test_name_1_resolves_to_the_newest_1_x_never_10_0() -> None:
    versions = sort_versions(MM, ["10.0", "1.2", "1.10", "1.9", "0.5"])
    assert next(v for v in versions if MM.matches("1", v)) == "1.10"


def test_no_version_matches_every_version() -> None:
    assert all(MM.matches(None, v) for v in ["0.0", "3.4", "10.10"])


def test_a_complete_version_matches_only_itself() -> None:
    assert MM.matches("1.2", "1.2")
    assert not MM.matches("1.2", "1.20")


def test_major_alone_is_partial_major_minor_is_complete() -> None:
    assert not MM.is_complete("1")
    assert MM.is_complete("1.0")


# -- major_minor: the next push ---------------------------------------------------------------


def test_first_push_gets_0_0() -> None:
    assert MM.next_version([], None, False) == "0.0"


def test_a_push_bumps_the_minor_of_the_newest_version() -> None:
    assert MM.next_version(["0.0", "1.9", "1.10"], None, False) == "1.11"


def test_a_push_with_a_major_bumps_the_minor_within_that_major() -> None:
    assert MM.next_version(["0.3", "1.0", "2.4"], "0", False) == "0.4"


def test_a_push_with_a_major_that_has_no_version_yet_starts_at_minor_0() -> None:
    assert MM.next_version(["0.3", "2.4"], "1", False) == "1.0"


def test_an_explicit_major_on_a_new_asset_starts_at_minor_0() -> None:
    assert MM.next_version([], "3", False) == "3.0"


def test_bump_major_starts_the_next_major_at_0() -> None:
    assert MM.next_version(["0.3", "2.4", "1.9"], None, True) == "3.0"


def test_bump_major_on_a_new_asset_gives_0_0() -> None:
    assert MM.next_version([], None, True) == "0.0"


def test_a_complete_version_is_pushed_as_given() -> None:
    assert MM.next_version(["0.0"], "4.2", False) == "4.2"


def test_next_version_ignores_unreadable_versions() -> None:
    assert MM.next_version(["0.1", "junk", "1"], None, False) == "0.2"


@pytest.mark.parametrize("version", ["1.", ".1", "1.a", "latest", "1.2.3", ""])
def test_major_minor_check_refuses_malformed_versions(version: str) -> None:
    with pytest.raises(InvalidAssetSpecError, match="major_minor"):
        MM.check(version)


# -- simple_date ------------------------------------------------------------------------------


def test_simple_date_versions_are_all_complete() -> None:
    assert SD.is_complete("2024-01-31T12-00-00Z")


def test_simple_date_sorts_by_time_newest_first() -> None:
    versions = ["2023-12-31T23-59-59Z", "2024-01-01T00-00-00Z", "2024-01-01T00-00-10Z"]
    assert sort_versions(SD, versions) == list(reversed(versions))


def test_simple_date_next_version_is_a_utc_stamp_of_now() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = SD.next_version([], None, False)
    after = dt.datetime.now(dt.UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", stamp)
    moment = dt.datetime.strptime(stamp, "%Y-%m-%dT%H-%M-%SZ").replace(tzinfo=dt.UTC)
    assert before <= moment <= after


def test_simple_date_two_pushes_in_one_second_get_distinct_stamps() -> None:
    future = "2999-01-01T00-00-00Z"
    assert SD.next_version([future], None, False) == "2999-01-01T00-00-01Z"


def test_simple_date_an_explicit_stamp_is_pushed_as_given() -> None:
    assert SD.next_version([], "2024-01-31T12-00-00Z", False) == "2024-01-31T12-00-00Z"


def test_simple_date_matches_only_the_same_stamp() -> None:
    assert SD.matches(None, "2024-01-31T12-00-00Z")
    assert not SD.matches("2024-01-31T12-00-00Z", "2024-01-31T12-00-01Z")


def test_simple_date_refuses_an_impossible_date() -> None:
    with pytest.raises(InvalidAssetSpecError, match="not a real date"):
        SD.check("2024-02-30T00-00-00Z")


def test_an_unknown_versioning_system_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="major_minor, simple_date"):
        get_versioning("semver")
