"""``examples/quickstart.ipynb`` run headless on a real kernel (nbclient + ipykernel).

The notebook's inputs run in a temporary copy of the examples folder (its ``pytest.ini`` names
``.store`` and ``.cache``), against a store this module pushes the demo assets into, exactly as
a user would run it next to the example tests. The kernel starts once for the module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from pytest_assets import Assets

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOK = EXAMPLES / "quickstart.ipynb"
VOCAB = (EXAMPLES / "data" / "vocab.txt").read_bytes()
VOCAB_EXTENDED = VOCAB + b"jumps\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/pytest.ini beside a store holding the demo assets."""
    root = tmp_path_factory.mktemp("examples")
    shutil.copy(EXAMPLES / "pytest.ini", root / "pytest.ini")
    (root / ".store").mkdir()
    pusher = Assets(store=str(root / ".store"), cache_dir=root / ".pusher-cache")
    source = root / ".source"
    source.mkdir()
    for data in (VOCAB, VOCAB_EXTENDED):
        (source / "vocab.txt").write_bytes(data)
        pusher.push(source / "vocab.txt", "demo/vocab")
    pusher.push(EXAMPLES / "data" / "tiny-model", "demo/tiny-model")
    return root


@pytest.fixture(scope="module")
def executed(workdir: Path) -> Any:
    """The notebook's inputs, outputs cleared, executed in ``workdir`` on a fresh kernel."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    own = ("ASSETS_", "MODELKIT_STORAGE_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(own)}
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    return client.execute(env=env)


def cell_with(nb: Any, source: str) -> Any:
    found = [c for c in nb.cells if c.cell_type == "code" and source in c.source]
    assert len(found) == 1, f"one code cell should hold {source!r}"
    return found[0]


def stream(cell: Any, name: str) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == name)


def shown(cell: Any, mime: str) -> str:
    return "".join(o.data.get(mime, "") for o in cell.outputs if "data" in o)


def test_notebook_prints_a_path_holding_the_pushed_bytes(executed: Any, workdir: Path) -> None:
    printed = stream(cell_with(executed, "path = %asset demo/vocab:0"), "stdout").splitlines()[0]
    path = workdir / printed
    assert path.is_file()
    assert path.read_bytes() == VOCAB_EXTENDED


def test_notebook_pinned_version_gets_the_first_push(executed: Any, workdir: Path) -> None:
    printed = stream(cell_with(executed, "= %asset demo/vocab:0.0"), "stdout").splitlines()[0]
    assert (workdir / printed).read_bytes() == VOCAB


def test_notebook_reads_the_pytest_ini_of_its_folder(executed: Any) -> None:
    config = next(c for c in executed.cells if c.cell_type == "code" and c.source == "%asset")
    assert "assets_store in pytest.ini" in shown(config, "text/plain")


def test_notebook_lists_versions_newest_first(executed: Any) -> None:
    text = shown(cell_with(executed, "%asset --versions demo/vocab"), "text/plain")
    assert text.index("0.1") < text.index("0.0")


def test_notebook_shows_info_as_an_html_table(executed: Any) -> None:
    html = shown(cell_with(executed, "%asset --info demo/tiny-model"), "text/html")
    labels = (EXAMPLES / "data" / "tiny-model" / "labels" / "labels.txt").read_bytes()
    assert "<table>" in html and hashlib.sha256(labels).hexdigest() in html


def test_notebook_error_stops_its_cell_with_one_line_without_traceback(executed: Any) -> None:
    cell = cell_with(executed, "%asset demo/no-such-asset")
    (error,) = cell.outputs
    assert (error.output_type, error.ename) == ("error", "AssetNotFoundError")
    (line,) = error.traceback
    assert line.startswith("asset: asset demo/no-such-asset does not exist")


def test_notebook_runs_every_cell_with_an_error_only_where_tagged(executed: Any) -> None:
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    failing = [c for c in code if any(o.output_type == "error" for o in c.outputs)]
    assert [c.metadata.get("tags") for c in failing] == [["raises-exception"]]


def test_notebook_outputs_hold_no_absolute_paths(executed: Any, workdir: Path) -> None:
    outputs = str([c.outputs for c in executed.cells if c.cell_type == "code"])
    assert str(workdir) not in outputs


def test_saved_notebook_holds_its_outputs() -> None:
    saved = nbformat.read(NOTEBOOK, as_version=4)
    cell = cell_with(saved, "path = %asset demo/vocab:0")
    assert stream(cell, "stdout").startswith(".cache/demo/vocab/0.1\n")


# -- push from a notebook: a small notebook of its own, on its own kernel ------------------------

PUSH_CELLS = [
    "%load_ext ipython_ext",
    "%asset --push model demo/model --dry-run",
    "%asset --push model demo/model",
    "open('model/new.txt', 'w').write('new')\n%asset --push model demo/model",
    "%asset --diff demo/model:0.0 demo/model:0.1",
]


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The cells above run in a folder whose pytest.ini names a store, the kernel told its
    notebook's name by JPY_SESSION_NAME (as Jupyter Server does)."""
    root = tmp_path_factory.mktemp("pushing")
    shutil.copy(EXAMPLES / "pytest.ini", root / "pytest.ini")
    shutil.copytree(EXAMPLES / "data" / "tiny-model", root / "model")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in PUSH_CELLS])
    own = ("ASSETS_", "MODELKIT_STORAGE_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(own)}
    env["JPY_SESSION_NAME"] = str(root / "train.ipynb")
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(root)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    return client.execute(env=env), root


def test_notebook_push_shows_the_diff_summary_and_records_the_notebook(
    pushed: tuple[Any, Path],
) -> None:
    nb, root = pushed
    assert not [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    dry, first, second, diff = nb.cells[1:]
    assert shown(dry, "text/plain").startswith("would push demo/model:0.0 to .store")
    assert "pushed demo/model:0.0" in shown(first, "text/html")
    assert "1 added" in shown(second, "text/html")
    assert "copied in the store" in shown(second, "text/html")
    assert "<table>" in shown(diff, "text/html") and "new.txt" in shown(diff, "text/html")
    meta = json.loads((root / ".store" / "demo" / "model" / "0.1.meta").read_text())
    assert meta["pushed_from"] == f"notebook {root / 'train.ipynb'}"


def test_a_headless_run_saves_no_half_drawn_progress_bar(workdir: Path, tmp_path: Path) -> None:
    """With ipywidgets installed tqdm draws a widget, whose text form ("0%| 0/2") is what a
    run without a browser saves; the bar's output is emptied when it closes."""
    pytest.importorskip("ipywidgets")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext ipython_ext"),
        nbformat.v4.new_code_cell(f"%asset --cache-dir {tmp_path / 'fresh'}"),
        nbformat.v4.new_code_cell("model = %asset demo/tiny-model:0.0"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSETS_", "MODELKIT_"))}
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    fetched = client.execute(env=env).cells[2]
    assert (tmp_path / "fresh").is_dir()  # it did download, so a bar was drawn
    texts = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in fetched.outputs]
    assert not [text for text in texts if "0/2" in text or "%|" in text], fetched.outputs
