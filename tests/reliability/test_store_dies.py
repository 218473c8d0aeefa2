"""Fault 3, the store dies mid-download: the GCS emulator, the moto S3 server or Azurite is stopped
while a fetch is running, after some objects have arrived. The fetch must fail, after the
backend's own retries, with an error naming the store, and leave nothing partial in the cache."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from servers import Server, StoreUnderTest, gcsfs_retries

from pytest_assets import Assets, StoreError
from pytest_assets.store import Store

from ._helpers import in_thread, make_folder

pytestmark = [pytest.mark.reliability, pytest.mark.servers]

#  How long each backend takes to give up on a dead server (measured: s3fs/botocore ~2 s;
#  gcsfs ~35 s with its 6 tries and exponential backoff, the Azure SDK 84 s: both cut here to
#  2 tries, see conftest.az_server, so the retry still runs and the test takes seconds).
#  Generous, to never flake.
GIVE_UP_WITHIN = {"s3": 60.0, "gcs": 60.0, "az": 60.0}


@pytest.mark.parametrize("kind", ["s3", "gcs", "az"])
def test_store_stopped_mid_download_fails_naming_the_store_and_keeps_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault: the server process is stopped (SIGTERM, connections refused from then on) once
    the first 8 of 60 objects of a directory version have arrived. After: the fetch raises
    StoreError naming the store URL (and suggesting offline mode) within the backend's retry
    budget; the cache holds no data, no record and no download folder for the version, and
    ``verify`` is clean. Prints how long the failure took."""
    server: Server = request.getfixturevalue(f"{kind}_server")
    store: StoreUnderTest = request.getfixturevalue(f"{kind}_store")
    make_folder(tmp_path / "source", files=60, size=16 * 1024)
    Assets(
        store=store.url, cache_dir=tmp_path / "pusher", storage_options=store.storage_options
    ).push(tmp_path / "source", "models/dies")

    stopped: dict[str, float] = {}
    original = Store.get_files

    def get_files_then_die(self: Store, pairs: Any, what: str, progress: Any = None) -> Any:
        original(self, pairs[:8], what, progress)  # some objects arrive ...
        server.stop()  # ... then the server is gone
        stopped["at"] = time.monotonic()
        return original(self, pairs, what, progress)

    monkeypatch.setattr(Store, "get_files", get_files_then_die)
    assets = Assets(
        store=store.url, cache_dir=tmp_path / "cache", storage_options=store.storage_options
    )
    retries = gcsfs_retries(2) if kind == "gcs" else contextlib.nullcontext()
    try:
        with retries, pytest.raises(StoreError) as failure:
            in_thread(lambda: assets.fetch("models/dies:0.0"), timeout=GIVE_UP_WITHIN[kind] + 60)
        gave_up_after = time.monotonic() - stopped["at"]
    finally:
        server.start()
    message = str(failure.value)
    print(f"{kind}: gave up {gave_up_after:.1f} s after the server died: {message}")
    assert store.url in message
    assert "offline" in message
    assert gave_up_after < GIVE_UP_WITHIN[kind]

    cache = assets.cache
    assert not cache.data_path("models/dies", "0.0").exists()
    assert cache.record("models/dies", "0.0") is None
    assert list((cache.books / "tmp").iterdir()) == []
    assert list(cache.entries()) == []
    assert assets.verify() == []
