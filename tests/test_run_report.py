"""The audit trail of a run (``--assets-report FILE``, JUnit properties) and the CI recipe end to
end: ``sync`` fills cache A; a test run with A as a read-only shared tier, an empty writable
cache and the lock asks the store nothing (counted at the S3 server)."""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from byte_proxy import counting
from servers import StoreUnderTest

from pytest_assets.assets import Assets
from pytest_assets.cli import main
from pytest_assets.pinfile import LOCK_NAME

pytest_plugins = ["pytester"]

with contextlib.suppress(ImportError):  # see test_plugin.py: keeps in-process runs quick
    import hypothesis.internal.observability  # noqa: F401

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["no-xdist", "xdist"])

_TESTS = """
def test_vocab(asset):
    assert asset("demo/vocab:0").read_text() == "the quick brown fox\\n"

def test_vocab_and_model(asset):
    asset("demo/vocab:0")
    asset("demo/vocab:0")  # asked twice: one property
    assert asset("demo/model:0.0[labels.txt]").read_text() == "cat\\n"
"""


def push_demo(store: str, cache: Path, options: dict[str, Any] | None = None) -> Assets:
    pusher = Assets(store=store, cache_dir=cache, storage_options=options)
    src = cache.parent / "src"
    (src / "model").mkdir(parents=True, exist_ok=True)
    (src / "vocab.txt").write_text("the quick brown fox\n")
    (src / "model" / "labels.txt").write_text("cat\n")
    pusher.push(src / "vocab.txt", "demo/vocab")
    pusher.push(src / "model", "demo/model")
    return pusher


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    push_demo(str(root), tmp_path / "pusher-cache")
    return root


@XDIST
def test_the_report_names_each_spec_its_version_hash_source_and_tests(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    pytester.makeini(f"[pytest]\nassets_store = {store}\nassets_dir = cache\n")
    pytester.makepyfile(test_data=_TESTS)
    result = pytester.runpytest(*xdist, "--assets-report", "out/assets.json")
    result.assert_outcomes(passed=2)
    report = json.loads((pytester.path / "out" / "assets.json").read_text())
    info = Assets(store=str(store), cache_dir=store.parent / "info").info("demo/vocab:0.0")
    by_spec = {entry["spec"]: entry for entry in report["specs"]}
    assert sorted(by_spec) == ["demo/model:0.0[labels.txt]", "demo/vocab:0"]
    vocab = by_spec["demo/vocab:0"]
    assert (vocab["name"], vocab["version"], vocab["pinned"]) == ("demo/vocab", "0.0", False)
    assert vocab["content_sha256"] == info["content_sha256"]
    assert vocab["tests"] == [
        "test_data.py::test_vocab",
        "test_data.py::test_vocab_and_model",
    ]
    assert set(vocab["sources"]) <= {"store", "cache"} and "store" in vocab["sources"]
    assert by_spec["demo/model:0.0[labels.txt]"]["tests"] == ["test_data.py::test_vocab_and_model"]
    assert report["store"] == str(store) and report["format"] == 1


@XDIST
def test_each_test_lists_the_specs_it_used_as_junit_properties(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    pytester.makeini(f"[pytest]\nassets_store = {store}\nassets_dir = cache\n")
    pytester.makepyfile(test_data=_TESTS)
    result = pytester.runpytest(*xdist, "--junitxml", "junit.xml")
    result.assert_outcomes(passed=2)
    tree = ET.parse(pytester.path / "junit.xml")
    properties = {
        case.get("name"): [(p.get("name"), p.get("value")) for p in case.iter("property")]
        for case in tree.iter("testcase")
    }
    both = properties["test_vocab_and_model"]
    assert [name for name, _ in both] == ["asset", "asset"]
    assert both[0][1].startswith("demo/vocab:0 -> demo/vocab:0.0 (content ")
    assert both[1][1].startswith("demo/model:0.0[labels.txt] -> demo/model:0.0 (content ")
    assert len(properties["test_vocab"]) == 1


def test_a_report_that_cannot_be_written_fails_the_run_saying_why(
    pytester: pytest.Pytester, store: Path
) -> None:
    pytester.makeini(f"[pytest]\nassets_store = {store}\nassets_dir = cache\n")
    pytester.makepyfile(test_data=_TESTS)
    (pytester.path / "taken").write_text("a file, not a folder")
    result = pytester.runpytest("--assets-report", "taken/assets.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*--assets-report *taken/assets.json: cannot write it*"])


# -- the CI recipe -------------------------------------------------------------------------------


@pytest.mark.servers
@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_sync_into_a_cache_then_tests_against_it_as_a_read_only_tier_make_no_request(
    pytester: pytest.Pytester,
    s3_store: StoreUnderTest,
    tmp_path: Path,
    offline: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with counting(s3_store) as (store, proxy):
        options = ["key=testing", "secret=testing"]
        options.append(f"client_kwargs.endpoint_url={proxy.endpoint}")
        push_demo(store.url, tmp_path / "pusher-cache", store.storage_options)
        project = pytester.path
        pytester.makeini(
            "[pytest]\n"
            f"assets_store = {store.url}\n"
            "assets_storage_options =\n" + "".join(f"    {o}\n" for o in options)
        )
        lock = project / LOCK_NAME
        restored = tmp_path / "restored-ci-cache"
        Assets.from_config(project, cache_dir=tmp_path / "pusher-cache").update_lock(
            ["demo/vocab:0", "demo/model:0"]
        )
        monkeypatch.chdir(project)
        assert main(["--cache-dir", str(restored), "sync"]) == 0  # the CI step before the tests
        proxy.reset()

        monkeypatch.setenv("ASSETS_SHARED_DIRS", str(restored))
        writable = tmp_path / "empty-cache"
        pytester.makepyfile(test_data=_TESTS.replace('"demo/model:0.0[', '"demo/model:0['))
        flags = ["--assets-offline"] if offline else []
        result = pytester.runpytest("--assets-dir", str(writable), "--assets-lock-check", *flags)
        seen = proxy.reset()
    result.assert_outcomes(passed=2)
    assert (seen.requests, seen.down) == ([], 0)
    assert not writable.exists()  # no data, no record, no lock file, no runs note, no tag
    assert lock.exists()
