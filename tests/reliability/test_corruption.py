"""Fault 4, corruption: bytes damaged in the cache behind our back are reported by ``verify``
(and the command line exits non-zero) and repaired on request; a copy missing files or bytes
is never handed out by ``fetch``; an object changed in the store behind our back is refused
with ``IntegrityError`` naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import fsspec
import pytest
from servers import StoreUnderTest

from pytest_assets import Assets, IntegrityError

from ._helpers import make_folder, tree_digests

pytestmark = pytest.mark.reliability

NAME = "models/fragile"
VICTIM = "part-1/file-005.bin"


def _writable(path: Path) -> Path:
    path.chmod(0o644)  # cached files are read-only (root writes them anyway)
    return path


def _flip(path: Path, offset: int) -> None:
    data = bytearray(_writable(path).read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    with open(_writable(path), "r+b") as handle:
        handle.truncate(100)


def _to_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _parent_writable(path: Path) -> Path:
    path.parent.chmod(0o755)  # cached folders are read-only too
    return path


# (damage, what verify says, whether a fetch notices it: a fetch checks sizes, never hashes)
DAMAGE: dict[str, tuple[Callable[[Path], None], str, bool]] = {
    "first byte flipped": (lambda p: _flip(p, 0), "sha256 mismatch", False),
    "last byte flipped": (lambda p: _flip(p, -1), "sha256 mismatch", False),
    "truncated": (_truncate, "size 100, expected", True),
    "deleted": (lambda p: _parent_writable(p).unlink(), "missing from the cache", True),
    "replaced by a folder": (lambda p: _to_folder(_parent_writable(p)), "missing from", True),
}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Assets, dict[str, str], Path]:
    digests = make_folder(tmp_path / "source", files=12, size=4096)
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "cache")
    assets.push(tmp_path / "source", NAME)
    return assets, digests, assets.fetch(f"{NAME}:0.0")


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_cached_file_is_reported_and_repaired_on_request(
    setup: tuple[Assets, dict[str, str], Path], damage: str
) -> None:
    """Fault: one cached file of a directory version is damaged (a bit flipped at the start or
    the end, truncated, deleted, replaced by a folder). After: ``verify`` reports it naming the
    file and changes nothing; a fetch that sees the damage (a file missing or of another
    size) downloads the version again whole; ``verify(repair=True)`` downloads it again whole
    in any case; ``verify`` is then clean."""
    assets, digests, path = setup
    hurt, symptom, noticed = DAMAGE[damage]
    hurt(path / VICTIM)
    problems = [str(p) for p in assets.verify()]
    assert len(problems) == 1, problems
    assert f"{NAME}:0.0[{VICTIM}]" in problems[0] and symptom in problems[0]
    assert assets.cache.has(NAME, "0.0")
    if noticed:
        assert tree_digests(assets.fetch(f"{NAME}:0.0")) == digests
    else:
        assert [p.repaired for p in assets.verify(repair=True)] == [True]
    assert tree_digests(assets.fetch(f"{NAME}:0.0")) == digests
    assert assets.verify() == []


def test_damaged_cache_record_is_reported_and_fetched_again(
    setup: tuple[Assets, dict[str, str], Path],
) -> None:
    """Fault: our own bookkeeping for the version (its record, which holds the hashes) is cut
    in half, so it is no longer JSON and the version can no longer be checked. After: ``verify``
    reports it instead of calling the cache clean, and the next fetch, which cannot check the
    copy either, downloads it whole."""
    assets, digests, _path = setup
    record = assets.cache.record_path(NAME, "0.0")
    record.write_bytes(record.read_bytes()[: record.stat().st_size // 2])
    problems = [str(p) for p in assets.verify()]
    assert len(problems) == 1 and f"{NAME}:0.0" in problems[0], problems
    assert tree_digests(assets.fetch(f"{NAME}:0.0")) == digests
    assert assets.verify() == []


def _cli(assets: Assets, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_assets", "--store", str(assets.store_url)]
    command += ["--cache-dir", str(assets.cache.directory), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_command_line_verify_exits_non_zero_and_repair_downloads_again(
    setup: tuple[Assets, dict[str, str], Path],
) -> None:
    """Fault: a bit flipped in a cached file. After: ``pytest-assets verify`` prints the file
    and exits 1, twice (it changes nothing); ``pytest-assets verify --repair`` downloads the
    version again and exits 0, and the bytes are whole; a last ``verify`` exits 0."""
    assets, digests, path = setup
    _flip(path / VICTIM, 10)
    for _run in range(2):
        result = _cli(assets, "verify")
        assert result.returncode == 1, result
        assert f"{NAME}:0.0[{VICTIM}]: sha256 mismatch" in result.stdout
        assert "problem(s) in the cache" in result.stderr
    result = _cli(assets, "verify", "--repair")
    assert result.returncode == 0, result
    assert "repaired" in result.stdout
    assert tree_digests(path) == digests
    assert _cli(assets, "verify").returncode == 0


def _change_object(fs: fsspec.AbstractFileSystem, path: str, how: str) -> None:
    data = bytearray(fs.cat_file(path))
    if how == "byte changed":
        data[len(data) // 2] ^= 0xFF
    else:
        data += b"appended"
    if getattr(fs, "protocol", None) in ("file", ("file", "local")):
        os.chmod(path, 0o644)
    fs.pipe_file(path, bytes(data))


@pytest.mark.parametrize("how", ["byte changed", "grown"])
@pytest.mark.parametrize("kind", ["folder", "file"])
def test_object_changed_in_the_store_is_refused_naming_the_file(
    any_store: StoreUnderTest, tmp_path: Path, how: str, kind: str
) -> None:
    """Fault: after the push, one object is rewritten in the store behind our back (a byte
    changed: same size, other sha256; or bytes appended: other size), in a directory store and
    on the moto S3 server, for a file asset and a directory asset. After: a fresh fetch raises
    IntegrityError naming the asset, version and file and saying what disagreed; nothing is
    cached (no data, no record, no download folder)."""
    make_folder(tmp_path / "source", files=6, size=2048)
    source = tmp_path / "source" if kind == "folder" else tmp_path / "source" / VICTIM
    pusher = Assets(
        store=any_store.url, cache_dir=tmp_path / "p", storage_options=any_store.storage_options
    )
    pusher.push(source, NAME)
    obj = pusher.store.path(NAME, "0.0", *([VICTIM] if kind == "folder" else []))
    _change_object(pusher.store.fs, obj, how)
    assets = Assets(
        store=any_store.url, cache_dir=tmp_path / "c", storage_options=any_store.storage_options
    )
    with pytest.raises(IntegrityError) as failure:
        assets.fetch(f"{NAME}:0.0")
    message = str(failure.value)
    label = f"{NAME}:0.0[{VICTIM}]" if kind == "folder" else f"{NAME}:0.0"
    assert message.startswith(label), message
    assert ("sha256" if how == "byte changed" else "size") in message
    assert not assets.cache.data_path(NAME, "0.0").exists()
    assert assets.cache.record(NAME, "0.0") is None
    assert list((assets.cache.books / "tmp").iterdir()) == []
    meta = json.loads(pusher.store.fs.cat_file(pusher.store.meta_path(NAME, "0.0")))
    assert meta["is_directory"] is (kind == "folder")
