"""Fetch what is new, on a directory store and on both servers: a version fetched after another
that shares all but one file takes one data object from the store (counted where the client
reads data and, on S3, in the server's own request log); two processes fetching two such
versions at once each take only their own new file."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from servers import Server, StoreUnderTest
from together import start_together

from pytest_assets import Assets
from pytest_assets.store import Store

FILES = 8
NAME = "team/model"


@pytest.fixture(
    params=[
        "directory",
        pytest.param("s3", marks=pytest.mark.servers),
        pytest.param("gcs", marks=pytest.mark.servers),
    ]
)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    if kind == "directory":
        return StoreUnderTest(str(tmp_path / "store"), {})
    found: StoreUnderTest = request.getfixturevalue(f"{kind}_store")
    return found


def _version(root: Path, changed: set[int]) -> Path:
    """FILES files of 8 KB; those in ``changed`` hold other bytes."""
    root.mkdir(parents=True)
    for i in range(FILES):
        tag = f"{i}-changed" if i in changed else f"{i}"
        (root / f"part-{i}.bin").write_bytes((tag.encode() * 8192)[:8192])
    return root


def _assets(store: StoreUnderTest, cache: Path) -> Assets:
    return Assets(store=store.url, cache_dir=cache, storage_options=store.storage_options)


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Data objects the client asks the store for (every read of data goes through here)."""
    seen: list[str] = []
    get_files = Store.get_files

    def get_files_(self: Store, pairs: Any, what: str, progress: Any = None) -> Any:
        seen.extend(remote.rsplit("/", 1)[-1] for remote, _local in pairs)
        return get_files(self, pairs, what, progress)

    monkeypatch.setattr(Store, "get_files", get_files_)
    return seen


def _s3_data_gets(server: Server, store: StoreUnderTest, since: int) -> list[str]:
    """The data objects of NAME that the moto server answered a GET for, after ``since``."""
    log = server.log_tail(10**9)[since:]
    bucket_path = store.url.removeprefix("s3://")
    pattern = rf'"GET /{re.escape(bucket_path)}/{NAME}/0\.\d/(\S+?)(?:\?\S*)? HTTP'
    return re.findall(pattern, log)


def test_a_version_after_another_takes_only_its_changed_file_from_the_store(
    store: StoreUnderTest,
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    pusher = _assets(store, tmp_path / "pusher")
    pusher.push(_version(tmp_path / "v0", set()), NAME)
    pusher.push(_version(tmp_path / "v1", {5}), NAME)
    assets = _assets(store, tmp_path / "cache")
    assets.fetch(f"{NAME}:0.0")
    server: Server | None = request.getfixturevalue("s3_server") if kind == "s3" else None
    since = len(server.log_tail(10**9)) if server else 0
    reads = _counting_reads(monkeypatch)
    path = assets.fetch(f"{NAME}:0.1")
    assert reads == ["part-5.bin"]
    if server is not None:
        assert _s3_data_gets(server, store, since) == ["part-5.bin"]
    assert sorted(p.name for p in path.iterdir()) == [f"part-{i}.bin" for i in range(FILES)]
    assert (path / "part-5.bin").read_bytes() == (tmp_path / "v1" / "part-5.bin").read_bytes()
    assert assets.verify() == []


_FETCHER = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pytest_assets import Assets
    from pytest_assets.store import Store
    store, options, cache, spec, log = sys.argv[1:6]
    print("ready", flush=True); sys.stdin.readline()  # both start at once (together.py)
    original = Store.get_files
    def counting(self, pairs, what, progress=None):
        with open(log, "a") as handle:
            handle.writelines(remote.rsplit("/", 1)[-1] + "\\n" for remote, _ in pairs)
        return original(self, pairs, what, progress)
    Store.get_files = counting
    path = Assets(store=store, cache_dir=cache, storage_options=json.loads(options)).fetch(spec)
    print(json.dumps({p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                      for p in sorted(path.iterdir())}))
    """
)


def _fetch_at_once(store: StoreUnderTest, cache: Path, specs: list[str], log: Path) -> list[Any]:
    options = json.dumps(store.storage_options)
    procs = start_together(
        [
            [sys.executable, "-c", _FETCHER, store.url, options, str(cache), spec, str(log)]
            for spec in specs
        ]
    )
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    return outputs


def test_two_processes_fetching_two_versions_that_share_files_at_once(
    store: StoreUnderTest, tmp_path: Path
) -> None:
    """0.0 is cached; 0.1 and 0.2 (each changing another file) are fetched by two processes
    at the same moment: each takes only its own changed file, both are whole and verify clean."""
    pusher = _assets(store, tmp_path / "pusher")
    sources = [_version(tmp_path / f"v{i}", changed) for i, changed in enumerate([set(), {1}, {6}])]
    for source in sources:
        pusher.push(source, NAME)
    cache = tmp_path / "cache"
    _assets(store, cache).fetch(f"{NAME}:0.0")
    log = tmp_path / "reads.log"
    outputs = _fetch_at_once(store, cache, [f"{NAME}:0.1", f"{NAME}:0.2"], log)
    assert sorted(log.read_text().split()) == ["part-1.bin", "part-6.bin"]
    for output, source in zip(outputs, sources[1:], strict=True):
        assert output == _digests(source)
    assert _assets(store, cache).verify() == []


def _digests(folder: Path) -> dict[str, str]:
    import hashlib

    digest: Callable[[Path], str] = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    return {p.name: digest(p) for p in sorted(folder.iterdir())}


@pytest.mark.servers
@pytest.mark.parametrize("server", ["s3", "gcs"])
def test_a_big_file_already_cached_is_not_fetched_in_ranges_again(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Known content is placed before the big-object engine is given its objects: a big file
    that 0.0 holds is neither a small download nor a ranged one for 0.1."""
    from pytest_assets import ranged

    store: StoreUnderTest = request.getfixturevalue(f"{server}_store")
    monkeypatch.setattr(ranged, "BIG_OBJECT_BYTES", 4096)  # every 8 KB file is "big"
    pusher = _assets(store, tmp_path / "pusher")
    pusher.push(_version(tmp_path / "v0", set()), NAME)
    pusher.push(_version(tmp_path / "v1", {2}), NAME)
    assets = _assets(store, tmp_path / "cache")
    assets.fetch(f"{NAME}:0.0")
    ranged_reads: list[str] = []
    fetch_many = ranged.fetch_many

    def counting(store_: Any, objects: Any, *args: Any, **kwargs: Any) -> Any:
        ranged_reads.extend(o.remote.rsplit("/", 1)[-1] for o in objects)
        return fetch_many(store_, objects, *args, **kwargs)

    monkeypatch.setattr(ranged, "fetch_many", counting)
    small_reads = _counting_reads(monkeypatch)
    path = assets.fetch(f"{NAME}:0.1")
    assert (ranged_reads, small_reads) == (["part-2.bin"], [])
    assert (path / "part-2.bin").read_bytes() == (tmp_path / "v1" / "part-2.bin").read_bytes()
    assert assets.verify() == []
