"""The ``pytest-assets`` command line, run in-process (and once as ``python -m pytest_assets``)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pytest_assets.cli import main
from pytest_assets.storekey import store_key


class Result(NamedTuple):
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A directory store, already created (a push to a missing one has its own tests)."""
    root = tmp_path / "store"
    root.mkdir()
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def cached(store: Path, cache: Path) -> Path:
    """Where the cache keeps this test's store's versions."""
    return cache / store_key(str(store)).folder


@pytest.fixture
def cli(
    store: Path,
    cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    """``cli("push", ...)`` runs main() with this test's store and cache; returns the result."""
    for key in list(os.environ):
        if key.startswith(("ASSETS_", "MODELKIT_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no ini file from the repository applies

    def run(*args: str, store_url: str | None = str(store)) -> Result:
        capsys.readouterr()
        prefix = ["--cache-dir", str(cache)]
        if store_url is not None:
            prefix += ["--store", store_url]
        try:
            code = main([*prefix, *args])
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "model.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights" * 10)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "src" / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.txt").write_text("beta\n")
    return root


def versions_in(result: Result) -> list[str]:
    """The first column of ``versions`` (dates, hashes and pins follow)."""
    return [line.split("\t")[0] for line in result.out.splitlines()]


def assert_one_error_line(result: Result, fragment: str) -> None:
    assert result.code == 1
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("pytest-assets: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.err


# -- push -------------------------------------------------------------------------------------


def test_push_says_which_version_it_pushed_and_to_which_store(
    cli: Run, model: Path, store: Path
) -> None:
    result = cli("push", str(model), "models/m")
    assert result == Result(0, f"pushed models/m:0.0 to {store}\n", "")


def test_push_of_a_directory_then_a_second_push_bumps_the_minor(
    cli: Run, folder: Path, store: Path
) -> None:
    cli("push", str(folder), "d")
    (folder / "a.txt").write_text("changed\n")
    assert cli("push", str(folder), "d").out.startswith("pushed d:0.1 to ")


def test_push_bump_major_starts_the_next_major(cli: Run, model: Path, store: Path) -> None:
    cli("push", str(model), "m")
    model.write_bytes(b"v2")
    assert cli("push", str(model), "m", "--bump-major").out.startswith("pushed m:1.0 to ")


def test_push_dry_run_lists_every_file_with_its_size_and_the_total_and_writes_nothing(
    cli: Run, folder: Path, store: Path
) -> None:
    result = cli("push", str(folder), "d", "--dry-run")
    listing = "  a.txt\t6 B\n  sub/b.txt\t5 B\n2 files, 11 B\n"
    assert result == Result(0, f"would push d:0.0 to {store}\n{listing}", "")
    assert list(store.iterdir()) == []


def test_push_to_a_new_directory_store_creates_it_and_says_so(
    cli: Run, model: Path, tmp_path: Path
) -> None:
    new = tmp_path / "new-store"
    result = cli("push", str(model), "m", store_url=str(new))
    assert result == Result(
        0, f"pushed m:0.0 to {new}\n", f"created a new directory store at {new}\n"
    )


def test_push_to_a_directory_store_whose_parent_is_missing_exits_1(
    cli: Run, model: Path, tmp_path: Path
) -> None:
    typo = tmp_path / "stor" / "team"
    result = cli("push", str(model), "m", store_url=str(typo))
    assert_one_error_line(result, f"store {typo} does not exist: there is no directory {typo}")
    assert not typo.parent.exists()


@pytest.mark.parametrize(
    ("url", "meant"),
    [("s3:/bucket", "s3://bucket"), ("gs:bucket/p", "gs://bucket/p"), ("s3//b", "s3://b")],
)
def test_push_to_a_mistyped_url_is_refused_and_writes_nothing(
    cli: Run, model: Path, tmp_path: Path, url: str, meant: str
) -> None:
    before = sorted(tmp_path.iterdir())
    result = cli("push", str(model), "m", store_url=url)
    assert_one_error_line(result, f"(command line) looks like a broken URL: did you mean {meant}?")
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["--store", "", "push", "SRC", "m"], "the store (command line) is empty"),
     (["--cache-dir", "", "fetch", "m"], "the cache directory (command line) is empty")],
    ids=["store", "cache-dir"],
)  # fmt: skip
def test_an_empty_store_or_cache_dir_exits_1_instead_of_using_the_working_directory(
    cli: Run, model: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    before = sorted(tmp_path.iterdir())
    result = cli(*[str(model) if a == "SRC" else a for a in args])
    assert_one_error_line(result, fragment)
    assert sorted(tmp_path.iterdir()) == before


def test_an_empty_store_variable_exits_1_naming_it(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETS_STORE", "")
    assert_one_error_line(
        cli("ls", store_url=None), "the store (environment ASSETS_STORE) is empty"
    )


def test_fetch_from_a_missing_directory_store_says_the_store_does_not_exist(
    cli: Run, tmp_path: Path
) -> None:
    missing = tmp_path / "gone"
    result = cli("fetch", "m", store_url=str(missing))
    assert_one_error_line(
        result,
        f"store {missing} does not exist: there is no directory {missing}; check the store "
        "setting (command line; a typo?), or push to it once to create it",
    )


def test_push_dry_run_of_a_file_lists_it_by_name(cli: Run, model: Path, store: Path) -> None:
    result = cli("push", str(model), "m", "--dry-run")
    listing = "  model.bin\t70 B\n1 file, 70 B\n"
    assert result == Result(0, f"would push m:0.0 to {store}\n{listing}", "")
    assert list(store.iterdir()) == []


def test_push_dry_run_counts_what_the_ignore_rules_leave_out(cli: Run, folder: Path) -> None:
    (folder / ".DS_Store").write_bytes(b"finder")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"bytecode")
    (folder / ".assetsignore").write_text("*.log\n")
    (folder / "run.log").write_text("log\n")
    out = cli("push", str(folder), "d", "--dry-run").out
    assert "2 files, 11 B\n" in out
    assert out.splitlines()[-1] == (
        "left out by the ignore rules: 3 (.DS_Store, __pycache__/, run.log)"
    )
    assert ".assetsignore" not in out


def test_push_of_content_identical_to_the_newest_version_pushes_nothing_and_exits_0(
    cli: Run, model: Path, store: Path
) -> None:
    cli("push", str(model), "m")
    result = cli("push", str(model), "m")
    assert result == Result(0, f"m:0.0 in {store} already has this content; nothing pushed\n", "")
    assert versions_in(cli("versions", "m")) == ["0.0"]


def test_push_allow_identical_pushes_a_new_version_of_the_same_content(
    cli: Run, model: Path
) -> None:
    cli("push", str(model), "m")
    assert cli("push", str(model), "m", "--allow-identical").out.startswith("pushed m:0.1 to ")


def test_push_again_to_its_explicit_version_with_identical_content_exits_0(
    cli: Run, model: Path, store: Path
) -> None:
    cli("push", str(model), "m:1.0")
    result = cli("push", str(model), "m:1.0")
    said = f"m:1.0 was already pushed to {store} with identical content; nothing to do\n"
    assert result == Result(0, said, "")


def test_push_to_an_existing_version_with_other_content_exits_1_with_one_line(
    cli: Run, model: Path
) -> None:
    cli("push", str(model), "m:1.0")
    model.write_bytes(b"other weights")
    result = cli("push", str(model), "m:1.0")
    assert_one_error_line(result, "m:1.0 already exists")
    assert "with different content" in result.err


def test_push_refuses_a_link_leaving_the_folder_unless_asked_to_follow_links(
    cli: Run, folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "credentials").write_text("secret\n")
    (folder / "outside").symlink_to(tmp_path / "credentials")
    assert_one_error_line(cli("push", str(folder), "d"), "'outside': a symbolic link to")
    assert cli("push", str(folder), "d", "--follow-links").out.startswith("pushed d:0.0 to ")


# -- versions, ls, info -----------------------------------------------------------------------


def test_versions_prints_one_version_a_line_newest_first(cli: Run, model: Path) -> None:
    for i in range(11):
        model.write_bytes(str(i).encode())
        cli("push", str(model), "m")
    result = cli("versions", "m")
    assert result.code == 0
    assert versions_in(result) == [f"0.{i}" for i in range(10, -1, -1)]


def test_ls_prints_asset_names_and_filters_by_prefix(cli: Run, model: Path) -> None:
    for name in ["cat/a", "cat/b", "dog/c"]:
        cli("push", str(model), name)
    assert cli("ls").out == "cat/a\ncat/b\ndog/c\n"
    assert cli("ls", "cat/").out == "cat/a\ncat/b\n"


def test_info_prints_the_metadata_readably(cli: Run, folder: Path) -> None:
    cli("push", str(folder), "d")
    result = cli("info", "d")
    assert result.code == 0
    lines = result.out.splitlines()
    assert "name: d" in lines
    assert "version: 0.0" in lines
    assert "integrity: sha256" in lines
    assert any(line.startswith("  sub/b.txt\t5 B\t") for line in lines)


def test_info_of_a_file_asset_prints_its_size_and_sha256(cli: Run, model: Path) -> None:
    cli("push", str(model), "m")
    out = cli("info", "m:0.0").out
    assert "size: 70 B" in out.splitlines()
    assert any(line.startswith("sha256: ") and len(line) == 8 + 64 for line in out.splitlines())


def test_info_json_prints_the_meta_as_json(cli: Run, folder: Path) -> None:
    cli("push", str(folder), "d")
    data = json.loads(cli("info", "d:0", "--json").out)
    assert (data["name"], data["version"], data["is_directory"]) == ("d", "0.0", True)
    assert data["contents"] == ["a.txt", "sub/b.txt"]
    assert data["files"]["a.txt"]["size"] == 6


# -- fetch ------------------------------------------------------------------------------------


def test_fetch_prints_only_the_local_path_on_stdout(cli: Run, model: Path, cached: Path) -> None:
    cli("push", str(model), "m")
    result = cli("fetch", "m")
    assert result.code == 0
    assert result.out == f"{cached / 'm' / '0.0'}\n"
    assert Path(result.out.strip()).read_bytes() == model.read_bytes()


def test_fetch_of_a_sub_part_prints_its_path(cli: Run, folder: Path, cached: Path) -> None:
    cli("push", str(folder), "d")
    assert cli("fetch", "d:0/sub/b.txt").out == f"{cached / 'd' / '0.0' / 'sub' / 'b.txt'}\n"


def test_fetch_offline_uses_the_cache(cli: Run, model: Path, store: Path) -> None:
    cli("push", str(model), "m")
    path = cli("fetch", "m").out
    shutil.rmtree(store)  # offline never looks at it
    assert cli("--offline", "fetch", "m").out == path


def test_fetch_offline_from_another_store_does_not_see_this_stores_copies(
    cli: Run, model: Path, store: Path
) -> None:
    cli("push", str(model), "m")
    cli("fetch", "m")
    other = cli("--offline", "fetch", "m", store_url=str(store.parent / "other-store"))
    assert_one_error_line(other, "no version of m in the cache")


def test_fetch_offline_of_an_uncached_version_exits_1_saying_offline(cli: Run, model: Path) -> None:
    cli("push", str(model), "m")
    assert_one_error_line(cli("--offline", "fetch", "m:0.0"), "offline mode is on")


def test_the_store_comes_from_the_environment_without_store(
    cli: Run, model: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("push", str(model), "m")
    monkeypatch.setenv("ASSETS_STORE", str(store))
    assert versions_in(cli("versions", "m", store_url=None)) == ["0.0"]


def test_the_store_comes_from_the_ini_file_of_the_working_directory(
    cli: Run, model: Path, store: Path, tmp_path: Path
) -> None:
    cli("push", str(model), "m")
    (tmp_path / "pytest.ini").write_text(f"[pytest]\nassets_store = {store.name}\n")
    assert versions_in(cli("versions", "m", store_url=None)) == ["0.0"]


# -- verify and the cache ---------------------------------------------------------------------


def test_verify_of_a_clean_cache_exits_0_naming_the_store_checked(
    cli: Run, model: Path, cache: Path, store: Path
) -> None:
    cli("push", str(model), "m")
    cli("fetch", "m")
    expected = f"the copies of store {store} in cache {cache} are clean\n"
    assert cli("verify") == Result(0, expected, "")


def test_verify_without_a_store_of_another_stores_damage_says_to_set_that_store(
    cli: Run, model: Path, cached: Path
) -> None:
    cli("push", str(model), "m")
    copy = Path(cli("fetch", "m").out.strip())
    copy.chmod(0o644)
    copy.write_bytes(b"edited by a test")
    result = cli("verify", "--repair", store_url=None)
    assert result.code == 1
    assert "set the store they came from (--store, ASSETS_STORE)" in result.err


def test_verify_exits_1_on_a_mismatch_names_the_file_and_changes_nothing(
    cli: Run, folder: Path
) -> None:
    cli("push", str(folder), "d")
    damaged = Path(cli("fetch", "d[sub/b.txt]").out.strip())
    damaged.chmod(0o644)
    damaged.write_text("BETA\n")
    result = cli("verify", "d")
    assert result.code == 1
    assert "d:0.0[sub/b.txt]: sha256 mismatch" in result.out
    assert "1 problem(s) in the cache" in result.err and "verify --repair" in result.err
    assert damaged.read_text() == "BETA\n"
    assert cli("verify").code == 1
    assert cli("verify", "--repair").code == 0
    assert cli("verify").code == 0


def test_verify_reports_files_not_part_of_the_version_and_exits_0(cli: Run, folder: Path) -> None:
    cli("push", str(folder), "d")
    path = Path(cli("fetch", "d").out.strip())
    path.chmod(0o755)
    (path / "__pycache__").mkdir()
    (path / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    result = cli("verify")
    assert result.code == 0
    assert result.out == f"d:0.0[__pycache__/]: not part of the version ({path / '__pycache__'})\n"
    assert "verify --repair removes them" in result.err
    assert (path / "__pycache__" / "a.cpython-311.pyc").exists()


def test_verify_repair_downloads_again_and_exits_0(cli: Run, model: Path) -> None:
    cli("push", str(model), "m")
    path = Path(cli("fetch", "m").out.strip())
    path.chmod(0o644)
    path.write_bytes(b"x")
    result = cli("verify", "--repair")
    assert result.code == 0
    assert "(repaired: downloaded again)" in result.out
    assert path.read_bytes() == model.read_bytes()


def test_cache_ls_lists_cached_versions_with_sizes(cli: Run, model: Path, cached: Path) -> None:
    cli("push", str(model), "m")
    cli("fetch", "m")
    assert cli("cache", "ls").out == f"m:0.0\t70 B\t{cached / 'm' / '0.0'}\n1 version, 70 B\n"


def test_cache_ls_shows_what_versions_share_and_the_real_size_on_disk(
    cli: Run, folder: Path
) -> None:
    """0.1 changes one of two files: the unchanged one is kept once, for both versions."""
    cli("push", str(folder), "d")
    cli("fetch", "d:0.0")
    (folder / "a.txt").write_text("alpha, again\n")
    cli("push", str(folder), "d")
    cli("fetch", "d:0.1")
    lines = cli("cache", "ls").out.splitlines()
    assert [line.split("\t")[:2] for line in lines[:-1]] == [
        ["d:0.0", "11 B (5 B shared)"],
        ["d:0.1", "18 B (5 B shared)"],
    ]
    assert lines[-1] == (
        "2 versions, 29 B (24 B on disk: files shared between versions are kept once)"
    )


def _three_cached_versions(cli: Run, model: Path) -> None:
    for i in range(3):
        model.write_bytes(f"v{i}".encode())
        cli("push", str(model), "m")
        cli("fetch", f"m:0.{i}")


def test_cache_prune_keeps_the_newest_n(cli: Run, model: Path) -> None:
    _three_cached_versions(cli, model)
    result = cli("cache", "prune", "--keep", "1")
    assert result.out == "removed m:0.1 (2 B)\nremoved m:0.0 (2 B)\n"
    assert [line.split("\t")[0] for line in cli("cache", "ls").out.splitlines()[:-1]] == ["m:0.2"]


def test_cache_prune_dry_run_removes_nothing(cli: Run, model: Path) -> None:
    _three_cached_versions(cli, model)
    result = cli("cache", "prune", "--keep", "2", "--dry-run")
    assert result.out == "would remove m:0.0 (2 B)\n"
    assert len(cli("cache", "ls").out.splitlines()[:-1]) == 3


def test_cache_prune_help_shows_the_default_keep(cli: Run) -> None:
    result = cli("cache", "prune", "--help")
    assert result.code == 0
    assert "(default: 1)" in " ".join(result.out.split())
    assert "--include-pinned" in result.out


def test_cache_prune_keeps_versions_pinned_in_assets_lock_and_says_so(
    cli: Run, model: Path, tmp_path: Path
) -> None:
    _three_cached_versions(cli, model)
    assert cli("lock", "m:0").code == 0  # pins m:0.2
    model.write_bytes(b"v3")
    cli("push", str(model), "m")
    cli("fetch", "m:0.3")
    result = cli("cache", "prune", "--keep", "1")
    lock = tmp_path / "assets.lock"
    assert result.out == (
        "removed m:0.1 (2 B)\nremoved m:0.0 (2 B)\n"
        f"kept m:0.2 (2 B): pinned in {lock} (--include-pinned removes it)\n"
    )
    assert cli("cache", "prune", "--keep", "1", "--include-pinned").out == "removed m:0.2 (2 B)\n"


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["fetch", "../etc/passwd"], "'..' segment"),
        (["fetch", "m:latest"], "not valid under major_minor"),
        (["info", "m:1.2.3"], "not valid under major_minor"),
        (["versions", "a//b"], "empty segment"),
        (["fetch", "nope"], "asset nope does not exist"),
        (["push", "/no/such/file", "m"], "nothing to push"),
    ],
    ids=["dot-dot", "latest", "three-part", "empty-segment", "unknown", "missing-path"],
)
def test_an_asset_error_exits_1_with_one_line_and_no_traceback(
    cli: Run, args: list[str], fragment: str
) -> None:
    assert_one_error_line(cli(*args), fragment)


def test_no_store_configured_exits_1_saying_how_to_set_one(cli: Run) -> None:
    assert_one_error_line(cli("versions", "m", store_url=None), "set ASSETS_STORE")


def test_a_bad_environment_value_exits_1(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSETS_OFFLINE", "maybe")
    assert_one_error_line(cli("ls"), "ASSETS_OFFLINE = 'maybe'")


def test_a_store_in_the_home_of_no_such_user_exits_1_naming_it(cli: Run) -> None:
    result = cli("versions", "m", store_url="~no-such-user-xyz/store")
    assert_one_error_line(result, "the store ~no-such-user-xyz/store (command line) starts with")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["push", "only-a-path"],
        ["fetch"],
        ["cache"],
        ["cache", "prune", "--keep", "-1"],
        ["cache", "prune", "--keep", "x"],
        ["info", "m", "--yaml"],
    ],
    ids=["no-command", "unknown-command", "push-without-spec", "fetch-without-spec",
         "cache-without-action", "negative-keep", "keep-not-a-number", "unknown-option"],
)  # fmt: skip
def test_usage_errors_exit_2(cli: Run, args: list[str]) -> None:
    result = cli(*args)
    assert result.code == 2
    assert "usage: pytest-assets" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "args", [["fetch", "m"], ["cache", "prune", "--keep", "0"]], ids=["fetch", "prune"]
)
def test_a_cache_in_the_store_is_refused_before_anything_is_written(
    cli: Run, model: Path, store: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    cli("push", str(model), "m")
    before = sorted(p.relative_to(store).as_posix() for p in store.rglob("*"))
    code = main(["--store", str(store), "--cache-dir", str(store), *args])
    error = capsys.readouterr().err
    assert code == 1
    assert f"the cache directory {store} and the store {store} are the same directory" in error
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*")) == before
    assert not (store / "CACHEDIR.TAG").exists()


def test_version_flag_prints_the_version(cli: Run) -> None:
    import pytest_assets

    assert cli("--version") == Result(0, f"pytest-assets {pytest_assets.__version__}\n", "")


# -- as a separate process --------------------------------------------------------------------


def _python_m(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSETS_", "MODELKIT_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest_assets", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_pytest_assets_pushes_fetches_and_uses_exit_codes(
    tmp_path: Path, model: Path, store: Path, cache: Path, cached: Path
) -> None:
    common = ["--store", str(store), "--cache-dir", str(cache)]
    pushed = _python_m(tmp_path, *common, "push", str(model), "m")
    assert (pushed.returncode, pushed.stdout) == (0, f"pushed m:0.0 to {store}\n")
    fetched = _python_m(tmp_path, *common, "fetch", "m")
    assert (fetched.returncode, fetched.stdout) == (0, f"{cached / 'm' / '0.0'}\n")
    bad = _python_m(tmp_path, *common, "fetch", "m:..")
    assert bad.returncode == 1
    assert len(bad.stderr.splitlines()) == 1
    assert "Traceback" not in bad.stderr
    assert _python_m(tmp_path, "nonsense").returncode == 2


@pytest.mark.servers
def test_storage_options_on_the_command_line_reach_an_s3_store(
    cli: Run, model: Path, s3_store: Any
) -> None:
    options: dict[str, Any] = s3_store.storage_options
    given = [
        f"key={options['key']}",
        f"secret={options['secret']}",
        f"client_kwargs.endpoint_url={options['client_kwargs']['endpoint_url']}",
    ]
    flags = [arg for option in given for arg in ("--storage-option", option)]
    pushed = cli(*flags, "push", str(model), "m", store_url=s3_store.url)
    assert pushed == Result(0, f"pushed m:0.0 to {s3_store.url}\n", "")
    assert versions_in(cli(*flags, "versions", "m", store_url=s3_store.url)) == ["0.0"]


def test_a_storage_option_without_a_value_exits_1_naming_it(cli: Run) -> None:
    result = cli("--storage-option", "secret=", "ls")
    assert_one_error_line(result, "command line: secret= has no value (an unset variable?)")


def test_verify_reports_a_cached_file_made_writable_exits_0_and_repair_restores_it(
    cli: Run, model: Path
) -> None:
    cli("push", str(model), "m")
    copy = Path(cli("fetch", "m").out.strip())
    copy.chmod(0o644)
    found = cli("verify")
    assert found.code == 0 and "m:0.0: mode 644, expected 444" in found.out
    assert "no longer read-only" in found.err
    assert "(repaired: mode restored)" in cli("verify", "--repair").out
    assert stat.S_IMODE(copy.stat().st_mode) == 0o444
