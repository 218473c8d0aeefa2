"""``assets.lock`` at the end of a pytest run: remember the partial specs the run used (for
``pytest-assets lock``), then ``--assets-lock`` writes their pins and ``--assets-lock-check``
fails the run when a spec resolved outside the lock file or a pinned version changed.

Works on the :class:`PinReport` merged over every process, so a run with xdist decides as one
without. Returns the lines to show; the terminal prints them after the summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .display import plural
from .errors import AssetsError

if TYPE_CHECKING:
    from .assets import Assets
    from .config import Config
    from .xdist_report import PinReport


@dataclass(frozen=True)
class PinLine:
    """One line for the terminal; ``color`` is "" (plain), "yellow" or "red"."""

    color: str
    text: str


@dataclass
class PinOutcome:
    lines: list[PinLine] = field(default_factory=list)
    failed: bool = False  # --assets-lock-check fails the run

    def say(self, color: str, text: str) -> None:
        self.lines.append(PinLine(color, text))


def finish_pins(
    report: PinReport, loaded: Callable[[], Config], *, write: bool, check: bool
) -> PinOutcome:
    """Apply ``write`` (``--assets-lock``) and ``check`` (``--assets-lock-check``) to the
    run's ``report``; ``loaded`` gives the session's configuration (it may raise)."""
    outcome = PinOutcome()
    if report.empty:
        if write or check:
            outcome.say("", "assets.lock: no partial spec resolved, nothing to do")
        return outcome
    try:
        assets = _lock_file_owner(report, loaded(), outcome)
        path = assets.pins.path
        existed = path is not None and path.exists()
        assets.remember_specs(sorted(report.pins))
        written = _write(assets, report, outcome) if write else set()
    except AssetsError as exc:
        outcome.say("red", f"assets.lock: {exc}")
        outcome.failed = check
        return outcome
    _warn(report, path, existed, written, outcome)
    outside = sorted(report.unpinned if existed else report.pins)
    if check and (outside or report.problems):
        if outside:
            where = f"outside the lock {path}" if existed else f"with no lock at {path}"
            reason = (
                f"{plural(len(outside), 'partial spec')} resolved {where}: {', '.join(outside)}"
            )
        else:
            reason = plural(len(report.problems), "lock problem") + " (above)"
        outcome.say("red", f"assets.lock check FAILED (--assets-lock-check): {reason}")
        outcome.failed = True
    return outcome


def _lock_file_owner(report: PinReport, loaded: Config, outcome: PinOutcome) -> Assets:
    """An ``Assets`` following the lock file the tests followed (a conftest's ``Assets`` may
    name its own); with several, the configured one, said loudly."""
    from .assets import Assets

    assets = Assets.from_loaded(loaded)
    if len(report.paths) == 1:
        assets.pins.path = Path(next(iter(report.paths)))
    elif len(report.paths) > 1:
        shown = ", ".join(sorted(report.paths))
        outcome.say("yellow", f"assets.lock: the tests followed several lock files: {shown}")
        outcome.say("yellow", f"assets.lock: this run's entries go to {assets.pins.path}")
    return assets


def _write(assets: Assets, report: PinReport, outcome: PinOutcome) -> set[str]:
    """``--assets-lock``: pin every partial spec the run resolved; the specs whose pin changed."""
    from .pinfile import Pin

    written: set[str] = set()
    if not report.pins:
        return written
    found = {key: Pin(version, digest) for key, (version, digest) in report.pins.items()}
    for key, old, new in assets.update_lock(entries=found):
        changed = " (metadata hash changed)" if old == new else ""
        outcome.say("yellow", f"assets.lock: {key} {old or '(new)'} -> {new}{changed}")
        written.add(key)
    outcome.say("", f"assets.lock: {'wrote' if written else 'up to date:'} {assets.pins.path}")
    return written


def _warn(
    report: PinReport, path: Path | None, existed: bool, written: set[str], outcome: PinOutcome
) -> None:
    """Specs the lock file missed, specs that resolved twice (a push mid-run), lock problems."""
    if existed and report.unpinned - written:
        missing = ", ".join(sorted(report.unpinned - written))
        outcome.say("yellow", f"assets.lock: not in {path}, resolved without it: {missing}")
        outcome.say("yellow", "assets.lock: pytest --assets-lock adds them")
    for key, versions in sorted(report.diverged.items()):
        kept = f"{report.pins[key][0]} was kept{' in the lock' if key in written else ''}"
        seen = " and ".join(sorted(versions))
        outcome.say(
            "yellow", f"assets.lock: {key} resolved to {seen} in this run (a push while it ran?)"
        )
        outcome.say(
            "yellow", f"assets.lock: {kept}; run the tests again to be sure they pass on it"
        )
    for problem in sorted(report.problems):
        outcome.say("red", f"assets.lock: {problem}")
