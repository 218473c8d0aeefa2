"""The main job: push example assets into a local directory store, then resolve and use them
from the command line, from pytest and from a notebook, exactly as a user would.

The demo store is ``examples/.store`` and its cache ``examples/.cache``, both rebuilt each run so
the versions it prints are the same every time. ``examples/pytest.ini`` names the same store, so
the example tests and the notebook see what this script pushed. ``examples/assets.lock`` (next
to pytest.ini) pins what their partial specs mean; the store is rebuilt from the same files, so
the lock's content hashes still match and the committed lock stays as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent
STORE = EXAMPLES / ".store"
CACHE = EXAMPLES / ".cache"
DATA = EXAMPLES / "data"
LOCK = EXAMPLES / "assets.lock"


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(*args: str, cwd: Path = EXAMPLES) -> str:
    """Run a command as a user would type it, echo it and its output, stop on failure."""
    print(f"$ {' '.join(args)}", flush=True)
    env = dict(os.environ, ASSETS_STORE=str(STORE), ASSETS_DIR=str(CACHE))
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    sys.stdout.write(result.stderr)
    if result.returncode != 0:
        sys.exit(f"demo failed: {' '.join(args)} exited {result.returncode}")
    return result.stdout


def cli(*args: str) -> str:
    return run(sys.executable, "-m", "pytest_assets", *args)


def run_notebook(notebook: Path = EXAMPLES / "quickstart.ipynb") -> Any:
    """Execute the notebook on a real kernel in examples/, as Jupyter would: it reads
    examples/pytest.ini (the same store and cache), not this script's ASSETS_* variables."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    own = ("ASSETS_", "MODELKIT_STORAGE_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(own)}
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        coalesce_streams=True,
        resources={"metadata": {"path": str(EXAMPLES)}},
        # The kernel listens on loopback for these few seconds; skip its plain-TCP warning.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    return client.execute(env=env)


def print_notebook(nb: Any) -> None:
    """Each code cell and what it printed or displayed, as text (a cleared bar leaves none)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        print(f"In [{cell.execution_count}]: " + cell.source.replace("\n", "\n   ...: "))
        for output in cell.outputs:
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            if output.output_type == "error":
                text = f"{output.ename}: {output.evalue}"
            for line in text.splitlines():
                shown = line.rsplit("\r", 1)[-1]  # what a terminal leaves after a redrawn bar
                if shown.strip():
                    print(f"  {shown}")


def remove(path: Path) -> None:
    """``rm -rf``, also of the cache, whose folders are read-only on purpose."""
    for item in path.rglob("*") if path.is_dir() else []:
        if item.is_dir() and not item.is_symlink():
            item.chmod(0o700)
    shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    remove(STORE)
    remove(CACHE)
    STORE.mkdir()

    step("push: a file asset twice (0.0 then 0.1) and a directory asset")
    cli("push", str(DATA / "vocab.txt"), "demo/vocab")
    extended = CACHE.parent / ".vocab-extended.txt"
    extended.write_text((DATA / "vocab.txt").read_text() + "jumps\n")
    cli("push", str(extended), "demo/vocab")
    extended.unlink()
    cli("push", str(DATA / "tiny-model"), "demo/tiny-model")

    step("lock: examples/assets.lock pins what demo/vocab:0 and demo/tiny-model:0 mean")
    print("# The lock ships with the examples. The store was rebuilt from the same files, so the")
    print("# versions and their content hashes match it: the check passes.")
    print(LOCK.read_text(), end="")
    run(sys.executable, "-m", "pytest", "-q", "--assets-lock-check")
    print("# What production's modelkit needs to load the same versions (docker --env-file, ...):")
    cli("lock", "--export", "modelkit-env")

    step("inspect: names, versions, metadata")
    cli("ls")
    cli("versions", "demo/vocab")
    cli("info", "demo/tiny-model:0")

    step("resolve and use: demo/vocab:0 means the newest 0.x")
    path = Path(cli("fetch", "demo/vocab:0").strip())
    print(f"words in {path}: {path.read_text().split()}")
    labels = Path(cli("fetch", "demo/tiny-model:0.0[labels/labels.txt]").strip())
    print(f"labels: {labels.read_text().split()}")

    step("notebook: examples/quickstart.ipynb headless on a real kernel (nbclient + ipykernel)")
    print_notebook(run_notebook())

    step("verify the cache")
    cli("verify")
    cli("cache", "ls")

    step("pytest: the example tests (examples/tests) on the same store, then quiet on 2 workers")
    run(sys.executable, "-m", "pytest")
    run(sys.executable, "-m", "pytest", "-q", "-n", "2")

    step("lock: a push does not move a locked spec, CI checks the lock, --upgrade moves it")
    newer = CACHE.parent / ".vocab-newer.txt"
    newer.write_text((DATA / "vocab.txt").read_text() + "jumps\nover\n")
    cli("push", str(newer), "demo/vocab")
    newer.unlink()
    cli("fetch", "demo/vocab:0")
    run(sys.executable, "-m", "pytest", "-q", "-n", "2", "--assets-lock-check")
    committed = LOCK.read_text()
    cli("lock", "--upgrade", "demo/vocab")
    print("# A project reviews this diff and commits it; the demo puts its lock back (0.1).")
    LOCK.write_text(committed)

    print("\ndemo finished: every step above ran against", STORE)


if __name__ == "__main__":
    main()
