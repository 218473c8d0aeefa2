"""Push of a new version that changes one small file of a big asset (issue 12): the unchanged
files are copied inside the store, so the client sends almost nothing. Measured on the
proxied stores, where the proxy counts every byte the client sends."""

from __future__ import annotations

import os
import time
from pathlib import Path

import harness as h
from context import Context, Row, fmt_s, interleaved, new_assets, raw_fs, spread, store_root

ISSUE_MB = 256  # issue 12's asset: a 256 MB file and 999 small ones (1,000 files in all)


COPY_NOTE = (
    "copypush misses: a copying push is one server request per unchanged file (each "
    "vouched for by its own answer) alongside the uploads of the new ones, after 4 round "
    "trips in a row (`.versions`; the followed `.meta`; the claim, with the originals "
    "listed meanwhile; the claim read back) and before the 5 of publishing. moto and the "
    "GCS emulator spend about as much CPU on a copy as on an upload (measured on loopback: "
    "2-3 ms a copy on the emulator, which takes one request at a time; 9-20 ms on moto on "
    "the shared 2 cores), so on these servers the copies, not the link, set the pace."
)


def _asset(ctx: Context, target: h.Target) -> Path:
    """The big file and all but one of the small files in one folder (links to the run's test
    data): 256 MB + 999 x 10 KB at full size; ``--quick`` takes the capped link's small file."""
    folder = ctx.workspace / f"copypush-{target.label.replace('+', '-')}"
    if not folder.exists():
        mb = ctx.plan.link_mb if ctx.plan.quick else ISSUE_MB
        folder.mkdir()
        h.make_big(folder / "weights.bin", mb << 20)
        for rel in ctx.rels[: len(ctx.rels) - 1]:
            (folder / "small" / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(ctx.tree / rel, folder / "small" / rel)
    return folder


def _spread(times: list[float], median: float) -> str:
    return fmt_s(median) + (f" ({spread(times)})" if spread(times) else "")


def scenario_copypush(ctx: Context, target: h.Target) -> None:
    """A new version with one of the small files changed, against a full push of it."""
    proxy = target.proxy
    if proxy is None:
        return  # bytes are counted at the proxy
    source = _asset(ctx, target)
    total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    changed = source / "small" / ctx.rels[0]
    name = f"copypush/{target.label.replace('+', '-')}"
    fs, root = raw_fs(target), store_root(target)
    assets = new_assets(target, ctx.workspace / "unused-cache")
    assets.push(source, name)  # the version the measured pushes follow
    sent: list[int] = []
    requests: list[int] = []
    fulls = [0]

    def copying() -> float:
        os.unlink(changed)  # a linked file: replace it, never write into the shared tree
        changed.write_bytes(os.urandom(ctx.plan.file_kb * 1024))
        proxy.reset()
        start = time.perf_counter()
        new_assets(target, ctx.workspace / "unused-cache").push(source, name)
        seconds = time.perf_counter() - start
        stats = proxy.stats()
        sent.append(int(stats["bytes_up"]))
        requests.append(int(stats["requests"]))
        return seconds

    def full() -> float:
        fulls[0] += 1
        other = f"{name}-full-{fulls[0]}"
        start = time.perf_counter()
        new_assets(target, ctx.workspace / "unused-cache").push(source, other)
        seconds = time.perf_counter() - start
        fs.rm(f"{root}/{other}", recursive=True)  # the servers hold objects in memory
        fs.rm(f"{root}/{other}.versions")
        return seconds

    mine, theirs = interleaved(ctx.plan.link_runs, copying, full)
    if h.median(theirs) < 10 * h.median(mine) and COPY_NOTE not in ctx.notes:
        ctx.notes.append(COPY_NOTE)
    fs.rm(f"{root}/{name}", recursive=True)
    a, b = h.median(mine), h.median(theirs)
    share = max(sent) / total * 100
    mb = (source / "weights.bin").stat().st_size >> 20
    small = len(ctx.rels) - 1
    ctx.add(
        Row(
            f"push new version of {mb} MB + {small} x {ctx.plan.file_kb} KB, 1 small file changed",
            target.label,
            f"{_spread(mine, a)}, {share:.2f} % of the asset's bytes sent, "
            f"{max(requests)} requests",
            f"full push {_spread(theirs, b)}",
            f"{b / a:.1f}x",
            "< 1 % sent; ≥ 10x faster",
            share < 1 and b / a >= 10,
            {
                "ours": mine,
                "full": theirs,
                "bytes_sent": sent,
                "requests": requests,
                "asset_bytes": total,
            },
        )
    )
