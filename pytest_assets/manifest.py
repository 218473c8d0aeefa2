"""What a version holds: its files, their sizes and hashes, read from (and written to) ``.meta``.

``.meta`` keeps modelkit's keys (``push_date``, ``is_directory``, ``contents``) so modelkit reads
what we push; our own keys ride beside them. A ``.meta`` from the store is untrusted input: every
relative path is checked here, before anything is written to disk.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
import re
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import IntegrityError, StoreError

HASH_CHUNK = 1024 * 1024  # read at a time when hashing, so large files cost no memory


@dataclass(frozen=True)
class FileEntry:
    """One object of a version; ``path`` is "" for a file asset, else the relative path."""

    path: str
    size: int | None
    sha256: str | None
    executable: bool = False  # the owner's execute bit at push (a script); 0555 in the cache


@dataclass(frozen=True)
class Manifest:
    is_directory: bool
    files: tuple[FileEntry, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def has_hashes(self) -> bool:
        return all(entry.sha256 for entry in self.files)

    @property
    def content_hash(self) -> str:
        """A digest of what the version holds (paths, sizes, hashes): equal content, equal hash."""
        stored = self.raw.get("content_sha256")
        if isinstance(stored, str) and stored:
            return stored
        return content_hash(self.is_directory, self.files)

    @property
    def total_size(self) -> int:
        return sum(entry.size or 0 for entry in self.files)


def content_hash(is_directory: bool, files: tuple[FileEntry, ...]) -> str:
    """The executable bit counts only where set, so hashes of versions without one stand."""
    body = json.dumps(
        {
            "is_directory": is_directory,
            "files": [
                [f.path, f.size, f.sha256, *(["x"] if f.executable else [])]
                for f in sorted(files, key=lambda f: f.path)
            ],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> tuple[int, str]:
    """(size, sha256) of a local file: what a version's ``.meta`` records for it."""
    with open(path, "rb") as handle:
        return sha256_stream(handle)


def sha256_stream(reader: IO[bytes], *, copy_to: IO[bytes] | None = None) -> tuple[int, str]:
    """(size, sha256) of what ``reader`` gives, chunk by chunk; with ``copy_to`` every chunk is
    also written there, so a copy is hashed in the pass that makes it."""
    digest = hashlib.sha256()
    size = 0
    while chunk := reader.read(HASH_CHUNK):
        digest.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def build_meta(
    manifest: Manifest,
    tool_version: str,
    cwd: Path | None = None,
    *,
    pushed_from: str | None = None,
) -> dict[str, Any]:
    """modelkit's keys first, then ours: who, where from (a notebook, ``pushed_from``), which
    commit, and every file's hash."""
    meta: dict[str, Any] = {
        "push_date": _dt.datetime.now(_dt.UTC).isoformat(),
        "is_directory": manifest.is_directory,
    }
    if manifest.is_directory:
        meta["contents"] = [entry.path for entry in manifest.files]
        meta["files"] = {e.path: _file_meta(e) for e in manifest.files}
    else:
        entry = manifest.files[0]
        meta["size"] = entry.size
        meta["sha256"] = entry.sha256
        if entry.executable:
            meta["executable"] = True
    meta["content_sha256"] = manifest.content_hash
    meta["pushed_by"] = f"{_user()}@{socket.gethostname()}"
    meta["tool"] = f"pytest-assets {tool_version}"
    if pushed_from:
        meta["pushed_from"] = pushed_from
    commit = git_commit(cwd or Path.cwd())
    if commit:
        meta["git_commit"] = commit
    return meta


def _file_meta(entry: FileEntry) -> dict[str, Any]:
    """``"executable"`` only when set: modelkit ignores the key, and most files have none."""
    detail: dict[str, Any] = {"size": entry.size, "sha256": entry.sha256}
    if entry.executable:
        detail["executable"] = True
    return detail


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def git_commit(cwd: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None


# Absolute, a backslash, a drive ("c:"), an empty, "." or ".." segment, a control character.
_UNSAFE_RELPATH = re.compile(r"\A/|\\|\A.:|(?:\A|/)\.{0,2}(?:/|\Z)|[\x00-\x1f\x7f]", re.S)


def unsafe_relpath(rel: str) -> bool:
    """What a fetch refuses in 'contents', and so what a push must refuse in a folder (one
    regular expression: a fetch asks it for every file of a ``.meta``)."""
    return _UNSAFE_RELPATH.search(rel) is not None


def check_relpath(rel: Any, where: str) -> str:
    """A relative path from an untrusted ``.meta``: refuse anything that could leave the version."""
    if not isinstance(rel, str) or not rel:
        raise StoreError(f"{where}: an entry of 'contents' is not a non-empty string: {rel!r}")
    if unsafe_relpath(rel):
        raise StoreError(
            f"{where}: unsafe path {rel!r} in 'contents' (absolute, '..', backslash, empty or "
            "control characters); refusing to download this version, the store is damaged or "
            "hostile"
        )
    return rel


def parse_meta(meta: Any, where: str) -> Manifest:
    """Read a ``.meta`` (ours or modelkit's) into a Manifest, refusing unsafe entries."""
    if not isinstance(meta, Mapping) or not isinstance(meta.get("is_directory", False), bool):
        raise StoreError(f"{where}: .meta is not an object with a boolean 'is_directory'")
    if not meta.get("is_directory", False):
        size = meta.get("size")
        digest = meta.get("sha256")
        entry = FileEntry(
            "", _int_or_none(size), _str_or_none(digest), meta.get("executable") is True
        )
        return Manifest(False, (entry,), meta)
    contents = meta.get("contents")
    if not isinstance(contents, list):
        raise StoreError(f"{where}: directory .meta has no 'contents' list")
    details = meta.get("files") if isinstance(meta.get("files"), Mapping) else {}
    assert isinstance(details, Mapping)
    seen: set[str] = set()
    entries = []
    for rel in contents:
        rel = check_relpath(rel, where)
        if rel in seen:
            raise StoreError(f"{where}: {rel!r} is listed twice in 'contents'")
        seen.add(rel)
        detail = details.get(rel) if isinstance(details.get(rel), Mapping) else {}
        assert isinstance(detail, Mapping)
        entries.append(
            FileEntry(
                rel,
                _int_or_none(detail.get("size")),
                _str_or_none(detail.get("sha256")),
                detail.get("executable") is True,
            )
        )
    _refuse_file_dir_clash(seen, where)
    return Manifest(True, tuple(entries), meta)


def _refuse_file_dir_clash(paths: set[str], where: str) -> None:
    """``a`` and ``a/b`` cannot both be files: one would overwrite the other's directory."""
    for rel in paths:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in paths:
                raise StoreError(f"{where}: {'/'.join(parts[:i])!r} is both a file and a folder")


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) == 64 else None


@dataclass(frozen=True)
class Mismatch:
    """How a file differs from its entry: the one comparison downloads and verify share."""

    what: str  # "size" or "sha256"
    found: int | str
    expected: int | str


def compare(entry: FileEntry, size: int, digest: str) -> Mismatch | None:
    """The first way (size, sha256) is not what ``entry`` says, or None when it agrees."""
    if entry.size is not None and size != entry.size:
        return Mismatch("size", size, entry.size)
    if entry.sha256 is not None and digest != entry.sha256:
        return Mismatch("sha256", digest, entry.sha256)
    return None


def check_file(
    local: str, entry: FileEntry, label: str, measured: tuple[int, str] | None = None
) -> tuple[int, str]:
    """Check a downloaded file against its entry: (size, sha256). ``measured`` is what was
    hashed on the way in; when it agrees the file is not read again. IntegrityError names it."""
    if measured is not None and compare(entry, *measured) is None:
        return measured
    size, digest = sha256_file(local)
    mismatch = compare(entry, size, digest)
    if mismatch is not None and mismatch.what == "size":
        raise IntegrityError(
            f"{label}: size {size} bytes, but the version's metadata says {entry.size}; the "
            "object was changed or truncated in the store, nothing was cached"
        )
    if mismatch is not None:
        raise IntegrityError(
            f"{label}: sha256 {digest[:12]}..., but the version's metadata says "
            f"{str(mismatch.expected)[:12]}...; the object was changed in the store, nothing "
            "was cached"
        )
    return size, digest
