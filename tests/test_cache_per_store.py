"""The cache keeps each store's versions apart: every first push is 0.0, and one cache serves
every project of a user, so a version cached from one store is never returned for another."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from servers import StoreUnderTest

from pytest_assets import Assets, AssetSpec
from pytest_assets.errors import ConfigError, InvalidAssetSpecError, OfflineError
from pytest_assets.storekey import store_key


@pytest.fixture
def two_stores(any_store: StoreUnderTest) -> tuple[StoreUnderTest, StoreUnderTest]:
    """Two stores of one backend: the same bucket (or parent folder), other prefixes."""
    other = StoreUnderTest(
        any_store.url.replace("/store", "/other-store"), any_store.storage_options
    )
    return any_store, other


def _assets(store: StoreUnderTest, cache: Path, **kwargs: object) -> Assets:
    return Assets(store=store.url, cache_dir=cache, storage_options=store.storage_options, **kwargs)


@pytest.fixture
def a_then_b(
    two_stores: tuple[StoreUnderTest, StoreUnderTest], tmp_path: Path
) -> tuple[Assets, Assets]:
    """``demo/x:0.0`` pushed to A ("hello") and to B ("store B content"), A's fetched into
    the one cache both use."""
    a, b = (_assets(store, tmp_path / "cache") for store in two_stores)
    a.push(_write(tmp_path / "a.txt", "hello"), "demo/x")
    b.push(_write(tmp_path / "b.txt", "store B content"), "demo/x")
    a.fetch("demo/x:0.0")
    return a, b


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_version_cached_from_one_store_is_not_returned_for_another(
    a_then_b: tuple[Assets, Assets],
) -> None:
    _a, b = a_then_b
    assert b.fetch("demo/x:0.0").read_text() == "store B content"


def test_each_store_keeps_its_own_copy_of_the_same_version(
    a_then_b: tuple[Assets, Assets],
) -> None:
    a, b = a_then_b
    b_path = b.fetch("demo/x:0.0")
    assert a.fetch("demo/x:0.0").read_text() == "hello"
    assert a.fetch("demo/x:0.0") != b_path


def test_info_describes_the_configured_stores_version(a_then_b: tuple[Assets, Assets]) -> None:
    a, b = a_then_b
    assert b.info("demo/x:0.0")["content_sha256"] != a.info("demo/x:0.0")["content_sha256"]
    assert b.info("demo/x:0.0")["cached_path"] is None  # B's version is not cached yet


def test_offline_another_store_does_not_resolve_to_the_cached_copy(
    a_then_b: tuple[Assets, Assets], two_stores: tuple[StoreUnderTest, StoreUnderTest]
) -> None:
    a, _b = a_then_b
    offline_b = _assets(two_stores[1], a.cache.directory, offline=True)
    with pytest.raises(OfflineError, match="no version of demo/x in the cache"):
        offline_b.fetch("demo/x")
    with pytest.raises(OfflineError, match="offline mode is on"):
        offline_b.fetch("demo/x:0.0")


def test_the_lock_hash_is_the_configured_stores(a_then_b: tuple[Assets, Assets]) -> None:
    a, b = a_then_b
    assert b.meta_sha256("demo/x", "0.0") != a.meta_sha256("demo/x", "0.0")
    b.fetch("demo/x:0.0")
    assert b.meta_sha256("demo/x", "0.0") != a.meta_sha256("demo/x", "0.0")


def test_cache_listing_shows_only_the_configured_stores_versions(
    a_then_b: tuple[Assets, Assets],
) -> None:
    a, b = a_then_b
    assert [(e.name, e.version) for e in a.cached()] == [("demo/x", "0.0")]
    assert b.cached() == []
    assert b.verify() == []


def test_without_a_store_a_version_cached_from_one_store_is_returned(
    a_then_b: tuple[Assets, Assets],
) -> None:
    a, _b = a_then_b
    storeless = Assets(cache_dir=a.cache.directory)
    assert storeless.fetch("demo/x:0.0").read_text() == "hello"


def test_without_a_store_a_version_cached_from_two_stores_is_refused(
    a_then_b: tuple[Assets, Assets],
) -> None:
    a, b = a_then_b
    b.fetch("demo/x:0.0")
    storeless = Assets(cache_dir=a.cache.directory)
    with pytest.raises(ConfigError, match=r"cached from 2 stores .* set the store"):
        storeless.fetch("demo/x:0.0")


def test_two_spellings_of_one_directory_store_share_the_cached_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    Assets(store=str(store), cache_dir=tmp_path / "cache").push(
        _write(tmp_path / "m.txt", "m"), "m"
    )
    first = Assets(store=str(store), cache_dir=tmp_path / "cache")
    first.fetch("m:0.0")
    monkeypatch.chdir(tmp_path)
    for spelling in (f"file://{store}", f"{store}/", "store", "./store/"):
        again = Assets(store=spelling, cache_dir=tmp_path / "cache")
        assert again.fetch("m:0.0") == first.fetch("m:0.0")
        assert again.history[-1].from_cache, spelling


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("gs://bucket/prefix", "gcs://bucket/prefix/"),
        ("s3://bucket/prefix", "s3a://bucket/prefix"),
        ("s3://bucket/prefix", "s3://KEY:secret@bucket/prefix"),
        ("memory://x", "memory:///x"),
    ],
)
def test_equivalent_store_urls_have_one_key(one: str, other: str) -> None:
    assert store_key(one, environ={}) == store_key(other, environ={})


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("gs://bucket/prefix", "s3://bucket/prefix"),
        ("s3://bucket/prefix", "s3://bucket/prefix2"),
        ("s3://bucket/a/b", "s3://bucket/a-b"),
        ("/stores/a", "/stores/b"),
    ],
)
def test_different_stores_have_different_keys(one: str, other: str) -> None:
    assert store_key(one, environ={}).folder != store_key(other, environ={}).folder


def test_an_empty_part_in_a_store_url_makes_another_key() -> None:
    """``s3://b//p`` is another prefix than ``s3://b/p`` to the store (the loader refuses
    it): should one reach the cache, it must not share that store's copies."""
    doubled, single = "s3://bucket//prefix", "s3://bucket/prefix"
    assert store_key(doubled, environ={}) != store_key(single, environ={})


def test_a_store_url_with_an_empty_part_is_refused_before_anything_is_read(
    s3_store: StoreUnderTest, tmp_path: Path
) -> None:
    doubled = s3_store.url.replace("/store", "//store")
    assets = Assets(
        store=doubled, cache_dir=tmp_path / "cache", storage_options=s3_store.storage_options
    )
    with pytest.raises(ConfigError, match=f"did you mean {re.escape(s3_store.url)}\\?"):
        assets.versions("demo/x")
    assert not (tmp_path / "cache").exists()


def test_the_same_bucket_on_another_endpoint_is_another_store() -> None:
    here = store_key("s3://bucket/p", {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}})
    there = store_key("s3://bucket/p", {"endpoint_url": "https://s3.example.com"})
    aws = store_key("s3://bucket/p", {}, environ={})
    assert len({here, there, aws}) == 3
    emulator = store_key("gs://bucket/p", environ={"STORAGE_EMULATOR_HOST": "http://127.0.0.1:9"})
    assert emulator != store_key("gs://bucket/p", environ={})


def test_the_same_container_in_another_azure_account_is_another_store() -> None:
    """adlfs reads the account from its options or from the environment, as modelkit does."""
    azurite = "AccountName=devstoreaccount1;AccountKey=k1;BlobEndpoint=http://127.0.0.1:10000/a"
    keys = [
        store_key("az://container/p", {"connection_string": azurite}, environ={}),
        store_key("az://container/p", {"account_name": "prod", "account_key": "k2"}, environ={}),
        store_key("az://container/p", environ={"AZURE_STORAGE_CONNECTION_STRING": azurite}),
        store_key("az://container/p", environ={"AZURE_STORAGE_ACCOUNT_NAME": "other"}),
    ]
    assert keys[0] == keys[2]  # one account, whether from an option or from the environment
    assert len({keys[0], keys[1], keys[3]}) == 3
    rotated = azurite.replace("k1", "a-new-key")
    assert store_key("az://container/p", {"connection_string": rotated}, environ={}) == keys[0]


def test_credentials_never_reach_the_cache_folder_name() -> None:
    key = store_key(
        "s3://AKIAKEY:s3cr3t/pass@bucket/p",
        {"key": "AKIAKEY", "secret": "s3cr3t", "connection_string": "AccountKey=s3cr3t;"},
    )
    assert "s3cr3t" not in key.identity and "AKIAKEY" not in key.identity
    assert "s3cr3t" not in key.folder
    sas = "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=1&sig=s3cr3t"
    azure = store_key("az://c/p", environ={"AZURE_STORAGE_CONNECTION_STRING": sas})
    assert azure.identity == "az://c/p @ https://acct.blob.core.windows.net"


def test_the_cache_folder_of_a_store_is_readable_and_one_path_component() -> None:
    folder = store_key("gs://my-bucket/models/prod", environ={}).folder
    assert folder.startswith("gs-my-bucket-models-prod-")
    assert "/" not in folder and len(folder) <= 60


# -- names as long as the store takes --------------------------------------------------------


LONG_NAME = "/".join(f"segment{i:02d}-" + "x" * 9 for i in range(12))  # 12 segments of 19


def test_a_long_name_the_store_takes_is_fetchable(
    any_store: StoreUnderTest, tmp_path: Path
) -> None:
    assert len(LONG_NAME) == 239
    assets = _assets(any_store, tmp_path / "cache")
    assets.push(_write(tmp_path / "m.txt", "long"), LONG_NAME)
    assert assets.fetch(LONG_NAME).read_text() == "long"


def test_download_folders_have_a_short_name_whatever_the_asset_name(tmp_path: Path) -> None:
    assets = Assets(store="memory://long-names", cache_dir=tmp_path / "cache")
    staging = assets.cache.temp_dir(LONG_NAME, "0.0")
    assert len(staging.name) < 120


def test_push_refuses_a_name_part_no_cache_folder_can_hold(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assets = Assets(store=str(store), cache_dir=tmp_path / "cache")
    with pytest.raises(InvalidAssetSpecError, match="a cache folder name holds at most 241"):
        assets.push(_write(tmp_path / "m.txt", "m"), "team/" + "n" * 250)
    assert not store.exists() or not any(store.rglob("*.meta"))


def test_push_refuses_a_last_segment_whose_versions_lock_name_is_too_long(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    assets = Assets(store=str(store), cache_dir=tmp_path / "cache")
    with pytest.raises(InvalidAssetSpecError, match="holds at most 241"):
        assets.push(_write(tmp_path / "m.txt", "m"), "L/" + "a" * 242)
    assert not store.exists() or list(store.rglob("*")) == []


def test_push_refuses_a_name_longer_than_a_store_key(tmp_path: Path) -> None:
    assets = Assets(store="memory://too-long", cache_dir=tmp_path / "cache")
    name = "/".join(["p" * 200] * 6)
    with pytest.raises(InvalidAssetSpecError, match="longer than the 1000"):
        assets.push(_write(tmp_path / "m.txt", "m"), name)
    assert AssetSpec.parse(name).name == name  # the spec itself is fine: fetch says why
