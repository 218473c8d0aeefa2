"""Production compatibility: a store written by modelkit 0.1.3 reads byte-identically through
us, and a store we write is fetched by modelkit's own ``AssetsManager``.

``tests/data/modelkit_store`` was written by modelkit itself (see make_modelkit_store.py);
the reverse direction runs modelkit's reader (``tests/data/modelkit_fetch.py``) in a subprocess."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_assets import Assets

DATA = Path(__file__).parent / "data"
MODELKIT_STORE = DATA / "modelkit_store"
EXPECTED = json.loads((DATA / "modelkit_store_expected.json").read_text())


@pytest.fixture
def from_modelkit(tmp_path: Path) -> Assets:
    return Assets(store=str(MODELKIT_STORE / "modelkit-assets"), cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("spec", sorted(EXPECTED))
def test_modelkit_store_fetches_byte_identically(from_modelkit: Assets, spec: str) -> None:
    path = from_modelkit.fetch(spec)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXPECTED[spec]


def test_modelkit_store_partial_specs_resolve_like_modelkit(from_modelkit: Assets) -> None:
    assert from_modelkit.resolve("category/vocab").version == "1.0"
    assert from_modelkit.resolve("category/vocab:0").version == "0.1"


def test_modelkit_asset_info_says_sizes_only(from_modelkit: Assets) -> None:
    info = from_modelkit.info("models/tiny:0.0")
    assert info["contents"] == ["config.json", "sub/labels.txt", "weights.bin"]
    assert info["integrity"].startswith("size only")


def test_modelkit_asset_is_verified_after_download(from_modelkit: Assets) -> None:
    from_modelkit.fetch("models/tiny:0.0")
    assert from_modelkit.verify() == []


def test_store_we_write_is_fetched_by_modelkit(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    bucket.mkdir()  # modelkit's local "bucket"; a push creates only the store's own folder
    ours = Assets(store=str(bucket / "modelkit-assets"), cache_dir=tmp_path / "cache")
    (tmp_path / "vocab.txt").write_text("alpha\nbeta\n")
    ours.push(tmp_path / "vocab.txt", "category/vocab")
    (tmp_path / "vocab.txt").write_text("alpha\nbeta\ngamma\n")
    ours.push(tmp_path / "vocab.txt", "category/vocab")
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "weights.bin").write_bytes(bytes(range(256)) * 16)
    (model / "sub" / "labels.txt").write_text("cat\n")
    ours.push(model, "models/tiny")
    modelkit_dir = tmp_path / "modelkit-cache"
    modelkit_dir.mkdir()
    specs = [
        "category/vocab",
        "category/vocab:0.0",
        "models/tiny:0.0",
        "models/tiny:0.0[sub/labels.txt]",
    ]
    result = subprocess.run(
        [
            sys.executable,
            str(DATA / "modelkit_fetch.py"),
            str(bucket),
            "modelkit-assets",
            str(modelkit_dir),
            *specs,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    got = json.loads(result.stdout)
    sha = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    assert got["category/vocab"]["version"] == "0.1"
    assert got["category/vocab"]["sha256"] == sha(b"alpha\nbeta\ngamma\n")
    assert got["category/vocab:0.0"]["sha256"] == sha(b"alpha\nbeta\n")
    assert got["models/tiny:0.0"]["sha256"] == {
        "sub/labels.txt": sha(b"cat\n"),
        "weights.bin": sha(bytes(range(256)) * 16),
    }
    assert got["models/tiny:0.0[sub/labels.txt]"]["sha256"] == sha(b"cat\n")
