"""A big fetch resumed after a kill at 50 %: how much of the object is downloaded again.

A worker process fetches the big file through the ranged engine (from 1 MB, whatever the
default threshold: a stream that splits into ranges on a slow link) and is SIGKILLed once the
proxy in front of the store has carried half the object to it; a second worker then fetches
into the same cache. Bytes are counted at the proxy (the store's own proxy on a ``+cap``
column, a zero-delay one on loopback), so the figure is what crossed the wire, and the result
is hashed here against the source.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import harness as h
from bigfile import _size_mb, _source, ensure_big
from context import Context, Row, run_worker

from pytest_assets.manifest import sha256_file

KILL_AT = 0.5
HOW = (
    "The resumed fetch: a worker fetching the big file through the ranged engine (from 1 MB; "
    "it splits into ranges on a slow link) is SIGKILLed once the proxy has carried half of it "
    "(a zero-delay proxy on loopback); a second worker fetches into the same cache. Bytes "
    "downloaded again are counted at the proxy; the result is hashed against the source."
)
MISSED = (
    "resume misses: a kill loses what was written since state.json last recorded the ranges' "
    "progress (every 1 % of the object, at least `ranged.STATE_BYTES` apart) and what the link "
    "still carried; the share also counts the resumed fetch's requests and a kill that landed "
    "past 50 %. Saving more often (`STATE_PARTS`) trades small writes for fewer bytes lost."
)


def scenario_resume(ctx: Context, target: h.Target) -> None:
    """Fetch killed when half the bytes are in, then fetched again: bytes downloaded again."""
    if not target.remote or (target.proxy is not None and not target.capped):
        return
    if target.kind == "az":  # ranged reads are s3fs' and gcsfs' only: nothing to resume
        return
    mb = _size_mb(ctx, target)
    size = mb << 20
    source = _source(ctx, target)
    spec = ensure_big(ctx, target, source)
    counted, proxy = (target, target.proxy) if target.proxy else h.counting_proxy(target)
    assert proxy is not None
    job: dict[str, Any] = {"cmd": "fetch", "store": counted.url, "options": counted.options}
    job |= {"spec": spec, "ranged_from": 1 << 20}
    try:
        with h.scratch(ctx.workspace, "resume") as cache:
            job["cache"] = str(cache)
            proxy.reset()
            first = _killed_at(job, proxy, int(size * KILL_AT))
            if first is None:  # too quick for the watcher: say so rather than guess
                ctx.log(f"  {target.label:9s} resume: the fetch ended before the kill; no row")
                return
            proxy.reset()
            result = run_worker(job)
            again = int(proxy.stats()["bytes_down"])
            verified = sha256_file(result["path"])[1] == sha256_file(source)[1]
    finally:
        if proxy is not target.proxy:
            proxy.close()
    share = again / size
    ctx.add(
        Row(
            f"fetch of {mb} MB resumed after a kill at {KILL_AT:.0%}",
            target.label,
            f"{share:.0%} downloaded again ({again / h.MB:.1f} MB); "
            + ("verified" if verified else "**does not verify**"),
            f"killed with {first / size:.0%} in; the resumed fetch's peak RSS "
            f"{result['peak_rss_mb']:.0f} MB",
            f"{share:.0%} of the object",
            "≤ 55 %, verifies",
            share <= 0.55 and verified,
            {"again_bytes": again, "killed_bytes": first, "resumed": result},
        )
    )
    for note in [HOW] + ([MISSED] if share > 0.55 else []):
        if note not in ctx.notes:
            ctx.notes.append(note)


def _killed_at(job: dict[str, Any], proxy: h.Proxy, threshold: int) -> int | None:
    """Run the fetch in a worker and SIGKILL it once ``threshold`` bytes reached it: the bytes
    the proxy had carried by the time it died (None: it finished first)."""
    with tempfile.TemporaryFile() as errors:  # a pipe nobody reads could fill and block it
        proc = subprocess.Popen(
            [sys.executable, str(h.HERE / "worker.py"), json.dumps(job)],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=h.worker_env(),
        )
        try:
            while proc.poll() is None and int(proxy.stats()["bytes_down"]) < threshold:
                time.sleep(0.005)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait()
        if proc.returncode == 0:
            return None
        if proc.returncode != -signal.SIGKILL:
            errors.seek(0)
            text = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"the fetch failed (exit {proc.returncode}): {text}")
    time.sleep(0.2)  # what the proxy had in flight towards the dead process drains
    return int(proxy.stats()["bytes_down"])
