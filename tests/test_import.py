"""``import pytest_assets`` stays cheap: no cloud backend, no fsspec, no IPython, no modelkit
until used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("gcsfs", "s3fs", "fsspec", "IPython", "modelkit")


def _modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_import_pytest_assets_does_not_import_gcsfs_s3fs_fsspec_or_ipython() -> None:
    assert _heavy(_modules_after("import pytest_assets")) == []


def test_building_assets_and_parsing_a_spec_imports_no_backend() -> None:
    code = (
        "import pytest_assets, tempfile\n"
        "pytest_assets.AssetSpec.parse('a/b:1[c]')\n"
        "pytest_assets.Assets(store='gs://bucket/x', cache_dir=tempfile.mkdtemp())"
    )
    assert _heavy(_modules_after(code)) == []


def test_the_command_line_module_imports_no_backend() -> None:
    assert _heavy(_modules_after("import pytest_assets.cli")) == []


def test_the_plugin_and_the_modelkit_face_import_no_modelkit_until_a_library_is_built() -> None:
    modules = _modules_after("import pytest_assets.plugin, pytest_assets.modelkit")
    assert _heavy(modules) == []
