"""Scenarios of versions that share files (issue 12): fetching a version after another takes
only its changed file from the store, and ten such versions take little more disk than one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import harness as h
from context import Context, Row, flat, fmt_s, interleaved, new_assets

from pytest_assets.cache_usage import usage
from pytest_assets.display import human_size
from pytest_assets.store import Store

VERSIONS = 10  # the cache-size row: versions, each changing one file of the one before
# Where the cache-size row runs: disk use depends on the cache, not the store or its latency
# (on Azurite and moto its 10 pushes of 1,000 files took about 9 of a full run's 55 minutes).
SIZES_ON = ("local", "gcs")


@contextmanager
def _object_reads() -> Iterator[list[str]]:
    """Data objects asked of the store in this process (every data read goes through it)."""
    seen: list[str] = []
    get_files = Store.get_files

    def counting(self: Store, pairs: Any, what: str, progress: Any = None) -> Any:
        seen.extend(remote for remote, _local in pairs)
        return get_files(self, pairs, what, progress)

    Store.get_files = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Store.get_files = get_files  # type: ignore[method-assign]


def _change(tree: Path, rel: str, tag: str) -> None:
    """New bytes, the same size, for one file of ``tree`` (a copy the benchmark owns)."""
    path = tree / rel
    data = path.read_bytes()
    path.write_bytes((tag.encode() * len(data))[: len(data)])


def _pushed_versions(ctx: Context, target: h.Target, what: str, count: int) -> tuple[str, Path]:
    """``count`` versions of a copy of the N-file tree, version k changing the k-th file of
    version k-1; the name and the copy (as the last version holds it)."""
    name = f"incremental/{flat(target.label)}-{what}"
    tree = ctx.workspace / f"incremental-{flat(target.label)}-{what}"
    shutil.copytree(ctx.tree, tree)
    pusher = new_assets(target, ctx.workspace / "unused-cache")
    for k in range(count):
        if k:
            _change(tree, ctx.rels[k], f"version {k}")
        pusher.push(tree, name)
    return name, tree


def scenario_delta(ctx: Context, target: h.Target) -> None:
    """Both rows of issue 12's fetch side (``--scenarios delta``)."""
    _fetch_after(ctx, target)
    if target.kind in SIZES_ON and not target.delayed:
        _cache_size(ctx, target)


def _fetch_after(ctx: Context, target: h.Target) -> None:
    """Fetch ``0.1`` (one of N files changed) into a cache holding ``0.0``, against a cold
    fetch of ``0.1``; objects counted where the client reads data (and at the proxy)."""
    plan = ctx.plan
    name, _tree = _pushed_versions(ctx, target, "after", 2)
    objects: list[int] = []
    wire: list[int] = []
    requests: list[int] = []  # every request of the fetch, .meta included

    def incremental() -> float:
        with h.scratch(ctx.workspace, "cache") as cache:
            new_assets(target, cache).fetch(f"{name}:0.0")
            assets = new_assets(target, cache)
            if target.proxy is not None:
                target.proxy.reset()
            with _object_reads() as reads:
                took = h.timed(lambda: assets.fetch(f"{name}:0.1"))
            objects.append(len(reads))
            if target.proxy is not None:
                stats = target.proxy.stats()
                got = h.object_reads(stats)
                wire.append(sum(n for key, n in got.items() if not key.endswith(".meta")))
                requests.append(int(stats["requests"]))
            return took

    def cold() -> float:
        with h.scratch(ctx.workspace, "cache") as cache:
            assets = new_assets(target, cache)
            return h.timed(lambda: assets.fetch(f"{name}:0.1"))

    mine, theirs = interleaved(plan.runs, incremental, cold)
    t, t_cold = h.median(mine), h.median(theirs)
    faster = t_cold / t
    at_proxy = f", {max(wire)} data GETs of {max(requests)} requests at the proxy" if wire else ""
    one = max(objects) == 1 and (not wire or max(wire) == 1)
    ctx.add(
        Row(
            f"fetch 0.1 after 0.0, 1 of {plan.files} x {plan.file_kb} KB changed",
            target.label,
            f"{fmt_s(t)}, {max(objects)} data object downloaded{at_proxy}",
            f"cold fetch of 0.1 {fmt_s(t_cold)}",
            f"{faster:.1f}x faster",
            "1 object; ≥ 20x faster" if target.delayed else "1 object (≥ 20x at 40 ms RTT)",
            one and faster >= 20 if target.delayed else one,
            {"ours": mine, "cold": theirs, "objects": objects, "wire": wire, "requests": requests},
        )
    )


def _cache_size(ctx: Context, target: h.Target) -> None:
    """Ten versions, each changing one file, all fetched into one cache: its real size against
    one version plus the changed files (what a cache that keeps each content once holds)."""
    plan = ctx.plan
    name, _tree = _pushed_versions(ctx, target, "sizes", VERSIONS)
    one_version = plan.files * plan.file_kb * 1024
    floor = one_version + (VERSIONS - 1) * plan.file_kb * 1024
    with h.scratch(ctx.workspace, "cache") as cache:
        assets = new_assets(target, cache)
        for k in range(VERSIONS):
            assets.fetch(f"{name}:0.{k}")
        seen = usage(assets.cached())
    ratio = seen.real / floor
    ctx.add(
        Row(
            f"{VERSIONS} versions each changing 1 of {plan.files} files, all fetched",
            target.label,
            f"cache {human_size(seen.real)} on disk ({human_size(seen.apparent)} apparent)",
            f"1 version + changed files {human_size(floor)}",
            f"{ratio:.3f}x",
            "≤ 1.05x",
            ratio <= 1.05,
            {"real": seen.real, "apparent": seen.apparent, "floor": floor},
        )
    )
