"""Scenarios of CI fleets (issue 13): ``sync`` of a lock's worth of assets in one pass, a hit in
a read-only shared tier, and a runner with a restored cache running the example tests offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness as h
from context import Context, Row, flat, fmt_s, interleaved, new_assets, raw_fs, store_root

from pytest_assets import Assets
from pytest_assets.display import human_size
from pytest_assets.sync import sync

ASSETS = 20
EXAMPLES = h.REPO / "examples"


def _shapes(quick: bool) -> list[tuple[str, int, int]]:
    """``ASSETS`` assets of mixed sizes, as a lock file pins them: (kind, files, bytes each)."""
    big = (2 if quick else 8) << 20
    kinds = [
        ("file", 1, big),
        ("dir", 50, 10 << 10),
        ("file", 1, 256 << 10),
        ("dir", 10, 100 << 10),
    ]
    return [kinds[i % len(kinds)] for i in range(ASSETS)]


def _fleet(ctx: Context, target: h.Target) -> list[str]:
    """The 20 specs, pushed once per server (the +20ms store is the same server and bucket)."""
    key = (target.url, "fleet")
    if key in ctx.shared:
        return ctx.shared[key].split()
    pusher = new_assets(target, ctx.workspace / "unused-cache")
    specs = []
    for i, (kind, files, size) in enumerate(_shapes(ctx.plan.quick)):
        source = ctx.workspace / f"fleet-{i:02d}"
        if kind == "file":
            source.write_bytes(os.urandom(size))
        else:
            h.make_tree(source, files, size)
        specs.append(str(pusher.push(source, f"fleet/asset-{i:02d}")))
    ctx.shared[key] = " ".join(specs)
    return specs


def scenario_fleet(ctx: Context, target: h.Target) -> None:
    """The three rows of issue 13 (``--scenarios fleet``): sync against a bulk get and against
    fetches in a row on delayed stores; the tier hit and the restored runner where requests can
    be counted at a proxy (not on a capped link: the issue's rows are at 20 ms)."""
    if target.capped:
        return
    specs = _fleet(ctx, target)
    if target.delayed:
        _sync_rows(ctx, target, specs)
    if target.proxy is not None:
        _tier_hit(ctx, target, specs)
        _restored_runner(ctx, target)


def _objects(target: h.Target, specs: list[str]) -> list[str]:
    fs, root = raw_fs(target), store_root(target)
    found: list[str] = []
    for spec in specs:
        name, version = spec.split(":")
        found += sorted(fs.find(f"{root}/{name}/{version}"))
    return found


def _sync_rows(ctx: Context, target: h.Target, specs: list[str]) -> None:
    objects = _objects(target, specs)
    total = sum(raw_fs(target).info(path)["size"] for path in objects)

    def ours() -> float:
        with h.scratch(ctx.workspace, "cache") as cache:
            assets = new_assets(target, cache)
            took = h.timed(lambda: sync(assets, specs))
            assert len(list(cache.rglob("*"))) > len(objects)
            return took

    def bulk() -> float:
        with h.scratch(ctx.workspace, "bulk") as where:
            fs = raw_fs(target)
            local = [str(where / f"{i:04d}") for i in range(len(objects))]
            return h.timed(lambda: fs.get(objects, local))

    def in_a_row() -> float:
        with h.scratch(ctx.workspace, "cache") as cache:
            assets = new_assets(target, cache)
            return h.timed(lambda: [assets.fetch(spec) for spec in specs])

    mine, theirs, row = interleaved(ctx.plan.runs, ours, bulk, in_a_row)
    t, t_bulk, t_row = h.median(mine), h.median(theirs), h.median(row)
    what = f"sync of {len(specs)} assets ({len(objects)} objects, {human_size(total)})"
    ctx.add(
        Row(
            what,
            target.label,
            f"{fmt_s(t)} ({total / t / h.MB:.1f} MB/s)",
            f"one bulk get of the objects {fmt_s(t_bulk)} ({total / t_bulk / h.MB:.1f} MB/s)",
            f"{t_bulk / t:.2f}x its throughput",
            "≥ 0.9x",
            t_bulk / t >= 0.9,
            {"ours": mine, "bulk": theirs, "bytes": total},
        )
    )
    ctx.add(
        Row(
            what,
            target.label,
            fmt_s(t),
            f"{len(specs)} fetches in a row {fmt_s(t_row)}",
            f"{t_row / t:.1f}x faster",
            "measured",
            None,
            {"ours": mine, "in_a_row": row},
        )
    )


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and mtime: what a write would change."""
    seen = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            seen[path] = (st.st_size, st.st_mtime_ns)
    return seen


def _tier_hit(ctx: Context, target: h.Target, specs: list[str]) -> None:
    """A warm hit in a shared tier, per call; the tier and the writable cache checked for any
    write, the store (fsspec calls and HTTP requests at the proxy) for any request."""
    assert target.proxy is not None
    spec, calls = specs[1], ctx.plan.warm_calls  # a directory asset
    with h.scratch(ctx.workspace, "tier") as tier, h.scratch(ctx.workspace, "own") as own:
        sync(new_assets(target, tier), [spec])
        writable = own / "cache"
        before = _snapshot(tier)
        assets = Assets(
            store=target.url, cache_dir=writable, storage_options=target.options, shared_dirs=[tier]
        )
        counter = h.count_store_calls(assets)
        target.proxy.reset()
        path = assets.fetch(spec)
        times = []
        for _ in range(ctx.plan.light_runs):
            start = time.perf_counter()
            for _ in range(calls):
                assets.fetch(spec)
            times.append((time.perf_counter() - start) / calls)
        requests = counter.total + target.proxy.stats()["requests"]
        changed = _snapshot(tier) != before
        wrote = writable.exists() or changed
        t = h.median(times)
    ctx.add(
        Row(
            "warm hit in a shared tier",
            target.label,
            f"{fmt_s(t)}/call, {requests} store requests, "
            + ("writes seen" if wrote else "nothing written"),
            f"served from the tier: {path.is_relative_to(tier)}",
            "",
            "≤ 50 µs; 0 writes, 0 requests",
            t <= 50e-6 and requests == 0 and not wrote and path.is_relative_to(tier),
            {"ours": times, "requests": requests, "wrote": wrote},
        )
    )


def _example_project(ctx: Context, target: h.Target) -> Path:
    """The example project, its store moved to ``target``: the demo's assets pushed there and a
    lock written by a first (online) run, as a team's repository holds it."""
    project = ctx.workspace / f"examples-{flat(target.label)}"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns(".store", ".cache", "*.lock"))
    options = "\n    ".join(_option_lines(target.options))
    (project / "pytest.ini").write_text(
        "[pytest]\ntestpaths = tests\npythonpath = .\n"
        f"assets_store = {target.url}/examples-{flat(target.label)}\n"
        f"assets_storage_options =\n    {options}\n"
    )
    pusher = Assets(
        store=f"{target.url}/examples-{flat(target.label)}",
        cache_dir=ctx.workspace / "unused-cache",
        storage_options=target.options,
    )
    pusher.push(project / "data" / "tiny-model", "demo/tiny-model")
    vocab = project / "data" / "vocab.txt"
    pusher.push(vocab, "demo/vocab")
    vocab.write_text(vocab.read_text() + "jumps\n")  # 0.1, as the demo pushes it
    pusher.push(vocab, "demo/vocab")
    _pytest(project, {"ASSETS_DIR": str(ctx.workspace / "unused-cache")}, "--assets-lock")
    return project


def _option_lines(options: dict[str, Any], prefix: str = "") -> list[str]:
    lines = []
    for key, value in options.items():
        if isinstance(value, dict):
            lines += _option_lines(value, f"{prefix}{key}.")
        else:
            lines.append(f"{prefix}{key}={value}")
    return lines


def _pytest(project: Path, env: dict[str, str], *args: str) -> float:
    own = ("ASSETS_", "MODELKIT_STORAGE_")
    base = {key: value for key, value in h.worker_env().items() if not key.startswith(own)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    start = time.perf_counter()
    out = subprocess.run(
        [*command, *args], cwd=project, env={**base, **env}, capture_output=True, text=True
    )
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"example tests failed ({out.returncode}): {out.stdout[-3000:]}")
    return took


def _restored_runner(ctx: Context, target: h.Target) -> None:
    """The README's CI recipe: ``sync`` into a cache, the cache restored elsewhere as
    ``actions/cache`` would, then the example tests offline with it as a read-only tier and an
    empty writable cache; every request the store gets is counted at the proxy."""
    assert target.proxy is not None
    project = _example_project(ctx, target)
    with h.scratch(ctx.workspace, "ci") as ci:
        built, restored, writable = ci / "built", ci / "restored", ci / "writable"
        cli = [sys.executable, "-m", "pytest_assets", "--cache-dir", str(built), "sync"]
        subprocess.run(cli, cwd=project, env=h.worker_env(), check=True, capture_output=True)
        shutil.copytree(built, restored, symlinks=True)
        target.proxy.reset()
        env = {"ASSETS_SHARED_DIRS": str(restored), "ASSETS_DIR": str(writable)}
        took = _pytest(project, env, "--assets-offline")
        requests = target.proxy.stats()["requests"]
        wrote = writable.exists()
    ctx.add(
        Row(
            "runner with a restored cache, the lock, offline: the example tests",
            target.label,
            f"{requests} store requests, "
            + ("writable cache written" if wrote else "writable cache untouched"),
            f"pytest run {fmt_s(took)}",
            "",
            "0 requests",
            requests == 0,
            {"requests": requests, "wrote": wrote, "seconds": took},
        )
    )
