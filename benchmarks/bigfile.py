"""One big file on a server, loopback or a capped link: fetch and push against the fast clients.

On a ``+cap`` column (20 ms each way, ``CONN_RATE`` per connection, ``LINK_RATE`` in all) the
link's limit is measured in the same run by ``LINK_STREAMS`` ranged GETs at once. Each transfer
runs in a process of its own (``worker.py``), so peak memory is its own and clients never share
a connection pool. The comparisons: fsspec's ``get_file``/``put_file`` with the backend's
defaults, ``get_file`` as one stream (``Store.download_options``), boto3's ``download_file``/
``upload_file`` on S3 (s3transfer, aws-cli's engine), google-cloud-storage's
``transfer_manager.download_chunks_concurrently`` on GCS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness as h
from context import Context, Row, fmt_s, new_assets, raw_fs, run_worker, spread, store_root

# a baseline whose first run took this share of one capped stream's time or more was one stream
ONE_STREAM = 0.8


def _size_mb(ctx: Context, target: h.Target) -> int:
    return ctx.plan.link_mb if target.capped else ctx.plan.big_mb


def _source(ctx: Context, target: h.Target) -> Path:
    mb = _size_mb(ctx, target)
    path = ctx.workspace / f"big-{mb}.bin"
    if not path.exists():
        h.make_big(path, mb << 20)
    return path


def _key(target: h.Target, rpath: str) -> str:
    """The object key of ``rpath`` within the bucket (for boto3 and google-cloud-storage)."""
    return rpath.split("://", 1)[-1].removeprefix(target.bucket + "/")


def _cell(mb: int, times: list[float], runs: int) -> str:
    """The median with its rate, then the spread of several runs or ``1 run`` for a baseline
    that ran once where the others ran ``runs`` times."""
    median = h.median(times)
    more = spread(times) or ("1 run" if runs > 1 else "")
    return f"{fmt_s(median)} ({mb / median:.0f} MB/s{'; ' + more if more else ''})"


def rounds(
    runs: int,
    timers: dict[str, Callable[[], float]],
    baselines: tuple[str, ...] = (),
    one_stream: float | None = None,
) -> dict[str, list[float]]:
    """``runs`` rounds of every timer, interleaved so drift hits all; a timer of ``baselines``
    whose first run took ``ONE_STREAM`` of ``one_stream`` (one capped stream's time) or more
    runs once: the link's cap, not the code, sets its time, and a re-run costs a minute."""
    times: dict[str, list[float]] = {key: [] for key in timers}
    for _ in range(runs):
        for key, timer in timers.items():
            first = times[key][0] if times[key] else None
            if key in baselines and one_stream and first and first >= ONE_STREAM * one_stream:
                continue
            times[key].append(timer())
    return times


def _one_stream(ctx: Context, target: h.Target) -> float | None:
    """Seconds one capped connection takes to carry the big file (None off a capped link)."""
    return _size_mb(ctx, target) * h.MB / h.CONN_RATE if target.capped else None


def _job(target: h.Target, cmd: str, **more: Any) -> Callable[[], dict[str, Any]]:
    base: dict[str, Any] = {"cmd": cmd, "store": target.url, "options": target.options}
    base |= {"endpoint": target.endpoint, "bucket": target.bucket}
    return lambda: run_worker(base | more)


def _timer(
    results: dict[str, list[dict[str, Any]]], key: str, run: Callable[[], dict[str, Any]]
) -> Callable[[], float]:
    def timed() -> float:
        result = run()
        results.setdefault(key, []).append(result)
        return float(result["seconds"])

    return timed


def scenario_bigfetch(ctx: Context, target: h.Target) -> None:
    """Cold fetch of one big file: ours against the link's limit and the fast clients."""
    if not target.remote or (target.proxy is not None and not target.capped):
        return
    if target.kind == "az":  # no fast Azure client to compare with: the other rows only
        return
    mb, plan = _size_mb(ctx, target), ctx.plan
    source = _source(ctx, target)
    spec = ensure_big(ctx, target, source)
    name, version = spec.split(":")
    rpath = new_assets(target, ctx.workspace / "unused-cache").store.object_path(name, version)
    results: dict[str, list[dict[str, Any]]] = {}

    def in_scratch(label: str, cmd: str, **more: Any) -> Callable[[], float]:
        def run() -> dict[str, Any]:
            with h.scratch(ctx.workspace, label) as out:
                return _job(target, cmd, lpath=str(out / "big.bin"), cache=str(out), **more)()

        return _timer(results, label, run)

    timers = {
        "ours": in_scratch("ours", "fetch", spec=spec),
        "get_file": in_scratch("get_file", "get_file", rpath=rpath, our_options=False),
        "one_stream": in_scratch("one_stream", "get_file", rpath=rpath, our_options=True),
        "link": _timer(
            results,
            "link",
            _job(target, "ranges", rpath=rpath, size=mb << 20, streams=h.LINK_STREAMS),
        ),
    }
    fast = "boto3 download_file" if target.kind == "s3" else "transfer_manager chunks"
    timers[fast] = in_scratch(
        "fast", "boto3_download" if target.kind == "s3" else "gcs_chunks", key=_key(target, rpath)
    )
    n = plan.link_runs
    times = rounds(n, timers, ("get_file", "one_stream"), _one_stream(ctx, target))
    t = {key: h.median(values) for key, values in times.items()}
    cell = {key: _cell(mb, values, n) for key, values in times.items()}
    capped = target.capped
    scenario = f"cold fetch 1 file x {mb} MB"
    link_rate = mb / t["link"]
    ctx.link_limits[target.label] = link_rate
    ctx.add(
        Row(
            f"{scenario} vs link",
            target.label,
            cell["ours"],
            f"{h.LINK_STREAMS} ranged GETs at once {cell['link']}",
            f"{(mb / t['ours']) / link_rate:.0%} of it",
            "≥ 85 %" if capped else "-",
            (mb / t["ours"]) / link_rate >= 0.85 if capped else None,
            results,
        )
    )
    ctx.add(
        Row(
            f"{scenario} vs {fast.split()[0]}",
            target.label,
            cell["ours"],
            f"{fast} {cell[fast]}",
            f"{t[fast] / t['ours']:.2f}x faster",
            "faster" if capped else "-",
            t["ours"] < t[fast] if capped else None,
        )
    )
    best_raw = min(t["get_file"], t["one_stream"])
    ctx.add(
        Row(
            f"{scenario} vs get_file",
            target.label,
            cell["ours"],
            f"get_file {cell['get_file']}; one stream {cell['one_stream']}",
            f"{t['one_stream'] / t['ours']:.2f}x one stream; "
            f"{best_raw / t['ours']:.0%} of the faster",
            "≥ 3x one stream" if capped else "≥ 60 % of the faster",
            t["one_stream"] / t["ours"] >= 3 if capped else best_raw / t["ours"] >= 0.6,
        )
    )
    peak = h.median([r["peak_rss_mb"] for r in results["ours"]])
    ctx.add(
        Row(
            f"peak RSS fetching {mb} MB",
            target.label,
            f"{peak:.0f} MB",
            f"get_file {h.median([r['peak_rss_mb'] for r in results['get_file']]):.0f} MB",
            "",
            "< 150 MB",
            peak < 150,
        )
    )


def ensure_big(ctx: Context, target: h.Target, source: Path) -> str:
    """Push ``source`` once per server and size (``s3`` and ``s3+cap`` share the server)."""
    key = (target.url, source.name)  # one per server (the +20ms store is the same one)
    if key not in ctx.shared:
        assets = new_assets(target, ctx.workspace / "unused-cache")
        ctx.shared[key] = str(assets.push(source, f"{source.stem}/{target.kind}"))
    return ctx.shared[key]


def scenario_bigpush(ctx: Context, target: h.Target) -> None:
    """Push of one big file: ours against ``put_file`` and boto3's ``upload_file``."""
    if not target.remote or (target.proxy is not None and not target.capped):
        return
    if target.kind == "az":  # no fast Azure client to compare with: the other rows only
        return
    mb, plan = _size_mb(ctx, target), ctx.plan
    source = _source(ctx, target)
    fs, root = raw_fs(target), store_root(target)
    results: dict[str, list[dict[str, Any]]] = {}
    count = [0]

    def ours() -> dict[str, Any]:
        count[0] += 1
        assets = new_assets(target, ctx.workspace / "unused-cache")
        name = f"bigpush/{target.label.replace('+', '-')}-{count[0]}"
        seconds = h.timed(lambda: assets.push(source, name))
        fs.rm(f"{root}/{name}", recursive=True)  # the servers hold objects in memory
        return {"seconds": seconds}

    def raw(cmd: str, **more: Any) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            count[0] += 1
            rpath = f"{root}/raw-bigpush/{count[0]}.bin"
            job = _job(target, cmd, lpath=str(source), rpath=rpath, key=_key(target, rpath), **more)
            result = job()
            fs.rm(rpath)
            return result

        return run

    timers = {
        "ours": _timer(results, "ours", ours),
        "put_file": _timer(results, "put_file", raw("put_file")),
    }
    if target.kind == "s3":  # s3fs's put_file sends 10 parts at once: also one at a time
        timers["one_stream"] = _timer(results, "one_stream", raw("put_file", one_stream=True))
        timers["boto3"] = _timer(results, "boto3", raw("boto3_upload"))
    n = plan.link_runs
    times = rounds(n, timers, ("put_file", "one_stream"), _one_stream(ctx, target))
    t = {key: h.median(values) for key, values in times.items()}
    cell = {key: _cell(mb, values, n) for key, values in times.items()}
    capped = target.capped
    single = t.get("one_stream", t["put_file"])  # gcsfs's put_file is one stream
    other = f"put_file {cell['put_file']}"
    ratio = f"{t['put_file'] / t['ours']:.2f}x put_file"
    if "one_stream" in t:
        other += f"; one stream {cell['one_stream']}"
        ratio += f", {single / t['ours']:.2f}x one stream"
    met = t["ours"] * 3 <= single
    if "boto3" in t:
        other += f"; boto3 upload_file {cell['boto3']}"
        ratio += f", {t['boto3'] / t['ours']:.2f}x boto3"
        met = met and t["ours"] <= t["boto3"]
    link = ctx.link_limits.get(target.label)
    if link:
        other += f"; link (down) {link:.0f} MB/s"
    ctx.add(
        Row(
            f"push 1 file x {mb} MB",
            target.label,
            cell["ours"],
            other,
            ratio,
            ("≥ 3x one stream" + (", ≤ boto3" if "boto3" in t else "")) if capped else "-",
            met if capped else None,
            results,
        )
    )
