"""The loopback servers behave like object stores through fsspec, quirks included.

These pin down what the rest of the suite may assume about the GCS emulator (gcsfs) and
moto (s3fs): which operations work, which exception each failure raises, and where the
two backends differ.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import fsspec
import pytest
import servers
from servers import Server, StoreUnderTest, gcsfs_retries

pytestmark = pytest.mark.servers


@pytest.fixture(params=["gcs", "s3", "az"])
def store(request: pytest.FixtureRequest) -> StoreUnderTest:
    """Each test once per backend."""
    result: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    return result


def _fs(store: StoreUnderTest) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(store.url, **store.storage_options)
    return fs, root


def test_pipe_and_cat_round_trip_bytes_exactly(store: StoreUnderTest) -> None:
    fs, root = _fs(store)
    # Ends in CR: the stock emulator drops it (see _gcs_emulator_main.py, fix 2).
    data = bytes(range(256)) * 4 + b"\r"
    fs.pipe_file(f"{root}/a/blob.bin", data)
    assert fs.cat_file(f"{root}/a/blob.bin") == data
    assert fs.info(f"{root}/a/blob.bin")["size"] == len(data)


def test_put_and_get_a_directory_of_50_files(store: StoreUnderTest, tmp_path: Path) -> None:
    fs, root = _fs(store)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(50):
        (src / f"f{i:02d}.txt").write_bytes(f"file {i}\r".encode() * (i + 1))

    fs.put(f"{src}/", f"{root}/dir/", recursive=True)
    dst = tmp_path / "dst"
    dst.mkdir()
    fs.get(f"{root}/dir/", f"{dst}/", recursive=True)

    assert sorted(p.name for p in dst.iterdir()) == sorted(p.name for p in src.iterdir())
    for p in src.iterdir():
        assert (dst / p.name).read_bytes() == p.read_bytes(), p.name


def test_ls_lists_files_and_pseudo_directories(store: StoreUnderTest) -> None:
    fs, root = _fs(store)
    fs.pipe({f"{root}/x/one": b"1", f"{root}/x/two": b"22", f"{root}/x/sub/three": b"333"})

    listing = fs.ls(f"{root}/x", detail=True)
    found = {entry["name"].rsplit("/", 1)[-1]: entry["type"] for entry in listing}
    assert found == {"one": "file", "two": "file", "sub": "directory"}
    assert fs.ls(f"{root}/x/sub", detail=False) == [f"{root}/x/sub/three"]


def test_s3_create_only_write_refuses_an_existing_object(s3_store: StoreUnderTest) -> None:
    fs, root = _fs(s3_store)
    fs.pipe_file(f"{root}/obj", b"first", mode="create")
    with pytest.raises(FileExistsError):  # moto honours If-None-Match: *, answers 412
        fs.pipe_file(f"{root}/obj", b"second", mode="create")
    assert fs.cat_file(f"{root}/obj") == b"first"


def test_without_node_the_azure_tests_say_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(servers, "_AZURITE", tmp_path / ".azurite" / "node_modules" / ".bin" / "x")
    monkeypatch.setattr(servers.shutil, "which", lambda name: None)
    assert "install Node.js 18 or newer" in str(servers.azurite_missing())
    with pytest.raises(servers.ServerStartError, match=r"Azurite needs Node\.js and npm"):
        servers.start_azurite()
    monkeypatch.setattr(servers.shutil, "which", lambda name: "/usr/bin/npm")
    assert "run bash tests/setup-env.sh" in str(servers.azurite_missing())


def test_gcs_emulator_create_only_write_silently_overwrites(gcs_store: StoreUnderTest) -> None:
    """Real GCS answers 412 (FileExistsError); the emulator ignores ifGenerationMatch=0.

    So create-only semantics cannot be tested on the emulator: a check-then-write race
    goes unnoticed there. If this starts failing, the emulator learned preconditions.
    """
    fs, root = _fs(gcs_store)
    fs.pipe_file(f"{root}/obj", b"first", mode="create")
    fs.pipe_file(f"{root}/obj", b"second", mode="create")
    assert fs.cat_file(f"{root}/obj") == b"second"


def test_missing_object_raises_file_not_found(store: StoreUnderTest) -> None:
    fs, root = _fs(store)
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{root}/no/such/object")
    with pytest.raises(FileNotFoundError):
        fs.info(f"{root}/no/such/object")
    assert not fs.exists(f"{root}/no/such/object")


def test_missing_bucket_raises_file_not_found(store: StoreUnderTest) -> None:
    fs, _ = _fs(store)
    with pytest.raises(FileNotFoundError):
        fs.cat_file("no-such-bucket-for-sure/object")
    with pytest.raises(FileNotFoundError):
        fs.ls("no-such-bucket-for-sure/")


def test_stopped_gcs_server_raises_connection_error_then_restarts(
    gcs_server: Server, gcs_store: StoreUnderTest
) -> None:
    """gcsfs surfaces a refused connection as aiohttp's ClientConnectorError (an OSError).

    With its built-in 6 attempts that takes ~33 s, hence ``gcsfs_retries(1)``.
    """
    import aiohttp

    fs, root = _fs(gcs_store)
    fs.pipe_file(f"{root}/obj", b"data")
    endpoint = gcs_server.endpoint
    gcs_server.stop()
    try:
        started = time.monotonic()
        with gcsfs_retries(1), pytest.raises(aiohttp.ClientConnectorError) as caught:
            fs.cat_file(f"{root}/obj")
        assert isinstance(caught.value, OSError)
        assert time.monotonic() - started < 5
    finally:
        gcs_server.start()
    assert gcs_server.endpoint == endpoint
    # Same port and the same cached filesystem instance work again; memory state is gone.
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{root}/obj")
    bucket = root.split("/", 1)[0]
    gcs_server.make_bucket(bucket)
    fs.pipe_file(f"{root}/obj", b"again")
    assert fs.cat_file(f"{root}/obj") == b"again"


def test_stopped_s3_server_raises_botocore_error_then_restarts(
    s3_server: Server, s3_store: StoreUnderTest
) -> None:
    """s3fs lets botocore's EndpointConnectionError through: not an OSError.

    botocore's default (legacy, 5 attempts, randomised backoff) takes 3-11 s; a single
    attempt is configured through ``config_kwargs``.
    """
    from botocore.exceptions import EndpointConnectionError

    options = dict(s3_store.storage_options)
    options["config_kwargs"] = {"retries": {"mode": "standard", "total_max_attempts": 1}}
    fs, root = fsspec.core.url_to_fs(s3_store.url, **options)
    fs.pipe_file(f"{root}/obj", b"data")
    endpoint = s3_server.endpoint
    s3_server.stop()
    try:
        started = time.monotonic()
        with pytest.raises(EndpointConnectionError) as caught:
            fs.cat_file(f"{root}/obj")
        assert not isinstance(caught.value, OSError)
        assert time.monotonic() - started < 5
    finally:
        s3_server.start()
    assert s3_server.endpoint == endpoint
    with pytest.raises(FileNotFoundError):  # moto keeps nothing across a restart
        fs.cat_file(f"{root}/obj")
    s3_server.make_bucket(root.split("/", 1)[0])
    fs.pipe_file(f"{root}/obj", b"again")
    assert fs.cat_file(f"{root}/obj") == b"again"


def test_gcs_emulator_with_data_dir_keeps_objects_across_restart(tmp_path: Path) -> None:
    from servers import start_gcs_emulator, unique_bucket_name

    with start_gcs_emulator(data_dir=tmp_path / "gcs") as server:
        bucket = unique_bucket_name()
        server.make_bucket(bucket)
        fs = fsspec.filesystem("gs", **server.storage_options())
        fs.pipe_file(f"{bucket}/obj", b"kept")
        server.restart()
        fs.invalidate_cache()
        assert fs.cat_file(f"{bucket}/obj") == b"kept"
