"""What a failing store is said to be: only a store that does not answer "could not be
reached"; a missing credential, a file in the way and a missing backend say what they are, and
each face names its own spelling of offline mode."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from fsspec.registry import _registry as fsspec_classes

from pytest_assets import AssetNotFoundError, Assets
from pytest_assets.cli import main
from pytest_assets.errors import StoreError
from pytest_assets.faces import CLI, MAGIC, PYTEST

pytest_plugins = ["pytester"]


def closed_port_url() -> str:
    """An HTTP store on a loopback port nobody listens on: refused at once, no internet."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/store"


@pytest.fixture
def no_aws_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookup


@pytest.mark.servers
@pytest.mark.usefixtures("no_aws_credentials")
def test_an_s3_store_without_credentials_says_it_found_none(s3_store: Any, tmp_path: Path) -> None:
    options = {"client_kwargs": s3_store.storage_options["client_kwargs"]}  # no key, no secret
    assets = Assets(store=s3_store.url, cache_dir=tmp_path / "cache", storage_options=options)
    with pytest.raises(StoreError) as caught:
        assets.fetch("demo/vocab")
    message = str(caught.value)
    assert "found no credentials" in message and "AWS_ACCESS_KEY_ID" in message
    assert "could not reach" not in message


def test_a_directory_store_below_a_file_is_a_missing_store(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    assets = Assets(store=str(tmp_path / "afile" / "store"), cache_dir=tmp_path / "cache")
    with pytest.raises(AssetNotFoundError, match="there is no directory") as caught:
        assets.fetch("x:0.0")
    assert "could not reach" not in str(caught.value)


def test_a_name_below_a_file_asset_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "f.txt").write_text("file asset")
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "cache")
    assets.push(tmp_path / "f.txt", "f")
    with pytest.raises(AssetNotFoundError, match=r"f/0\.0/x does not exist"):
        assets.fetch("f/0.0/x")


def test_a_name_too_long_for_the_store_says_so(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "cache")
    with pytest.raises(StoreError, match="as too long") as caught:
        assets.fetch("a" * 300)
    assert "could not reach" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "package"),
    [("az://container/store", "pip install 'pytest-assets[az]' (adlfs)"),
     ("abfs://container/store", "pip install 'pytest-assets[az]' (adlfs)"),
     ("sftp://host/store", "pip install paramiko")],
    ids=["az", "abfs", "sftp"],
)  # fmt: skip
def test_a_missing_backend_names_the_package_to_install(
    tmp_path: Path, url: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for backend in ("adlfs", "paramiko", "sshfs"):  # not installed, as for a new user
        monkeypatch.setitem(sys.modules, backend, None)
    for protocol in ("az", "abfs", "sftp"):  # nor loaded by an earlier test in this process
        monkeypatch.delitem(fsspec_classes, protocol, raising=False)
    with pytest.raises(StoreError, match="needs a backend that is not installed") as caught:
        Assets(store=url, cache_dir=tmp_path / "cache").fetch("x:0.0")
    assert package in str(caught.value)
    assert "pytest-assets[s3]" not in str(caught.value)


@pytest.mark.parametrize(
    ("face", "spelling"),
    [(CLI, "(--offline, "), (PYTEST, "(--assets-offline, "), (MAGIC, "(%asset --offline, ")],
    ids=["cli", "pytest", "magic"],
)
def test_the_unreachable_hint_names_the_faces_own_offline_option(
    tmp_path: Path, face: Any, spelling: str
) -> None:
    assets = Assets(store=closed_port_url(), cache_dir=tmp_path / "cache", face=face)
    with pytest.raises(StoreError, match="could not reach") as caught:
        assets.fetch("x:0.0")
    assert spelling in str(caught.value)


def test_the_command_line_names_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = closed_port_url()
    assert main(["--store", url, "--cache-dir", str(tmp_path / "c"), "fetch", "x:0.0"]) == 1
    assert "(--offline, ASSETS_OFFLINE=1)" in capsys.readouterr().err


def test_a_pytest_run_names_assets_offline(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\nassets_store = {closed_port_url()}\nassets_dir = cache\n")
    pytester.makepyfile("def test_it(asset):\n    asset('demo/vocab:0.0')\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "(--assets-offline, ASSETS_OFFLINE=1)" in output
    assert "(--offline," not in output


def _library_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.name.startswith(("gcsfs", "google", "aiohttp"))
    ]


def test_a_gcs_store_that_does_not_answer_fails_before_gcsfs_retries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # gcsfs logs each retry at DEBUG: there must be none
    endpoint = closed_port_url().removesuffix("/store")
    options = {"endpoint_url": endpoint, "token": "anon"}
    assets = Assets(store="gs://bucket/store", cache_dir=tmp_path / "c", storage_options=options)
    with pytest.raises(
        StoreError, match="could not reach store gs://bucket/store while connecting"
    ):
        assets.fetch("demo/vocab")
    assert _library_records(caplog) == []


def test_a_gcs_store_without_credentials_or_network_fails_before_looking_for_credentials(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", closed_port_url().removesuffix("/store"))
    caplog.set_level(logging.DEBUG)
    assets = Assets(store="gs://bucket/store", cache_dir=tmp_path / "c")
    with pytest.raises(StoreError, match="could not reach") as caught:
        assets.names()
    assert "offline mode" in str(caught.value)
    assert _library_records(caplog) == []


def test_the_pytest_header_names_the_endpoint_an_s3_store_talks_to(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    pytester.makeini("[pytest]\nassets_store = s3://bucket/prefix\nassets_dir = cache\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    header = pytester.runpytest("-p", "no:randomly").stdout.str()
    assert "store s3://bucket/prefix via http://127.0.0.1:9000 (environment AWS_ENDPOINT_URL)" in (
        header
    )


def test_the_pytest_header_says_a_bucket_store_without_endpoint_is_the_cloud_provider(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(variable, raising=False)
    pytester.makeini("[pytest]\nassets_store = s3://bucket/prefix\nassets_dir = cache\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    assert "store s3://bucket/prefix via AWS S3 (default)" in pytester.runpytest().stdout.str()
