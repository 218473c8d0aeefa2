"""pytest-assets benchmarks: fetch and push on real stores, side by side with the alternatives.

``python benchmarks/run.py`` (about 57 minutes on 2 cores; ``report.FULL_RUNS`` splits it into
three runs of ``--stores`` that ``--from-json`` composes) or ``--quick`` (about 3) prints one
table: each scenario of issues 5 and 11 on a local directory store, the GCS emulator, moto (S3),
Azurite, the first two behind a proxy adding 20 ms each way, and behind a capped link (``+cap``:
20 ms, per-connection and whole-link rates; ``bigfile.py``); our figure, the comparison measured
in the same run, their ratio, the target and whether it is met. Every figure is a median;
every comparison is interleaved with ours so drift hits both. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import harness as h
from bigfile import scenario_bigfetch, scenario_bigpush
from context import (
    FULL,
    QUICK,
    Context,
    Plan,
    Row,
    ensure_shared,
    flat,
    fmt_s,
    interleaved,
    make_parents,
    new_assets,
    raw_fs,
    run_worker,
    silence_modelkit,
    store_root,
)
from linkmeter import ceiling_text
from report import header, load, merge, render, save, update_readme
from scenarios_big import scenario_resume
from scenarios_copy import scenario_copypush
from scenarios_fleet import scenario_fleet
from scenarios_incremental import scenario_delta
from scenarios_reuse import scenario_procs, scenario_startup, scenario_warm

from pytest_assets.store import Store

ALL_STORES = ["local", "gcs", "s3", "az", "gcs+20ms", "s3+20ms", "gcs+cap", "s3+cap"]
SCENARIOS = ["push", "cold", "big", "bigfetch", "bigpush", "resume", "copypush", "warm"]
SCENARIOS += ["procs", "delta", "fleet", "startup"]
# the only scenarios on a capped link in --quick
BIG_FILE = ("bigfetch", "bigpush", "resume", "copypush")
__all__ = [  # run() finds the scenarios by name
    "scenario_bigfetch",
    "scenario_bigpush",
    "scenario_copypush",
    "scenario_delta",
    "scenario_fleet",
    "scenario_procs",
    "scenario_resume",
    "scenario_startup",
    "scenario_warm",
]

# -- scenarios ---------------------------------------------------------------------------------


def scenario_push(ctx: Context, target: h.Target) -> None:
    """Push of a directory of N files against fsspec's raw bulk ``put`` of the same files."""
    plan, counter = ctx.plan, [0]
    fs, root = raw_fs(target), store_root(target)
    sources = [str(ctx.tree / rel) for rel in ctx.rels]
    specs: list[str] = []

    def ours() -> float:
        assets = new_assets(target, ctx.workspace / "unused-cache")
        name = f"dir/{flat(target.label)}-{len(specs)}"
        start = time.perf_counter()
        specs.append(str(assets.push(ctx.tree, name)))
        return time.perf_counter() - start

    def raw() -> float:
        counter[0] += 1
        remotes = [f"{root}/raw-put/{flat(target.label)}-{counter[0]}/{rel}" for rel in ctx.rels]
        start = time.perf_counter()
        if not target.remote:
            make_parents(remotes)  # LocalFileSystem.put does not create folders
        fs.put(sources, remotes)
        return time.perf_counter() - start

    mine, theirs = interleaved(plan.runs, ours, raw)
    ctx.dir_spec[target.label] = specs[0]
    a, b = h.median(mine), h.median(theirs)
    ctx.add(
        Row(
            f"push {plan.files} files x {plan.file_kb} KB",
            target.label,
            fmt_s(a),
            f"bulk put {fmt_s(b)}",
            f"{a / b:.2f}x",
            "≤ 1.5x",
            a / b <= 1.5,
            {"ours": mine, "raw_put": theirs},
        )
    )


def scenario_cold(ctx: Context, target: h.Target) -> None:
    """Cold fetch of the N-file asset: ours, (a) bulk get, (b) a get loop, (c) modelkit."""
    plan = ctx.plan
    spec = ctx.dir_spec.get(target.label) or ensure_shared(ctx, target, "dir", ctx.tree)
    assets = new_assets(target, ctx.workspace / "unused-cache")
    name, version = spec.split(":")
    base = assets.store.object_path(name, version)
    fs = raw_fs(target)
    # The per-object options our Store passes (one streamed request per object): (a) and (b)
    # get them too, so the ratios show what our fetch adds, not which options it picked.
    options = Store(target.url, target.options).download_options()
    remotes = [f"{base}/{rel}" for rel in ctx.rels]
    # Sequential baselines take ~1.5 round trips per object: time a sample, scale per object.
    sample = len(ctx.rels) if not target.remote else min(plan.seq_sample, len(ctx.rels))
    sample_spec = (
        spec if sample == len(ctx.rels) else ensure_shared(ctx, target, "sample", ctx.sample)
    )

    def ours() -> float:
        with h.scratch(ctx.workspace, "cache") as cache:
            fresh = new_assets(target, cache)
            return h.timed(lambda: fresh.fetch(spec))

    def bulk() -> float:
        with h.scratch(ctx.workspace, "raw") as out:
            locals_ = [str(out / rel) for rel in ctx.rels]

            def run() -> None:
                make_parents(locals_)
                fs.get(remotes, locals_, **options)

            return h.timed(run)

    def loop() -> float:
        with h.scratch(ctx.workspace, "loop") as out:
            pairs = [(remotes[i], str(out / ctx.rels[i])) for i in range(sample)]

            def run() -> None:
                for remote, local in pairs:
                    os.makedirs(os.path.dirname(local), exist_ok=True)
                    fs.get_file(remote, local, **options)

            return h.timed(run) * len(ctx.rels) / sample

    def modelkit() -> float:
        from modelkit.assets.manager import AssetsManager

        with h.scratch(ctx.workspace, "modelkit") as out:
            provider = target.modelkit_provider()
            manager = AssetsManager(assets_dir=str(out), storage_provider=provider)
            seconds = h.timed(lambda: manager.fetch_asset(sample_spec))
            return seconds * (len(ctx.rels) + 1) / (sample + 1)  # the .meta counts as one read

    mine, a, b, c = interleaved(plan.runs, ours, bulk, loop, modelkit)
    t_ours = h.median(mine)
    scenario = f"cold fetch {plan.files} x {plan.file_kb} KB"
    scaled = "" if sample == len(ctx.rels) else f" (timed on {sample}, scaled)"
    ctx.add(
        Row(
            f"{scenario} vs (a)",
            target.label,
            fmt_s(t_ours),
            f"(a) bulk get {fmt_s(h.median(a))}",
            f"{t_ours / h.median(a):.2f}x",
            "≤ 1.5x",
            t_ours / h.median(a) <= 1.5,
            {"ours": mine, "bulk_get": a},
        )
    )
    for label, times, key in (
        ("(b) get loop", b, "get_loop"),
        ("(c) modelkit", c, "modelkit"),
    ):
        faster = h.median(times) / t_ours
        ctx.add(
            Row(
                f"{scenario} vs {label[:3]}",
                target.label,
                fmt_s(t_ours),
                f"{label} {fmt_s(h.median(times))}{scaled}",
                f"{faster:.1f}x faster",
                "≥ 10x faster" if target.delayed else "(≥ 10x at 40 ms RTT)",
                faster >= 10 if target.delayed else None,
                {"ours": mine, key: times, "sample": sample},
            )
        )


def scenario_big(ctx: Context, target: h.Target) -> None:
    """Cold fetch of one big file, each fetch in its own process: time and peak memory."""
    plan = ctx.plan
    spec = ensure_shared(ctx, target, "big", ctx.big)
    name, version = spec.split(":")
    rpath = new_assets(target, ctx.workspace / "unused-cache").store.object_path(name, version)
    results: dict[str, list[dict[str, Any]]] = {"ours": [], "raw": [], "raw_options": []}

    def ours() -> float:
        with h.scratch(ctx.workspace, "cache") as cache:
            job = {"cmd": "fetch", "store": target.url, "options": target.options}
            result = run_worker(job | {"cache": str(cache), "spec": spec})
        results["ours"].append(result)
        return float(result["seconds"])

    def raw(our_options: bool) -> Callable[[], float]:
        def run() -> float:
            with h.scratch(ctx.workspace, "raw") as out:
                job: dict[str, Any] = {"cmd": "get_file", "store": target.url}
                job |= {
                    "options": target.options,
                    "rpath": rpath,
                    "lpath": str(out / "big.bin"),
                    "our_options": our_options,
                }
                result = run_worker(job)
            results["raw_options" if our_options else "raw"].append(result)
            return float(result["seconds"])

        return run

    if Store(target.url, target.options).download_options():
        mine, plain, tuned = interleaved(plan.process_runs, ours, raw(False), raw(True))
    else:  # no options to compare (a directory store): one get_file
        mine, plain = interleaved(plan.process_runs, ours, raw(False))
        tuned = plain
    mb = plan.big_mb
    t_ours, t_plain, t_tuned = h.median(mine), h.median(plain), h.median(tuned)
    best = min(t_plain, t_tuned)  # the backend's best get_file, defaults or our options
    ratio = best / t_ours  # our throughput over its
    other = f"get_file {fmt_s(t_plain)} ({mb / t_plain:.0f} MB/s)"
    if t_tuned != t_plain:
        other += f"; with our options {fmt_s(t_tuned)} ({mb / t_tuned:.0f} MB/s)"
    # the floor of any verified fetch: the sha256 alone, of the file already in memory
    data = ctx.big.read_bytes()
    floor = h.median([h.timed(partial(hashlib.sha256, data)) for _ in range(3)])
    del data
    other += f"; sha256 alone {fmt_s(floor)} ({mb / floor:.0f} MB/s)"
    ctx.add(
        Row(
            f"cold fetch 1 file x {mb} MB",
            target.label,
            f"{fmt_s(t_ours)} ({mb / t_ours:.0f} MB/s)",
            other,
            f"{ratio:.0%} of the faster",
            "≥ 80 %",
            ratio >= 0.8,
            results,
        )
    )
    peak = h.median([r["peak_rss_mb"] for r in results["ours"]])
    raw_peak = h.median([r["peak_rss_mb"] for r in results["raw"]])
    base = h.median([r["base_rss_mb"] for r in results["ours"]])
    ctx.add(
        Row(
            f"peak RSS fetching {mb} MB",
            target.label,
            f"{peak:.0f} MB (before: {base:.0f} MB)",
            f"get_file {raw_peak:.0f} MB",
            f"{peak / raw_peak:.2f}x",
            "< 200 MB",
            peak < 200,
        )
    )


# -- driver ------------------------------------------------------------------------------------


def _workspace_root() -> Path:
    """tmpfs when there is room: on this VM the disk's time for the same 1,000 small copies
    ranged from 41 to 742 ms between runs, which buries what our code costs."""
    explicit = os.environ.get("PYTEST_ASSETS_BENCH_DIR")
    if explicit:
        return Path(explicit)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 4 << 30:
        return shm
    return Path(os.environ.get("TMPDIR", "/tmp"))


@contextmanager
def _workspace() -> Iterator[Path]:
    with h.scratch(_workspace_root(), "pytest-assets-bench") as path:
        yield path


def run(
    plan: Plan,
    labels: list[str],
    scenarios: list[str],
    log: Callable[[str], None],
    checkpoint: Callable[[Context, str], None] = lambda _ctx, _done: None,
) -> Context:
    """Every scenario on every store; ``checkpoint`` after each (``--json`` saves there)."""
    silence_modelkit()
    with _workspace() as workspace:
        tree = h.make_tree(workspace / "tree", plan.files, plan.file_kb * 1024)
        rels = h.tree_pairs(tree)
        sample = workspace / "sample"
        for rel in rels[: plan.seq_sample]:
            (sample / rel).parent.mkdir(parents=True, exist_ok=True)
            (sample / rel).write_bytes((tree / rel).read_bytes())
        big = h.make_big(workspace / "big.bin", plan.big_mb << 20)
        os.sync()  # write the test data back now, not during the first measurements
        ctx = Context(plan, workspace, tree, rels, sample, big, log=log)
        needs_store = [s for s in scenarios if s != "startup"]
        if any(label.endswith("+cap") for label in labels) and needs_store:
            ctx.proxy_ceiling = ceiling_text()
            log(ctx.proxy_ceiling)
        with h.stores(labels if needs_store else [], workspace) as targets:
            for target in targets:
                log(f"[{target.label}]")
                for name in needs_store:
                    if not _runs_on(plan, name, target, scenarios):
                        continue
                    started = time.perf_counter()
                    globals()[f"scenario_{name}"](ctx, target)
                    log(f"    ({name}: {time.perf_counter() - started:.0f} s)")
                    checkpoint(ctx, f"{name} on {target.label}")
        if "startup" in scenarios:
            log("[start-up]")
            scenario_startup(ctx)
            checkpoint(ctx, "startup")
        return ctx


def _runs_on(plan: Plan, scenario: str, target: h.Target, scenarios: list[str]) -> bool:
    """The 256 MB ``big`` scenario is ``bigfetch`` on a capped link (one 4 MB/s stream would
    take a minute a run) and on plain ``gcs`` and ``s3`` when bigfetch runs (the same fetch
    against the same ``get_file``s); ``--quick`` runs only the big-file scenarios on +cap."""
    if scenario == "big" and "bigfetch" in scenarios and target.remote and target.kind != "az":
        return target.proxy is not None and not target.capped
    if not target.capped:
        return True
    return scenario in BIG_FILE or (scenario != "big" and not plan.quick)


def compose(paths: list[Path], update: bool) -> int:
    """One report from the rows several runs saved (``--from-json``)."""
    loaded = [load(path) for path in paths]
    heads = [head for head, _rows in loaded]
    rows = merge([rows for _head, rows in loaded])
    names = " ".join(str(path) for path in paths)
    text = render(heads, rows, composed=f"python benchmarks/run.py --from-json {names}")
    print(text)
    if update:
        update_readme(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files and runs, small file")
    parser.add_argument("--stores", default=",".join(ALL_STORES), help="comma-separated")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--files", type=int, help="override the number of small files")
    parser.add_argument("--big-mb", type=int, help="override the size of the big file")
    parser.add_argument("--link-mb", type=int, help="override the big file's size on +cap")
    parser.add_argument("--runs", type=int, help="override the runs per heavy scenario")
    parser.add_argument(
        "--link-runs", type=int, help="runs of ours and the fast clients per big-file row"
    )
    parser.add_argument("--json", type=Path, help="rows and raw timings, after every scenario")
    parser.add_argument(
        "--from-json", type=Path, nargs="+", metavar="JSON", help="report saved runs, no run"
    )
    parser.add_argument("--update-readme", action="store_true", help="write the table there")
    args = parser.parse_args(argv)
    if args.from_json:
        return compose(args.from_json, args.update_readme)
    labels = [s for s in args.stores.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    for name in labels:
        if name not in ALL_STORES:
            parser.error(f"unknown store {name!r}; choose from {', '.join(ALL_STORES)}")
    for name in scenarios:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    plan = QUICK if args.quick else FULL
    overrides = {key: getattr(args, key) for key in ("files", "big_mb", "runs")}
    if any(v is not None for v in overrides.values()):
        changed = {k: v for k, v in overrides.items() if v is not None}
        plan = dataclasses.replace(plan, quick=True, **changed)  # not the sizes
    plan = dataclasses.replace(
        plan, link_mb=args.link_mb or plan.link_mb, link_runs=args.link_runs or plan.link_runs
    )
    shown = [arg for arg in argv if arg != "--update-readme"]
    command = " ".join(["python benchmarks/run.py", *map(shlex.quote, shown)])
    started_at, started, done = time.time(), time.perf_counter(), []
    last: list[Context] = []

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def checkpoint(ctx: Context, scenario: str) -> None:
        done.append(scenario)
        last[:] = [ctx]
        if args.json:
            wall = time.perf_counter() - started
            save(args.json, header(ctx, command, started_at, wall, done), ctx.rows)

    # a time limit's SIGTERM unwinds like Ctrl-C: the servers and proxies stop, the file stays
    before = signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(128 + signal.SIGTERM))
    try:
        ctx = run(plan, labels, scenarios, log, checkpoint)
    except (KeyboardInterrupt, SystemExit):
        if last:  # what was measured, marked partial, rather than nothing
            wall = time.perf_counter() - started
            print(render([header(last[0], command, started_at, wall, done)], last[0].rows))
        raise
    finally:
        signal.signal(signal.SIGTERM, before)
    head = header(ctx, command, started_at, time.perf_counter() - started, done)
    head["finished"] = True
    if args.json:
        save(args.json, head, ctx.rows)
    text = render([head], ctx.rows)
    print(text)
    if args.update_readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
