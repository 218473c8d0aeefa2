"""Running a child of ``_child.py`` and killing it: at a chosen point or after a delay."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import _forkserver
from ._helpers import CHILD

Child = subprocess.Popen[str] | _forkserver.Forked


@dataclass
class Outcome:
    returncode: int
    phases: list[str]
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def where(self) -> str:
        """The phase the process was in when it died (or "done"): its own "killed at" mark
        when it killed itself, even if another of its threads marked a phase between that mark
        and the kill (a push takes the ``.versions`` lock while it writes ``.meta``)."""
        killed = [phase for phase in self.phases if phase.startswith("killed at ")]
        if killed:
            return killed[-1]
        return self.phases[-1] if self.phases else "starting"

    def result(self) -> dict[str, object]:
        assert self.returncode == 0, self.stderr
        data: dict[str, object] = json.loads(self.stdout.splitlines()[-1])
        return data


def child_env() -> dict[str, str]:
    return dict(os.environ, GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT="false")


def start(args: list[str], phases: Path) -> Child:
    """A child running ``args``: forked from a warm process where it can be (the same child,
    without an interpreter's start-up), else a new interpreter."""
    phases.unlink(missing_ok=True)
    proc: Child
    if _forkserver.available():
        proc = _forkserver.start(args, child_env())
    else:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        out, err = proc.communicate(timeout=60)
        raise AssertionError(f"child did not start: {line}{out}\n{err}")
    return proc


def finish(proc: Child, phases: Path, kill_after: float | None) -> Outcome:
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    marks = phases.read_text().split("\n")[:-1] if phases.exists() else []
    return Outcome(proc.returncode, marks, out, err)


def run(args: list[str], phases: Path, kill_after: float | None = None) -> Outcome:
    """Start the child, wait for it to be ready, then let it run or SIGKILL it after a delay."""
    return finish(start(args, phases), phases, kill_after)


def trial_rng() -> tuple[random.Random, int]:
    """A random source for kill delays, with its seed (shown in failures to replay them)."""
    seed = int.from_bytes(os.urandom(4), "big")
    return random.Random(seed), seed
