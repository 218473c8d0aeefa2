"""Read-only shared cache tiers: consulted in order before the writable cache, used in place.

A tier here is a cache that pytest-assets filled (``sync`` or a fetch into another cache
directory). A hit there writes nothing: the writable cache is not even created. The read-only
cases run in a child process that mounts the tier read-only (``unshare``: a user and mount
namespace of its own, so even root cannot write there). Requests are counted at the server
(``byte_proxy``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from byte_proxy import counting
from servers import StoreUnderTest

from pytest_assets import Assets
from pytest_assets.config import load_config
from pytest_assets.errors import ConfigError
from pytest_assets.pinfile import LOCK_NAME
from pytest_assets.storekey import store_key

pytest_plugins = ["pytester"]


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A directory store holding ``model`` 0.0 (a file) and ``folder`` 0.0 (two files)."""
    url = str(tmp_path / "store")
    Path(url).mkdir()
    pusher = Assets(store=url, cache_dir=tmp_path / "pusher-cache")
    source = tmp_path / "src"
    (source / "folder" / "sub").mkdir(parents=True)
    (source / "model.bin").write_bytes(b"weights" * 100)
    (source / "folder" / "a.txt").write_text("alpha\n")
    (source / "folder" / "sub" / "b.txt").write_text("beta\n")
    pusher.push(source / "model.bin", "model")
    pusher.push(source / "folder", "folder")
    return url


def fill(store: str, tier: Path, *specs: str, options: dict[str, Any] | None = None) -> Path:
    """A cache directory holding ``specs``, as ``pytest-assets sync`` would leave it."""
    filler = Assets(store=store, cache_dir=tier, storage_options=options)
    for spec in specs:
        filler.fetch(spec)
    return tier


def everything_below(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_a_version_in_a_tier_is_returned_in_place_and_the_cache_is_not_created(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "model:0.0")
    before = everything_below(tier)
    writable = tmp_path / "cache"
    path = Assets(store=store, cache_dir=writable, shared_dirs=[tier]).fetch("model:0")
    assert path == tier / store_key(store).folder / "model" / "0.0"
    assert path.read_bytes() == b"weights" * 100
    assert not writable.exists()
    assert everything_below(tier) == before  # no lock file, no record, nothing new


def test_a_sub_part_in_a_tier_is_returned_in_place(store: str, tmp_path: Path) -> None:
    tier = fill(store, tmp_path / "tier", "folder:0.0")
    assets = Assets(store=store, cache_dir=tmp_path / "cache", shared_dirs=[tier])
    path = assets.fetch("folder:0.0[sub/b.txt]")
    assert path == tier / store_key(store).folder / "folder" / "0.0" / "sub" / "b.txt"
    assert not (tmp_path / "cache").exists()


def test_tiers_are_consulted_in_the_order_given(store: str, tmp_path: Path) -> None:
    first = fill(store, tmp_path / "first", "model:0.0")
    second = fill(store, tmp_path / "second", "model:0.0")
    cache = tmp_path / "cache"
    in_order = Assets(store=store, cache_dir=cache, shared_dirs=[first, second]).fetch("model:0")
    reversed_ = Assets(store=store, cache_dir=cache, shared_dirs=[second, first]).fetch("model:0")
    assert in_order.is_relative_to(first)
    assert reversed_.is_relative_to(second)


def test_a_tier_comes_before_the_writable_cache(store: str, tmp_path: Path) -> None:
    cache = fill(store, tmp_path / "cache", "model:0.0")
    tier = fill(store, tmp_path / "tier", "model:0.0")
    path = Assets(store=store, cache_dir=cache, shared_dirs=[tier]).fetch("model:0.0")
    assert path.is_relative_to(tier)


def test_a_miss_in_every_tier_is_downloaded_into_the_writable_cache(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "model:0.0")
    cache = tmp_path / "cache"
    path = Assets(store=store, cache_dir=cache, shared_dirs=[tier]).fetch("folder:0")
    assert path.is_relative_to(cache)
    assert not (tier / store_key(store).folder / "folder").exists()


def _cut_short(tier: Path, store: str) -> None:
    target = tier / store_key(store).folder / "folder" / "0.0" / "sub" / "b.txt"
    target.parent.chmod(0o755)
    target.unlink()


def test_a_damaged_version_in_a_tier_is_skipped_with_a_warning_and_left_as_it_is(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "folder:0.0")
    _cut_short(tier, store)
    before = everything_below(tier)
    said: list[str] = []
    cache = tmp_path / "cache"
    assets = Assets(store=store, cache_dir=cache, shared_dirs=[tier], notify=said.append)
    path = assets.fetch("folder:0.0")
    assert path.is_relative_to(cache)
    assert (path / "sub" / "b.txt").read_text() == "beta\n"
    assert len(said) == 1 and said[0].startswith("warning: the shared cache")
    assert str(tier) in said[0] and "folder:0.0" in said[0] and "b.txt" in said[0]
    assert everything_below(tier) == before
    assets.fetch("folder:0.0")
    assert len(said) == 1  # warned once per version


def test_a_half_written_version_in_a_tier_data_without_record_is_skipped_with_a_warning(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "model:0.0")
    record = next((tier / ".pytest-assets" / "records").rglob("0.0.json"))
    record.unlink()
    said: list[str] = []
    assets = Assets(
        store=store, cache_dir=tmp_path / "cache", shared_dirs=[tier], notify=said.append
    )
    assert assets.fetch("model:0.0").is_relative_to(tmp_path / "cache")
    assert len(said) == 1 and "without its record" in said[0]


def test_verify_reports_damage_in_a_tier_and_repairs_nothing_there(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "folder:0.0", "model:0.0")
    _cut_short(tier, store)
    before = everything_below(tier)
    assets = Assets(store=store, cache_dir=tmp_path / "cache", shared_dirs=[tier])
    problems = assets.verify(repair=True)
    assert [(p.name, p.version, p.repaired) for p in problems] == [("folder", "0.0", False)]
    assert problems[0].message.startswith(f"shared cache {tier} (read-only, not repaired): ")
    assert everything_below(tier) == before


def test_offline_a_partial_spec_resolves_against_the_tiers_versions(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "model:0.0")
    assets = Assets(store=store, cache_dir=tmp_path / "cache", shared_dirs=[tier], offline=True)
    assert assets.fetch("model").is_relative_to(tier)


def test_offline_versions_lists_what_the_tiers_and_the_cache_hold(
    store: str, tmp_path: Path
) -> None:
    Assets(store=store, cache_dir=tmp_path / "cache").push(
        tmp_path / "src" / "model.bin", "model:1.0"
    )
    Assets(store=store, cache_dir=tmp_path / "cache").fetch("model:1.0")
    tier = fill(store, tmp_path / "tier", "model:0.0")
    assets = Assets(store=store, cache_dir=tmp_path / "cache", shared_dirs=[tier], offline=True)
    assert assets.versions("model") == ["1.0", "0.0"]


def test_offline_names_lists_the_assets_held_in_the_tiers(store: str, tmp_path: Path) -> None:
    tier = fill(store, tmp_path / "tier", "model:0.0", "folder:0.0")
    assets = Assets(store=store, cache_dir=tmp_path / "cache", shared_dirs=[tier], offline=True)
    assert assets.names() == ["folder", "model"]
    assert assets.names("mo") == ["model"]


def test_cli_cache_ls_lists_each_tier_after_the_cache_and_prune_leaves_the_tier_alone(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_assets.cli import main

    tier = fill(store, tmp_path / "tier", "folder:0.0")
    before = everything_below(tier)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSETS_SHARED_DIRS", str(tier))
    common = ["--store", store, "--cache-dir", str(tmp_path / "cache")]
    assert main([*common, "fetch", "model:0.0"]) == 0
    capsys.readouterr()
    assert main([*common, "cache", "ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("model:0.0\t") and lines[1].startswith("1 version, ")
    assert lines[2].startswith("folder:0.0\t") and str(tier) in lines[2]
    assert lines[3].startswith(f"shared cache {tier} (read-only): 1 version, ")
    assert main([*common, "cache", "prune", "--keep", "0"]) == 0
    assert everything_below(tier) == before


@pytest.mark.servers
@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_a_locked_spec_served_by_a_tier_makes_no_request_to_the_store(
    s3_store: StoreUnderTest, tmp_path: Path, offline: bool
) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"m" * 3000)
    pusher = Assets(
        store=s3_store.url,
        cache_dir=tmp_path / "pusher",
        storage_options=s3_store.storage_options,
        lock_file=tmp_path / LOCK_NAME,
    )
    pusher.push(source, "model")
    pusher.update_lock(["model:0"])
    with counting(s3_store) as (through_proxy, proxy):
        # the tier must be of the store as reached here (the endpoint is part of its key)
        tier = fill(
            through_proxy.url, tmp_path / "tier", "model:0.0", options=through_proxy.storage_options
        )
        proxy.reset()
        assets = Assets(
            store=through_proxy.url,
            cache_dir=tmp_path / "cache",
            storage_options=through_proxy.storage_options,
            offline=offline,
            lock_file=tmp_path / LOCK_NAME,
            lock_check=True,
            shared_dirs=[tier],
        )
        path = assets.fetch("model:0")
        assets.info("model:0")
        seen = proxy.reset()
    assert path.is_relative_to(tier)
    assert (seen.requests, seen.down) == ([], 0)
    assert not (tmp_path / "cache").exists()


# -- settings ---------------------------------------------------------------------------------


def test_assets_shared_dirs_is_split_on_the_path_separator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSETS_SHARED_DIRS", os.pathsep.join(["/mnt/baked", "restored", ""]))
    config = load_config(tmp_path)
    assert config.shared_dirs == (Path("/mnt/baked"), tmp_path / "restored")
    assert Assets.from_loaded(config).tiers.directories == [
        Path("/mnt/baked"),
        tmp_path / "restored",
    ]


def test_the_ini_lists_shared_dirs_one_per_line_relative_to_the_ini_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nassets_shared_dirs =\n    /mnt/baked\n    ci\n")
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path / "tests")
    assert load_config(tmp_path / "tests").shared_dirs == (Path("/mnt/baked"), tmp_path / "ci")


def test_the_environment_beats_the_ini_for_shared_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nassets_shared_dirs = /from/ini\n")
    monkeypatch.setenv("ASSETS_SHARED_DIRS", "/from/env")
    assert load_config(tmp_path).shared_dirs == (Path("/from/env"),)


def test_a_url_as_a_shared_dir_is_refused_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETS_SHARED_DIRS", "s3://bucket/cache")
    with pytest.raises(ConfigError, match=r"ASSETS_SHARED_DIRS.*local directory"):
        load_config(tmp_path)


def test_the_pytest_header_names_the_shared_tiers_in_order(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makeini(
        "[pytest]\nassets_store = store\nassets_shared_dirs =\n    /mnt/a\n    /mnt/b\n"
    )
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.stdout.fnmatch_lines(
        ["assets: read-only shared caches, consulted first: /mnt/a, /mnt/b"]
    )


# -- a tier on a read-only mount --------------------------------------------------------------

_CHILD = """
import json, os, sys
from pathlib import Path
from pytest_assets import Assets

store, tier, cache = sys.argv[1:4]
said = []
assets = Assets(store=store, cache_dir=cache, shared_dirs=[tier], notify=said.append)
out = {"hit": str(assets.fetch("model:0")), "sub": str(assets.fetch("folder:0.0[sub/b.txt]"))}
try:
    open(os.path.join(tier, "probe"), "w")
except OSError as exc:
    out["tier_write"] = exc.strerror
out["cache_exists"] = os.path.exists(cache)
if len(sys.argv) > 4:  # the tier's folder:0.0 is damaged: fetched into the writable cache
    out["miss"] = str(assets.fetch("folder:0.0"))
out["said"] = said
print(json.dumps(out))
"""


def run_on_read_only_mount(tier: Path, *args: str) -> dict[str, Any]:
    """The child above, with ``tier`` bind-mounted read-only in a namespace of its own."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1): cannot mount the tier read-only")
    script = textwrap.dedent(
        """
        mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 77
        shift; exec "$@"
        """
    )
    command = [unshare, "-rm", "sh", "-c", script, "sh", str(tier)]
    result = subprocess.run(
        [*command, sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, check=False
    )
    if result.returncode == 77 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot make a read-only bind mount here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_a_tier_on_a_read_only_mount_serves_hits_and_nothing_is_written_anywhere(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "model:0.0", "folder:0.0")
    before, locks = everything_below(tier), sorted(tmp_path.rglob("*.lock"))  # the filler's
    cache = tmp_path / "cache"
    out = run_on_read_only_mount(tier, store, str(tier), str(cache))
    assert out["tier_write"] == "Read-only file system"  # the mount is really read-only
    assert Path(out["hit"]).is_relative_to(tier) and Path(out["sub"]).is_relative_to(tier)
    assert out["cache_exists"] is False and not cache.exists()
    assert out["said"] == []
    assert everything_below(tier) == before
    assert sorted(tmp_path.rglob("*.lock")) == locks


def test_a_damaged_version_on_a_read_only_tier_is_fetched_into_the_writable_cache(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "model:0.0", "folder:0.0")
    _cut_short(tier, store)
    cache = tmp_path / "cache"
    out = run_on_read_only_mount(tier, store, str(tier), str(cache), "damaged")
    assert Path(out["miss"]).is_relative_to(cache)
    assert (Path(out["miss"]) / "sub" / "b.txt").read_text() == "beta\n"
    assert len(out["said"]) == 1 and "skipped" in out["said"][0]


def test_cli_verify_exits_1_on_damage_in_a_tier_saying_to_rebuild_it(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_assets.cli import main

    tier = fill(store, tmp_path / "tier", "folder:0.0")
    _cut_short(tier, store)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSETS_SHARED_DIRS", str(tier))
    code = main(["--store", store, "--cache-dir", str(tmp_path / "cache"), "verify", "--repair"])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"shared cache {tier} (read-only, not repaired): folder:0.0[sub/b.txt]" in out
    assert f"read-only shared cache(s) {tier}" in err and "rebuild" in err
    assert not (tier / store_key(store).folder / "folder" / "0.0" / "sub" / "b.txt").exists()


def test_a_pytest_run_served_by_a_tier_writes_nothing_into_the_writable_cache(
    pytester: pytest.Pytester, store: str, tmp_path: Path
) -> None:
    """Not even the runs note a partial spec leaves for ``sync --last-run``, nor the cache's
    CACHEDIR.TAG: both come with the first thing written there."""
    tier = fill(store, tmp_path / "tier", "model:0.0")
    cache = tmp_path / "cache"
    pytester.makeini(
        f"[pytest]\nassets_store = {store}\nassets_dir = {cache}\nassets_shared_dirs = {tier}\n"
    )
    pytester.makepyfile(
        "def test_model(asset):\n    assert asset('model:0').read_bytes() == b'weights' * 100\n"
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert not cache.exists()


def test_a_miss_reuses_the_files_a_tier_holds_copied_never_hardlinked(
    store: str, tmp_path: Path
) -> None:
    tier = fill(store, tmp_path / "tier", "folder:0.0")
    source = tmp_path / "next"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("alpha\n")  # as in 0.0
    (source / "sub" / "b.txt").write_text("beta, changed\n")
    Assets(store=store, cache_dir=tmp_path / "pusher-cache").push(source, "folder")
    # the store loses 0.1's a.txt: only the tier's copy can give it
    gone = Path(store) / "folder" / "0.1" / "a.txt"
    gone.parent.chmod(0o755)
    gone.unlink()
    index = tier / ".pytest-assets" / "content.sqlite"
    before = (everything_below(tier), index.read_bytes())
    assets = Assets(store=store, cache_dir=tmp_path / "cache", shared_dirs=[tier])
    path = assets.fetch("folder:0.1")
    assert path.is_relative_to(tmp_path / "cache")
    assert (path / "a.txt").read_text() == "alpha\n"
    assert (path / "sub" / "b.txt").read_text() == "beta, changed\n"
    held = next(tier.rglob("a.txt"))
    assert (path / "a.txt").stat().st_ino != held.stat().st_ino
    assert held.stat().st_nlink == 1
    assert (everything_below(tier), index.read_bytes()) == before  # the tier's index unchanged
