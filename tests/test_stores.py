"""The core against real servers on loopback: the GCS emulator (gcsfs), moto (s3fs) and
Azurite (adlfs).

Each behaviour runs on each; where a backend differs (the emulator ignores create-only writes)
the test says so."""

from __future__ import annotations

import json
import re
import stat
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from servers import Server, StoreUnderTest, serve_http, unique_bucket_name

from pytest_assets import (
    AssetExistsError,
    AssetNotFoundError,
    Assets,
    IntegrityError,
    StoreError,
    StoreNotFoundError,
    store_errors,
)

pytestmark = pytest.mark.servers


@pytest.fixture(params=["gcs", "s3", "az"])
def remote(request: pytest.FixtureRequest) -> StoreUnderTest:
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    return store


@pytest.fixture
def assets(remote: StoreUnderTest, tmp_path: Path) -> Assets:
    return Assets(
        store=remote.url, cache_dir=tmp_path / "cache", storage_options=remote.storage_options
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "weights.bin").write_bytes(bytes(range(256)) * 40)
    (src / "sub" / "labels.txt").write_text("cat\ndog\n")
    return src


def _fs(assets: Assets):  # type: ignore[no-untyped-def]
    return assets.store.fs


def test_push_writes_modelkit_layout_on_the_server(
    assets: Assets, remote: StoreUnderTest, folder: Path
) -> None:
    assert str(assets.push(folder, "models/tiny")) == "models/tiny:0.0"
    root = assets.store.root
    fs = _fs(assets)
    versions = json.loads(fs.cat_file(f"{root}/models/tiny.versions"))
    meta = json.loads(fs.cat_file(f"{root}/models/tiny/0.0.meta"))
    assert versions == {"versions": ["0.0"]}
    assert meta["is_directory"] is True
    assert meta["contents"] == ["sub/labels.txt", "weights.bin"]
    assert meta["files"]["weights.bin"]["size"] == 10240
    assert fs.cat_file(f"{root}/models/tiny/0.0/sub/labels.txt") == b"cat\ndog\n"


def test_fetch_from_server_returns_verified_bytes(
    assets: Assets, folder: Path, tmp_path: Path
) -> None:
    assets.push(folder, "models/tiny")
    fresh = Assets(
        store=assets.store_url,
        cache_dir=tmp_path / "other-cache",
        storage_options=assets.storage_options,
    )
    path = fresh.fetch("models/tiny:0[sub/labels.txt]")
    assert path.read_text() == "cat\ndog\n"
    assert (path.parent.parent / "weights.bin").read_bytes() == (
        folder / "weights.bin"
    ).read_bytes()


def test_an_executable_file_comes_back_executable_from_the_server(
    assets: Assets, folder: Path, tmp_path: Path
) -> None:
    (folder / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (folder / "run.sh").chmod(0o755)
    assets.push(folder, "tools/kit")
    path = Assets(
        store=assets.store_url, cache_dir=tmp_path / "fresh", storage_options=assets.storage_options
    ).fetch("tools/kit:0.0")
    assert stat.S_IMODE((path / "run.sh").stat().st_mode) == 0o555
    assert stat.S_IMODE((path / "weights.bin").stat().st_mode) == 0o444
    assert stat.S_IMODE((path / "sub").stat().st_mode) == 0o555


def test_a_cached_file_deleted_is_downloaded_again_from_the_server(
    assets: Assets, folder: Path
) -> None:
    assets.push(folder, "models/tiny")
    path = assets.fetch("models/tiny:0.0")
    (path / "sub").chmod(0o755)
    (path / "sub" / "labels.txt").unlink()
    assert assets.fetch("models/tiny:0[sub/labels.txt]").read_text() == "cat\ndog\n"


def test_partial_spec_resolves_newest_minor_on_server(assets: Assets, tmp_path: Path) -> None:
    source = tmp_path / "v.txt"
    for text in ("a", "b"):
        source.write_text(text)
        assets.push(source, "vocab")
    source.write_text("c")
    assets.push(source, "vocab", bump_major=True)
    assert assets.versions("vocab") == ["1.0", "0.1", "0.0"]
    assert assets.fetch("vocab:0").read_text() == "b"
    assert assets.fetch("vocab").read_text() == "c"


def test_push_to_existing_version_is_refused_on_server(assets: Assets, tmp_path: Path) -> None:
    source = tmp_path / "v.txt"
    source.write_text("a")
    assets.push(source, "vocab:1.0")
    source.write_text("b")
    with pytest.raises(AssetExistsError, match="different content"):
        assets.push(source, "vocab:1.0")
    assert assets.fetch("vocab:1.0").read_text() == "a"


def test_directory_push_again_to_its_version_with_identical_content_pushes_nothing_on_server(
    assets: Assets, folder: Path
) -> None:
    assets.push(folder, "models/tiny:2.0")
    report = assets.push_report(folder, "models/tiny:2.0")
    assert (str(report.spec), report.pushed, report.identical) == ("models/tiny:2.0", False, True)
    (folder / "weights.bin").write_bytes(b"retrained")
    with pytest.raises(AssetExistsError, match="different content"):
        assets.push(folder, "models/tiny:2.0")


def test_object_changed_in_store_gives_integrity_error(assets: Assets, tmp_path: Path) -> None:
    source = tmp_path / "v.txt"
    source.write_text("original")
    assets.push(source, "vocab")
    _fs(assets).pipe_file(assets.store.object_path("vocab", "0.0"), b"tampered")
    with pytest.raises(IntegrityError, match=r"vocab:0\.0.*sha256"):
        assets.fetch("vocab:0.0")
    assert not assets.cache.has("vocab", "0.0")


def test_missing_asset_on_server_is_not_found(assets: Assets) -> None:
    with pytest.raises(AssetNotFoundError, match="does not exist in store"):
        assets.fetch("nothing/here:1")


@pytest.fixture
def missing_bucket(remote: StoreUnderTest, tmp_path: Path) -> tuple[Assets, str]:
    """An Assets on the test's server, in a bucket that does not exist; and that bucket."""
    bucket = unique_bucket_name("missing")
    url = f"{remote.url.split('://')[0]}://{bucket}/store"
    options = remote.storage_options
    return Assets(store=url, cache_dir=tmp_path / "cache", storage_options=options), bucket


@pytest.mark.parametrize(
    "action",
    [lambda a: a.fetch("m"), lambda a: a.fetch("m:0.0"), lambda a: a.versions("m"),
     lambda a: a.names(), lambda a: a.info("m:0.0")],
    ids=["partial", "pinned", "versions", "names", "info"],
)  # fmt: skip
def test_a_bucket_that_does_not_exist_says_the_store_does_not_exist(
    missing_bucket: tuple[Assets, str], action: Callable[[Assets], object]
) -> None:
    assets, bucket = missing_bucket
    with pytest.raises(StoreNotFoundError) as caught:
        action(assets)
    assert str(caught.value) == (
        f"store {assets.store_url} does not exist: there is no bucket {bucket}; check its URL "
        "and the endpoint, or create the bucket"
    )


@pytest.mark.parametrize("dry_run", [False, True], ids=["push", "dry-run"])
def test_a_push_to_a_bucket_that_does_not_exist_says_the_store_does_not_exist(
    missing_bucket: tuple[Assets, str], folder: Path, dry_run: bool
) -> None:
    assets, bucket = missing_bucket
    with pytest.raises(StoreNotFoundError, match=f"there is no bucket {bucket}; "):
        assets.push(folder, "m", dry_run=dry_run)


def test_names_lists_assets_on_server(assets: Assets, folder: Path, tmp_path: Path) -> None:
    assets.push(folder, "models/tiny")
    (tmp_path / "v.txt").write_text("a")
    assets.push(tmp_path / "v.txt", "vocab")
    assert assets.names() == ["models/tiny", "vocab"]
    assert assets.names("models/") == ["models/tiny"]


def _error_from_stopped_server(
    tmp_path: Path, server: Server, store: StoreUnderTest, **credentials: str
) -> str:
    """The message of the StoreError a read gets while the S3 server is down (one attempt)."""
    options = dict(store.storage_options, **credentials)
    options["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    assets = Assets(store=store.url, cache_dir=tmp_path / "c", storage_options=options)
    server.stop()
    try:
        with pytest.raises(StoreError) as caught:
            assets.versions("vocab")
    finally:
        server.start()
    return str(caught.value)


def test_stopped_server_is_a_store_error_naming_the_store(
    tmp_path: Path, s3_server: Server, s3_store: StoreUnderTest
) -> None:
    message = _error_from_stopped_server(tmp_path, s3_server, s3_store)
    assert s3_store.url in message
    assert "offline" in message


def test_credentials_never_appear_in_store_errors(
    tmp_path: Path, s3_server: Server, s3_store: StoreUnderTest
) -> None:
    message = _error_from_stopped_server(
        tmp_path, s3_server, s3_store, key="AKIASECRETKEYID", secret="sup3r-s3cret-value"
    )
    assert "sup3r-s3cret-value" not in message
    assert "AKIASECRETKEYID" not in message


def _one_attempt_assets(tmp_path: Path, store: StoreUnderTest) -> Assets:
    options = dict(store.storage_options)
    options["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    return Assets(store=store.url, cache_dir=tmp_path / "c", storage_options=options)


def test_an_unreachable_store_is_not_asked_again_for_a_while(
    tmp_path: Path, s3_server: Server, s3_store: StoreUnderTest
) -> None:
    """Backends retry for seconds before giving up (gcsfs ~33 s): the tests or cells after
    the first failure get the same answer at once instead of waiting as long again."""
    assets = _one_attempt_assets(tmp_path, s3_store)
    s3_server.stop()
    try:
        with pytest.raises(StoreError, match=r"could not reach store .* while reading"):
            assets.versions("vocab")
        with pytest.raises(StoreError) as caught:
            assets.versions("other")
    finally:
        s3_server.start()
    message = str(caught.value)
    assert re.search(
        r"\d+ s ago \(while reading .*vocab.*\); reading .*other.* was not tried", message
    )
    assert s3_store.url in message
    assert "offline" in message


def test_an_unreachable_store_is_asked_again_after_the_pause(
    tmp_path: Path, s3_server: Server, s3_store: StoreUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_errors, "UNREACHABLE_FOR", 0.2)
    assets = _one_attempt_assets(tmp_path, s3_store)
    s3_server.stop()
    try:
        with pytest.raises(StoreError, match="could not reach"):
            assets.versions("vocab")
    finally:
        s3_server.start()
    s3_server.make_bucket(s3_store.url.removeprefix("s3://").split("/", 1)[0])
    time.sleep(0.3)
    with pytest.raises(AssetNotFoundError):  # an answer from the store: it was asked
        assets.versions("vocab")


class _Denying(BaseHTTPRequestHandler):
    """A store front that refuses every request, as a bucket without permission does."""

    def _deny(self) -> None:
        if "Amz" in str(self.headers):
            body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        else:
            body = json.dumps({"error": {"code": 403, "message": "Access denied."}}).encode()
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _deny

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def denying_endpoint() -> Iterator[str]:
    with serve_http(_Denying) as url:
        yield url


@pytest.mark.parametrize("kind", ["gcs", "s3"])
def test_access_denied_is_not_reported_as_not_found(
    kind: str, denying_endpoint: str, tmp_path: Path
) -> None:
    if kind == "gcs":
        url, options = "gs://bucket/x", {"endpoint_url": denying_endpoint, "token": "anon"}
    else:
        url = "s3://bucket/x"
        options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": denying_endpoint}}
    assets = Assets(store=url, cache_dir=tmp_path / "c", storage_options=options)
    with pytest.raises(StoreError, match="refused access") as caught:
        assets.fetch("vocab:1")
    assert url in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_store_that_answers_even_with_a_refusal_is_asked_every_time(
    denying_endpoint: str, tmp_path: Path
) -> None:
    """Only a store that does not answer at all is left alone for a while."""
    options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": denying_endpoint}}
    assets = Assets(store="s3://bucket/x", cache_dir=tmp_path / "c", storage_options=options)
    for name in ("vocab", "other"):
        with pytest.raises(StoreError, match=rf"refused access while reading .*{name}"):
            assets.versions(name)
