"""The local side of a push: which files a source contributes, and proof that they held still.

A version is immutable, so what a push reads from the disk is checked before a byte is
published (issue 10): a folder leaves out version-control folders, Python caches and OS litter,
and whatever its ``.assetsignore`` names (gitignore syntax, matched by ``pathspec``); a symbolic
link that leaves the folder is refused unless asked for (a link to ``~/.aws/credentials`` would
be published for good). Every file is stamped when it is hashed and stamped again once it is
uploaded: a file written to in between would publish bytes its ``.meta`` disagrees with, a
version no fetch could ever read.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AssetsError, InvalidAssetSpecError, SourceChangedError
from .manifest import FileEntry, Manifest, sha256_file, unsafe_relpath
from .spec import check_sub_part

if TYPE_CHECKING:
    import pathspec

IGNORE_FILE = ".assetsignore"
# Left out of every pushed folder; a "!pattern" line in .assetsignore brings one back.
DEFAULT_IGNORES = (
    ".git",
    ".hg",
    ".svn",
    "__pycache__/",
    "*.py[co]",
    ".ipynb_checkpoints/",
    ".DS_Store",
    "._*",
    "Thumbs.db",
    "desktop.ini",
)
# A file whose mtime is this close to its hashing may be rewritten within the same timestamp
# tick without its stamp changing, so it is hashed again after the upload. Ticks are a few ms
# where mtimes have sub-second digits; whole seconds mean ext3, HFS+ (1 s) or FAT (2 s).
_RACY_NS = 100_000_000
_RACY_WHOLE_SECONDS_NS = 2_000_000_000


@dataclass(frozen=True)
class Stamp:
    """What a write to a file changes: compared before hashing and after uploading."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, path: Path) -> Stamp:
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


@dataclass(frozen=True)
class SourceFile:
    """One file a push reads: where it is, and its stamp when it was hashed."""

    rel: str  # the version's relative path ("" for a file asset)
    path: Path
    stamp: Stamp
    hashed_at_ns: int  # wall clock just before the stamp, to tell racy stamps


@dataclass(frozen=True)
class LocalScan:
    """A source about to be pushed: its manifest, the files read for it, what was left out."""

    manifest: Manifest
    sources: tuple[SourceFile, ...]  # one per manifest entry, in the same order
    ignored: tuple[str, ...] = ()  # left out by the ignore rules; folders end with "/"

    def changed(self) -> list[str]:
        """The files that are no longer what was hashed (by stamp, and by hash when racy)."""
        changed = []
        for entry, source in zip(self.manifest.files, self.sources, strict=True):
            if not _still(source, entry):
                changed.append(source.rel or str(source.path))
        return changed


def _still(source: SourceFile, entry: FileEntry) -> bool:
    try:
        now = Stamp.of(source.path)
    except OSError:
        return False  # removed, or replaced by something unreadable
    if now != source.stamp:
        return False
    coarse = now.mtime_ns % 1_000_000_000 == 0
    if now.mtime_ns < source.hashed_at_ns - (_RACY_WHOLE_SECONDS_NS if coarse else _RACY_NS):
        return True  # any write since the hash would have moved the mtime
    try:
        return sha256_file(source.path) == (entry.size, entry.sha256)
    except OSError:
        return False


def changed_error(where: str, changed: list[str]) -> SourceChangedError:
    """Name the files; nothing was published, so pushing again later is always safe."""
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if changed[5:] else "")
    it, was, stops = ("it", "was", "stops") if len(changed) == 1 else ("they", "were", "stop")
    return SourceChangedError(
        f"{where}: {shown} changed while {it} {was} being pushed; nothing was published; push "
        f"again once {it} {stops} changing"
    )


def scan_local(path: Path, *, follow_links: bool = False) -> LocalScan:
    """The manifest of a local file or directory about to be pushed, with the files' stamps.

    Everything a fetch would refuse is refused here, before a byte reaches the store: a version
    is immutable, so one that cannot be read back could never be mended."""
    if path.is_dir():
        entries = []
        sources = []
        picked = _pick(path, follow_links)
        refused = picked.refused
        for rel, item in picked.files:
            problem = _unpushable(item) or _unfetchable(rel)
            if problem:
                refused.append(f"{rel!r}: {problem}")
                continue
            source, (size, digest) = _hash_source(path, rel, item)
            entries.append(FileEntry(rel, size, digest, _executable(item)))
            sources.append(source)
        if refused:
            more = f"; and {len(refused) - 5} more" if refused[5:] else ""
            shown = "; ".join(refused[:5]) + more
            raise AssetsError(
                f"cannot push the folder {path}: {shown}. Rename, replace or remove "
                f"{'it' if len(refused) == 1 else 'them'} (or list "
                f"{'it' if len(refused) == 1 else 'them'} in {IGNORE_FILE}), then push again; "
                "nothing was pushed"
            )
        if not entries and picked.ignored:
            raise _all_ignored(path, picked.ignored)
        return LocalScan(Manifest(True, tuple(entries)), tuple(sources), tuple(picked.ignored))
    problem = _unpushable(path)
    if problem:
        raise AssetsError(f"cannot push {path}: {problem}; push a regular file or a folder")
    source, (size, digest) = _hash_source(path, "", path)
    return LocalScan(Manifest(False, (FileEntry("", size, digest, _executable(path)),)), (source,))


def _all_ignored(path: Path, ignored: list[str]) -> AssetsError:
    """An empty push whose files the ignore rules took: say so, and which rules."""
    folders = sum(rel.endswith("/") for rel in ignored)
    counts = [
        f"{n} {word}{'s' if n != 1 else ''}"
        for n, word in ((len(ignored) - folders, "file"), (folders, "folder"))
        if n
    ]
    shown = ", ".join(ignored[:5]) + (f" and {len(ignored) - 5} more" if ignored[5:] else "")
    rules = f"{IGNORE_FILE} and the defaults" if (path / IGNORE_FILE).is_file() else "the defaults"
    return AssetsError(
        f"nothing to push: the folder {path} holds no files once the ignore rules ({rules}) "
        f"leave out {' and '.join(counts)} ({shown}); a '!PATTERN' line in {IGNORE_FILE} "
        "brings back what it names"
    )


def _unfetchable(rel: str) -> str | None:
    """Why a fetch could not hand this file back: the version's ``.meta`` would be refused, or
    no sub-part spec could name it (the grammar's rule, shared with :mod:`.spec`)."""
    refused = "a name a fetch would refuse (control character or backslash)"
    try:
        check_sub_part(rel)
    except InvalidAssetSpecError:
        return refused
    return refused if unsafe_relpath(rel) else None


def _executable(item: Path) -> bool:
    """The owner's execute bit, as git records it: ``run.sh`` must come back runnable."""
    return bool(item.stat().st_mode & stat.S_IXUSR)


@dataclass
class _Picked:
    files: list[tuple[str, Path]]
    refused: list[str]
    ignored: list[str]


def _pick(root: Path, follow_links: bool) -> _Picked:
    """The folder's files in the version's order, without what the ignore rules leave out.

    Ignored folders are not entered (a ``.git`` of many objects costs nothing); links to
    folders are listed, for the caller to refuse."""
    rules = _ignore_rules(root)
    inside = root.resolve()
    picked = _Picked([], [], [])
    pending = [("", str(root))]
    while pending:
        prefix, folder = pending.pop()
        try:
            with os.scandir(folder) as found:
                entries = list(found)
        except OSError as exc:
            picked.refused.append(f"{prefix.rstrip('/') or '.'!r}: cannot be read ({exc.strerror})")
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if rules.match_file(rel + "/"):
                    picked.ignored.append(rel + "/")
                else:
                    pending.append((rel + "/", entry.path))
                continue
            if rel == IGNORE_FILE:
                continue
            linked = entry.is_symlink()
            if rules.match_file(rel) or (linked and rules.match_file(rel + "/")):
                picked.ignored.append(rel + "/" if linked and entry.is_dir() else rel)
                continue
            item = Path(entry.path)
            if linked and item.is_file():
                target = item.resolve()
                if target.is_relative_to(inside) and _left_out(rules, target, inside):
                    picked.refused.append(
                        f"{rel!r}: a symbolic link to {target.relative_to(inside).as_posix()!r}, "
                        "which the ignore rules leave out (the link would publish it)"
                    )
                    continue
                if not follow_links and not target.is_relative_to(inside):
                    picked.refused.append(
                        f"{rel!r}: a symbolic link to {target}, outside the folder (push with "
                        "--follow-links, or follow_links=True, to publish what it points to)"
                    )
                    continue
            picked.files.append((rel, item))
    picked.files.sort(key=lambda pair: pair[0].split("/"))
    picked.ignored.sort(key=lambda rel: rel.split("/"))
    return picked


def _left_out(rules: pathspec.GitIgnoreSpec, target: Path, inside: Path) -> bool:
    """Whether the walk leaves out ``target`` (a file inside the folder): it, or one of its
    folders, which the walk does not enter."""
    parts = target.relative_to(inside).parts
    folders = ("/".join(parts[:depth]) + "/" for depth in range(1, len(parts)))
    return any(rules.match_file(folder) for folder in folders) or rules.match_file("/".join(parts))


def _ignore_rules(root: Path) -> pathspec.GitIgnoreSpec:
    import pathspec  # only pushes need it

    lines: Iterable[str] = DEFAULT_IGNORES
    ignore_file = root / IGNORE_FILE
    if ignore_file.is_file():
        try:
            text = ignore_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AssetsError(
                f"cannot read {ignore_file} ({exc}); fix or remove it, then push again"
            ) from None
        lines = [*DEFAULT_IGNORES, *text.splitlines()]
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _unpushable(item: Path) -> str | None:
    """Why a path cannot be pushed as a file (reading a FIFO would hang, a device never ends)."""
    if item.is_symlink() and not item.exists():
        return "a broken symbolic link"
    if item.is_symlink() and item.is_dir():
        return "a symbolic link to a folder, which a push does not follow (copy it in instead)"
    try:
        mode = item.stat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else None
        return f"{kind or 'a device or special file'}, not a regular file"
    return None


def _hash_source(root: Path, rel: str, item: Path) -> tuple[SourceFile, tuple[int, str]]:
    """Stamp, hash, stamp again: a file that changes while it is hashed is refused at once."""
    try:
        started = time.time_ns()
        before = Stamp.of(item)
        measured = sha256_file(item)
        if Stamp.of(item) != before or measured[0] != before.size:
            raise changed_error(f"cannot push {root}", [rel or str(item)])
    except OSError as exc:
        raise AssetsError(
            f"cannot push {item}: it cannot be read ({exc.strerror}); nothing was pushed"
        ) from None
    return SourceFile(rel, item, before, started), measured
