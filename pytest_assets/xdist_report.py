"""What one pytest process tells the session's summary and ``assets.lock``, and how an xdist
worker sends it to the controller (``workeroutput`` holds plain lists, tuples and strings).

Values only: the plugin session collects them, the terminal renders them, the pin session
writes and checks ``assets.lock`` from the merged :class:`PinReport`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

# The keys in xdist's ``workeroutput``, one per part of a worker's report.
_RECORDS_KEY = "pytest_assets"
_PINS_KEY = "pytest_assets_lock"
_REPLACED_KEY = "pytest_assets_replaced"
_MODELS_KEY = "pytest_assets_models"


@dataclass(frozen=True)
class Record:
    """One summary line: a spec and the exact version (or the override) it gave."""

    requested: str
    name: str
    version: str | None
    digest: str | None
    override: str | None
    pinned: bool = False  # resolved through assets.lock

    @property
    def sort_key(self) -> tuple[str, ...]:
        return tuple(map(str, dataclasses.astuple(self)))


@dataclass(frozen=True)
class ReplacedLine:
    """A line about a conftest's own ``assets`` fixture: what it uses, or (``ignored``) a
    configured setting it does not follow, shown loudly at any ``-q``."""

    ignored: bool
    text: str


@dataclass
class PinReport:
    """What the session's ``Assets`` objects say about ``assets.lock``; merged over workers."""

    pins: dict[str, tuple[str, str]] = field(default_factory=dict)  # spec: (version, hash)
    unpinned: set[str] = field(default_factory=set)  # resolved outside an existing lock file
    problems: set[str] = field(default_factory=set)
    # spec: every version it resolved to, when workers (or Assets objects) disagreed
    diverged: dict[str, set[str]] = field(default_factory=dict)
    paths: set[str] = field(default_factory=set)  # the lock files the Assets objects follow

    @property
    def empty(self) -> bool:
        return not (self.pins or self.unpinned or self.problems)

    def add(self, key: str, version: str, digest: str) -> None:
        """One partial spec's resolution; a second, different one means a push mid-run."""
        seen = self.pins.get(key)
        if seen is not None and seen[0] != version:
            self.diverged.setdefault(key, {seen[0]}).add(version)
        self.pins[key] = (version, digest)

    def merge(self, other: PinReport) -> None:
        for key, (version, digest) in sorted(other.pins.items()):
            self.add(key, version, digest)
        for key, versions in other.diverged.items():
            self.diverged.setdefault(key, set()).update(versions)
        self.unpinned |= other.unpinned
        self.problems |= other.problems
        self.paths |= other.paths

    def to_wire(self) -> dict[str, Any]:
        return {
            "entries": [(key, *value) for key, value in sorted(self.pins.items())],
            "unlocked": sorted(self.unpinned),
            "problems": sorted(self.problems),
            "paths": sorted(self.paths),
            "diverged": [
                (key, sorted(versions)) for key, versions in sorted(self.diverged.items())
            ],
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> PinReport:
        report = cls(
            unpinned=set(wire["unlocked"]),
            problems=set(wire["problems"]),
            paths=set(wire["paths"]),
            diverged={key: set(versions) for key, versions in wire["diverged"]},
        )
        for key, version, digest in wire["entries"]:
            report.add(key, version, digest)
        return report


@dataclass(frozen=True)
class WorkerReport:
    """Everything one process contributes: its summary records, its pin report and what it
    said about a replaced ``assets`` fixture, and which modelkit model asked for which spec."""

    records: frozenset[Record]
    pins: PinReport
    replaced: tuple[ReplacedLine, ...]
    models: frozenset[tuple[str, str]] = frozenset()  # (spec, model)

    def publish(self, workeroutput: MutableMapping[str, Any]) -> None:
        """On an xdist worker: hand the report to the controller."""
        workeroutput[_RECORDS_KEY] = [
            dataclasses.astuple(r) for r in sorted(self.records, key=lambda r: r.sort_key)
        ]
        workeroutput[_PINS_KEY] = self.pins.to_wire()
        workeroutput[_REPLACED_KEY] = [[line.ignored, line.text] for line in self.replaced]
        workeroutput[_MODELS_KEY] = sorted(self.models)

    @classmethod
    def received(cls, workeroutput: MutableMapping[str, Any]) -> WorkerReport:
        """On the controller: what a finished worker published (empty if it crashed first)."""
        pins = workeroutput.get(_PINS_KEY)
        return cls(
            records=frozenset(Record(*row) for row in workeroutput.get(_RECORDS_KEY, ())),
            pins=PinReport.from_wire(pins) if pins is not None else PinReport(),
            replaced=_replaced(workeroutput.get(_REPLACED_KEY, ())),
            models=frozenset((spec, model) for spec, model in workeroutput.get(_MODELS_KEY, ())),
        )


def _replaced(rows: Iterable[Any]) -> tuple[ReplacedLine, ...]:
    return tuple(ReplacedLine(bool(ignored), str(text)) for ignored, text in rows)
