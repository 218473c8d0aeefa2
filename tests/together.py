"""Processes released at one instant, for the tests of races between processes: each says it
is ready (its imports done) and waits for the word, ``print("ready", flush=True);
sys.stdin.readline()``; the test gives it to all of them once all are ready. A start time a
few seconds ahead made every such test wait out those seconds, and a machine slow to start
the processes could still miss it."""

from __future__ import annotations

import subprocess


def start_together(argvs: list[list[str]], timeout: float = 120) -> list[subprocess.Popen[str]]:
    """Start every process; when each has printed "ready", release them all. Their stdout
    after "ready" is left for ``communicate``."""
    procs = [
        subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            out, err = proc.communicate(timeout=timeout)
            raise AssertionError(f"a process ended before it was ready: {line}{out}\n{err}")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return procs
