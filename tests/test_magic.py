"""``%asset`` on a real IPython shell: the magic, its options, its errors and its completion.

Each test works in its own project folder whose ``pytest.ini`` names a local directory store
and cache (as ``examples/pytest.ini`` does), with the working directory there, so the magic finds
its configuration exactly as in a notebook next to the tests.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from pytest_assets import Assets
from pytest_assets.errors import AssetNotFoundError, AssetsError

VOCAB_0 = b"the quick brown fox\n"
VOCAB_1 = b"the quick brown fox\njumps\n"
CONFIG = b'{"labels": "labels/labels.txt"}\n'
LABELS = b"cat\ndog\n"
_ENV = (
    "ASSETS_STORE",
    "ASSETS_DIR",
    "ASSETS_OFFLINE",
    "ASSETS_VERSIONING",
    "MODELKIT_STORAGE_PROVIDER",
    "MODELKIT_STORAGE_BUCKET",
    "MODELKIT_STORAGE_PREFIX",
)


@dataclass(frozen=True)
class Project:
    root: Path
    store: Path
    cache: Path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A folder with a pytest.ini naming ``.store`` and ``.cache``, holding demo/vocab 0.0 and
    0.1 (files) and demo/tiny-model 0.0 (a directory); the working directory."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "project"
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\nassets_store = .store\nassets_dir = .cache\n")
    store = root / ".store"
    store.mkdir()
    pusher = Assets(store=str(store), cache_dir=tmp_path / "pusher-cache")
    source = tmp_path / "source"
    source.mkdir()
    for version, data in (("0.0", VOCAB_0), ("0.1", VOCAB_1)):
        (source / "vocab.txt").write_bytes(data)
        assert str(pusher.push(source / "vocab.txt", "demo/vocab")) == f"demo/vocab:{version}"
    model = source / "tiny-model"
    (model / "labels").mkdir(parents=True)
    (model / "config.json").write_bytes(CONFIG)
    (model / "labels" / "labels.txt").write_bytes(LABELS)
    pusher.push(model, "demo/tiny-model")
    monkeypatch.chdir(root)
    return Project(root, store, root / ".cache")


@pytest.fixture
def shell(project: Project) -> Iterator[InteractiveShell]:
    """The process's IPython shell with the extension loaded for this test only."""
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "ipython_ext")
    yield ip
    ip.run_line_magic("unload_ext", "ipython_ext")


def asset(shell: InteractiveShell, line: str) -> Any:
    return shell.run_line_magic("asset", line)


def text_of(shell: InteractiveShell, value: Any) -> str:
    data, _ = shell.display_formatter.format(value)
    return str(data["text/plain"])


def html_of(shell: InteractiveShell, value: Any) -> str:
    data, _ = shell.display_formatter.format(value)
    return str(data["text/html"])


def asset_error(shell: InteractiveShell, line: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``%asset line`` as a cell that must fail with an asset error; its one line."""
    capsys.readouterr()
    result = shell.run_cell(f"%asset {line}")
    assert isinstance(result.error_in_exec, AssetsError)
    shown = capsys.readouterr()
    lines = [line for line in (shown.out + shown.err).splitlines() if line.strip()]
    assert len(lines) == 1, shown
    assert "Traceback" not in shown.out + shown.err
    assert lines[0].startswith("asset: ")
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- loading --------------------------------------------------------------------------------


def test_load_ext_registers_the_asset_line_magic(shell: InteractiveShell) -> None:
    assert shell.find_line_magic("asset") is not None


def test_unload_ext_removes_the_magic_and_its_completer(shell: InteractiveShell) -> None:
    shell.run_line_magic("unload_ext", "ipython_ext")
    try:
        assert shell.find_line_magic("asset") is None
        ids = [getattr(m, "matcher_identifier", None) for m in shell.Completer.custom_matchers]
        assert "ipython_ext.asset" not in ids
    finally:
        shell.run_line_magic("load_ext", "ipython_ext")


def test_reload_ext_starts_a_fresh_session(shell: InteractiveShell, tmp_path: Path) -> None:
    asset(shell, f"--store {tmp_path / 'elsewhere'}")
    shell.run_line_magic("reload_ext", "ipython_ext")
    assert "assets_store in pytest.ini" in text_of(shell, asset(shell, ""))
    ids = [getattr(m, "matcher_identifier", None) for m in shell.Completer.custom_matchers]
    assert ids.count("ipython_ext.asset") == 1


def test_help_lists_every_option(shell: InteractiveShell) -> None:
    doc = shell.find_line_magic("asset").__doc__
    options = ("--versions", "--info", "--cache", "--store", "--cache-dir", "--offline", "--online")
    for option in options:
        assert option in doc


# -- fetching -------------------------------------------------------------------------------


def test_asset_returns_the_path_of_the_pushed_bytes(shell: InteractiveShell) -> None:
    path = asset(shell, "demo/vocab:0.0")
    assert isinstance(path, Path)
    assert path.read_bytes() == VOCAB_0


def test_partial_version_resolves_to_the_newest_match(shell: InteractiveShell) -> None:
    assert asset(shell, "demo/vocab:0").read_bytes() == VOCAB_1


def test_assignment_puts_the_path_in_the_user_namespace(shell: InteractiveShell) -> None:
    shell.run_cell("path = %asset demo/vocab")
    assert shell.user_ns["path"].read_bytes() == VOCAB_1


def test_sub_part_in_brackets(shell: InteractiveShell) -> None:
    assert asset(shell, "demo/tiny-model:0[labels/labels.txt]").read_bytes() == LABELS


def test_sub_part_after_a_slash(shell: InteractiveShell) -> None:
    assert asset(shell, "demo/tiny-model:0.0/labels/labels.txt").read_bytes() == LABELS


def test_fetch_lands_in_the_cache_named_by_the_ini_file(
    shell: InteractiveShell, project: Project
) -> None:
    assert asset(shell, "demo/vocab:0.1").is_relative_to(project.cache)


def test_ini_file_is_found_from_a_subfolder_as_pytest_finds_it(
    shell: InteractiveShell, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.root / "notebooks").mkdir()
    monkeypatch.chdir(project.root / "notebooks")
    assert asset(shell, "demo/vocab:0.1").is_relative_to(project.cache)


def test_environment_beats_the_ini_file_as_for_the_tests(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETS_DIR", str(tmp_path / "env-cache"))
    assert asset(shell, "demo/vocab:0.1").is_relative_to(tmp_path / "env-cache")


def test_same_version_as_the_tests_loader(shell: InteractiveShell, project: Project) -> None:
    tests_view = Assets.from_config(project.root)
    assert asset(shell, "demo/vocab") == tests_view.fetch("demo/vocab")


def test_progress_bar_while_downloading(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    asset(shell, "demo/tiny-model:0.0")
    assert "fetching demo/tiny-model:0.0" in capsys.readouterr().err


def test_no_progress_bar_when_cached(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    asset(shell, "demo/tiny-model:0.0")
    capsys.readouterr()
    asset(shell, "demo/tiny-model:0.0")
    assert capsys.readouterr().err == ""


# -- configuration --------------------------------------------------------------------------


def test_no_argument_shows_each_setting_and_where_it_came_from(shell: InteractiveShell) -> None:
    shown = text_of(shell, asset(shell, ""))
    assert re.search(r"store\s+\.store\s+assets_store in pytest\.ini", shown)
    assert re.search(r"cache_dir\s+\.cache\s+assets_dir in pytest\.ini", shown)
    assert re.search(r"offline\s+false\s+default", shown)
    assert re.search(r"versioning\s+major_minor\s+default", shown)
    assert re.search(r"max_connections\s+64\s+default", shown)


def test_configuration_renders_as_an_html_table(shell: InteractiveShell) -> None:
    shown = html_of(shell, asset(shell, ""))
    assert "<table>" in shown and "assets_store in pytest.ini" in shown


def test_configuration_never_shows_credentials(shell: InteractiveShell) -> None:
    view = asset(shell, "--store s3://AKIAKEY:s3cr3t@bucket/prefix")
    shown = text_of(shell, view) + html_of(shell, view)
    assert "s3cr3t" not in shown and "AKIAKEY" not in shown
    assert "bucket/prefix" in shown


def test_store_option_changes_the_store_and_keeps_the_cache(
    shell: InteractiveShell, project: Project, tmp_path: Path
) -> None:
    other = tmp_path / "other-store"
    shutil.copytree(project.store, other)
    shown = text_of(shell, asset(shell, f"--store {other}"))
    assert re.search(r"store\s+\S*other-store\s+%asset --store", shown)
    assert re.search(r"cache_dir\s+\.cache\s+assets_dir in pytest\.ini", shown)
    shutil.rmtree(project.store)
    assert asset(shell, "demo/vocab:0").read_bytes() == VOCAB_1


def test_cache_dir_option_changes_the_cache(shell: InteractiveShell, tmp_path: Path) -> None:
    asset(shell, f"--cache-dir {tmp_path / 'my-cache'}")
    assert asset(shell, "demo/vocab:0.0").is_relative_to(tmp_path / "my-cache")


def test_offline_option_serves_the_cache_without_the_store(
    shell: InteractiveShell, project: Project
) -> None:
    online = asset(shell, "demo/vocab:0")
    shutil.rmtree(project.store)
    shown = text_of(shell, asset(shell, "--offline"))
    assert re.search(r"offline\s+true\s+%asset --offline", shown)
    assert asset(shell, "demo/vocab:0") == online


def test_online_option_turns_offline_mode_off(shell: InteractiveShell) -> None:
    asset(shell, "--offline")
    shown = text_of(shell, asset(shell, "--online"))
    assert re.search(r"offline\s+false\s+%asset --online", shown)
    assert asset(shell, "demo/vocab:0.0").read_bytes() == VOCAB_0


def test_option_and_spec_on_one_line_apply_the_option_first(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    path = asset(shell, f"--cache-dir {tmp_path / 'c2'} demo/vocab:0.0")
    assert path.is_relative_to(tmp_path / "c2")


def test_storage_options_add_up_and_are_shown_without_their_values(
    shell: InteractiveShell,
) -> None:
    asset(shell, "--storage-option anon=true")
    view = asset(shell, "--storage-option secret=s3cr3t")
    shown = text_of(shell, view) + html_of(shell, view)
    assert re.search(r"storage_options\s+anon=true, secret=\*\*\*\s+%asset --storage-option", shown)
    assert "s3cr3t" not in shown


@pytest.mark.parametrize(
    ("line", "fragment"),
    [("--store s3:/bucket", "did you mean s3://bucket?"),
     ("--store ''", "the store (%asset) is empty"),
     ("--cache-dir ''", "the cache directory (%asset) is empty"),
     ("--storage-option nothing", "a storage option is not KEY=VALUE"),
     ("--store ~no-such-user-xyz/s", "the store ~no-such-user-xyz/s (%asset) starts with"),
     ("--cache-dir ~no-such-user-xyz/c", "~no-such-user-xyz/c (%asset) starts with")],
    ids=["broken-url", "empty-store", "empty-cache", "bad-option", "no-such-user-store",
         "no-such-user-cache"],
)  # fmt: skip
def test_a_refused_setting_prints_one_line_and_changes_nothing(
    shell: InteractiveShell,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    line: str,
    fragment: str,
) -> None:
    assert fragment in asset_error(shell, line, capsys)
    assert asset(shell, "demo/vocab:0.0").is_relative_to(project.cache)


def test_a_quoted_cache_dir_with_a_space_is_used_as_written(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    path = asset(shell, f'--cache-dir "{tmp_path}/my cache" demo/vocab:0.0')
    assert path.is_relative_to(tmp_path / "my cache")


def test_the_line_is_split_as_a_shell_splits_it(
    shell: InteractiveShell, project: Project, tmp_path: Path
) -> None:
    folder = tmp_path / "spaced"
    folder.mkdir()
    (folder / "my file.txt").write_bytes(LABELS)
    Assets(store=str(project.store), cache_dir=tmp_path / "c").push(folder, "e/space")
    assert asset(shell, '"e/space:0[my file.txt]"').read_bytes() == LABELS
    assert asset(shell, "e/space:0'[my file.txt]'").read_bytes() == LABELS


def test_a_spec_with_a_space_inside_its_brackets_needs_no_quotes(
    shell: InteractiveShell, project: Project, tmp_path: Path
) -> None:
    folder = tmp_path / "spaced"
    folder.mkdir()
    (folder / "my file.txt").write_bytes(LABELS)
    Assets(store=str(project.store), cache_dir=tmp_path / "c").push(folder, "e/space")
    assert asset(shell, "e/space:0[my file.txt]").read_bytes() == LABELS


def test_two_specs_are_a_usage_error(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="give one SPEC"):
        asset(shell, "demo/vocab demo/tiny-model")


def test_a_relative_store_stays_the_folder_it_named_after_cd(
    shell: InteractiveShell, project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "st2"
    other.mkdir()
    Assets(store=str(other), cache_dir=tmp_path / "c").push(Path("pytest.ini"), "other/ini")
    asset(shell, "--store ../st2")
    (project.root / "sub").mkdir()
    monkeypatch.chdir(project.root / "sub")  # what %cd does
    asset(shell, f"--cache-dir {tmp_path / 'c2'}")  # a new setting rebuilds the session
    assert asset(shell, "other/ini:0.0").read_bytes() == (project.root / "pytest.ini").read_bytes()
    assert f"{other}" in text_of(shell, asset(shell, ""))


def test_a_spec_resolved_through_assets_lock_says_so(
    shell: InteractiveShell, project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Assets.from_config(project.root).update_lock(["demo/vocab:0"])  # pins 0.1
    (tmp_path / "vocab.txt").write_bytes(b"newer\n")
    Assets(store=str(project.store), cache_dir=tmp_path / "c").push(
        tmp_path / "vocab.txt", "demo/vocab"
    )  # 0.2, behind the lock's back
    capsys.readouterr()
    assert asset(shell, "demo/vocab:0").read_bytes() == VOCAB_1
    assert capsys.readouterr().err.startswith("demo/vocab:0 -> 0.1 (assets.lock)\n")


def test_the_configuration_shows_the_endpoint_in_use_and_where_it_came_from(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9023")
    asset(shell, "--store gs://bucket/prefix")
    shown = text_of(shell, asset(shell, ""))
    assert re.search(
        r"endpoint\s+http://127\.0\.0\.1:9023\s+environment STORAGE_EMULATOR_HOST", shown
    )


def test_offline_and_online_together_is_a_usage_error(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="not both"):
        asset(shell, "--offline --online")


def test_unknown_option_is_a_usage_error(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError):
        asset(shell, "--bogus")


# -- versions and info ----------------------------------------------------------------------


def test_versions_lists_newest_first_with_push_dates(shell: InteractiveShell) -> None:
    shown = text_of(shell, asset(shell, "--versions demo/vocab"))
    rows = re.findall(r"^\s+(\d+\.\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d UTC)", shown, re.MULTILINE)
    assert [version for version, _ in rows] == ["0.1", "0.0"]


def test_versions_renders_as_an_html_table(shell: InteractiveShell) -> None:
    shown = html_of(shell, asset(shell, "--versions demo/vocab"))
    assert shown.index("<td style='text-align:left'>0.1<") < shown.index(">0.0<")


def test_info_as_text_shows_files_sizes_and_hashes(shell: InteractiveShell) -> None:
    shown = text_of(shell, asset(shell, "--info demo/tiny-model:0"))
    assert "demo/tiny-model:0.0 (directory)" in shown
    assert re.search(r"pushed by\s+\S+@\S+", shown)
    for rel, data in (("config.json", CONFIG), ("labels/labels.txt", LABELS)):
        digest = hashlib.sha256(data).hexdigest()
        assert re.search(rf"{re.escape(rel)}\s+{len(data)} B\s+{digest}", shown)


def test_info_renders_as_an_html_table_in_jupyter(shell: InteractiveShell) -> None:
    shown = html_of(shell, asset(shell, "--info demo/vocab:0.0"))
    assert "<table>" in shown
    assert f">{hashlib.sha256(VOCAB_0).hexdigest()}<" in shown


def test_info_keeps_the_metadata_for_code(shell: InteractiveShell) -> None:
    info = asset(shell, "--info demo/vocab:0.0")
    assert info.data["sha256"] == hashlib.sha256(VOCAB_0).hexdigest()


def _two_tiny_models(shell: InteractiveShell, project: Project, tmp_path: Path) -> None:
    """demo/tiny-model 0.0 and 0.1 (config changed, labels shared), both fetched."""
    source = tmp_path / "tiny-model-1"
    (source / "labels").mkdir(parents=True)
    (source / "config.json").write_bytes(CONFIG.replace(b"labels", b"LABELS"))
    (source / "labels" / "labels.txt").write_bytes(LABELS)
    Assets(store=str(project.store), cache_dir=tmp_path / "pusher-cache").push(
        source, "demo/tiny-model"
    )
    asset(shell, "demo/tiny-model:0.0")
    asset(shell, "demo/tiny-model:0.1")


def test_cache_view_shows_shared_and_real_sizes(
    shell: InteractiveShell, project: Project, tmp_path: Path
) -> None:
    _two_tiny_models(shell, project, tmp_path)
    shown = text_of(shell, asset(shell, "--cache"))
    total = 2 * len(CONFIG) + 2 * len(LABELS)
    assert shown.splitlines()[0] == (
        f"2 versions, {total} B ({total - len(LABELS)} B on disk: files shared between "
        "versions are kept once):"
    )
    for version in ("0.0", "0.1"):
        assert re.search(
            rf"demo/tiny-model:{version}\s+{len(CONFIG) + len(LABELS)} B\s+{len(LABELS)} B\s", shown
        )


def test_cache_view_renders_as_an_html_table(
    shell: InteractiveShell, project: Project, tmp_path: Path
) -> None:
    _two_tiny_models(shell, project, tmp_path)
    shown = html_of(shell, asset(shell, "--cache"))
    assert "<th style='text-align:left'>shared</th>" in shown
    assert ">demo/tiny-model:0.1<" in shown


# -- errors: the cell stops, one line, no traceback --------------------------------------------


def test_bad_spec_prints_one_line(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "'..'" in asset_error(shell, "demo/../vocab", capsys)


def test_missing_asset_prints_one_line(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "demo/nope does not exist" in asset_error(shell, "demo/nope:1", capsys)


def test_missing_version_prints_one_line_with_the_versions_there(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "0.1, 0.0" in asset_error(shell, "demo/vocab:7", capsys)


def test_unreachable_store_prints_one_line(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/store"
    asset(shell, f"--store {url}")
    line = asset_error(shell, "demo/vocab:0", capsys)
    assert url in line and "offline" in line


def test_no_store_configured_prints_one_line(
    shell: InteractiveShell, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    (project.root / "pytest.ini").write_text("[pytest]\n")
    assert "no asset store is configured" in asset_error(shell, "demo/vocab", capsys)


def test_an_asset_error_stops_the_cell_with_one_line_and_no_traceback(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = shell.run_cell("never_set = %asset demo/nope\nnor_this = 1")
    assert isinstance(result.error_in_exec, AssetNotFoundError)
    assert "never_set" not in shell.user_ns and "nor_this" not in shell.user_ns  # Run all stops
    shown = capsys.readouterr()
    assert "Traceback" not in shown.out + shown.err
    assert shown.out.strip().startswith("asset: asset demo/nope does not exist")


# -- completion -----------------------------------------------------------------------------


def complete(shell: InteractiveShell, line: str) -> list[str]:
    """What IPython offers for the whole line, as the text each completion would insert."""
    with provisionalcompleter():
        found = shell.Completer.completions(line, len(line))
        return [line[: c.start] + c.text for c in found]


def test_completes_asset_names(shell: InteractiveShell) -> None:
    assert complete(shell, "%asset demo/") == ["%asset demo/tiny-model", "%asset demo/vocab"]


def test_completes_names_after_an_assignment(shell: InteractiveShell) -> None:
    assert complete(shell, "path = %asset demo/v") == ["path = %asset demo/vocab"]


def test_completes_versions_after_name_and_colon(shell: InteractiveShell) -> None:
    assert complete(shell, "%asset demo/vocab:") == [
        "%asset demo/vocab:0.1",
        "%asset demo/vocab:0.0",
    ]


def test_completes_versions_from_a_partial_version(shell: InteractiveShell) -> None:
    assert complete(shell, "%asset --info demo/vocab:0.0") == ["%asset --info demo/vocab:0.0"]


def test_completes_option_names(shell: InteractiveShell) -> None:
    assert complete(shell, "%asset --ver") == ["%asset --versions"]


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_legacy_complete_api_gives_the_same_names(shell: InteractiveShell) -> None:
    line = "%asset demo/t"
    assert shell.complete("", line, len(line)) == ("demo/t", ["demo/tiny-model"])


def test_store_is_listed_once_per_session(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_names = Assets.names

    def counting(self: Assets, prefix: str = "") -> list[str]:
        calls.append(prefix)
        return real_names(self, prefix)

    monkeypatch.setattr(Assets, "names", counting)
    complete(shell, "%asset d")
    complete(shell, "%asset demo/v")
    assert len(calls) == 1


def test_completion_sees_a_new_store_after_store_option(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    complete(shell, "%asset d")
    other = tmp_path / "other-store"
    other.mkdir()
    Assets(store=str(other), cache_dir=tmp_path / "c").push(Path("pytest.ini"), "other/ini")
    asset(shell, f"--store {other}")
    assert complete(shell, "%asset o") == ["%asset other/ini"]


def test_completion_offers_no_asset_when_the_store_is_unreachable(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    asset(shell, f"--store http://127.0.0.1:{free_port()}/store")
    capsys.readouterr()
    offered = complete(shell, "%asset demo/")
    assert "%asset demo/vocab" not in offered
    assert capsys.readouterr().err == ""  # IPython prints a matcher's exceptions there


def test_other_lines_are_left_to_ipython(shell: InteractiveShell) -> None:
    shell.user_ns["demo_value"] = 1
    assert "demo_value" in complete(shell, "demo_v")
