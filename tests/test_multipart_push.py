"""Big files pushed in parallel parts, against the real moto server and GCS emulator: an S3
multipart upload, a GCS parallel composite upload; create-only; nothing left behind.

"Big" is a few MB here: the threshold and the part size are lowered per test (S3 parts stay at
its 5 MiB minimum, which moto enforces like S3)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from servers import Server, StoreUnderTest

from pytest_assets import Assets, AssetsError, multipart

pytestmark = pytest.mark.servers

NAME = "models/big"
DATA = Path(__file__).parent / "data"
S3_SIZE = 2 * multipart.S3_MIN_PART_BYTES + 12_345  # 3 parts of at least 5 MiB
GCS_SIZE = 4 * 1024 * 1024 + 777  # 5 parts of 1 MiB


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multipart, "BIG_FILE_BYTES", 1024 * 1024)
    monkeypatch.setattr(multipart, "PART_BYTES", 1024 * 1024)


def big_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def assets_for(store: StoreUnderTest, tmp_path: Path, cache: str = "cache") -> Assets:
    return Assets(
        store=store.url, cache_dir=tmp_path / cache, storage_options=store.storage_options
    )


def open_uploads(assets: Assets) -> list[str]:
    """The keys of the S3 multipart uploads still open in the store's bucket."""
    fs = assets.store.fs
    bucket = assets.store.root.split("/")[0]
    listed = fs.call_s3("list_multipart_uploads", Bucket=bucket)
    return [upload["Key"] for upload in listed.get("Uploads", [])]


def parts_left(assets: Assets) -> list[str]:
    """GCS objects under any ``.parts`` folder of the store."""
    fs = assets.store.fs
    return [path for path in fs.find(assets.store.root) if multipart.PARTS_SUFFIX + "/" in path]


class Calls:
    """Spy on one method of the store's filesystem; optionally fail the ``fail_at``-th call
    whose first argument holds ``fail_on``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fs: Any, method: str) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail_on, self.fail_at = "", 0
        original = getattr(fs, method)

        async def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((args, kwargs))
            matching = [a for a, _ in self.calls if a and self.fail_on in str(a[0])]
            if self.fail_at and self.fail_on in str(args[0]) and len(matching) == self.fail_at:
                raise OSError("injected failure")
            return await original(*args, **kwargs)

        monkeypatch.setattr(fs, method, spy)

    def named(self, first: str) -> list[tuple[Any, ...]]:
        return [(a, k) for a, k in self.calls if a and a[0] == first]


@pytest.mark.parametrize(
    ("mb", "s3_parts", "gcs_parts"),
    [(8, 2, 8), (32, 7, 16), (64, 13, 16), (256, 32, 32)],
)
def test_parts_are_at_most_8_mb_and_small_enough_that_each_connection_gets_one(
    s3_store: StoreUnderTest,
    gcs_store: StoreUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mb: int,
    s3_parts: int,
    gcs_parts: int,
) -> None:
    """s3transfer's 8 MB parts, 16 at once; a smaller file in smaller parts (S3's are at
    least 5 MiB) so that it still uses the 16 connections."""
    monkeypatch.setattr(multipart, "PART_BYTES", 8 * 1024 * 1024)
    size = mb << 20
    for store, parts in ((s3_store, s3_parts), (gcs_store, gcs_parts)):
        part = multipart.part_size(assets_for(store, tmp_path).store, size)
        assert -(-size // part) == parts, store.url


# -- S3 -------------------------------------------------------------------------------------


def test_big_push_to_s3_is_a_multipart_upload_that_fetches_back_identical(
    s3_store: StoreUnderTest, tmp_path: Path
) -> None:
    source = big_file(tmp_path / "weights.bin", S3_SIZE)
    assets = assets_for(s3_store, tmp_path)
    pushed = assets.push(source, NAME)
    info = assets.store.fs.info(assets.store.object_path(NAME, pushed.version or ""))
    assert str(info["ETag"]).strip('"').endswith("-3")  # S3's mark of an object of 3 parts
    fetched = assets_for(s3_store, tmp_path, "reader").fetch(str(pushed))
    assert fetched.read_bytes() == source.read_bytes()
    assert open_uploads(assets) == []


def test_a_folder_pushes_its_big_files_in_parts_and_its_small_ones_whole(
    s3_store: StoreUnderTest, tmp_path: Path
) -> None:
    source = tmp_path / "model"
    (source / "shards").mkdir(parents=True)
    big_file(source / "shards" / "a.bin", S3_SIZE)
    big_file(source / "shards" / "b.bin", S3_SIZE)
    big_file(source / "config.json", 100)
    assets = assets_for(s3_store, tmp_path)
    pushed = assets.push(source, NAME)
    store = assets.store
    etags = {
        rel: str(store.fs.info(f"{store.object_path(NAME, '0.0')}/{rel}")["ETag"]).strip('"')
        for rel in ("shards/a.bin", "shards/b.bin", "config.json")
    }
    assert etags["shards/a.bin"].endswith("-3") and etags["shards/b.bin"].endswith("-3")
    assert "-" not in etags["config.json"]
    fetched = assets_for(s3_store, tmp_path, "reader").fetch(str(pushed))
    for rel in etags:
        assert (fetched / rel).read_bytes() == (source / rel).read_bytes()


def test_multipart_upload_onto_an_existing_s3_object_is_refused_and_aborted(
    s3_store: StoreUnderTest, tmp_path: Path
) -> None:
    """Create-only: moto honours ``If-None-Match: *`` on CompleteMultipartUpload (412)."""
    assets = assets_for(s3_store, tmp_path)
    store = assets.store
    remote = store.path("taken")
    store.write_bytes(remote, b"first", "writing", create_only=False)
    source = big_file(tmp_path / "weights.bin", S3_SIZE)
    with pytest.raises(FileExistsError):
        multipart.put_big(store, [(str(source), remote)], "uploading", folder=store.path("p"))
    assert store.read_bytes(remote, "reading") == b"first"
    assert open_uploads(assets) == []


def test_s3_part_failing_mid_upload_aborts_the_upload_and_lists_nothing(
    s3_store: StoreUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = big_file(tmp_path / "weights.bin", S3_SIZE)
    assets = assets_for(s3_store, tmp_path)
    calls = Calls(monkeypatch, assets.store.fs, "_call_s3")
    calls.fail_on, calls.fail_at = "upload_part", 2
    with pytest.raises(AssetsError, match="injected failure"):
        assets.push(source, NAME)
    assert calls.named("create_multipart_upload")
    assert calls.named("abort_multipart_upload")
    assert open_uploads(assets) == []
    assert assets.store.info(assets.store.object_path(NAME, "0.0")) is None


def test_upload_left_by_a_dead_push_is_aborted_by_the_next_push(
    s3_store: StoreUnderTest, tmp_path: Path
) -> None:
    """A push killed mid-upload leaves an open upload and its claim (naming a dead process);
    the next push of the asset, with other content, aborts it and takes the next version."""
    assets = assets_for(s3_store, tmp_path)
    store = assets.store
    store.write_bytes(
        store.claim_path(NAME, "0.0"),
        json.dumps({"content_sha256": "x", "by": f"{dead_pid()}@{os.uname().nodename}"}).encode(),
        "claiming",
        create_only=True,
    )
    bucket, key, _ = store.fs.split_path(store.object_path(NAME, "0.0"))
    store.fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)
    assert open_uploads(assets) == [key]
    pushed = assets.push(big_file(tmp_path / "weights.bin", 1000), NAME)
    assert pushed.version == "0.1"
    assert open_uploads(assets) == []


def test_upload_of_a_live_push_is_left_alone(s3_store: StoreUnderTest, tmp_path: Path) -> None:
    assets = assets_for(s3_store, tmp_path)
    store = assets.store
    store.write_bytes(
        store.claim_path(NAME, "0.0"),
        json.dumps({"content_sha256": "x", "by": f"{os.getppid()}@{os.uname().nodename}"}).encode(),
        "claiming",
        create_only=True,
    )
    bucket, key, _ = store.fs.split_path(store.object_path(NAME, "0.0"))
    store.fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)
    assets.push(big_file(tmp_path / "weights.bin", 1000), NAME)
    assert open_uploads(assets) == [key]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- GCS ------------------------------------------------------------------------------------


def test_big_push_to_gcs_is_composed_from_parallel_parts_that_are_then_deleted(
    gcs_store: StoreUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = big_file(tmp_path / "weights.bin", GCS_SIZE)
    assets = assets_for(gcs_store, tmp_path)
    calls = Calls(monkeypatch, assets.store.fs, "_call")
    pushed = assets.push(source, NAME)
    (compose,) = [(a, k) for a, k in calls.named("POST") if str(a[1]).endswith("/compose")]
    sources = compose[1]["json"]["sourceObjects"]
    assert len(sources) == 5
    assert all(".parts/" in s["name"] for s in sources)
    assert compose[1]["ifGenerationMatch"] == 0  # create-only (the emulator ignores it)
    assert parts_left(assets) == []
    fetched = assets_for(gcs_store, tmp_path, "reader").fetch(str(pushed))
    assert fetched.read_bytes() == source.read_bytes()


def test_more_than_32_gcs_parts_are_composed_in_two_levels(
    gcs_store: StoreUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multipart, "PART_BYTES", 64 * 1024)
    monkeypatch.setattr(multipart, "BIG_FILE_BYTES", 64 * 1024)
    source = big_file(tmp_path / "weights.bin", 40 * 64 * 1024 + 5)  # 41 parts
    assets = assets_for(gcs_store, tmp_path)
    calls = Calls(monkeypatch, assets.store.fs, "_call")
    pushed = assets.push(source, NAME)
    composed = [
        len(k["json"]["sourceObjects"]) for a, k in calls.named("POST") if "compose" in a[1]
    ]
    assert sorted(composed) == [2, 9, 32]  # 32 + 9 parts, then the two groups
    assert parts_left(assets) == []
    fetched = assets_for(gcs_store, tmp_path, "reader").fetch(str(pushed))
    assert (
        hashlib.sha256(fetched.read_bytes()).digest()
        == hashlib.sha256(source.read_bytes()).digest()
    )


def test_gcs_part_failing_mid_upload_deletes_the_parts_and_lists_nothing(
    gcs_store: StoreUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = big_file(tmp_path / "weights.bin", GCS_SIZE)
    assets = assets_for(gcs_store, tmp_path)
    calls = Calls(monkeypatch, assets.store.fs, "_pipe_file")
    calls.fail_on, calls.fail_at = ".parts/", 4
    with pytest.raises(AssetsError, match="injected failure"):
        assets.push(source, NAME)
    assert parts_left(assets) == []
    assert assets.store.info(assets.store.object_path(NAME, "0.0")) is None


def test_parts_left_by_a_dead_push_are_deleted_by_the_next_push(
    gcs_store: StoreUnderTest, tmp_path: Path
) -> None:
    assets = assets_for(gcs_store, tmp_path)
    store = assets.store
    store.write_bytes(
        store.claim_path(NAME, "0.0"),
        json.dumps({"content_sha256": "x", "by": f"{dead_pid()}@{os.uname().nodename}"}).encode(),
        "claiming",
        create_only=True,
    )
    left = store.parts_path(NAME, "0.0") + "/abc-0000"
    store.write_bytes(left, b"part", "writing a part", create_only=True)
    assert parts_left(assets) == [left]
    assert assets.push(big_file(tmp_path / "weights.bin", 1000), NAME).version == "0.1"
    assert parts_left(assets) == []


# -- modelkit reads what we pushed in parts ---------------------------------------------------


def modelkit_fetch(store: StoreUnderTest, spec: str, tmp_path: Path, **env: str) -> str:
    """The sha256 of what modelkit 0.1.3's own reader fetched for ``spec`` from ``store``."""
    bucket, prefix = store.url.split("://", 1)[1].split("/", 1)
    command = [sys.executable, str(DATA / "modelkit_fetch.py"), bucket, prefix]
    result = subprocess.run(
        [*command, str(tmp_path / "modelkit-cache"), spec],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=dict(os.environ, **env),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return str(json.loads(result.stdout)[spec]["sha256"])


def test_modelkit_reads_a_big_file_we_pushed_as_a_multipart_upload(
    s3_store: StoreUnderTest, s3_server: Server, tmp_path: Path
) -> None:
    source = big_file(tmp_path / "weights.bin", S3_SIZE)
    assets = assets_for(s3_store, tmp_path)
    pushed = assets.push(source, NAME)
    info = assets.store.fs.info(assets.store.object_path(NAME, pushed.version or ""))
    assert str(info["ETag"]).strip('"').endswith("-3")
    got = modelkit_fetch(
        s3_store,
        str(pushed),
        tmp_path,
        MODELKIT_FETCH_PROVIDER="s3",
        S3_ENDPOINT=s3_server.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    assert got == hashlib.sha256(source.read_bytes()).hexdigest()


def test_modelkit_reads_a_big_file_we_pushed_as_a_composite_gcs_object(
    gcs_store: StoreUnderTest, gcs_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = big_file(tmp_path / "weights.bin", GCS_SIZE)
    assets = assets_for(gcs_store, tmp_path)
    calls = Calls(monkeypatch, assets.store.fs, "_call")
    pushed = assets.push(source, NAME)
    assert [a for a, _ in calls.named("POST") if str(a[1]).endswith("/compose")]
    got = modelkit_fetch(
        gcs_store,
        str(pushed),
        tmp_path,
        MODELKIT_FETCH_PROVIDER="gcs",
        STORAGE_EMULATOR_HOST=gcs_server.endpoint,
    )
    assert got == hashlib.sha256(source.read_bytes()).hexdigest()
