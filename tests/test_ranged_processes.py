"""Several processes (pytest-xdist workers, notebooks) fetching one big asset at once: its ranges
are read from the server once in all, counted on the wire by a proxy, and every process gets
the same verified path. Ranges are forced small as in test_ranged_fetch.py, in each process."""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

import pytest
from byte_proxy import counting
from servers import StoreUnderTest
from together import start_together

from pytest_assets import Assets, ranged

pytestmark = pytest.mark.servers

PROCESSES = 4
KB = 1024
SIZE = 3 * 1024 * KB + 777
RANGED = {"BIG_OBJECT_BYTES": 1024 * KB, "RANGE_BYTES": 256 * KB}
SLACK = 64 * KB  # per process: .meta, listings, headers

_FETCHER = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pytest_assets import Assets, ranged
    store, options, cache, spec, constants = sys.argv[1:6]
    for name, value in json.loads(constants).items():
        assert hasattr(ranged, name), name
        setattr(ranged, name, value)
    assets = Assets(store=store, cache_dir=cache, storage_options=json.loads(options))
    print("ready", flush=True); sys.stdin.readline()  # all start at once (together.py)
    path = assets.fetch(spec)
    print(json.dumps([str(path), hashlib.sha256(path.read_bytes()).hexdigest()]))
    """
)


@pytest.fixture(params=["s3", "gcs"])
def remote(request: pytest.FixtureRequest) -> StoreUnderTest:
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    return store


def test_processes_fetching_one_big_asset_read_each_byte_once(
    remote: StoreUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in RANGED.items():
        monkeypatch.setattr(ranged, name, value)
    source = tmp_path / "weights.bin"
    source.write_bytes(bytes((i * 31 + i // 4093) % 256 for i in range(SIZE)))
    pushed = Assets(
        store=remote.url, cache_dir=tmp_path / "pusher", storage_options=remote.storage_options
    )
    spec = str(pushed.push(source, "shared/weights"))
    cache = tmp_path / "shared-cache"
    with counting(remote) as (counted, proxy):
        argv = [
            sys.executable,
            "-c",
            _FETCHER,
            counted.url,
            json.dumps(counted.storage_options),
            str(cache),
            spec,
            json.dumps(RANGED),
        ]
        procs = start_together([argv] * PROCESSES)
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            outputs.append(tuple(json.loads(out.strip().splitlines()[-1])))
        traffic = proxy.reset()
    starts = sorted(start for start, _end in traffic.ranges)
    assert starts and starts[0] == 0
    assert len(starts) == len(set(starts))  # one stream, or a stream and its stolen tail: once
    assert traffic.down < SIZE + PROCESSES * SLACK
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert set(outputs) == {(outputs[0][0], digest)}
    reader = Assets(store=remote.url, cache_dir=cache, storage_options=remote.storage_options)
    assert reader.verify() == []
