"""Azure Blob stores (adlfs) against a real Azurite: what a push relies on and what a failure
says. The behaviours common to every store run on Azurite in test_stores.py, the concurrency
tests and the reliability suite; here, what only Azure needs showing."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from servers import AZURITE_ACCOUNT, AZURITE_KEY, Server, StoreUnderTest, serve_http

from pytest_assets import Assets, StoreError
from pytest_assets.store import Store

pytestmark = pytest.mark.servers


def _recording_proxy(target_port: int, seen: list[tuple[str, str, str | None]]) -> type:
    """A pass-through front for Azurite that notes each request: method, path with query, and
    its If-None-Match header (what makes a write create-only)."""

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.command, self.path, self.headers.get("If-None-Match")))
            conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = f"127.0.0.1:{target_port}"
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
            finally:
                conn.close()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        def log_message(self, *args: object) -> None:
            pass

    return Proxy


@pytest.fixture
def recorded(
    az_server: Server, az_store: StoreUnderTest
) -> Iterator[tuple[Store, list[tuple[str, str, str | None]]]]:
    """A Store reaching the test's container through the recording front; what it saw."""
    seen: list[tuple[str, str, str | None]] = []
    with serve_http(_recording_proxy(az_server.port, seen)) as front:
        connection = az_server.connection_string.replace(az_server.endpoint, front)
        yield Store(az_store.url, {"connection_string": connection}), seen


def _writes(seen: list[tuple[str, str, str | None]]) -> list[tuple[str, str | None]]:
    """(kind of write, If-None-Match) of each PUT: Put Blob, Put Block or Put Block List."""
    kinds = {"comp=block": "Put Block", "comp=blocklist": "Put Block List"}
    out = []
    for method, path, condition in seen:
        if method == "PUT":
            query = urlsplit(path).query
            kind = next((k for q, k in kinds.items() if q in query.split("&")), "Put Blob")
            out.append((kind, condition))
    return out


def test_a_create_only_write_sends_if_none_match_and_is_refused_when_taken(
    recorded: tuple[Store, list[tuple[str, str, str | None]]],
) -> None:
    store, seen = recorded
    path = store.path("vocab.versions")
    store.write_bytes(path, b"first", "writing", create_only=True)
    with pytest.raises(FileExistsError):
        store.write_bytes(path, b"second", "writing", create_only=True)
    assert _writes(seen) == [("Put Blob", "*"), ("Put Blob", "*")]
    assert store.read_bytes(path, "reading") == b"first"


def test_an_upload_in_blocks_commits_its_block_list_create_only(
    recorded: tuple[Store, list[tuple[str, str, str | None]]], tmp_path: Path
) -> None:
    """A file over the SDK's single-request size (64 MB, lowered here to 256 KB) goes up in
    blocks: the commit of the block list is what makes the blob, so it is the create-only
    request, and a taken name is refused there."""
    store, seen = recorded
    config = store.fs.service_client._config
    config.max_single_put_size, config.max_block_size = 256 * 1024, 128 * 1024
    big = tmp_path / "weights.bin"
    big.write_bytes(bytes(range(256)) * 2048)  # 512 KB: four blocks
    remote = store.path("models/m/0.0")
    store.put_files([(str(big), remote)], "uploading")
    assert _writes(seen) == [("Put Block", None)] * 4 + [("Put Block List", "*")]
    big.write_bytes(b"other" * 100_000)
    with pytest.raises(FileExistsError):
        store.put_files([(str(big), remote)], "uploading")
    assert _writes(seen)[-1] == ("Put Block List", "*")
    assert store.read_bytes(remote, "reading") == bytes(range(256)) * 2048


def test_a_stopped_azurite_is_a_store_error_naming_the_store_without_its_key(
    tmp_path: Path, az_server: Server, az_store: StoreUnderTest
) -> None:
    assets = Assets(
        store=az_store.url, cache_dir=tmp_path / "c", storage_options=az_store.storage_options
    )
    az_server.stop()
    try:
        with pytest.raises(StoreError) as caught:
            assets.versions("vocab")
    finally:
        az_server.start()
    message = str(caught.value)
    assert message.startswith(f"could not reach store {az_store.url} while reading")
    assert "offline" in message
    assert AZURITE_KEY not in message
    assert "\n" not in message


class _Denying(BaseHTTPRequestHandler):
    """An Azure account front that refuses every request, as a wrong key or SAS makes it."""

    def _deny(self) -> None:
        body = (
            b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationFailure</Code>'
            b"<Message>This request is not authorized to perform this operation.\n"
            b"RequestId:0\nTime:2026-01-01T00:00:00Z</Message></Error>"
        )
        self.send_response(403)
        self.send_header("x-ms-error-code", "AuthorizationFailure")
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _deny

    def log_message(self, *args: object) -> None:
        pass


def test_access_denied_on_azure_is_reported_as_refused_in_one_line(tmp_path: Path) -> None:
    with serve_http(_Denying) as front:
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={front}/{AZURITE_ACCOUNT};"
        )
        assets = Assets(
            store="az://container/x",
            cache_dir=tmp_path / "c",
            storage_options={"connection_string": connection},
        )
        with pytest.raises(StoreError) as caught:
            assets.fetch("vocab:1")
    message = str(caught.value)
    assert message.startswith("store az://container/x refused access while reading")
    assert "AuthorizationFailure (HTTP 403)" in message
    assert "RequestId" not in message
    assert AZURITE_KEY not in message


def test_modelkits_environment_alone_reaches_the_azure_store(
    az_server: Server, az_store: StoreUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shell set up for modelkit's Azure provider: no option of ours, and the store is
    ``az://<container>/<prefix>`` reached with the connection string adlfs reads too."""
    container = az_store.url.removeprefix("az://").split("/", 1)[0]
    monkeypatch.setenv("MODELKIT_STORAGE_PROVIDER", "az")
    monkeypatch.setenv("MODELKIT_STORAGE_BUCKET", container)
    monkeypatch.setenv("MODELKIT_STORAGE_PREFIX", "store")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", az_server.connection_string)
    (tmp_path / "vocab.txt").write_text("alpha\n")
    assets = Assets.from_config(cache_dir=tmp_path / "cache", start_dir=tmp_path)
    assert assets.store_url == az_store.url
    assets.push(tmp_path / "vocab.txt", "vocab")
    reader = Assets(store=az_store.url, storage_options=az_store.storage_options,
                    cache_dir=tmp_path / "reader")  # fmt: skip
    assert reader.fetch("vocab:0.0").read_text() == "alpha\n"
    same = Assets(store=az_store.url, storage_options=az_store.storage_options,
                  cache_dir=tmp_path / "cache")  # fmt: skip
    assert assets.cache.directory == same.cache.directory  # one account: one cache folder
