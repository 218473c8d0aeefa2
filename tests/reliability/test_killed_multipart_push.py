"""Fault 2b, a push killed inside a parallel upload: a big file goes up as an S3 multipart
upload or as GCS parts composed at the end, and the pushing process dies by SIGKILL at a chosen
part or at random. Nothing partial may ever be listed or fetchable, and after the next push of
the asset no multipart upload stays open and no part is left.

A big file is 1 MB in parts of 128 KB, 2 at once (so that a kill lands among the parts). moto
refuses S3 parts below 5 MiB like S3, so these tests run their own moto server with a lower
minimum (``S3_UPLOAD_PART_MIN_SIZE``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import Server, StoreUnderTest, start_moto, unique_bucket_name

from pytest_assets import AssetNotFoundError, Assets, multipart

from . import _kill
from ._helpers import tree_digests
from .test_killed_push import NAME, Pushes

pytestmark = [pytest.mark.reliability, pytest.mark.servers]

PART = 128 * 1024
SIZE = 8 * PART + 1000  # 9 parts
SETTINGS = {
    "BIG_FILE_BYTES": PART,
    "PART_BYTES": PART,
    "S3_MIN_PART_BYTES": PART,
    "MAX_CONNECTIONS": 2,
}
TRIALS = 20


@pytest.fixture(scope="module")
def small_part_moto() -> Iterator[Server]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("S3_UPLOAD_PART_MIN_SIZE", str(PART))
        server = start_moto()
    with server:
        yield server


@pytest.fixture(params=["s3", "gcs"])
def store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StoreUnderTest]:
    for constant, value in SETTINGS.items():  # the re-runs push in this process
        monkeypatch.setattr(multipart, constant, value)
    monkeypatch.setenv("MULTIPART", json.dumps(SETTINGS))  # and the children in theirs
    if request.param == "gcs":
        yield request.getfixturevalue("gcs_store")
        return
    server: Server = request.getfixturevalue("small_part_moto")
    bucket = unique_bucket_name()
    server.make_bucket(bucket)
    yield StoreUnderTest(f"s3://{bucket}/store", server.storage_options())


class BigPushes(Pushes):
    """Pushes whose reader keeps its cache from trial to trial: each check downloads only the
    versions listed since the last one (versions are immutable), not every version again."""

    def check_readers(self, context: str) -> dict[str, dict[str, str]]:
        reader = self.assets("reader")
        try:
            listed = reader.versions(NAME)
        except AssetNotFoundError:
            return {}
        known = list(self.contents.values())
        seen = {}
        for version in listed:
            digests = tree_digests(reader.fetch(f"{NAME}:{version}"))
            assert digests in known, f"{context}: {version} holds content nobody pushed"
            seen[version] = digests
        return seen


@pytest.fixture
def pushes(tmp_path: Path, store: StoreUnderTest) -> Pushes:
    return BigPushes(tmp_path, store, files=1, size=SIZE)


def leftovers(assets: Assets) -> list[str]:
    """Open S3 multipart uploads, or GCS objects under a ``.parts`` folder."""
    store = assets.store
    if "s3" in store.protocols:
        bucket = store.root.split("/")[0]
        listed = store.fs.call_s3("list_multipart_uploads", Bucket=bucket)
        return [upload["Key"] for upload in listed.get("Uploads", [])]
    return [path for path in store.fs.find(store.root) if multipart.PARTS_SUFFIX + "/" in path]


def partial_objects(assets: Assets) -> list[str]:
    """Objects of the asset's versions (listed or not) that are not whole: a kill must never
    leave a short object where a version's file belongs."""
    store = assets.store
    found = store.find(store.path(NAME))
    return [
        f"{obj.path}: {obj.size} bytes"
        for obj in found
        if obj.path.endswith(".bin") and multipart.PARTS_SUFFIX + "/" not in obj.path
        if obj.size != SIZE
    ]


@pytest.mark.parametrize("kill_point", ["part:1", "part:5", "composed"])
def test_push_killed_inside_a_parallel_upload_leaves_nothing_after_the_next_push(
    pushes: Pushes, kill_point: str
) -> None:
    """Fault: a push of one big file is SIGKILLed after 1 or 5 of its 9 parts, or just after
    the object was completed. After: nothing is listed or partial; the kill left an open upload
    or parts (unless it came after completion); the same push again completes, lists the
    content once, and leaves no upload open and no part behind."""
    source = pushes.source("only")
    outcome = _kill.run(pushes.args(source, kill_point), pushes.phases)
    assert outcome.killed, outcome.stderr
    assert outcome.where == f"killed at {kill_point}"
    reader = pushes.assets("inspector")
    assert pushes.check_readers(kill_point) == {}
    assert partial_objects(reader) == []
    if kill_point != "composed":
        assert leftovers(reader), "the kill left no upload behind: the test proves nothing"
    pushes.rerun_completes(source, kill_point)
    assert leftovers(reader) == []


def test_push_killed_at_random_moments_of_a_parallel_upload_never_lists_a_partial_version(
    pushes: Pushes,
) -> None:
    """Fault: SIGKILL after a random delay within the length of a whole push (measured first),
    20 trials, each pushing new content of the asset into the same store. After each: every
    listed version fetches whole, no version's object is partial; the same push again (unless
    it had finished) completes and lists its content once; then no upload is open, no part left."""
    calibration = _kill.run(pushes.args(pushes.source("calibration")), pushes.phases)
    window = float(calibration.result()["seconds"])  # type: ignore[arg-type]
    rng, seed = _kill.trial_rng()
    reader = pushes.assets("inspector")
    landed = []
    for trial in range(TRIALS):
        source = pushes.source(f"t{trial}")
        outcome = _kill.run(pushes.args(source), pushes.phases, kill_after=rng.uniform(0, window))
        landed.append(outcome.where)
        context = f"seed {seed} trial {trial}: killed in {outcome.where}"
        pushes.check_readers(context)
        assert partial_objects(reader) == [], context
        if outcome.killed:
            pushes.rerun_completes(source, context)
        assert leftovers(reader) == [], context
    print(f"{os.environ.get('PYTEST_CURRENT_TEST')}: window {window * 1000:.0f} ms, {landed}")
