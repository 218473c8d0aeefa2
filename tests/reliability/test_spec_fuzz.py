"""Hostile input 1, spec fuzzing: strings built from the characters and fragments that attack
paths and parsers (``..``, ``/``, ``\\``, drive letters, NUL and other control characters,
Unicode separators and look-alikes, brackets, colons) either parse to a spec that round-trips
through ``str()`` and stays inside the cache and the store, or raise InvalidAssetSpecError;
never another exception. (tests/test_spec.py has the general round-trip property.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_assets import AssetSpec, InvalidAssetSpecError
from pytest_assets.cache import Cache
from pytest_assets.store import Store
from pytest_assets.storekey import store_key

pytestmark = pytest.mark.reliability

HOSTILE_CHARS = (
    "/\\.:[]@%~$*?<> \t\n\r\x00\x01\x1b\x7f\x85\xa0"
    "\u2028\u2029\u202e\u200b\ufeff\uff0f\uff3c\u2024\u2215\u29f8"  # separators, look-alikes
    "aZ09_-é"
)
FRAGMENTS = [
    "..",
    ".",
    "",
    "/",
    "//",
    "\\",
    "C:",
    "c:\\",
    "~",
    "%2e%2e",
    "%2f",
    "\x00",
    "a",
    "b-1",
    "x.y",
    "1",
    "1.2",
    "0.10",
    "1.",
    ".1",
    "1.a",
    "latest",
    "2024-01-31T12-00-00Z",
    "[",
    "]",
    ":",
    "::",
    "[]",
    "[..]",
    "[/..]",
    "/etc/passwd",
    "..\\..",
    "\u202e",
    "\uff0e\uff0e",
]
hostile_text = st.text(alphabet=HOSTILE_CHARS, max_size=40)
fragment_text = st.lists(st.sampled_from(FRAGMENTS), max_size=10).map("".join)
any_spec_text = st.one_of(hostile_text, fragment_text, st.text(max_size=30))

FUZZ = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _inside(base: Path, target: Path) -> bool:
    base_text = os.path.normpath(base)
    return os.path.commonpath([base_text, os.path.normpath(target)]) == base_text


def _check(text: str, versioning: str) -> None:
    try:
        spec = AssetSpec.parse(text, versioning=versioning)
    except InvalidAssetSpecError:
        return
    assert AssetSpec.parse(str(spec), versioning=versioning) == spec
    # what it names stays inside the cache and the store, whatever the characters
    folder = store_key("/store-root").folder
    cache = Cache(Path("/cache-root"), folder)
    target = cache.data_path(spec.name, spec.version or "0.0")
    if spec.sub_part is not None:
        target = target.joinpath(*spec.sub_part.split("/"))
    # inside this store's part of the cache: never another store's, never the bookkeeping
    assert _inside(cache.directory / folder, target) and cache.books not in target.parents
    store = Store("/store-root")  # a directory store: nothing is created until written
    obj = store.path(spec.name, spec.version or "0.0", *(spec.sub_part or "x").split("/"))
    assert _inside(Path("/store-root"), Path(obj))
    assert "\\" not in spec.name and not any(ord(c) < 32 for c in str(spec))


@FUZZ
@given(any_spec_text)
@example("a/../../etc:1.0[../../x]")
@example("a:1.0/../x")
@example("a:1.0[/..]")
@example("a:1.0[\\..\\x]")
@example("a\x00b:1.0")
@example(".pytest-assets/x:1.0")
@example("u/s:0/sp ace [1].txt")  # the slash form takes brackets (issue 10 follow-up, case 12)
@example("a:1.0/[..]/../x")
def test_any_hostile_string_parses_safely_or_is_refused_under_major_minor(text: str) -> None:
    """Input: hostile characters, path fragments and any Unicode text as a spec, under
    major_minor versioning (400 generated strings plus known attacks). Must hold: it parses to
    a spec that round-trips and whose cache and store paths stay inside their roots (and out
    of the cache's bookkeeping), or InvalidAssetSpecError; never another exception."""
    _check(text, "major_minor")


@FUZZ
@given(any_spec_text)
def test_any_hostile_string_parses_safely_or_is_refused_under_simple_date(text: str) -> None:
    """Input: as above under simple_date versioning (400 strings). Must hold: as above."""
    _check(text, "simple_date")


@FUZZ
@given(
    st.one_of(hostile_text, fragment_text),
    st.one_of(st.none(), hostile_text, fragment_text),
    st.one_of(st.none(), hostile_text, fragment_text),
)
@example("0\n", None, None)  # found by CI: '$' matched before a trailing newline
@example("a", "1\n", None)
def test_building_a_spec_from_hostile_parts_is_safe_or_refused(
    name: str, version: str | None, sub_part: str | None
) -> None:
    """Input: hostile name, version and sub-part given to ``AssetSpec(...)`` directly (as the
    fixtures and the magic may), 400 triples. Must hold: InvalidAssetSpecError, or a spec
    whose text parses back to itself (when its version fits) and whose paths stay inside."""
    try:
        spec = AssetSpec(name, version, sub_part)
    except InvalidAssetSpecError:
        return
    try:
        parsed = AssetSpec.parse(str(spec))
    except InvalidAssetSpecError:
        assert version is not None  # only a version major_minor rejects may fail to parse
        return
    assert parsed == spec
    _check(str(spec), "major_minor")
