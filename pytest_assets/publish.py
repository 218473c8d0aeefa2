"""Publishing a version: merging it into ``<name>.versions`` under the store's lock.

The store has no transactions, so ``.versions`` is rewritten whole under a create-only lock
object ``<name>.versions.lock``; the merge also re-adds versions a lost race dropped (every
version with a ``.meta`` is listed). A lock whose holder died is broken after a minute.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from .catalog import Catalog
from .errors import StoreError
from .locking import process_is_gone
from .spec import label
from .store import Store
from .versioning import sort_versions

log = logging.getLogger("pytest_assets")

_STALE_SECONDS = 60.0
_WAIT_SECONDS = 300.0
_ROUNDS = 5


@dataclass
class HeldLock:
    """The ``.versions`` lock while it is held; ``releases`` are store deletes to send with
    the lock's own (one round trip), ``ours`` is what a read-back of the lock showed."""

    path: str
    token: str
    releases: list[Callable[[], None]] = field(default_factory=list)
    ours: bool | None = None  # None: not read back yet


@contextlib.contextmanager
def versions_lock(
    store: Store, name: str, *, while_taking: Callable[[], None] | None = None
) -> Iterator[HeldLock]:
    """Hold ``<name>.versions.lock``; ``while_taking`` runs while the lock is being taken
    (one round trip instead of two). If it fails, the taking stops at once and a lock it got
    is released; its error is raised, with the taking's own failure noted on it."""
    path = store.versions_lock_path(name)
    token = _take_while(store, path, name, while_taking)
    held = HeldLock(path, token)
    try:
        yield held
    except BaseException:
        _release(store, held)
        raise
    if held.ours is None:
        current = store.read_json(path, "reading the .versions lock")
        held.ours = isinstance(current, dict) and current.get("token") == token
    releases = list(held.releases)
    if held.ours:
        releases.insert(0, partial(store.delete, path, "unlocking .versions"))
    if releases:
        store.gather(*releases)


def publish(
    catalog: Catalog,
    name: str,
    version: str,
    *,
    claim: str,
    write_meta: Callable[[], None] | None,
) -> None:
    """List ``version`` in ``.versions``, then release the push's claim with the lock.

    ``write_meta`` (writing ``.meta``) runs while the lock is being taken: the merge lists the
    ``.meta`` objects, so ``.meta`` must exist before the merge, not before the lock."""
    store = catalog.store
    for _round in range(_ROUNDS):
        with versions_lock(store, name, while_taking=write_meta) as held:
            write_meta = None
            listed_or_none, metas = store.gather(
                lambda: catalog.read_versions(name), lambda: catalog.version_objects(name).metas
            )
            merged = sort_versions(
                catalog.versioning, set(listed_or_none or []) | metas | {version}
            )
            store.write_bytes(
                store.versions_path(name),
                json.dumps({"versions": merged}).encode(),
                f"writing {name}.versions",
                create_only=False,
            )
            listed_now, current = store.gather(
                lambda: catalog.read_versions(name),
                lambda: store.read_json(held.path, "reading the .versions lock"),
            )
            held.ours = isinstance(current, dict) and current.get("token") == held.token
            listed = version in (listed_now or [])
            if listed:
                what = f"releasing the claim on {label(name, version)}"
                held.releases.append(partial(store.delete, claim, what))
        if listed:
            return
    raise StoreError(
        f"{label(name, version)} was pushed but could not be added to {name}.versions in "
        f"{store.display_url}; push the same content again to finish it"
    )


def _take_while(store: Store, path: str, name: str, work: Callable[[], None] | None) -> str:
    if work is None:
        token = _take(store, path, name, threading.Event())
        assert token is not None  # only a set event stops the taking
        return token
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        taking = pool.submit(_take, store, path, name, stop)
        try:
            work()
        except BaseException as exc:
            stop.set()  # do not wait for a lock we no longer need
            try:
                got = taking.result()
            except Exception as failure:
                exc.add_note(f"taking the .versions lock failed too: {failure}")
            else:
                if got is not None:
                    _release(store, HeldLock(path, got))
            raise
        token = taking.result()
        assert token is not None  # the event is only set when work fails
        return token


def _take(store: Store, path: str, name: str, stop: threading.Event) -> str | None:
    """Create the lock object; None when ``stop`` is set before it is ours."""
    token = uuid.uuid4().hex
    body = json.dumps(
        {"token": token, "time": time.time(), "by": socket.gethostname(), "pid": os.getpid()}
    )
    deadline = time.monotonic() + _WAIT_SECONDS
    while not stop.is_set():
        try:
            store.write_bytes(path, body.encode(), "locking .versions", create_only=True)
            return token
        except FileExistsError:
            held = store.read_json(path, "reading the .versions lock")
            stamp = held.get("time") if isinstance(held, dict) else None
            if (
                not isinstance(stamp, int | float)
                or time.time() - stamp > _STALE_SECONDS
                or (isinstance(held, dict) and process_is_gone(held.get("by"), held.get("pid")))
            ):
                store.delete(path, "breaking a stale .versions lock")
                continue
        if time.monotonic() > deadline:
            raise StoreError(
                f"{name}.versions in {store.display_url} stayed locked for "
                f"{_WAIT_SECONDS:.0f} s; if no push is running, delete {path}"
            )
        stop.wait(random.uniform(0.02, 0.2))
    return None


def _release(store: Store, held: HeldLock) -> None:
    """Release the lock if it is still ours; a failure to release is logged, never raised
    over the error that made us release it (a stale lock is broken after a minute)."""
    try:
        current = store.read_json(held.path, "reading the .versions lock")
        if isinstance(current, dict) and current.get("token") == held.token:
            store.delete(held.path, "unlocking .versions")
    except Exception as exc:
        log.warning("could not release %s: %s", held.path, exc)
