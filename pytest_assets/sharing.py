"""A cache shared by the users of one machine (huggingface_hub#1141, #2580: downloads created
0600, lock files of one user blocking the others).

The cache root's mode decides. When its group may write (an administrator made it
``chgrp team; chmod 2775``), every folder the cache creates below it is ``2775`` and every
bookkeeping file group-writable (``0664``, lock files ``0666``) whatever each user's umask, so
what one user downloads, records, indexes or locks, the others can read, use and take over.
Cached data stays read-only to all (0444, 0555), as in a private cache. A private root (0755,
0700) keeps the umask's modes: nothing is widened. setgid on the root gives new entries its
group (the kernel's doing: the cache never chowns).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import stat
from pathlib import Path

DIR_MODE = 0o2775
FILE_MODE = 0o664
LOCK_MODE = 0o666  # any user may open a lock for writing (flock needs no more)


def shared(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` (a cache root, or a folder the cache made in a shared one) is
    group-writable: then what is created in it is too. Not a sticky one: ``/tmp`` as a cache
    is everyone's scratch, not a team's cache."""
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IWGRP) and not mode & stat.S_ISVTX


def make_dirs(path: Path, root: Path) -> None:
    """``path`` and its missing parents. Those below ``root`` are shared when ``root`` is;
    ``root`` itself, when created here, is private (only an administrator shares a cache)."""
    if path.is_dir():
        return
    root.mkdir(parents=True, exist_ok=True)
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        path.mkdir(parents=True, exist_ok=True)
        return
    share = shared(root)
    current = root
    for part in parts:
        current = current / part
        try:
            current.mkdir()
        except FileExistsError:
            continue  # made by another process meanwhile, with the same rule
        if share:
            with contextlib.suppress(OSError):
                os.chmod(current, DIR_MODE)


def widen(target: int | str | os.PathLike[str], folder: str | os.PathLike[str]) -> None:
    """Make a bookkeeping file just created in ``folder`` (a path, or an open descriptor)
    group-writable when ``folder`` is shared; best effort: a file left narrower costs another
    user a download, never a wrong answer."""
    if shared(folder):
        with contextlib.suppress(OSError):
            if isinstance(target, int):
                os.fchmod(target, FILE_MODE)
            else:
                os.chmod(target, FILE_MODE)


def unwritable(directory: Path, books: Path) -> str | None:
    """Why this user cannot download into the cache, and the way out (None: it can). Asked
    before any lock, folder or request, rather than failing halfway."""
    folder = books if books.is_dir() else directory
    if not folder.is_dir() or os.access(folder, os.W_OK | os.X_OK):
        return None  # a cache not made yet: creating it says what is wrong, if anything
    keep = f"and ASSETS_SHARED_DIRS to {directory} to keep using its copies"
    with contextlib.suppress(OSError):
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"it is not writable (a read-only filesystem): set ASSETS_DIR elsewhere {keep}"
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name  # not $USER: it may be another's (sudo, su)
    except KeyError:
        user = f"uid {os.geteuid()}"
    try:
        group = grp.getgrgid(os.stat(folder).st_gid).gr_name if shared(folder) else None
    except (KeyError, OSError):
        group = None
    if group is not None:
        return (
            f"it is not writable by user {user}: join its group {group}, or set ASSETS_DIR to "
            f"a cache of your own {keep}"
        )
    return (
        f"it is not writable by user {user}: fix its permissions, or set ASSETS_DIR to a "
        f"writable cache {keep}"
    )


def foreign_owner(path: Path) -> str | None:
    """The user owning the folder ``path`` when it is not us and we are not root: a read-only
    folder moves only for its owner (its ``..`` changes), so only they can remove it."""
    try:
        owner = os.lstat(path).st_uid
    except OSError:
        return None
    if owner == os.geteuid() or os.geteuid() == 0 or not os.path.isdir(path):
        return None
    try:
        return pwd.getpwuid(owner).pw_name
    except KeyError:
        return f"uid {owner}"
