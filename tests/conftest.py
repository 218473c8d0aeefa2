"""Shared fixtures. Server fixtures: a real GCS emulator, a real moto S3 server and a real
Azurite (Azure Blob) on loopback.

``gcs_server`` / ``s3_server`` / ``az_server`` start one server per session (per xdist worker)
and are the handles to ``stop()``/``start()`` a server in fault tests. ``gcs_store`` /
``s3_store`` / ``az_store`` give each test its own fresh bucket (an Azure container), so tests
never see each other's data. Without Node.js the Azure tests are skipped, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from servers import (
    Server,
    StoreUnderTest,
    azure_retries,
    azurite_missing,
    start_azurite,
    start_gcs_emulator,
    start_moto,
    unique_bucket_name,
)

# gcsfs reads this once, at import: unless "false", `gcsfs.GCSFileSystem` is the
# experimental zonal/HNS subclass, which probes the bucket type over gRPC before writes;
# against a plain-HTTP emulator every write then stalls ~60 s. Nothing imported above
# imports gcsfs, but plugins loaded via entry points run before this file, hence the
# check in `_gcsfs_is_plain`. Exporting the variable in the environment also works.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

# Property and fuzz tests draw the same examples on every run, so a red CI run is repeatable
# and a green one is not luck. To hunt for new failures, explore with fresh random draws:
# `pytest --hypothesis-profile=explore --hypothesis-seed=N` (findings go in as @example).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile("repeatable")


def _gcsfs_is_plain() -> None:
    """Fail loudly (instead of 60 s stalls) if gcsfs was imported before the env was set."""
    import gcsfs

    if gcsfs.GCSFileSystem.__name__ != "GCSFileSystem":
        raise RuntimeError(
            "gcsfs was imported before GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false was set "
            f"(got {gcsfs.GCSFileSystem.__name__}); export it in the environment."
        )


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test (and every pytester session inside one) sees only what it configures, never
    the ASSETS_* or MODELKIT_* variables of the shell that runs the suite."""
    for key in (
        "ASSETS_STORE",
        "ASSETS_DIR",
        "ASSETS_OFFLINE",
        "ASSETS_VERSIONING",
        "ASSETS_MAX_CONNECTIONS",
    ):
        monkeypatch.delenv(key, raising=False)
    for key in ("ASSETS_SHARED_DIRS",):
        monkeypatch.delenv(key, raising=False)
    for key in ("MODELKIT_STORAGE_PROVIDER", "MODELKIT_STORAGE_BUCKET", "MODELKIT_STORAGE_PREFIX"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[Server]:
    """gcp-storage-emulator (in memory) for this session / xdist worker."""
    _gcsfs_is_plain()
    with start_gcs_emulator() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Server]:
    """moto S3 server for this session / xdist worker."""
    with start_moto() as server:
        yield server


@pytest.fixture(scope="session")
def az_server() -> Iterator[Server]:
    """Azurite's blob service (in memory) for this session / xdist worker. Its clients retry
    twice, quickly: on loopback the server is up or down, and the SDK's own pauses (84 s for a
    dead server) would make every fault test wait that long."""
    missing = azurite_missing()
    if missing:
        pytest.skip(missing)
    with start_azurite() as server, azure_retries(2):
        yield server


def _store(server: Server) -> Iterator[StoreUnderTest]:
    # A previous test may have stopped the shared server (fault injection); revive it.
    server.start()
    bucket = unique_bucket_name()
    server.make_bucket(bucket)
    options = server.storage_options()
    yield StoreUnderTest(f"{server.protocol}://{bucket}/store", options)
    # fsspec caches filesystem instances by their options, and with them listing caches
    # (dircache). Buckets are unique, so stale entries cannot collide, but drop them so
    # a long session does not accumulate every test's listings.
    import fsspec

    fsspec.filesystem(server.protocol, **options).invalidate_cache()


@pytest.fixture
def gcs_store(gcs_server: Server) -> Iterator[StoreUnderTest]:
    """A fresh, empty ``gs://<unique bucket>/store`` on the session's GCS emulator."""
    yield from _store(gcs_server)


@pytest.fixture
def s3_store(s3_server: Server) -> Iterator[StoreUnderTest]:
    """A fresh, empty ``s3://<unique bucket>/store`` on the session's moto server."""
    yield from _store(s3_server)


@pytest.fixture
def az_store(az_server: Server) -> Iterator[StoreUnderTest]:
    """A fresh, empty ``az://<unique container>/store`` on the session's Azurite."""
    yield from _store(az_server)


@pytest.fixture(params=["s3", "gcs"])
def server(request: pytest.FixtureRequest) -> Server:
    """moto, then the GCS emulator: for tests that read a server's own wire or log."""
    found: Server = request.getfixturevalue(f"{request.param}_server")
    return found


@pytest.fixture
def server_store(server: Server, request: pytest.FixtureRequest) -> StoreUnderTest:
    """A fresh store on ``server``."""
    store: StoreUnderTest = request.getfixturevalue(f"{server.kind}_store")
    return store


@pytest.fixture(
    params=[
        "directory",
        pytest.param("s3", marks=pytest.mark.servers),
        pytest.param("az", marks=pytest.mark.servers),
    ]
)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    """A directory store, an S3 one, an Azure one: behaviour that must not depend on the
    backend (GCS is in test_stores.py: its emulator ignores create-only writes)."""
    if request.param == "directory":
        return StoreUnderTest(str(tmp_path / "store"), {})
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    return store
