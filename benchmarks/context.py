"""What every benchmark scenario shares: the plan of a run, its context and result rows, the
formatting of figures, and the helpers that reach a store the way our Store does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness as h

from pytest_assets import Assets
from pytest_assets.store import Store


@dataclass(frozen=True)
class Plan:
    """How much work a run does; ``--quick`` shrinks everything and says so."""

    quick: bool
    files: int = 1000
    file_kb: int = 10
    big_mb: int = 256
    runs: int = 4  # push and cold fetch
    process_runs: int = 3  # the big file and the many-processes rounds (a process each)
    light_runs: int = 7
    warm_calls: int = 2000
    seq_sample: int = 30  # objects timed for the sequential baselines on servers
    procs: int = 8
    link_mb: int = 256  # the big file on a capped link: one 4 MB/s stream takes 64 s
    # the big-file rows: runs of ours and of each fast comparison (a process each); a
    # single-stream baseline runs once whatever this is (``bigfile.rounds``)
    link_runs: int = 3


FULL = Plan(quick=False)
QUICK = Plan(
    quick=True,
    files=200,
    big_mb=32,
    runs=3,
    process_runs=2,
    light_runs=5,
    warm_calls=1000,
    seq_sample=10,
    link_mb=16,  # boto3 then splits it in 2 parts; 12 ranges are still ~40 % round trips
    link_runs=1,
)


@dataclass
class Row:
    scenario: str
    store: str
    ours: str
    other: str
    ratio: str
    target: str
    met: bool | None
    raw: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[str]:
        met = {True: "yes", False: "**no**", None: "n/a"}[self.met]
        return [self.scenario, self.store, self.ours, self.other, self.ratio, self.target, met]


@dataclass
class Context:
    plan: Plan
    workspace: Path
    tree: Path
    rels: list[str]
    sample: Path
    big: Path
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dir_spec: dict[str, str] = field(default_factory=dict)  # store label -> pushed spec
    shared: dict[tuple[str, str], str] = field(default_factory=dict)  # (store url, what) -> spec
    link_limits: dict[str, float] = field(default_factory=dict)  # store label -> MB/s
    proxy_ceiling: str = ""  # what the proxy carries uncapped, measured in this run
    log: Callable[[str], None] = print

    def add(self, row: Row) -> None:
        self.rows.append(row)
        met = {True: "met", False: "MISSED", None: "-"}[row.met]
        self.log(f"  {row.store:9s} {row.scenario}: {row.ours} vs {row.other} -> {row.ratio} {met}")


# -- formatting --------------------------------------------------------------------------------


def fmt_s(seconds: float) -> str:
    if abs(seconds) < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if abs(seconds) < 1:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def spread(times: list[float]) -> str:
    """The range of several runs, so a reader sees the variance behind a median."""
    if len(times) < 2:
        return ""
    return f"{fmt_s(min(times))} to {fmt_s(max(times))}"


def fmt_delta(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + fmt_s(abs(seconds))


def table(rows: list[Row]) -> str:
    head = ["scenario", "store", "ours", "compared with", "ratio", "target", "met?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def link_text(plan: Plan) -> str:
    """The capped link and its big file, for the report's header."""
    return (
        f"20 ms each way, {h.CONN_RATE / h.MB:g} MB/s per connection and "
        f"{h.LINK_RATE / h.MB:g} MB/s in all each way; its big file is {plan.link_mb} MB"
        f"{'' if plan.link_mb == 256 else ', not 256'} (one capped stream takes "
        f"{plan.link_mb / (h.CONN_RATE / h.MB):.0f} s a transfer)"
        + (
            f"; {plan.link_runs} runs of ours and of each fast comparison, single-stream "
            "baselines once"
            if plan.link_runs > 1
            else "; 1 run per comparison"
        )
    )


# -- helpers -----------------------------------------------------------------------------------


def new_assets(target: h.Target, cache: Path) -> Assets:
    return Assets(store=target.url, cache_dir=cache, storage_options=target.options)


def raw_fs(target: h.Target) -> Any:
    """The very fsspec instance our Store uses (same options, same connection pool)."""
    return Store(target.url, target.options).fs


def store_root(target: h.Target) -> str:
    return Store(target.url, target.options).root


def make_parents(paths: list[str]) -> None:
    for parent in {os.path.dirname(p) for p in paths}:
        os.makedirs(parent, exist_ok=True)


def interleaved(runs: int, *fns: Callable[[], float]) -> list[list[float]]:
    """Run each timing function ``runs`` times, round-robin; the times per function."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            times[i].append(fn())
    return times


def silence_modelkit() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def flat(label: str) -> str:
    return label.replace("+", "-")


def ensure_shared(ctx: Context, target: h.Target, what: str, source: Path) -> str:
    """Push ``source`` once per server (the +20ms store is the same server and bucket)."""
    key = (target.url, what)
    if key not in ctx.shared:
        assets = new_assets(target, ctx.workspace / "unused-cache")
        ctx.shared[key] = str(assets.push(source, f"{what}/{target.kind}"))
    return ctx.shared[key]


def run_worker(job: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(h.HERE / "worker.py"), json.dumps(job)],
        capture_output=True,
        text=True,
        env=h.worker_env(),
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
