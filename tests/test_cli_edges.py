"""The command line where a new user first trips: options after the command, a closed pipe,
``verify`` with nothing to check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_assets import Assets
from pytest_assets.cli import main, parse_args


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A directory store holding m:0.0 (a file) and d:0.0 (a folder of three files)."""
    root = tmp_path / "store"
    root.mkdir()
    pusher = Assets(store=str(root), cache_dir=tmp_path / "pusher-cache")
    (tmp_path / "m.bin").write_bytes(b"weights")
    pusher.push(tmp_path / "m.bin", "m")
    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text(name)
    pusher.push(folder, "d")
    return root


@pytest.fixture(autouse=True)
def _no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("ASSETS_", "MODELKIT_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no ini file from the repository applies


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_global_options_may_follow_the_command(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    code, out, _ = run(capsys, "fetch", "m", "--store", str(store), "--cache-dir", str(cache))
    assert code == 0
    assert Path(out.strip()).read_bytes() == b"weights"
    assert Path(out.strip()).is_relative_to(cache)


def test_an_option_given_before_the_command_is_kept_when_another_follows_it(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    code, out, _ = run(capsys, "--store", str(store), "fetch", "m", "--cache-dir", str(cache))
    assert (code, Path(out.strip()).is_relative_to(cache)) == (0, True)


def test_offline_may_follow_a_cache_subcommand(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    run(capsys, "--store", str(store), "--cache-dir", str(cache), "fetch", "m")
    code, out, _ = run(capsys, "cache", "ls", "--cache-dir", str(cache), "--offline")
    assert code == 0 and out.startswith("m:0.0\t")


def test_a_reader_that_stops_early_ends_the_command_quietly(store: Path, tmp_path: Path) -> None:
    """``pytest-assets info d:0.0 | head -1``: the pipe is closed before all is written."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSETS_", "MODELKIT_"))}
    args = ["--store", str(store), "--cache-dir", str(tmp_path / "cache"), "info", "d:0.0"]
    read, write = os.pipe()
    os.close(read)  # a reader that is gone before the first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest_assets", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")


def test_verify_of_a_cache_that_does_not_exist_says_there_was_nothing_to_check(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "no-cache"
    code, out, _ = run(capsys, "--store", str(store), "--cache-dir", str(cache), "verify")
    assert code == 0
    assert out.startswith("nothing to check: no version is in the copies of store")
    assert "clean" not in out


def test_verify_of_a_spec_not_cached_says_there_was_nothing_to_check(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--store", str(store), "--cache-dir", str(tmp_path / "cache")]
    run(capsys, *common, "fetch", "m")
    code, out, _ = run(capsys, *common, "verify", "d:0.0")
    assert (code, out.startswith("nothing to check: no version of d:0.0 is in")) == (0, True)
    code, out, _ = run(capsys, *common, "verify", "m:0.0")
    assert (code, out.endswith("are clean\n")) == (0, True)


@pytest.mark.parametrize("prefix", ["../", "..", "/etc", "d/../m", "./d"])
def test_ls_refuses_a_prefix_that_leaves_the_store(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str
) -> None:
    common = ["--store", str(store), "--cache-dir", str(tmp_path / "cache")]
    code, out, err = run(capsys, *common, "ls", prefix)
    assert (code, out) == (1, "")
    assert "leaves the store" in err


def test_ls_shows_no_asset_for_a_versions_file_inside_a_directory_asset(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "holds-versions"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.versions").write_text("not an asset")
    (folder / "sub" / "x.versions").write_text("nor this")
    Assets(store=str(store), cache_dir=tmp_path / "pusher-cache").push(folder, "h")
    common = ["--store", str(store), "--cache-dir", str(tmp_path / "cache")]
    assert run(capsys, *common, "ls") == (0, "d\nh\nm\n", "")
    assert run(capsys, *common, "ls", "h") == (0, "h\n", "")


def test_versions_shows_push_dates_pushers_content_hashes_and_the_locked_version(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--store", str(store), "--cache-dir", str(tmp_path / "cache")]
    (tmp_path / "m.bin").write_bytes(b"weights, again")
    assert run(capsys, *common, "push", str(tmp_path / "m.bin"), "m")[0] == 0
    assert run(capsys, *common, "lock", "m:0")[0] == 0  # pins m:0 to 0.1
    code, out, _ = run(capsys, *common, "versions", "m")
    newest, oldest = (line.split("\t") for line in out.splitlines())
    assert code == 0 and (newest[0], oldest[0]) == ("0.1", "0.0")
    assert newest[1].endswith(" UTC") and "@" in newest[2]
    info = Assets(store=str(store), cache_dir=tmp_path / "c2").info("m:0.0")
    assert oldest[3] == f"sha256:{info['content_sha256'][:12]}"
    assert newest[4] == f"pinned in {tmp_path / 'assets.lock'} (m:0)"
    assert len(oldest) == 4  # not pinned
    assert newest[3] != oldest[3]  # different bytes


@pytest.fixture
def locked_behind(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """``assets.lock`` pins m:0 to 0.0, then m:0.1 is pushed; the common options."""
    common = ["--store", str(store), "--cache-dir", str(tmp_path / "cache")]
    assert run(capsys, *common, "lock", "m:0")[0] == 0
    (tmp_path / "m.bin").write_bytes(b"newer weights")
    assert run(capsys, *common, "push", str(tmp_path / "m.bin"), "m")[0] == 0
    return common


def test_a_fetch_through_the_lock_says_so_on_stderr(
    locked_behind: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *locked_behind, "fetch", "m:0")
    assert (code, Path(out.strip()).name) == (0, "0.0")
    assert err == "m:0 -> 0.0 (assets.lock)\n"


def test_lock_outdated_lists_the_pins_behind_and_exits_1_under_check(
    locked_behind: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    expected = "m:0: 0.0 pinned, 0.1 is the newest\n"
    assert run(capsys, *locked_behind, "lock", "--outdated") == (0, expected, "")
    assert run(capsys, *locked_behind, "lock", "--outdated", "--check") == (1, expected, "")
    run(capsys, *locked_behind, "lock", "--upgrade")
    code, out, _ = run(capsys, *locked_behind, "lock", "--outdated", "--check")
    assert (code, out.endswith("every entry is at the newest version\n")) == (0, True)


def test_lock_upgrade_dry_run_shows_what_would_move_and_writes_nothing(
    locked_behind: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (tmp_path / "assets.lock").read_text()
    code, out, _ = run(capsys, *locked_behind, "lock", "--upgrade", "--dry-run")
    assert code == 0
    assert out == f"m:0: 0.0 -> 0.1\nwould write {tmp_path / 'assets.lock'}\n"
    assert (tmp_path / "assets.lock").read_text() == before


def test_storage_options_before_and_after_the_command_add_up() -> None:
    args = parse_args(["--storage-option", "a=1", "fetch", "m", "--storage-option", "b=2"])
    assert args.storage_options == ["a=1", "b=2"]
