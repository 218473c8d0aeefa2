"""``assets.lock`` on every face: pytest (pytester, with and without ``-n 2``), the command line
(``pytest_assets.cli.main`` in-process) and ``%asset`` on a real IPython shell.

Every project here has an ini file naming a directory store that holds demo/vocab 0.0 and 0.1
(files) and demo/model 0.0 (a folder); its lock sits next to the ini file.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from pytest_assets import Assets
from pytest_assets.cli import main
from pytest_assets.config import load_config
from pytest_assets.pinfile import Pin, PinFile, meta_hash
from pytest_assets.storekey import store_key

pytest_plugins = ["pytester"]

# See tests/test_plugin.py: keeps hypothesis from being re-imported by every inner session.
with contextlib.suppress(ImportError):
    import hypothesis.internal.observability  # noqa: F401

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["no-xdist", "xdist"])
VOCAB = {"0.0": "the quick brown\n", "0.1": "the quick brown fox\n"}
NEWER = "the quick brown fox jumps\n"
CONFIG = '{"layers": 2}'


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    src = tmp_path / "src"
    (src / "model").mkdir(parents=True)
    for text in VOCAB.values():
        (src / "vocab.txt").write_text(text)
        _pusher(root).push(src / "vocab.txt", "demo/vocab")
    (src / "model" / "config.json").write_text(CONFIG)
    _pusher(root).push(src / "model", "demo/model")
    return root


def _pusher(store: Path) -> Assets:
    return Assets(store=str(store), cache_dir=store.parent / "pusher-cache")


def push_newer_vocab(store: Path) -> None:
    """Someone pushes demo/vocab 0.2: an unlocked ``demo/vocab:0`` now means 0.2."""
    source = store.parent / "newer.txt"
    source.write_text(NEWER)
    assert str(_pusher(store).push(source, "demo/vocab")) == "demo/vocab:0.2"


def meta_path(store: Path, name: str, version: str) -> Path:
    return store.joinpath(*name.split("/")) / f"{version}.meta"


def store_meta_hash(store: Path, name: str, version: str) -> str:
    return meta_hash(json.loads(meta_path(store, name, version).read_text()))


def write_lock(root: Path, store: Path, **specs: str) -> Path:
    """A lock as ``pytest --assets-lock`` writes it: ``spec=version`` (``/`` written ``__``)."""
    path = root / "assets.lock"
    entries = {}
    for key, version in specs.items():
        spec = key.replace("__", "/")
        entries[spec] = Pin(version, store_meta_hash(store, spec.split(":")[0], version))
    PinFile(path, entries).write()
    return path


def locked(root: Path, name: str = "assets.lock") -> dict[str, str]:
    lock = PinFile.read(root / name)
    assert lock is not None
    return {key: entry.version for key, entry in lock.entries.items()}


def recreate_meta(store: Path, name: str, version: str) -> None:
    """The version re-created behind the lock's back: its metadata now describes other content
    (a new push date alone is not a change: provenance is not part of the lock's hash)."""
    path = meta_path(store, name, version)
    meta = json.loads(path.read_text())
    meta["push_date"] = "2001-01-01T00:00:00+00:00"
    meta["content_sha256"] = "0" * 64
    path.write_text(json.dumps(meta))


# -- pytest -----------------------------------------------------------------------------------


def project(pytester: pytest.Pytester, store: Path, *specs: str) -> None:
    """tox.ini naming the store (cache in ``cache``) and one test reading ``specs``, which
    records what each gave in seen.json."""
    pytester.makeini(f"[pytest]\nassets_store = {store}\nassets_dir = cache\n")
    pytester.makepyfile(
        test_specs=f"""
        import json, pathlib

        def test_specs(asset):
            seen = {{spec: asset(spec).read_text() for spec in {list(specs)!r}}}
            pathlib.Path("seen.json").write_text(json.dumps(seen))
        """
    )


def seen(pytester: pytest.Pytester) -> dict[str, str]:
    data: dict[str, str] = json.loads((pytester.path / "seen.json").read_text())
    return data


def fresh_cache(pytester: pytest.Pytester) -> None:
    cache = pytester.path / "cache"
    for item in cache.rglob("*"):  # cached folders are read-only (root ignores it)
        if item.is_dir():
            item.chmod(0o700)
    shutil.rmtree(cache, ignore_errors=True)


@XDIST
def test_assets_lock_writes_a_sorted_stable_lock(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0", "demo/vocab:0.0", "demo/model[config.json]")
    pytester.runpytest("--assets-lock", *xdist).assert_outcomes(passed=1)
    text = (pytester.path / "assets.lock").read_text()
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body == [  # sorted; the pinned demo/vocab:0.0 and the sub-part are not in it
        f"demo/model 0.0 {store_meta_hash(store, 'demo/model', '0.0')}",
        f"demo/vocab:0 0.1 {store_meta_hash(store, 'demo/vocab', '0.1')}",
    ]
    fresh_cache(pytester)
    pytester.runpytest("--assets-lock", *xdist).assert_outcomes(passed=1)
    assert (pytester.path / "assets.lock").read_text() == text  # byte-identical


@XDIST
def test_locked_spec_ignores_a_newer_push(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0")
    pytester.runpytest("--assets-lock", *xdist).assert_outcomes(passed=1)
    push_newer_vocab(store)
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    assert seen(pytester) == {"demo/vocab:0": VOCAB["0.1"]}
    result.stdout.fnmatch_lines(["demo/vocab:0 -> 0.1  content *"])


@XDIST
def test_the_summary_marks_the_specs_resolved_through_the_lock(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0")
    first = pytester.runpytest("--assets-lock", *xdist)  # no lock yet: resolved by the store
    first.stdout.fnmatch_lines(["demo/vocab:0 -> 0.1  content *"])
    first.stdout.no_fnmatch_line("*(assets.lock)*")
    again = pytester.runpytest(*xdist)
    again.stdout.fnmatch_lines(["demo/vocab:0 -> 0.1  content * (assets.lock)"])


def _conftest_assets(pytester: pytest.Pytester, store: Path, extra: str = "") -> None:
    """A project that configures its ``assets`` fixture in code, as the README shows."""
    pytester.makeini(f"[pytest]\nassets_store = {store}\nassets_dir = cache\n")
    pytester.makeconftest(
        f"""
        import pytest
        from pytest_assets import Assets

        @pytest.fixture(scope="session")
        def assets():
            return Assets(store={str(store)!r}, cache_dir="cache"{extra})
        """
    )
    pytester.makepyfile(
        test_vocab="""
        def test_vocab(asset):
            assert asset("demo/vocab:0").read_text()
        """
    )


@XDIST
def test_an_assets_built_in_a_conftest_follows_the_session_lock(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _conftest_assets(pytester, store)
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.0"})  # older than the newest, 0.1
    result = pytester.runpytest("--assets-lock-check", *xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["demo/vocab:0 -> 0.0  content * (assets.lock)"])


@XDIST
def test_assets_lock_writes_the_lock_file_a_conftest_assets_names(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    _conftest_assets(pytester, store, extra=', lock_file="locks/project.lock"')
    (pytester.path / "locks").mkdir()
    result = pytester.runpytest("--assets-lock", *xdist)
    result.assert_outcomes(passed=1)
    assert locked(pytester.path / "locks", "project.lock") == {"demo/vocab:0": "0.1"}
    assert not (pytester.path / "assets.lock").exists()


def test_a_spec_that_resolves_to_two_versions_in_one_run_is_reported(
    pytester: pytest.Pytester, store: Path
) -> None:
    """A push during the run: the tests did not all see the same version, and the lock can
    record only one of them."""
    pytester.makeini(f"[pytest]\nassets_store = {store}\nassets_dir = cache\n")
    pytester.makeconftest(
        f"""
        import pytest
        from pytest_assets import Assets

        @pytest.fixture
        def assets():  # a fresh Assets per test: each resolves partial specs anew
            return Assets(store={str(store)!r}, cache_dir="cache")
        """
    )
    pytester.makepyfile(
        test_push_mid_run=f"""
        import pathlib
        from pytest_assets import Assets

        def test_first(asset):
            assert asset("demo/vocab:0").read_text() == {VOCAB["0.1"]!r}
            source = pathlib.Path("newer.txt")
            source.write_text({NEWER!r})
            Assets(store={str(store)!r}, cache_dir="pusher").push(source, "demo/vocab")

        def test_second(asset):
            assert asset("demo/vocab:0").read_text() == {NEWER!r}
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "--assets-lock")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "assets.lock: demo/vocab:0 resolved to 0.1 and 0.2 in this run (a push while it ran?)",
            "assets.lock: 0.? was kept in the lock; run the tests again to be sure they pass on it",
        ]
    )


@XDIST
def test_locked_spec_reads_no_versions_object(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0")
    pytester.runpytest("--assets-lock", *xdist).assert_outcomes(passed=1)
    (store / "demo" / "vocab.versions").unlink()  # any read of it would now fail the test
    fresh_cache(pytester)  # so the version is downloaded again, from .meta and the data
    pytester.runpytest(*xdist).assert_outcomes(passed=1)
    assert seen(pytester) == {"demo/vocab:0": VOCAB["0.1"]}


def test_pinned_spec_is_unaffected_by_the_lock(pytester: pytest.Pytester, store: Path) -> None:
    project(pytester, store, "demo/vocab:0", "demo/vocab:0.1")
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.0"})
    pytester.runpytest().assert_outcomes(passed=1)
    assert seen(pytester) == {"demo/vocab:0": VOCAB["0.0"], "demo/vocab:0.1": VOCAB["0.1"]}


@XDIST
def test_spec_missing_from_the_lock_resolves_and_the_summary_says_so(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0", "demo/model:0[config.json]")
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.0"})
    result = pytester.runpytest(*xdist)
    assert result.ret == 0
    assert seen(pytester) == {"demo/vocab:0": VOCAB["0.0"], "demo/model:0[config.json]": CONFIG}
    result.stdout.fnmatch_lines(
        [
            "assets.lock: not in */assets.lock, resolved without it: demo/model:0",
            "assets.lock: pytest --assets-lock adds them",
        ]
    )
    assert locked(pytester.path) == {"demo/vocab:0": "0.0"}  # unchanged without --assets-lock


@XDIST
def test_assets_lock_adds_the_missing_spec_and_keeps_locked_ones(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0", "demo/model:0[config.json]")
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.0"})
    result = pytester.runpytest("--assets-lock", *xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["assets.lock: demo/model:0 (new) -> 0.0", "assets.lock: wrote */assets.lock"]
    )
    assert "not in" not in result.stdout.str()
    assert locked(pytester.path) == {"demo/vocab:0": "0.0", "demo/model:0": "0.0"}


@XDIST
def test_lock_check_fails_the_run_for_a_spec_outside_the_lock(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0", "demo/model:0[config.json]")
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.1"})
    result = pytester.runpytest("--assets-lock-check", *xdist)
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "assets.lock check FAILED (--assets-lock-check): 1 partial spec resolved outside "
            "the lock */assets.lock: demo/model:0"
        ]
    )


@XDIST
def test_lock_check_passes_when_every_partial_spec_is_locked(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0", "demo/vocab:0.0")
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.1"})
    result = pytester.runpytest("--assets-lock-check", *xdist)
    assert result.ret == 0
    assert "assets.lock:" not in result.stdout.str().split("pytest-assets:")[-1]


@XDIST
def test_lock_check_fails_on_a_metadata_hash_mismatch(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0")
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.1"})
    recreate_meta(store, "demo/vocab", "0.1")
    result = pytester.runpytest("--assets-lock-check", *xdist)
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*demo/vocab:0.1 no longer matches */assets.lock: its metadata hash is *",
            "assets.lock: demo/vocab:0.1 no longer matches *",
            "assets.lock check FAILED (--assets-lock-check): 1 lock problem (above)",
        ]
    )


def test_metadata_hash_mismatch_without_check_is_listed_and_the_run_passes(
    pytester: pytest.Pytester, store: Path
) -> None:
    project(pytester, store, "demo/vocab:0")
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.1"})
    recreate_meta(store, "demo/vocab", "0.1")
    result = pytester.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(["assets.lock: demo/vocab:0.1 no longer matches *"])


def test_lock_check_without_a_lock_file_fails_the_run(
    pytester: pytest.Pytester, store: Path
) -> None:
    project(pytester, store, "demo/vocab:0")
    result = pytester.runpytest("--assets-lock-check")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["assets.lock check FAILED *: 1 partial spec resolved with no lock at */assets.lock: *"]
    )


def test_header_names_the_lock_in_use(pytester: pytest.Pytester, store: Path) -> None:
    project(pytester, store, "demo/vocab:0")
    assert "through the lock" not in pytester.runpytest().stdout.str()
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.1"})
    result = pytester.runpytest("--assets-lock-check")
    result.stdout.fnmatch_lines(
        ["assets: partial specs resolve through the lock */assets.lock, checked *"]
    )


@XDIST
def test_deleting_the_lock_restores_unlocked_resolution(
    pytester: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0")
    write_lock(pytester.path, store, **{"demo__vocab:0": "0.0"})
    pytester.runpytest(*xdist).assert_outcomes(passed=1)
    assert seen(pytester) == {"demo/vocab:0": VOCAB["0.0"]}
    (pytester.path / "assets.lock").unlink()
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    assert seen(pytester) == {"demo/vocab:0": VOCAB["0.1"]}
    assert "assets.lock" not in result.stdout.str()  # neither in the header nor the summary
    assert not (pytester.path / "assets.lock").exists()


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a pytest.ini naming the store; the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pytest.ini").write_text(f"[pytest]\nassets_store = {store}\nassets_dir = .cache\n")
    monkeypatch.chdir(root)
    return root


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # drop what came before (an inner pytest run's output)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lock_writes_the_given_specs(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "lock", "demo/vocab:0", "demo/model[config.json]")
    assert code == 0
    assert out.splitlines() == [
        "demo/model: (new) -> 0.0",
        "demo/vocab:0: (new) -> 0.1",
        f"wrote {folder / 'assets.lock'}",
    ]
    assert locked(folder) == {"demo/model": "0.0", "demo/vocab:0": "0.1"}


def test_cli_lock_upgrade_moves_every_entry_and_prints_old_to_new(
    folder: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.0", "demo__vocab": "0.1"})
    push_newer_vocab(store)
    code, out, _ = cli(capsys, "lock", "--upgrade")
    assert code == 0
    assert out.splitlines()[:2] == ["demo/vocab: 0.1 -> 0.2", "demo/vocab:0: 0.0 -> 0.2"]
    assert locked(folder) == {"demo/vocab": "0.2", "demo/vocab:0": "0.2"}
    assert cli(capsys, "lock", "--upgrade")[1] == f"{folder / 'assets.lock'}: nothing changed\n"


def test_cli_lock_upgrade_name_moves_only_that_asset(
    folder: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.0", "demo__model": "0.0"})
    code, out, _ = cli(capsys, "lock", "--upgrade", "demo/vocab")
    assert code == 0
    assert out.splitlines()[0] == "demo/vocab:0: 0.0 -> 0.1"
    assert locked(folder) == {"demo/vocab:0": "0.1", "demo/model": "0.0"}


def test_cli_lock_upgrade_of_an_unlocked_name_exits_1(
    folder: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.0"})
    code, _, err = cli(capsys, "lock", "--upgrade", "demo/vocabulary")
    assert code == 1
    assert err.startswith("pytest-assets: error: demo/vocabulary: no entry in ")
    assert locked(folder) == {"demo/vocab:0": "0.0"}


@XDIST
def test_cli_lock_without_specs_locks_the_last_pytest_run(
    pytester: pytest.Pytester, store: Path, capsys: pytest.CaptureFixture[str], xdist: list[str]
) -> None:
    project(pytester, store, "demo/vocab:0", "demo/vocab:0.0", "demo/model:0[config.json]")
    pytester.runpytest(*xdist).assert_outcomes(passed=1)
    assert not (pytester.path / "assets.lock").exists()
    code, out, _ = cli(capsys, "lock")  # pytester's folder is the working directory
    assert code == 0
    assert out.splitlines()[:2] == ["demo/model:0: (new) -> 0.0", "demo/vocab:0: (new) -> 0.1"]
    assert locked(pytester.path) == {"demo/model:0": "0.0", "demo/vocab:0": "0.1"}


def test_cli_lock_without_specs_or_a_previous_run_exits_1(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "lock")
    assert code == 1
    assert err.startswith("pytest-assets: error: no specs to lock: ")
    assert not (folder / "assets.lock").exists()


def test_cli_fetch_resolves_through_the_lock(
    folder: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.0"})
    code, out, _ = cli(capsys, "fetch", "demo/vocab:0")
    assert code == 0
    assert Path(out.strip()).read_text() == VOCAB["0.0"]


def test_cli_fetch_warns_when_a_locked_version_was_re_created(
    folder: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.1"})
    recreate_meta(store, "demo/vocab", "0.1")
    code, out, err = cli(capsys, "fetch", "demo/vocab:0")
    assert code == 0 and Path(out.strip()).read_text() == VOCAB["0.1"]
    said, warning = err.splitlines()[:2]
    assert said == "demo/vocab:0 -> 0.1 (assets.lock)"
    assert warning.startswith("warning: demo/vocab:0.1 no longer matches ")


def test_cli_lock_upgrade_re_locks_a_re_created_version_and_says_so(
    folder: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.1"})
    recreate_meta(store, "demo/vocab", "0.1")
    code, out, _ = cli(capsys, "lock", "--upgrade")
    assert code == 0
    assert out.splitlines()[0] == "demo/vocab:0: 0.1 (metadata hash changed)"
    lock = PinFile.read(folder / "assets.lock")
    assert lock is not None
    assert lock.entries["demo/vocab:0"].meta_sha256 == store_meta_hash(store, "demo/vocab", "0.1")


def test_lock_file_without_an_ini_file_sits_in_the_start_directory(tmp_path: Path) -> None:
    assert load_config(tmp_path).lock_file == tmp_path / "assets.lock"


# -- %asset -----------------------------------------------------------------------------------


@pytest.fixture
def shell(folder: Path) -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "ipython_ext")
    yield ip
    ip.run_line_magic("unload_ext", "ipython_ext")


def test_magic_resolves_through_the_lock(
    shell: InteractiveShell, folder: Path, store: Path
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.0"})
    push_newer_vocab(store)
    path = shell.run_line_magic("asset", "demo/vocab:0")
    assert path == folder / ".cache" / store_key(str(store)).folder / "demo" / "vocab" / "0.0"
    assert path.read_text() == VOCAB["0.0"]


def test_magic_without_the_lock_resolves_the_newest(
    shell: InteractiveShell, folder: Path, store: Path
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.0"})
    assert shell.run_line_magic("asset", "demo/vocab:0").read_text() == VOCAB["0.0"]
    (folder / "assets.lock").unlink()
    shell.run_line_magic("reload_ext", "ipython_ext")  # a new session, as after a restart
    assert shell.run_line_magic("asset", "demo/vocab:0").read_text() == VOCAB["0.1"]


def test_magic_warns_when_a_locked_version_was_re_created(
    shell: InteractiveShell, folder: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(folder, store, **{"demo__vocab:0": "0.1"})
    recreate_meta(store, "demo/vocab", "0.1")
    assert shell.run_line_magic("asset", "demo/vocab:0").read_text() == VOCAB["0.1"]
    assert "warning: demo/vocab:0.1 no longer matches " in capsys.readouterr().err


def test_magic_configuration_shows_the_lock(
    shell: InteractiveShell, folder: Path, store: Path
) -> None:
    shown = repr(shell.run_line_magic("asset", ""))
    assert "none (assets.lock)" in shown
    write_lock(folder, store, **{"demo__vocab:0": "0.0"})
    shell.run_line_magic("reload_ext", "ipython_ext")
    lock_row = next(
        line for line in repr(shell.run_line_magic("asset", "")).splitlines() if "lock" in line
    )
    assert lock_row.split() == ["lock", "assets.lock", "next", "to", "the", "pytest", "ini", "file"]


def test_lock_hash_ignores_provenance_of_a_version_with_file_hashes() -> None:
    meta = {"is_directory": False, "size": 3, "sha256": "a" * 64, "content_sha256": "b" * 64}
    first = dict(meta, push_date="2024-01-01T00:00:00+00:00", pushed_by="a@x", git_commit="1" * 40)
    again = dict(meta, push_date="2025-06-01T00:00:00+00:00", pushed_by="b@y", git_commit="2" * 40)
    assert meta_hash(first) == meta_hash(again)
    assert meta_hash(first) != meta_hash(dict(first, content_sha256="c" * 64))


def test_lock_hash_of_a_modelkit_meta_includes_its_push_date() -> None:
    meta = {"push_date": "2024-01-01T00:00:00+00:00", "is_directory": False}
    assert meta_hash(meta) != meta_hash(dict(meta, push_date="2024-02-01T00:00:00+00:00"))
