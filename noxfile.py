"""Supported versions, tested: the suite on each Python, the lowest dependencies, the wheel.

``nox`` runs every session on the whole suite; ``nox -s lowest -- smoke`` runs one session on
the smoke set (``tests/versions.sh``, run by ``.ci/run`` after the whole suite, names the
sessions CI runs so). Other arguments after ``--`` go to pytest.

| session | what it proves |
| --- | --- |
| ``tests-3.11``, ``tests-3.12``, ``tests-3.13`` | each Python with the newest dependencies |
| ``majors`` | the previous majors, pytest 8.x and IPython 8.x, newest of each |
| ``lowest`` | every runtime dependency and pytest-xdist at the lowest version pyproject admits |
| ``wheel`` | sdist and wheel build and pass ``twine check``; the wheel alone runs the examples |

Venvs are made by uv (quick, from its cache). An interpreter that is not installed skips its
session, also under ``CI=true`` (where nox would otherwise fail it).
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.11", "3.12", "3.13"]
LOWEST_PYTHON = PYTHONS[0]
# Plugin, magic, and the core on a directory store and on the moto S3 server (any_store).
SMOKE = ["tests/test_plugin.py", "tests/test_magic.py", "tests/test_cache_per_store.py"]
PYTEST = ["-p", "no:randomly", "-n", "2"]

nox.options.error_on_missing_interpreters = False
nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests", "majors", "lowest", "wheel"]
# uv must not download a Python of its own (no network here but package registries).
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
# Compiled at install, as pip does: moto's server imports hundreds of modules on its first
# request, and compiling them then outlasts the test servers' start-up limit on a busy machine.
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")


def _put_pyenv_pythons_on_path() -> None:
    """pyenv's ``python3.12`` shim fails unless 3.12 is selected; its real binary always works."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [sorted(versions.glob(f"{v}.*"))[-1:] for v in PYTHONS]
    dirs = [str(d[0] / "bin") for d in found if d]
    os.environ["PATH"] = os.pathsep.join([*dirs, os.environ.get("PATH", "")])


_put_pyenv_pythons_on_path()


def _pytest_args(session: nox.Session) -> list[str]:
    args = session.posargs or ["tests"]
    return [*PYTEST, *(SMOKE if args == ["smoke"] else args)]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The suite on this Python with the newest dependencies."""
    session.install(".[dev]")
    # The `pytest` script, not `python -m pytest`: the checkout's folder stays off sys.path, so
    # the tests import the installed package.
    session.run("pytest", *_pytest_args(session))


@nox.session(python=PYTHONS[1])
def majors(session: nox.Session) -> None:
    """The majors before the newest: pytest 8.x and IPython 8.x (7.x and 8.0 are `lowest`)."""
    session.install(".[dev]", "pytest>=8,<9", "ipython>=8,<9")
    session.run("pytest", *_pytest_args(session))


def lowest_requirements() -> list[Requirement]:
    """Every runtime dependency (the extras' too) and pytest-xdist, as pyproject bounds them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"], *[r for k, v in extras.items() if k != "dev" for r in v]]
    wanted += [r for r in extras["dev"] if Requirement(r).name == "pytest-xdist"]
    return [Requirement(text) for text in wanted]


@nox.session(python=LOWEST_PYTHON)
def lowest(session: nox.Session) -> None:
    """The lowest versions pyproject admits; the test tools resolve around them."""
    tmp = Path(session.create_tmp())
    wanted = lowest_requirements()
    (tmp / "bounds.txt").write_text("".join(f"{r}\n" for r in wanted))
    # The lowest release that exists of each (pytest-xdist>=3 means 3.0.2: 3.0.0 was never
    # released), pinned exactly: if they cannot install together, the session fails.
    compiled = session.run(
        *("uv", "pip", "compile", "--quiet", "--no-deps", "--resolution", "lowest-direct"),
        *("--python-version", LOWEST_PYTHON, str(tmp / "bounds.txt")),
        silent=True,
    )
    names = {canonicalize_name(r.name) for r in wanted}
    pins = [
        line
        for line in str(compiled).splitlines()
        if "==" in line and canonicalize_name(line.split("==")[0]) in names
    ]
    (tmp / "lowest.txt").write_text("\n".join(pins) + "\n")
    session.log("lowest: " + ", ".join(pins))
    session.install("-c", str(tmp / "lowest.txt"), ".[dev]")
    session.run("pytest", *_pytest_args(session))


@nox.session(python=PYTHONS[-1])
def wheel(session: nox.Session) -> None:
    """Build, check, install the wheel (not the checkout) and run the examples from it."""
    tmp = Path(session.create_tmp())
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.install("build[uv]", "twine")
    session.run(
        "python", "-m", "build", "-q", "--installer", "uv", "--outdir", str(dist), str(ROOT)
    )
    session.run("twine", "check", "--strict", *map(str, sorted(dist.iterdir())))
    (wheel_file,) = dist.glob("*.whl")

    # A copy of examples/ and tests/ beside pyproject's pytest settings, and no source: the
    # only pytest_assets importable is the installed wheel's.
    work = tmp / "work"
    shutil.rmtree(work, ignore_errors=True)
    for folder in ("examples", "tests"):
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns(".*"))
    shutil.copy(ROOT / "pyproject.toml", work)
    session.install(f"{wheel_file}[dev]")
    session.chdir(work)
    session.run("python", "-c", _CHECK_INSTALLED)
    session.run("pytest-assets", "--version")
    session.run("python", "examples/demo.py")
    session.run("pytest", *_pytest_args(session))


_CHECK_INSTALLED = """
import pytest_assets, ipython_ext
from pathlib import Path
for module in (pytest_assets, ipython_ext):
    where = Path(module.__file__).resolve().parent
    assert "site-packages" in where.parts, f"{module.__name__} imported from {where}"
    print(module.__name__, "from", where)
"""
