"""Directory stores copy in a loop on fast disks and in a thread pool on slow shares."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from support import write

from pytest_assets import (
    Assets,
    IntegrityError,
)
from pytest_assets import localdisk as localdisk_module
from pytest_assets.store import Store

# -- local stores: a loop on fast disks, the pool on slow shares --------------------------------


def _copying_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slow: float) -> set[str]:
    monkeypatch.setattr(localdisk_module, "_SLOW_COPY_SECONDS", slow)
    copy, seen = localdisk_module.copy_out, set()

    def watched(source: str, target: str, what: str) -> None:
        seen.add(threading.current_thread().name)
        copy(source, target, what)

    monkeypatch.setattr(localdisk_module, "copy_out", watched)
    sources = [write(tmp_path / "store" / f"f{i}", b"x") for i in range(40)]
    pairs = [(str(s), str(tmp_path / "out" / s.name)) for s in sources]
    Store(str(tmp_path / "store")).get_files(pairs, "copying")
    assert all((tmp_path / "out" / s.name).read_bytes() == b"x" for s in sources)
    return seen


def test_a_local_store_copies_in_a_loop_while_each_copy_is_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads only contend on a local disk: 1,000 small copies took 3x longer with 16."""
    seen = _copying_threads(tmp_path, monkeypatch, slow=60.0)
    assert seen == {threading.current_thread().name}


def test_a_local_store_switches_to_the_pool_when_copies_are_slow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A network share mounted as a directory: per-file latency, where overlap pays."""
    seen = _copying_threads(tmp_path, monkeypatch, slow=0.0)
    assert threading.current_thread().name in seen  # the probe files
    assert len(seen) > 1


@pytest.fixture
def kernel_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Big-file copies (hashed in a thread alongside) from 64 KB, in 16 KB steps."""
    monkeypatch.setattr(localdisk_module, "_PIPELINE_BYTES", 64 * 1024)
    monkeypatch.setattr(localdisk_module, "_PIPELINE_CHUNK", 16 * 1024)


@pytest.mark.usefixtures("kernel_copies")
def test_a_big_file_from_a_directory_store_arrives_whole_and_read_only(tmp_path: Path) -> None:
    data = os.urandom(300 * 1024)
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "cache")
    assets.push(write(tmp_path / "big.bin", data), "big")
    fetched = assets.fetch("big:0.0")
    assert fetched.read_bytes() == data
    assert stat.S_IMODE(fetched.stat().st_mode) & 0o222 == 0


@pytest.mark.usefixtures("kernel_copies")
def test_a_big_file_changed_in_a_directory_store_is_refused(tmp_path: Path) -> None:
    data = os.urandom(300 * 1024)
    assets = Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "cache")
    assets.push(write(tmp_path / "big.bin", data), "big")
    stored = tmp_path / "store" / "big" / "0.0"
    stored.chmod(0o644)
    stored.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
    with pytest.raises(IntegrityError, match="sha256"):
        assets.fetch("big:0.0")
    assert assets.cached() == []


@pytest.mark.usefixtures("kernel_copies")
def test_a_big_copy_reports_the_size_and_sha256_of_every_byte_it_wrote(tmp_path: Path) -> None:
    """Many chunks through three buffers: a buffer reused before its hash would show here."""
    data = os.urandom(300 * 1024 + 7)  # 19 chunks, the last a short one
    source = write(tmp_path / "store" / "big.bin", data)
    copied = tmp_path / "copy.bin"
    assert localdisk_module.copy_out(str(source), str(copied)) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    assert copied.read_bytes() == data


@pytest.mark.usefixtures("kernel_copies")
def test_a_big_copy_that_cannot_write_raises_and_leaves_no_hashing_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk mid-copy: the error reaches the caller (which discards the copy)."""
    real_write, calls = os.write, [0]

    def filling_up(fd: int, data: Any) -> int:
        calls[0] += 1
        if calls[0] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    source = write(tmp_path / "store" / "big.bin", os.urandom(300 * 1024))
    monkeypatch.setattr(localdisk_module.os, "write", filling_up)
    with pytest.raises(OSError, match="No space left"):
        localdisk_module.copy_out(str(source), str(tmp_path / "copy.bin"))
    assert not [t for t in threading.enumerate() if t.name == "pytest-assets-hash"]
