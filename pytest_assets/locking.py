"""A per-version lock between processes that only saves duplicate downloads.

The holder writes who it is beside the lock; a waiter says whom it waits for and keeps waiting
while the holder's download grows. If nothing moves for ``stall_seconds`` it stops waiting and
downloads itself: the cache's atomic install keeps that correct even on NFS, where locks lie.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import filelock

log = logging.getLogger("pytest_assets")

Progress = Callable[[], int]


def process_is_gone(host: object, pid: object) -> bool:
    """True when ``pid`` on ``host`` is this host's and no longer runs (killed, crashed): what
    it held can be taken at once. Another host's process, or any doubt, is False."""
    if host != socket.gethostname() or not isinstance(pid, int) or isinstance(pid, bool):
        return False
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _owner_path(lock: Path) -> Path:
    return lock.with_name(lock.name + ".owner")


def _describe_owner(lock: Path) -> str:
    try:
        owner = json.loads(_owner_path(lock).read_text())
        return f"pid {owner['pid']} on {owner['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def version_lock(
    lock: Path,
    label: str,
    progress: Progress,
    stall_seconds: float = 300.0,
    notify: Callable[[str], None] | None = None,
    poll_seconds: float = 0.5,
) -> Iterator[bool]:
    """Hold the lock for ``label``; yields False if we gave up waiting on a stalled holder."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    file_lock = filelock.FileLock(str(lock))
    say = notify or log.info
    acquired = False
    last_seen = progress()
    last_move = time.monotonic()
    next_note = time.monotonic() + 2.0
    while True:
        try:
            # Poll every 10 ms, not filelock's 50: 7 waiters on one download each lost up to
            # 50 ms after its end (benchmarks: 8 processes, 200 files, 2.0x -> 1.4x of one).
            file_lock.acquire(timeout=poll_seconds, poll_interval=0.01)
            acquired = True
            break
        except filelock.Timeout:
            pass
        now = time.monotonic()
        seen = progress()
        if seen != last_seen:
            last_seen, last_move = seen, now
        if now >= next_note:
            say(
                f"waiting for {_describe_owner(lock)}, which is downloading {label} "
                f"({seen / 1e6:.1f} MB so far)"
            )
            next_note = now + 15.0
        if now - last_move > stall_seconds:
            say(
                f"{_describe_owner(lock)} has made no progress on {label} for "
                f"{stall_seconds:.0f} s; downloading it here instead"
            )
            break
    try:
        if acquired:
            with suppress(OSError):
                _owner_path(lock).write_text(
                    json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
                )
        yield acquired
    finally:
        if acquired:
            file_lock.release()
