"""modelkit's names for a store's objects, without a store: the layout is a value."""

from __future__ import annotations

import pytest

from pytest_assets.layout import Layout, version_objects


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        (Layout("bucket/prefix"), "bucket/prefix/a/b/1.0.meta"),
        (Layout("", "/"), "/a/b/1.0.meta"),  # a directory store at "/"
        (Layout(""), "a/b/1.0.meta"),  # memory://
    ],
)
def test_a_path_is_below_the_root_or_after_the_root_marker(layout: Layout, expected: str) -> None:
    assert layout.meta_path("a/b", "1.0") == expected


def test_every_object_of_a_version_has_modelkit_s_name_and_ours_sit_beside_them() -> None:
    layout = Layout("r")
    assert layout.versions_path("a/b") == "r/a/b.versions"
    assert layout.object_path("a/b", "1.0") == "r/a/b/1.0"
    assert layout.meta_path("a/b", "1.0") == "r/a/b/1.0.meta"
    assert layout.claim_path("a/b", "1.0") == "r/a/b/1.0.claim"
    assert layout.versions_lock_path("a/b") == "r/a/b.versions.lock"
    assert layout.local_tmp_path() == "r/.pytest-assets-tmp"


@pytest.mark.parametrize(
    ("prefix", "folder"),
    [("", "r"), ("a/", "r/a"), ("a/b", "r/a"), ("ab", "r"), ("a//", "r/a")],
)
def test_names_are_listed_from_the_folder_that_holds_the_prefix(prefix: str, folder: str) -> None:
    assert Layout("r").names_folder(prefix) == folder


def test_an_asset_name_is_read_back_from_its_versions_object_only() -> None:
    assert Layout("r").name_of("r/a/b.versions") == "a/b"
    assert Layout("r").name_of("r/a/b.versions.lock") is None
    assert Layout("r").name_of("r/a/b/1.0.meta") is None
    assert Layout("r").name_of("other/a.versions") is None
    assert Layout("").name_of("/a.versions") == "a"  # memory://: paths start with "/"


def test_a_listing_of_an_asset_s_folder_splits_into_metas_claims_and_nested_assets() -> None:
    listing = ["1.0.meta", "1.0", "1.1.claim", "x.versions", "x.versions.lock", "2.0"]
    found = version_objects(listing)
    assert found.metas == {"1.0"}
    assert found.claims == {"1.1"}
    assert found.nested == {"x"}
