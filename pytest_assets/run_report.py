"""The audit trail of one pytest run: which data each test ran on.

Every ``asset(spec)`` a test calls becomes a :class:`Use`: the spec, the exact version and
content hash it resolved to, through ``assets.lock`` or not, and where the bytes came from (a
shared cache, the cache, the store). Each use is a property of the test in pytest's JUnit XML
(``record_property``), so a CI dashboard shows the data a failing test ran on; with
``--assets-report FILE`` the run's uses, gathered from every xdist worker, are written as JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AssetsError, ConfigError
from .localdisk import write_atomic

if TYPE_CHECKING:
    from .pins import Resolution

_WIRE_KEY = "pytest_assets_uses"  # in xdist's workeroutput
PROPERTY = "asset"  # the JUnit property name, one per spec a test used
FORMAT = 1


@dataclass(frozen=True)
class Use:
    test: str  # the pytest node id
    requested: str
    name: str
    version: str
    content_sha256: str | None
    pinned: bool
    source: str

    @property
    def text(self) -> str:
        """The JUnit property's value: ``vocab:0 -> vocab:0.3 (content 1a2b..., assets.lock,
        from shared cache /mnt/x)``."""
        digest = f"content {self.content_sha256[:16]}" if self.content_sha256 else "no hash"
        via = ", assets.lock" if self.pinned else ""
        return f"{self.requested} -> {self.name}:{self.version} ({digest}{via}, {self.source})"


def use_of(test: str, resolution: Resolution, content_sha256: str | None) -> Use:
    resolved = resolution.resolved
    assert resolved.version is not None  # a resolution always names its version
    return Use(
        test,
        resolution.requested,
        resolved.name,
        resolved.version,
        content_sha256,
        resolution.pinned,
        resolution.source,
    )


def content_of(assets: Any, name: str, version: str) -> str | None:
    try:
        found: str | None = assets.content_hash(name, version)
    except AssetsError:
        return None
    return found


# -- xdist: a worker's uses travel to the controller as plain tuples --------------------------


def publish(workeroutput: MutableMapping[str, Any], uses: Iterable[Use]) -> None:
    workeroutput[_WIRE_KEY] = [dataclasses.astuple(use) for use in uses]


def received(workeroutput: MutableMapping[str, Any]) -> list[Use]:
    return [Use(*row) for row in workeroutput.get(_WIRE_KEY, ())]


# -- the JSON file ---------------------------------------------------------------------------


def report_body(uses: Iterable[Use], store: str | None, lock_file: Path | None) -> dict[str, Any]:
    """One entry per spec and version it resolved to, with every test that used it and every
    place its bytes came from (a version read from the store by one worker is a cache hit for
    the next)."""
    specs: dict[tuple[str, str, str], dict[str, Any]] = {}
    for use in sorted(uses, key=lambda u: (u.requested, u.name, u.version, u.test)):
        entry = specs.setdefault(
            (use.requested, use.name, use.version),
            {
                "spec": use.requested,
                "name": use.name,
                "version": use.version,
                "content_sha256": use.content_sha256,
                "pinned": use.pinned,
                "sources": [],
                "tests": [],
            },
        )
        if use.source not in entry["sources"]:
            entry["sources"].append(use.source)
        if use.test not in entry["tests"]:
            entry["tests"].append(use.test)
    return {
        "format": FORMAT,
        "written_at": _dt.datetime.now(_dt.UTC).isoformat(),
        "store": store,
        "lock_file": str(lock_file) if lock_file is not None and lock_file.exists() else None,
        "specs": list(specs.values()),
    }


def write_report(path: Path, body: dict[str, Any]) -> None:
    data = (json.dumps(body, indent=1) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(os.fspath(path), data, tmp_prefix=f".{path.name}.")
    except OSError as exc:
        raise ConfigError(
            f"--assets-report {path}: cannot write it ({exc.strerror or exc}); give a path in "
            "a writable directory"
        ) from None


def note_use(node: Any, assets: Any, resolution: Resolution, uses: list[Use]) -> None:
    """One ``asset(spec)`` of the test ``node``: kept for the report and shown as its JUnit
    property (once per spec and version, however often the test asks)."""
    resolved = resolution.resolved
    assert resolved.version is not None
    head = f"{resolution.requested} -> {resolved.name}:{resolved.version} ("
    if any(
        name == PROPERTY and str(value).startswith(head) for name, value in node.user_properties
    ):
        return
    use = use_of(node.nodeid, resolution, content_of(assets, resolved.name, resolved.version))
    node.user_properties.append((PROPERTY, use.text))
    uses.append(use)
