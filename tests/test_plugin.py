"""The pytest plugin as users run it: a test suite inside the test suite (pytester).

Every case that runs tests runs twice, without xdist and with ``-n 2``: state that must cross
processes (the summary) and state that must not be duplicated (downloads) only show up there.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytest_assets.assets import Assets
from pytest_assets.storekey import store_key

pytest_plugins = ["pytester"]

# hypothesis' pytest plugin imports hypothesis in every inner session's summary and pytester
# unloads it again afterwards: without this, each in-process run pays ~1 s to re-import it.
with contextlib.suppress(ImportError):
    import hypothesis.internal.observability  # noqa: F401

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["no-xdist", "xdist"])


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A directory store holding demo/vocab 0.0 and 0.1 and the folder asset demo/model 0.0."""
    root = tmp_path / "store"
    root.mkdir()
    pusher = Assets(store=str(root), cache_dir=tmp_path / "pusher-cache")
    src = tmp_path / "src"
    src.mkdir()
    (src / "vocab.txt").write_text("the quick brown\n")
    pusher.push(src / "vocab.txt", "demo/vocab")
    (src / "vocab.txt").write_text("the quick brown fox\n")
    pusher.push(src / "vocab.txt", "demo/vocab")
    (src / "model" / "labels").mkdir(parents=True)
    (src / "model" / "config.json").write_text('{"layers": 2}')
    (src / "model" / "labels" / "labels.txt").write_text("cat\ndog\n")
    pusher.push(src / "model", "demo/model")
    return root


def _ini(pytester: pytest.Pytester, store: Path | str | None, *lines: str) -> None:
    """tox.ini with the store and a cache under the inner project (relative to the ini file)."""
    body = ["[pytest]", "assets_dir = cache"]
    if store is not None:
        body.append(f"assets_store = {store}")
    pytester.makeini("\n".join([*body, *lines]) + "\n")


def _digest(store: Path, spec: str) -> str:
    info = Assets(store=str(store), cache_dir=store.parent / "info-cache").info(spec)
    return str(info["content_sha256"])[:12]


# -- fixtures -------------------------------------------------------------------------------------


@XDIST
def test_asset_returns_the_file_and_the_sub_part(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, store)
    pytester.makepyfile(
        """
        def test_file(asset):
            assert asset("demo/vocab:0").read_text() == "the quick brown fox\\n"

        def test_pinned(asset):
            assert asset("demo/vocab:0.0").read_text() == "the quick brown\\n"

        def test_sub_part(asset):
            assert asset("demo/model:0[labels/labels.txt]").read_text().split() == ["cat", "dog"]
            assert asset("demo/model:0.0/config.json").name == "config.json"
        """
    )
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=3)
    cached = pytester.path / "cache" / store_key(str(store)).folder
    assert (cached / "demo" / "vocab" / "0.1").is_file()


@XDIST
def test_missing_asset_fails_with_one_line_and_the_session_goes_on(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, store)
    pytester.makepyfile(
        """
        def test_missing(asset):
            asset("demo/nope:1")

        def test_present(asset):
            assert asset("demo/vocab").exists()
        """
    )
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*asset demo/nope does not exist in store *"])
    output = result.stdout.str()
    assert "Traceback" not in output and "AssetNotFoundError" not in output
    assert 'asset("demo/nope:1")' not in output  # no source listing either
    assert "During handling" not in output  # the core error is not shown a second time


@XDIST
def test_conftest_can_override_the_assets_fixture(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, "no-such-store")  # only the conftest's configuration can work
    pytester.makeconftest(
        f"""
        import pytest
        from pytest_assets import Assets

        @pytest.fixture(scope="session")
        def assets():
            return Assets(store={str(store)!r}, cache_dir="code-cache")
        """
    )
    pytester.makepyfile(
        """
        from pathlib import Path

        def test_vocab(asset):
            assert asset("demo/vocab:0").is_relative_to(Path("code-cache").absolute())
        """
    )
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["demo/vocab:0 -> 0.1  content *"])


@XDIST
def test_conftest_fixture_built_on_assets_is_in_the_summary(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, store)
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def model_config(assets):
            return assets.fetch("demo/model:0.0[config.json]").read_text()
        """
    )
    pytester.makepyfile("def test_config(model_config):\n    assert 'layers' in model_config\n")
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["demo/model:0.0[[]config.json[]] -> 0.0  content *"])


# -- a conftest's own assets fixture: what it used, what it ignored -------------------------------


def _replacing_conftest(pytester: pytest.Pytester, store: Path) -> None:
    """The README's old advice: a conftest that builds its own Assets."""
    pytester.makeconftest(
        f"""
        import pytest
        from pytest_assets import Assets

        @pytest.fixture(scope="session")
        def assets():
            return Assets(store={str(store)!r}, cache_dir="code-cache")
        """
    )
    pytester.makepyfile("def test_vocab(asset):\n    assert asset('demo/vocab:0').exists()\n")


@XDIST
def test_a_replaced_assets_fixture_is_described_with_every_option_it_ignores(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, store)
    _replacing_conftest(pytester, store)
    result = pytester.runpytest("--assets-offline", "--assets-dir", "cli-cache", *xdist)
    result.assert_outcomes(passed=1)
    where = "the assets fixture is overridden in conftest.py"
    result.stdout.fnmatch_lines(
        [
            f"assets: store {store}, cache {pytester.path}/cli-cache, offline",
            f"assets: {where}: these settings apply only if it reads them; the summary says "
            "what it used",
            "*pytest-assets: 1 spec resolved*",
            f"assets: {where}: store {store}, cache {pytester.path}/code-cache, online",
            f"assets: --assets-dir is ignored: {where} and built "
            f"cache_dir={pytester.path}/code-cache",
            f"assets: --assets-offline is ignored: {where} and built offline=False",
            "demo/vocab:0 -> 0.1  content *",
        ]
    )
    assert "--assets-store is ignored" not in result.stdout.str()  # the same store: honoured
    cached = pytester.path / "code-cache" / store_key(str(store)).folder
    assert (cached / "demo" / "vocab" / "0.1").is_file()


@XDIST
def test_a_replaced_assets_fixture_returning_something_else_is_refused_by_asset(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    """The plugin reads an ``Assets`` (or a subclass); anything else is said, not guessed at."""
    _ini(pytester, store)
    pytester.makeconftest(
        """
        import pytest

        class Fake:
            def fetch(self, spec):
                raise AssertionError("not called")

        @pytest.fixture(scope="session")
        def assets():
            return Fake()
        """
    )
    pytester.makepyfile(
        """
        def test_vocab(asset):
            pass

        def test_own_use(assets):
            assert type(assets).__name__ == "Fake"
        """
    )
    result = pytester.runpytest("-rf", *xdist)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the assets fixture returned a Fake, not a pytest_assets.Assets: build it with "
            "Assets(...) or Assets.from_config(...)*",
            "*assets: the assets fixture is overridden in conftest.py and returns a Fake, not a "
            "pytest_assets.Assets: the asset fixture refuses it",
        ],
        consecutive=False,
    )
    assert "Traceback" not in result.stdout.str()


@XDIST
def test_a_quiet_run_still_names_the_options_a_replaced_assets_fixture_ignores(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, store)
    _replacing_conftest(pytester, store)
    result = pytester.runpytest("-q", "--assets-offline", *xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["assets: --assets-offline is ignored: the assets fixture is *"])


@XDIST
def test_settings_from_the_environment_and_ini_a_replaced_fixture_ignores_are_named(
    pytester: pytest.Pytester, store: Path, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    _ini(pytester, "ini-store")
    monkeypatch.setenv("ASSETS_OFFLINE", "1")
    _replacing_conftest(pytester, store)
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"assets: assets_store in {pytester.path}/tox.ini is ignored: * built store={store}",
            f"assets: assets_dir in {pytester.path}/tox.ini is ignored: * built "
            f"cache_dir={pytester.path}/code-cache",
            "assets: ASSETS_OFFLINE is ignored: * built offline=False",
        ],
        consecutive=False,
    )


# -- storage options: endpoints and credentials without replacing assets -------------------------


@XDIST
def test_storage_options_from_the_ini_and_the_command_line_reach_the_assets_fixture(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    _ini(
        pytester,
        "memory://x",
        "assets_storage_options =",
        "    anon=true",
        "    client_kwargs.endpoint_url=http://ini:9000",
        "    client_kwargs.region_name=eu-west-1",
    )
    pytester.makepyfile(
        """
        def test_options(assets, assets_storage_options):
            expected = {
                "anon": True,
                "client_kwargs": {"endpoint_url": "http://cli:9000", "region_name": "eu-west-1"},
                "secret": "s3cr3t",
            }
            assert assets.storage_options == expected
            assert assets_storage_options == expected
        """
    )
    result = pytester.runpytest(
        "--assets-storage-option",
        "client_kwargs.endpoint_url=http://cli:9000",
        "--assets-storage-option=secret=s3cr3t",
        *xdist,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "assets: store memory://x (anon=true, client_kwargs.endpoint_url=http://cli:9000, "
            "client_kwargs.region_name=***, secret=***), cache *, online"
        ]
    )
    assert "s3cr3t" not in result.stdout.str()


@XDIST
def test_an_assets_storage_options_fixture_extends_the_configured_ones(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    _ini(pytester, "memory://x", "assets_storage_options = anon=true")
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def assets_storage_options(assets_storage_options):
            return {**assets_storage_options, "token": "from-code"}
        """
    )
    pytester.makepyfile(
        """
        def test_options(assets):
            assert assets.storage_options == {"anon": True, "token": "from-code", "timeout": 5}
        """
    )
    result = pytester.runpytest("--assets-storage-option", "timeout=5", *xdist)
    result.assert_outcomes(passed=1)
    assert "is ignored" not in result.stdout.str()


def test_command_line_storage_options_apply_over_an_assets_storage_options_fixture(
    pytester: pytest.Pytester,
) -> None:
    _ini(pytester, "memory://x", "assets_storage_options = anon=true")
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def assets_storage_options():
            return {"token": "from-code", "timeout": 1}
        """
    )
    pytester.makepyfile(
        """
        def test_options(assets):
            assert assets.storage_options == {"token": "from-code", "timeout": 5}
        """
    )
    result = pytester.runpytest("--assets-storage-option", "timeout=5")
    result.assert_outcomes(passed=1)


@pytest.mark.servers
def test_an_s3_store_needs_only_ini_storage_options_not_a_replaced_assets_fixture(
    pytester: pytest.Pytester, s3_store: Any, tmp_path: Path
) -> None:
    options: dict[str, Any] = s3_store.storage_options
    src = tmp_path / "vocab.txt"
    src.write_text("fox\n")
    Assets(store=s3_store.url, cache_dir=tmp_path / "p", storage_options=options).push(src, "v")
    endpoint = options["client_kwargs"]["endpoint_url"]
    _ini(
        pytester,
        s3_store.url,
        "assets_storage_options =",
        f"    key={options['key']}",
        f"    secret={options['secret']}",
        f"    client_kwargs.endpoint_url={endpoint}",
    )
    pytester.makepyfile("def test_vocab(asset):\n    assert asset('v:0').read_text() == 'fox\\n'\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"assets: store {s3_store.url} (key=***, secret=***, "
            f"client_kwargs.endpoint_url={endpoint}), cache *, online"
        ]
    )


def test_a_bad_storage_option_on_the_command_line_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--assets-storage-option", "no-equals-sign")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*argument --assets-storage-option: a storage option is not KEY=VALUE*"]
    )


@pytest.mark.parametrize(
    ("args", "lines", "named"),
    [([], ["assets_store ="], "assets_store in *tox.ini"),
     (["--assets-store="], [], "command line")],
    ids=["ini", "command-line"],
)  # fmt: skip
def test_an_empty_store_is_a_configuration_error_not_the_working_directory(
    pytester: pytest.Pytester, args: list[str], lines: list[str], named: str
) -> None:
    pytester.makeini("\n".join(["[pytest]", "assets_dir = cache", *lines]) + "\n")
    pytester.makepyfile("def test_uses(asset):\n    asset('demo/vocab')\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"assets: configuration error: the store ({named}) is empty (an unset variable?)*"]
    )


# -- options and configuration --------------------------------------------------------------------


def test_help_shows_every_option_and_ini_key(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "pytest-assets*",
            "  --assets-store=URL*",
            "  --assets-dir=PATH*",
            "  --assets-offline*",
            "  --assets-storage-option=KEY=VALUE*",
            "  --assets-override=NAME=PATH*",
        ]
    )
    for key in ("assets_store", "assets_dir", "assets_offline", "assets_versioning"):
        result.stdout.fnmatch_lines([f"  {key} (*"])
    result.stdout.fnmatch_lines(["  assets_storage_options (linelist):*"])
    result.stdout.fnmatch_lines(["  assets_overrides (linelist):*"])


@XDIST
def test_command_line_beats_environment_beats_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    _ini(pytester, "ini-store", "assets_offline = false", "assets_versioning = simple_date")
    monkeypatch.setenv("ASSETS_STORE", "env-store")
    monkeypatch.setenv("ASSETS_DIR", "env-cache")
    pytester.makepyfile(
        """
        from pathlib import Path

        def test_settings(assets):
            assert assets.store_url == str(Path("cli-store").absolute())
            assert assets.cache.directory == Path("env-cache").absolute()
            assert assets.offline is True
            assert assets.versioning_name == "simple_date"
        """
    )
    result = pytester.runpytest("--assets-store", "cli-store", "--assets-offline", *xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"assets: store {pytester.path}/cli-store, cache {pytester.path}/env-cache, offline*"]
    )


@XDIST
def test_pyproject_ini_options_reach_the_fixture(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    pytester.makepyprojecttoml(
        f"""
        [tool.pytest.ini_options]
        assets_store = "{store}"
        assets_dir = "sub/cache"
        assets_offline = "true"
        """
    )
    pytester.makepyfile(
        """
        from pathlib import Path

        def test_settings(assets):
            assert assets.offline is True
            assert assets.cache.directory == Path("sub/cache").absolute()
        """
    )
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"assets: store {store}, cache {pytester.path}/sub/cache, offline"]
    )


@XDIST
def test_header_redacts_credentials(pytester: pytest.Pytester, xdist: list[str]) -> None:
    _ini(pytester, None)
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--assets-store", "s3://AKIDEXAMPLE:s3cr3t@bucket/prefix", *xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["assets: store s3://***@bucket/prefix via *, cache *, online"])
    assert "s3cr3t" not in result.stdout.str()


def test_header_shows_a_connection_budget_that_is_not_the_default(
    pytester: pytest.Pytester,
) -> None:
    _ini(pytester, None, "assets_max_connections = 8")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["assets: store none*, online, 8 connections"])


@XDIST
def test_bad_configuration_fails_asset_tests_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    _ini(pytester, None)
    monkeypatch.setenv("ASSETS_OFFLINE", "perhaps")
    pytester.makepyfile(
        "def test_plain():\n    pass\n\ndef test_uses(asset):\n    asset('demo/vocab')\n"
    )
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "assets: configuration error: environment ASSETS_OFFLINE = 'perhaps' is not *",
            "*pytest-assets configuration: environment ASSETS_OFFLINE*",
        ]
    )
    assert "During handling" not in result.stdout.str()


# -- overrides ------------------------------------------------------------------------------------


@XDIST
def test_override_replaces_every_spec_of_the_name_and_says_so(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    _ini(pytester, None)  # no store at all: an override never touches one
    draft = pytester.path / "draft vocab.txt"
    draft.write_text("draft words\n")
    pytester.makepyfile(
        f"""
        from pathlib import Path

        def test_latest(asset):
            assert asset("demo/vocab") == Path({str(draft)!r})

        def test_any_version(asset):
            assert asset("demo/vocab:7.3").read_text() == "draft words\\n"
        """
    )
    result = pytester.runpytest("--assets-override", f"demo/vocab={draft.name}", *xdist)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"assets: OVERRIDDEN demo/vocab -> {draft} (a local file, not the store)",
            "*pytest-assets: 0 specs resolved, 2 OVERRIDDEN*",
            f"demo/vocab     -> OVERRIDDEN by {draft} (not the store)",
            f"demo/vocab:7.3 -> OVERRIDDEN by {draft} (not the store)",
        ]
    )
    assert not (pytester.path / "cache").exists()


@XDIST
def test_ini_override_folder_gives_sub_parts_relative_to_the_ini_file(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    (pytester.path / "draft" / "labels").mkdir(parents=True)
    (pytester.path / "draft" / "labels" / "labels.txt").write_text("cow\n")
    _ini(pytester, store, "assets_overrides =", "    demo/model=draft")
    pytester.makepyfile(
        """
        import pytest

        def test_sub_part(asset):
            assert asset("demo/model:0[labels/labels.txt]").read_text() == "cow\\n"

        def test_missing_sub_part(asset):
            asset("demo/model:0[config.json]")

        def test_other_names_come_from_the_store(asset):
            assert asset("demo/vocab:0.0").read_text() == "the quick brown\\n"
        """
    )
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"assets: OVERRIDDEN demo/model -> {pytester.path}/draft (a local folder, not the *)",
            f"*demo/model:0[[]config.json[]]: the override folder {pytester.path}/draft of "
            "demo/model has no config.json",
        ]
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("demo/vocab", "'demo/vocab' is not NAME=PATH*"),
        ("demo/vocab:1=x.txt", "*give the asset name only (demo/vocab=PATH)*"),
        ("demo/../x=x.txt", "*'..' segment*"),
        ("demo/vocab=missing.txt", "*missing.txt does not exist"),
        ("demo/vocab=~nouser-xyz/v.txt", "*~nouser-xyz: no such user; give the path in full*"),
    ],
)
@XDIST
def test_bad_override_is_a_usage_error(
    pytester: pytest.Pytester, value: str, message: str, xdist: list[str]
) -> None:
    (pytester.path / "x.txt").write_text("x")
    result = pytester.runpytest("--assets-override", value, *xdist)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*argument --assets-override: {message}"])


@XDIST
def test_bad_ini_override_is_a_usage_error(pytester: pytest.Pytester, xdist: list[str]) -> None:
    _ini(pytester, None, "assets_overrides = demo/vocab=nowhere.txt")
    result = pytester.runpytest(*xdist)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: assets_overrides in *tox.ini: *nowhere.txt does not exist"]
    )


# -- the summary ----------------------------------------------------------------------------------


@XDIST
def test_summary_lists_each_spec_once_with_version_and_hash(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, store)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(4))
        def test_vocab(asset, i):
            asset("demo/vocab:0")

        def test_model(asset):
            asset("demo/model:0.0[config.json]")
        """
    )
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=5)
    vocab, model = _digest(store, "demo/vocab:0.1"), _digest(store, "demo/model:0.0")
    result.stdout.fnmatch_lines(
        [
            "=*= pytest-assets: 2 specs resolved =*=",
            f"demo/model:0.0[[]config.json[]] -> 0.0  content {model}",
            f"demo/vocab:0                -> 0.1  content {vocab}",
            "=*= 5 passed in *",
        ]
    )
    output = result.stdout.str()
    assert output.count("pytest-assets: 2 specs resolved") == 1
    assert output.count("demo/vocab:0 ") == 1


@XDIST
def test_quiet_summary_is_one_line(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, store)
    pytester.makepyfile("def test_vocab(asset):\n    asset('demo/vocab:0')\n")
    result = pytester.runpytest("-q", *xdist)
    result.assert_outcomes(passed=1)
    lines = [line for line in result.outlines if "assets" in line]
    assert lines == ["assets: demo/vocab:0.1 (1 spec)"]


@XDIST
def test_session_without_assets_creates_no_cache_and_imports_no_backend(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _ini(pytester, store)
    pytester.makepyfile(
        """
        import sys

        def test_plain():
            assert not {"fsspec", "gcsfs", "s3fs", "pytest_assets.assets"} & set(sys.modules)
        """
    )
    result = pytester.runpytest_subprocess(*xdist)
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "cache").exists()
    assert "pytest-assets:" not in result.stdout.str()


# -- xdist: one download for all workers ----------------------------------------------------------


@pytest.mark.servers
def test_xdist_workers_read_each_object_from_the_store_once(
    pytester: pytest.Pytester, s3_server: Any, s3_store: Any, tmp_path: Path
) -> None:
    url: str = s3_store.url
    options: dict[str, Any] = s3_store.storage_options
    src = tmp_path / "model"
    src.mkdir()
    for i in range(20):
        (src / f"part-{i:02}.bin").write_bytes(bytes([i]) * 200_000)
    Assets(store=url, cache_dir=tmp_path / "pusher", storage_options=options).push(src, "demo/big")
    pytester.makeconftest(
        f"""
        import json, pytest
        from pytest_assets import Assets

        @pytest.fixture(scope="session")
        def assets():
            options = json.loads({json.dumps(options)!r})
            return Assets(store={url!r}, cache_dir="cache", storage_options=options)
        """
    )
    pytester.makepyfile(
        """
        import os
        from pathlib import Path

        def test_fetch(asset):
            assert len(list(asset("demo/big:0").iterdir())) == 20
            Path(f"seen-{os.environ['PYTEST_XDIST_WORKER']}").touch()
        """
    )
    log_before = s3_server.log_tail(10**8)
    result = pytester.runpytest_subprocess("-n", "4", "--dist", "each", timeout=120)
    result.assert_outcomes(passed=4)
    assert len(list(pytester.path.glob("seen-gw*"))) == 4
    result.stdout.fnmatch_lines(["demo/big:0 -> 0.0  content *"])
    assert result.stdout.str().count("pytest-assets: 1 spec resolved") == 1

    log = s3_server.log_tail(10**8)[len(log_before) :]
    bucket_path = url.removeprefix("s3://")
    reads = Counter(re.findall(rf'"GET /{re.escape(bucket_path)}/demo/big/0\.0/(\S+) HTTP', log))
    assert reads == {f"part-{i:02}.bin": 1 for i in range(20)}
    assert len(re.findall(rf'"GET /{re.escape(bucket_path)}/demo/big/0\.0\.meta ', log)) == 1


def test_plugin_module_is_registered_by_the_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = entry_points(group="pytest11", name="pytest_assets")
    assert entry.value == "pytest_assets.plugin"
