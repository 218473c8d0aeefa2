"""``pytest-assets lock --export modelkit-env``: production's modelkit loads the versions the
tests ran on, checked with modelkit 0.1.3's own ``ModelLibrary`` and ``AssetsManager``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_assets import Assets
from pytest_assets.cli import main
from pytest_assets.errors import ConfigError
from pytest_assets.modelkit_env import export_lines, variable
from pytest_assets.pinfile import Pin

HASH = "0" * 64

# A production model and a loader run by modelkit alone, configured by its environment.
MODELKIT_LOADS = textwrap.dedent(
    """
    from pathlib import Path
    from modelkit import Model, ModelLibrary

    class Vocab(Model):
        CONFIGURATIONS = {"vocab": {"asset": "demo/vocab:0"}}

        def _load(self):
            self.text = Path(self.asset_path).read_text()

        def _predict(self, item):
            return self.text

    print(ModelLibrary(models=Vocab).get("vocab")(None), end="")
    """
)


def test_the_variable_is_spelled_as_modelkit_spells_it() -> None:
    assert variable("category/my-vocab.v2", "VERSION") == "MODELKIT_CATEGORY_MY_VOCAB_V2_VERSION"


def test_one_variable_per_pinned_name_sorted() -> None:
    pins = {"b/vocab:1": Pin("1.3", HASH), "a/model": Pin("2.0", HASH), "b/vocab": Pin("1.3", HASH)}
    assert export_lines(pins, Path("assets.lock")) == [
        "MODELKIT_A_MODEL_VERSION=2.0",
        "MODELKIT_B_VOCAB_VERSION=1.3",
    ]


def test_two_pins_of_one_name_at_different_versions_are_refused() -> None:
    pins = {"vocab:0": Pin("0.4", HASH), "vocab": Pin("1.0", HASH)}
    with pytest.raises(
        ConfigError, match=r"vocab at more than one version \(vocab -> 1.0, vocab:0"
    ):
        export_lines(pins, Path("assets.lock"))


@pytest.fixture
def modelkit_store(tmp_path: Path) -> Path:
    """modelkit's local bucket; its store, modelkit's default prefix inside, holds demo/vocab."""
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    return bucket


def _cli(tmp_path: Path, store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_assets", "--store", str(store), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSETS_", "MODELKIT_"))}
    env["ASSETS_DIR"] = str(tmp_path / "cache")
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)


def _push(store: Path, tmp_path: Path, text: str) -> None:
    (tmp_path / "vocab.txt").write_text(text)
    Assets(store=str(store), cache_dir=tmp_path / "pusher").push(
        tmp_path / "vocab.txt", "demo/vocab"
    )


def _modelkit_loads(bucket: Path, tmp_path: Path, extra: dict[str, str]) -> str:
    assets_dir = tmp_path / "modelkit-cache"
    assets_dir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSETS_", "MODELKIT_"))}
    env.update(
        MODELKIT_STORAGE_PROVIDER="local",
        MODELKIT_STORAGE_BUCKET=str(bucket),
        MODELKIT_STORAGE_PREFIX="modelkit-assets",
        MODELKIT_ASSETS_DIR=str(assets_dir),
        **extra,
    )
    result = subprocess.run(
        [sys.executable, "-c", MODELKIT_LOADS], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


def test_modelkit_with_the_exported_environment_loads_the_pinned_version(
    modelkit_store: Path, tmp_path: Path
) -> None:
    store = modelkit_store / "modelkit-assets"
    _push(store, tmp_path, "pinned")
    assert _cli(tmp_path, store, "lock", "demo/vocab:0").returncode == 0  # pins 0.0
    _push(store, tmp_path, "newer")  # 0.1: what modelkit's "demo/vocab:0" means unpinned
    exported = _cli(tmp_path, store, "lock", "--export", "modelkit-env")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == "MODELKIT_DEMO_VOCAB_VERSION=0.0\n"
    variables = dict(line.split("=", 1) for line in exported.stdout.splitlines())

    assert _modelkit_loads(modelkit_store, tmp_path, {}) == "newer"
    assert _modelkit_loads(modelkit_store, tmp_path, variables) == "pinned"


def test_the_export_can_be_written_to_a_file(modelkit_store: Path, tmp_path: Path) -> None:
    store = modelkit_store / "modelkit-assets"
    _push(store, tmp_path, "pinned")
    _cli(tmp_path, store, "lock", "demo/vocab:0")
    result = _cli(tmp_path, store, "lock", "--export", "modelkit-env", "-o", "prod.env")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "prod.env").read_text() == "MODELKIT_DEMO_VOCAB_VERSION=0.0\n"
    assert result.stdout == f"wrote prod.env: 1 variable from {tmp_path / 'assets.lock'}\n"


def test_exporting_without_a_lock_says_how_to_write_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("ASSETS_", "MODELKIT_")):
            monkeypatch.delenv(key)
    code = main(["--cache-dir", str(tmp_path / "cache"), "lock", "--export", "modelkit-env"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no assets.lock to export" in err
    assert "pytest --assets-lock" in err
