"""Fault 5, races: one process pushes new versions of an asset while other processes fetch its
latest version in a loop, sharing one cache (as pytest-xdist workers do). Fetchers must only
ever see complete versions. (8 concurrent pushers and 8 concurrent fetchers of one version are
covered in tests/test_concurrency.py.)"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from servers import StoreUnderTest
from together import start_together

from pytest_assets import Assets

from ._helpers import make_folder, tree_digests

pytestmark = pytest.mark.reliability

NAME = "models/racing"

_PUSHER = textwrap.dedent(
    """
    import json, sys, time
    from pytest_assets import Assets
    store, options, cache, done = sys.argv[1:5]
    sources = json.loads(sys.argv[5])
    print("ready", flush=True); sys.stdin.readline()  # all start at once (together.py)
    assets = Assets(store=store, cache_dir=cache, storage_options=json.loads(options))
    for source in sources:
        print(assets.push(source, sys.argv[6]), flush=True)
        time.sleep(0.05)
    open(done, "w").close()
    """
)

_FETCHER = textwrap.dedent(
    """
    import hashlib, json, os, sys, time
    from pathlib import Path
    from pytest_assets import Assets, AssetNotFoundError
    store, options, cache, done = sys.argv[1:5]
    expected = json.loads(sys.argv[5])
    print("ready", flush=True); sys.stdin.readline()  # all start at once (together.py)
    name = sys.argv[6]
    def digests(path):
        return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(path.rglob("*")) if p.is_file()}
    seen, fetches, last = set(), 0, False
    while not last:
        last = os.path.exists(done)
        assets = Assets(store=store, cache_dir=cache, storage_options=json.loads(options))
        try:
            resolved = assets.resolve(name)
        except AssetNotFoundError:
            continue  # nothing listed yet
        got = digests(assets.fetch(resolved))
        fetches += 1
        if got not in expected:
            sys.exit(f"{resolved} was handed out incomplete or wrong: {sorted(got)}")
        seen.add(resolved.version)
    print(json.dumps({"fetches": fetches, "seen": sorted(seen), "last": resolved.version}))
    """
)


def test_fetchers_racing_a_pusher_only_ever_see_complete_versions(
    any_store: StoreUnderTest, tmp_path: Path
) -> None:
    """Fault: one process pushes 6 new versions (24 files each) while 3 processes sharing one
    cache resolve and fetch the latest version in a loop, all released at the same instant.
    After: every fetch returned a complete version with exactly the bytes of one push; every
    version a fetcher saw was pushed; once the pusher finished, each fetcher's last fetch was
    the newest version; all 6 versions are listed and the shared cache verifies clean."""
    sources = [tmp_path / f"source-{i}" for i in range(6)]
    expected = [make_folder(s, files=24, size=8 * 1024, seed=str(i)) for i, s in enumerate(sources)]
    options = json.dumps(any_store.storage_options)
    done = tmp_path / "pushed-all"
    cache = tmp_path / "shared-cache"
    common = [any_store.url, options]
    listed_sources = json.dumps([str(s) for s in sources])
    pusher_args = [str(tmp_path / "pusher-cache"), str(done), listed_sources, NAME]
    fetcher_args = [str(cache), str(done), json.dumps(expected), NAME]
    pusher, *fetchers = start_together(
        [[sys.executable, "-c", _PUSHER, *common, *pusher_args]]
        + [[sys.executable, "-c", _FETCHER, *common, *fetcher_args]] * 3
    )
    out, err = pusher.communicate(timeout=180)
    assert pusher.returncode == 0, err
    pushed = [line.split(":")[1] for line in out.split()]
    reports = []
    for fetcher in fetchers:
        out, err = fetcher.communicate(timeout=180)
        assert fetcher.returncode == 0, err
        reports.append(json.loads(out))
    print(f"pushed {pushed}; fetchers: {reports}")
    for report in reports:
        assert set(report["seen"]) <= set(pushed)
        assert report["last"] == pushed[-1]
    reader = Assets(store=any_store.url, cache_dir=cache, storage_options=any_store.storage_options)
    assert reader.versions(NAME) == list(reversed(pushed))
    for version, digests in zip(pushed, expected, strict=True):
        assert tree_digests(reader.fetch(f"{NAME}:{version}")) == digests
    assert reader.verify() == []
