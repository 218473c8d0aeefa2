"""Several processes at once, as pytest-xdist workers and notebooks are: pushes never lose or
overwrite a version, and a version is downloaded once with every process seeing whole files."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from servers import StoreUnderTest
from together import start_together

from pytest_assets import Assets

PROCESSES = 8

_PUSHER = textwrap.dedent(
    """
    import json, sys, time
    from pytest_assets import Assets
    store, options, cache, source = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
    print("ready", flush=True); sys.stdin.readline()  # all start at once (together.py)
    assets = Assets(store=store, cache_dir=cache, storage_options=options)
    print(assets.push(source, "shared/asset"))
    """
)

_FETCHER = textwrap.dedent(
    """
    import hashlib, json, os, sys, time
    from pytest_assets import Assets
    from pytest_assets.store import Store
    store, options, cache, spec, log = sys.argv[1:6]
    print("ready", flush=True); sys.stdin.readline()  # all start at once (together.py)
    original = Store.get_files
    def counting(self, pairs, what, progress=None):
        with open(log, "a") as handle:
            handle.write(f"{len(pairs)}\\n")
        return original(self, pairs, what, progress)
    Store.get_files = counting
    path = Assets(store=store, cache_dir=cache, storage_options=json.loads(options)).fetch(spec)
    digests = {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in sorted(path.rglob("*")) if p.is_file()}
    print(json.dumps(digests))
    """
)


def _run_all(argvs: list[list[str]]) -> list[str]:
    """Start every process, release them together once all are ready, collect stdout."""
    procs = start_together(argvs)
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    return outputs


@pytest.fixture(params=["directory", "s3", "az"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    if request.param == "directory":
        return StoreUnderTest(str(tmp_path / "store"), {})
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    return store


def test_concurrent_pushers_each_get_a_distinct_listed_version(
    shared_store: StoreUnderTest, tmp_path: Path
) -> None:
    sources = []
    for i in range(PROCESSES):
        source = tmp_path / f"content-{i}.txt"
        source.write_text(f"content of pusher {i}\n")
        sources.append(source)
    options = json.dumps(shared_store.storage_options)
    outputs = _run_all(
        [
            [
                sys.executable,
                "-c",
                _PUSHER,
                shared_store.url,
                options,
                str(tmp_path / f"c{i}"),
                str(source),
            ]
            for i, source in enumerate(sources)
        ]
    )
    pushed = {line.split(":")[1] for line in outputs}
    assert len(pushed) == PROCESSES
    assets = Assets(
        store=shared_store.url,
        cache_dir=tmp_path / "reader",
        storage_options=shared_store.storage_options,
    )
    assert set(assets.versions("shared/asset")) == pushed
    contents = {assets.fetch(f"shared/asset:{v}").read_text() for v in pushed}
    assert contents == {source.read_text() for source in sources}


def test_concurrent_fetchers_download_once_and_see_the_same_bytes(
    shared_store: StoreUnderTest, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for i in range(50):
        (model / f"part-{i:02d}.bin").write_bytes(bytes([i]) * 20_000)
    pusher = Assets(
        store=shared_store.url,
        cache_dir=tmp_path / "pusher",
        storage_options=shared_store.storage_options,
    )
    pusher.push(model, "shared/model")
    log = tmp_path / "downloads.log"
    cache = tmp_path / "shared-cache"
    options = json.dumps(shared_store.storage_options)
    outputs = _run_all(
        [
            [
                sys.executable,
                "-c",
                _FETCHER,
                shared_store.url,
                options,
                str(cache),
                "shared/model:0",
                str(log),
            ]
            for _ in range(PROCESSES)
        ]
    )
    assert len(set(outputs)) == 1
    assert len(json.loads(outputs[0])) == 50
    assert log.read_text().split() == ["50"]


def test_pusher_that_loses_a_race_after_checking_meta_takes_the_next_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between our look at 0.0's .meta and our claim on 0.0, another pusher completes 0.0 and
    releases its claim: our claim then succeeds, but 0.0 is not ours, so we move on to 0.1."""
    from pytest_assets.store import Store

    store = str(tmp_path / "store")
    ours, theirs = tmp_path / "ours.txt", tmp_path / "theirs.txt"
    ours.write_text("ours\n")
    theirs.write_text("theirs\n")
    original = Store.write_bytes
    raced = []

    def write_bytes(self: Store, path: str, data: bytes, what: str, *, create_only: bool) -> None:
        if path.endswith("/0.0.claim") and not raced:
            raced.append(path)
            Assets(store=store, cache_dir=tmp_path / "theirs").push(theirs, "shared/asset")
        original(self, path, data, what, create_only=create_only)

    monkeypatch.setattr(Store, "write_bytes", write_bytes)
    pushed = Assets(store=store, cache_dir=tmp_path / "ours").push(ours, "shared/asset")
    monkeypatch.undo()
    reader = Assets(store=store, cache_dir=tmp_path / "reader")
    assert raced
    assert str(pushed) == "shared/asset:0.1"
    assert reader.versions("shared/asset") == ["0.1", "0.0"]
    assert reader.fetch("shared/asset:0.0").read_text() == "theirs\n"
    assert reader.fetch("shared/asset:0.1").read_text() == "ours\n"
