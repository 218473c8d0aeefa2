"""The cache's content index: sha256 -> the cached files holding those bytes (any store folder,
any asset, any version), so a fetch finds known content by key, never by walking the cache.

One SQLite file, ``<cache>/.pytest-assets/content.sqlite``. Why SQLite rather than an
append-only file: a fetch asks about all the files of a version in one keyed query instead of
reading the whole index; installs and prunes of several processes are transactions (a busy
timeout, no lost update); a process killed mid-write leaves the last committed state (rollback
journal, not WAL, which needs shared memory that NFS lacks; no fsync: a kill loses nothing
the OS holds, see ``_db`` for a power cut). The index is only a hint: every file linked from it
is found again through its version's record and re-hashed, so an entry that is stale, an index
that is damaged or a filesystem where SQLite's locks do not hold costs downloads, never
correctness. Any SQLite error therefore reads as "nothing known".
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sharing import widen

INDEX_FILE = "content.sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS files (sha256 TEXT NOT NULL, size INTEGER NOT NULL, "
    "folder TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, relpath TEXT NOT NULL, "
    "PRIMARY KEY (folder, name, version, relpath))",
    "CREATE INDEX IF NOT EXISTS files_by_sha256 ON files (sha256)",
    "CREATE TABLE IF NOT EXISTS filled (done INTEGER NOT NULL)",
)
_CHUNK = 500  # sha256s per query: SQLite's limit on parameters is 999 in old builds


@dataclass(frozen=True)
class Holder:
    """A cached file the index says holds some content: ``relpath`` in one cached version."""

    sha256: str
    size: int
    folder: str
    name: str
    version: str
    relpath: str


class ContentIndex:
    """The index of one cache (``books`` is its bookkeeping folder); ``read_only`` for a shared
    tier's: opened read-only (a read-only mount works), never created, changed or dropped."""

    def __init__(self, books: Path, *, read_only: bool = False) -> None:
        self.path = books / INDEX_FILE
        self.read_only = read_only

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection; a new index is made group-writable in a shared cache (SQLite gives its
        journal the same mode), so every user indexes what they fetch. A user who cannot
        write it still reads it: their writes fail and are dropped (see ``_write``)."""
        if self.read_only:
            uri = f"{self.path.absolute().as_uri()}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as ro:
                yield ro
            return
        new = not self.path.exists()
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if new:
                widen(self.path, self.path.parent)
            db.execute("PRAGMA journal_mode=DELETE")
            # no fsync per commit: a hint lost in a power cut costs downloads, and an index
            # left damaged is dropped and rebuilt from the records (below)
            db.execute("PRAGMA synchronous=OFF")
            for statement in _SCHEMA:
                db.execute(statement)
            yield db
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, sqlite3.OperationalError):
                # not a database, or a damaged one: start afresh (the next use refills it
                # from the records); busy or locked is OperationalError, and passes
                with contextlib.suppress(OSError):
                    self.path.unlink()
            raise
        finally:
            db.close()

    def filled(self) -> bool:
        """Whether the versions cached before the index existed have been added to it."""
        if not self.path.exists():
            return False
        try:
            with self._db() as db:
                return db.execute("SELECT 1 FROM filled").fetchone() is not None
        except sqlite3.Error:
            return True  # a damaged index is not refilled at every fetch: it is only a hint

    def add(
        self, folder: str, name: str, version: str, files: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Index a version just installed (``files``: its record's relpath -> size, sha256)."""
        rows = [
            (d["sha256"], d["size"], folder, name, version, rel)
            for rel, d in files.items()
            if isinstance(d.get("sha256"), str) and isinstance(d.get("size"), int)
        ]
        self._write("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)

    def mark_filled(self) -> None:
        self._write("INSERT INTO filled SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM filled)", [()])

    def forget(self, folder: str, name: str, version: str) -> None:
        """Drop a version removed from the cache (prune, a repair's new download)."""
        if self.path.exists():
            self._write(
                "DELETE FROM files WHERE folder = ? AND name = ? AND version = ?",
                [(folder, name, version)],
            )

    def drop(self, holder: Holder) -> None:
        """Drop one entry found lying (the file is gone, changed, or not what its record says)."""
        self._write(
            "DELETE FROM files WHERE folder = ? AND name = ? AND version = ? AND relpath = ?",
            [(holder.folder, holder.name, holder.version, holder.relpath)],
        )

    def lookup(self, sha256s: Iterable[str]) -> dict[str, list[Holder]]:
        """The holders of each known sha256 (unknown ones are absent)."""
        wanted = sorted(set(sha256s))
        found: dict[str, list[Holder]] = {}
        if not wanted or not self.path.exists():
            return found
        try:
            with self._db() as db:
                for start in range(0, len(wanted), _CHUNK):
                    chunk = wanted[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    query = f"SELECT * FROM files WHERE sha256 IN ({marks})"
                    for row in db.execute(query, chunk):
                        holder = Holder(*row)
                        found.setdefault(holder.sha256, []).append(holder)
        except sqlite3.Error:
            return {}
        return found

    def holders(self) -> list[Holder]:
        """Every entry (for tests and checks; a fetch never reads the whole index)."""
        try:
            with self._db() as db:
                return [Holder(*row) for row in db.execute("SELECT * FROM files")]
        except sqlite3.Error:
            return []

    def _write(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows or self.read_only:
            return
        try:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(statement, rows)
                db.execute("COMMIT")
        except sqlite3.Error:
            pass  # a hint not written: that content is downloaded again, nothing is wrong
