"""Production compatibility: a store written by modelkit 0.1.3 reads byte-identically through
us, and a store we write is fetched by modelkit's own ``AssetsManager``; on a directory and, with
modelkit's Azure provider, on Azurite.

``tests/data/modelkit_store`` was written by modelkit itself (see make_modelkit_store.py, which
also writes to Azure); the reverse direction runs modelkit's reader
(``tests/data/modelkit_fetch.py``) in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from servers import Server, StoreUnderTest

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


def _push_for_modelkit(ours: Assets, tmp_path: Path) -> list[str]:
    """Two versions of a file asset and a directory asset, pushed by us; the specs to fetch."""
    (tmp_path / "vocab.txt").write_text("alpha\nbeta\n")
    ours.push(tmp_path / "vocab.txt", "category/vocab")
    (tmp_path / "vocab.txt").write_text("alpha\nbeta\ngamma\n")
    ours.push(tmp_path / "vocab.txt", "category/vocab")
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "weights.bin").write_bytes(bytes(range(256)) * 16)
    (model / "sub" / "labels.txt").write_text("cat\n")
    ours.push(model, "models/tiny")
    return [
        "category/vocab",
        "category/vocab:0.0",
        "models/tiny:0.0",
        "models/tiny:0.0[sub/labels.txt]",
    ]


def _fetched_by_modelkit(
    tmp_path: Path, where: list[str], specs: list[str], env: dict[str, str] | None = None
) -> dict[str, dict[str, object]]:
    modelkit_dir = tmp_path / "modelkit-cache"
    modelkit_dir.mkdir()
    result = subprocess.run(
        [sys.executable, str(DATA / "modelkit_fetch.py"), *where, str(modelkit_dir), *specs],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    got: dict[str, dict[str, object]] = json.loads(result.stdout)
    return got


def _assert_modelkit_got_what_we_pushed(got: dict[str, dict[str, object]]) -> None:
    sha = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    assert got["category/vocab"]["version"] == "0.1"
    assert got["category/vocab"]["sha256"] == sha(b"alpha\nbeta\ngamma\n")
    assert got["category/vocab:0.0"]["sha256"] == sha(b"alpha\nbeta\n")
    assert got["models/tiny:0.0"]["sha256"] == {
        "sub/labels.txt": sha(b"cat\n"),
        "weights.bin": sha(bytes(range(256)) * 16),
    }
    assert got["models/tiny:0.0[sub/labels.txt]"]["sha256"] == sha(b"cat\n")


def test_store_we_write_is_fetched_by_modelkit(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    bucket.mkdir()  # modelkit's local "bucket"; a push creates only the store's own folder
    ours = Assets(store=str(bucket / "modelkit-assets"), cache_dir=tmp_path / "cache")
    specs = _push_for_modelkit(ours, tmp_path)
    got = _fetched_by_modelkit(tmp_path, [str(bucket), "modelkit-assets"], specs)
    _assert_modelkit_got_what_we_pushed(got)


def _container(store: StoreUnderTest) -> str:
    return store.url.removeprefix("az://").split("/", 1)[0]


@pytest.mark.servers
def test_an_azure_store_written_by_modelkit_fetches_byte_identically(
    az_server: Server, az_store: StoreUnderTest, tmp_path: Path
) -> None:
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=az_server.connection_string)
    script = [sys.executable, str(DATA / "make_modelkit_store.py"), _container(az_store), "--az"]
    made = subprocess.run(script, capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    ours = Assets(
        store=f"az://{_container(az_store)}/modelkit-assets",
        cache_dir=tmp_path / "cache",
        storage_options=az_store.storage_options,
    )
    assert ours.versions("category/vocab") == ["1.0", "0.1", "0.0"]
    got = {spec: hashlib.sha256(ours.fetch(spec).read_bytes()).hexdigest() for spec in EXPECTED}
    assert got == EXPECTED
    assert ours.verify() == []


@pytest.mark.servers
def test_an_azure_store_we_write_is_fetched_by_modelkits_azure_provider(
    az_server: Server, az_store: StoreUnderTest, tmp_path: Path
) -> None:
    ours = Assets(
        store=f"az://{_container(az_store)}/modelkit-assets",
        cache_dir=tmp_path / "cache",
        storage_options=az_store.storage_options,
    )
    specs = _push_for_modelkit(ours, tmp_path)
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=az_server.connection_string)
    where = ["--az", _container(az_store), "modelkit-assets"]
    _assert_modelkit_got_what_we_pushed(_fetched_by_modelkit(tmp_path, where, specs, env))
