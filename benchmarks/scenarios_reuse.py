"""Scenarios of repeated and concurrent use: warm fetches, many processes on one cold asset,
start-up cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness as h
from context import Context, Row, ensure_shared, fmt_delta, fmt_s, interleaved, new_assets

_BOOKKEEPING = (".meta", ".versions")


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def scenario_warm(ctx: Context, target: h.Target) -> None:
    """Warm fetches: a pinned spec against os.stat, a partial one against its first call."""
    plan = ctx.plan
    spec = ctx.dir_spec.get(target.label) or ensure_shared(ctx, target, "dir", ctx.tree)
    name, version = spec.split(":")
    partial = f"{name}:{version.split('.')[0]}"
    with h.scratch(ctx.workspace, "warm") as cache:
        path = new_assets(target, cache).fetch(spec)  # fill the cache
        if target.proxy is not None:
            target.proxy.reset()

        pinned = new_assets(target, cache)
        counter = h.count_store_calls(pinned)
        calls = plan.warm_calls
        mine, stat = interleaved(
            plan.light_runs,
            lambda: _per_call(lambda: pinned.fetch(spec), calls),
            lambda: _per_call(lambda: os.stat(path), calls),
        )
        wire = target.proxy.stats()["requests"] if target.proxy is not None else None
        t = h.median(mine)
        requests = counter.total + (wire or 0)
        counted = "fsspec calls" + (" + HTTP requests at the proxy" if wire is not None else "")
        ctx.add(
            Row(
                f"warm pinned fetch `{name}:{version}`",
                target.label,
                f"{fmt_s(t)}/call, {requests} store requests",
                f"os.stat {fmt_s(h.median(stat))}",
                f"{t / h.median(stat):.0f}x",
                "≤ 50 µs, 0 requests",
                t <= 50e-6 and requests == 0,
                {"ours": mine, "stat": stat, "counted": counted},
            )
        )

        first_times, after_times, after_requests = [], [], 0
        for _ in range(plan.light_runs):
            session = new_assets(target, cache)
            counter = h.count_store_calls(session)
            if target.proxy is not None:
                target.proxy.reset()
            first_times.append(h.timed(lambda s=session: s.fetch(partial)))  # type: ignore[misc]
            before = counter.total
            wire_before = target.proxy.stats()["requests"] if target.proxy is not None else 0
            after_times.append(_per_call(lambda s=session: s.fetch(partial), calls))  # type: ignore[misc]
            wire_after = target.proxy.stats()["requests"] if target.proxy is not None else 0
            after_requests += counter.total - before + wire_after - wire_before
        t_after, t_first = h.median(after_times), h.median(first_times)
        ctx.add(
            Row(
                f"warm partial fetch `{partial}` x {calls}",
                target.label,
                f"{fmt_s(t_after)}/call, {after_requests} store requests after the first",
                f"first call {fmt_s(t_first)}",
                f"{t_first / t_after:.0f}x faster",
                "0 requests after the first",
                after_requests == 0,
                {"first": first_times, "after": after_times},
            )
        )


class _Workers:
    """N long-lived fetch workers; each round fetches one spec into a fresh shared cache."""

    def __init__(self, count: int, target: h.Target) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(h.HERE / "worker.py"), "serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=h.worker_env(),
            )
            for _ in range(count)
        ]
        setup = json.dumps({"store": target.url, "options": target.options})
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(setup + "\n")
            proc.stdin.flush()
        for proc in self.procs:
            self._expect(proc, "ready")

    @staticmethod
    def _expect(proc: subprocess.Popen[str], word: str) -> None:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"worker said {line!r}, not {word!r}")

    def round(self, count: int, cache: Path, spec: str) -> tuple[float, list[dict[str, Any]]]:
        chosen = self.procs[:count]
        order = json.dumps({"cache": str(cache), "spec": spec}) + "\n"
        start = time.monotonic()
        for proc in chosen:
            assert proc.stdin is not None
            proc.stdin.write(order)
            proc.stdin.flush()
        results = []
        for proc in chosen:
            assert proc.stdout is not None
            results.append(json.loads(proc.stdout.readline()))
        return max(r["end"] for r in results) - start, results

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            proc.wait(30)


def scenario_procs(ctx: Context, target: h.Target) -> None:
    """N processes fetch the same cold asset at once: each object read once, time vs one."""
    plan = ctx.plan
    spec = ctx.dir_spec.get(target.label) or ensure_shared(ctx, target, "dir", ctx.tree)
    counted, extra = (
        (target, None) if not target.remote or target.proxy else h.counting_proxy(target)
    )
    proxy = counted.proxy
    workers = _Workers(plan.procs, counted)
    one_times, many_times, max_reads, downloads = [], [], 0, []
    try:
        for _ in range(plan.process_runs):
            with h.scratch(ctx.workspace, "cache") as cache:
                seconds, _results = workers.round(1, cache, spec)
                one_times.append(seconds)
            with h.scratch(ctx.workspace, "cache") as cache:
                if proxy is not None:
                    proxy.reset()
                seconds, results = workers.round(plan.procs, cache, spec)
                many_times.append(seconds)
                downloads.append(sum(r["objects"] for r in results))
                if proxy is not None:
                    reads = h.object_reads(proxy.stats())
                    data = {k: n for k, n in reads.items() if not k.endswith(_BOOKKEEPING)}
                    max_reads = max(max_reads, max(data.values(), default=0))
                    if len(data) != len(ctx.rels):
                        ctx.notes.append(
                            f"{target.label}: the proxy saw {len(data)} distinct objects read "
                            f"during the {plan.procs}-process fetch, expected {len(ctx.rels)}"
                        )
    finally:
        workers.close()
        if extra is not None:
            extra.close()
    t1, tn = h.median(one_times), h.median(many_times)
    once = all(d == len(ctx.rels) for d in downloads) and max_reads <= 1
    how = "HTTP GETs per object at the proxy" if proxy is not None else "objects per process"
    reads_text = f"max {max_reads} read/object" if proxy is not None else ""
    ctx.add(
        Row(
            f"{plan.procs} processes, same cold asset",
            target.label,
            f"{fmt_s(tn)}, {max(downloads)} objects downloaded in all"
            + (f", {reads_text}" if reads_text else ""),
            f"1 process {fmt_s(t1)}",
            f"{tn / t1:.2f}x",
            "≤ 1.5x, each object read once",
            tn / t1 <= 1.5 and once,
            {"one": one_times, "many": many_times, "downloads": downloads, "counted": how},
        )
    )


def _median_wall(argv: list[str], runs: int, cwd: Path | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True, env=h.worker_env())
        times.append(time.perf_counter() - start)
    return times


def _import_time_us(runs: int) -> list[float]:
    """Cumulative import time of pytest_assets from ``python -X importtime``."""
    found = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import pytest_assets"],
            capture_output=True,
            text=True,
            check=True,
            env=h.worker_env(),
        )
        for line in out.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "pytest_assets":
                found.append(float(parts[1]) / 1e6)
    return found


def scenario_startup(ctx: Context) -> None:
    """``import pytest_assets`` and pytest start-up with and without the plugin."""
    runs = ctx.plan.light_runs
    imports = _import_time_us(runs)
    bare, with_import = interleaved(
        runs,
        lambda: h.median(_median_wall([sys.executable, "-c", "pass"], 1)),
        lambda: h.median(_median_wall([sys.executable, "-c", "import pytest_assets"], 1)),
    )
    t_import = h.median(imports)
    ctx.add(
        Row(
            "`import pytest_assets` (-X importtime)",
            "-",
            fmt_s(t_import),
            f"python start-up {fmt_s(h.median(bare))}",
            f"wall {fmt_delta(h.median(with_import) - h.median(bare))}",
            "< 100 ms",
            t_import < 0.1,
            {"importtime": imports, "bare": bare, "with_import": with_import},
        )
    )
    project = ctx.workspace / "pytest-project"
    project.mkdir(exist_ok=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_one.py").write_text("def test_one():\n    pass\n")
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_one.py"]
    without, with_plugin = interleaved(
        runs,
        lambda: _median_wall([*base, "-p", "no:pytest_assets"], 1, project)[0],
        lambda: _median_wall(base, 1, project)[0],
    )
    overhead = h.median(with_plugin) - h.median(without)
    ctx.add(
        Row(
            "pytest start-up, one trivial test",
            "-",
            f"{fmt_s(h.median(with_plugin))} ({fmt_delta(overhead)})",
            f"-p no:pytest_assets {fmt_s(h.median(without))}",
            fmt_delta(overhead),
            "overhead < 50 ms",
            overhead < 0.05,
            {"with": with_plugin, "without": without},
        )
    )
