"""A per-version lock between processes that only saves duplicate downloads.

The holder writes who it is beside the lock; a waiter says whom it waits for and keeps waiting
while the holder's download grows. If nothing moves for ``stall_seconds`` it stops waiting and
downloads itself: the cache's atomic install keeps that correct even on NFS, where locks lie.

The lock is ``flock`` on a file that stays (never unlinked: a waiter holding the old inode would
lock alone). Not filelock: its handling of another user's lock file changed between releases,
and a shared cache needs one rule (:mod:`.sharing`): there a lock file is created ``0666``, so
any user can open it for writing. One that still cannot be (made by an older release, or a
umask, as ``0644`` of another user) is opened read-only instead: ``flock`` needs no write
access, and the read-only lock excludes the others' exactly as a writable one would. Where even
that fails (unreadable, or a filesystem whose ``flock`` wants a writable descriptor), the
download goes on without the lock, as after a stalled holder: it may be done twice, never
wrongly.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

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


def _open_lock(lock: Path, mode: int) -> int | None:
    """A descriptor to ``flock``, or None when this user cannot open the lock file at all."""
    flags = os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(lock, os.O_RDWR | flags, mode)
    except PermissionError:
        try:
            return os.open(lock, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
    if mode != 0o644:
        with suppress(OSError):  # not the umask's: another user's process may open it
            if os.fstat(fd).st_uid == os.geteuid():
                os.fchmod(fd, mode)
    return fd


def _try_flock(fd: int) -> bool | None:
    """True: locked; False: held by another; None: this descriptor cannot be locked."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        return False if exc.errno in (errno.EAGAIN, errno.EACCES) else None
    return True


def _write_owner(lock: Path) -> None:
    """Whom a waiter waits for: replaced whole, so another user's old owner file is no bar."""
    owner = _owner_path(lock)
    tmp = owner.with_name(f".{owner.name}.{uuid.uuid4().hex[:8]}")
    with suppress(OSError):
        tmp.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        os.chmod(tmp, 0o644)
        os.replace(tmp, owner)
    with suppress(OSError):
        tmp.unlink(missing_ok=True)


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
    mode: int = 0o644,
) -> Iterator[bool]:
    """Hold the lock for ``label``; yields False if we gave up waiting on a stalled holder or
    could not take the lock at all (see above). ``mode``: the lock file's, when created."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    say = notify or log.info
    fd = _open_lock(lock, mode)
    acquired, unlockable = False, fd is None
    last_seen = progress()
    last_move = time.monotonic()
    next_note = time.monotonic() + 2.0
    while not unlockable:
        # Try every 10 ms, look at the holder's progress every ``poll_seconds``: 7 waiters on
        # one download each lost up to 50 ms after its end when tried every 50 (benchmarks:
        # 8 processes, 200 files, 2.0x -> 1.4x of one).
        deadline = time.monotonic() + poll_seconds
        taken = _try_flock(fd) if fd is not None else None
        while taken is False and time.monotonic() < deadline:
            time.sleep(0.01)
            taken = _try_flock(fd) if fd is not None else None
        if taken is None:
            unlockable = True
            break
        if taken:
            acquired = True
            break
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
    if unlockable:
        log.info(f"the lock {lock} cannot be taken by this user; downloading {label} unlocked")
    try:
        if acquired:
            _write_owner(lock)
        yield acquired
    finally:
        if fd is not None:
            os.close(fd)  # releases the flock
