"""``%asset --push`` and ``%asset --diff`` on a real IPython shell: the command line's push and
diff, the diff summary as output (a table in Jupyter), and ``.meta`` naming the notebook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from test_magic import Project, asset, html_of, project, shell, text_of

from pytest_assets import Assets

__all__ = ["project", "shell"]  # fixtures


def folder(project: Project) -> Path:
    root = project.root / "model"
    (root / "sub").mkdir(parents=True, exist_ok=True)
    (root / "weights.bin").write_bytes(b"w" * 1000)
    (root / "sub" / "config.json").write_bytes(b'{"lr": 1}')
    return root


def test_push_from_the_magic_pushes_the_next_version_and_shows_the_summary(
    shell: InteractiveShell, project: Project
) -> None:
    source = folder(project)
    asset(shell, f"--push {source} demo/model")
    (source / "sub" / "config.json").write_bytes(b'{"lr": 2}')
    view = asset(shell, "--push model demo/model")
    assert str(view.spec) == "demo/model:0.1"
    text = text_of(shell, view)
    assert text.splitlines()[:2] == [
        "pushed demo/model:0.1 to .store",
        "against demo/model:0.0: 1 changed, 1 unchanged (copied in the store)",
    ]
    assert "<td style='text-align:left'>sub/config.json</td>" in html_of(shell, view)
    fetched = Assets(store=str(project.store), cache_dir=project.root / "r").fetch("demo/model")
    assert (fetched / "sub" / "config.json").read_bytes() == b'{"lr": 2}'


def test_push_from_the_magic_records_the_notebook_in_meta(
    shell: InteractiveShell, project: Project
) -> None:
    shell.user_ns["__vsc_ipynb_file__"] = "/work/analysis.ipynb"
    try:
        asset(shell, f"--push {folder(project)} demo/model")
    finally:
        del shell.user_ns["__vsc_ipynb_file__"]
    meta = json.loads((project.store / "demo" / "model" / "0.0.meta").read_text())
    assert meta["pushed_from"] == "notebook /work/analysis.ipynb"


def test_push_dry_run_from_the_magic_writes_nothing(
    shell: InteractiveShell, project: Project
) -> None:
    source = folder(project)
    asset(shell, f"--push {source} demo/model")
    (source / "new.txt").write_text("new")
    before = sorted(p.relative_to(project.store) for p in project.store.rglob("*"))
    view = asset(shell, "--push model demo/model --dry-run")
    assert text_of(shell, view).splitlines()[1] == (
        "against demo/model:0.0: 2 unchanged (copied in the store), 1 added"
    )
    assert sorted(p.relative_to(project.store) for p in project.store.rglob("*")) == before


def test_bump_major_from_the_magic_starts_the_next_major(
    shell: InteractiveShell, project: Project
) -> None:
    view = asset(shell, f"--push {project.root / 'pytest.ini'} demo/vocab --bump-major")
    assert str(view.spec) == "demo/vocab:1.0"


def test_diff_from_the_magic_shows_the_changed_file(shell: InteractiveShell) -> None:
    view = asset(shell, "--diff demo/vocab:0.0 demo/vocab:0.1")
    assert text_of(shell, view).splitlines()[0] == "demo/vocab:0.0 -> demo/vocab:0.1: 1 changed"
    assert "<td style='text-align:left'>demo/vocab</td>" in html_of(shell, view)


@pytest.mark.parametrize(
    "line", ["--push model", "--push model a b", "--dry-run demo/vocab", "--diff a b c"]
)
def test_push_and_diff_usage_errors_say_how(shell: InteractiveShell, line: str) -> None:
    with pytest.raises(UsageError):
        asset(shell, line)
