"""What a benchmark run leaves behind: the JSON file it rewrites after every scenario, the
report printed from one run or composed from several saved ones, and the README section.

A run's JSON is ``{"header": ..., "rows": [...]}``: the header says what was run (command,
plan, start, wall time so far, the scenarios done, whether it finished), so a run killed by a
time limit still leaves every row it measured and says where it stopped.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import harness as h
from causes import causes
from context import Context, Row, link_text, table

# The full run's length on 2 cores, as measured on 2026-12-01 (3 link runs): the loopback
# stores 16.5 min, the capped ones 26 min; the delayed ones were estimated at ~14 min. Too long
# for one session's time limit, so it is three runs, composed.
FULL_WALL = "~57 min"
FULL_RUNS = (  # (stores, estimated wall time); each starts only the servers it needs
    ("local,gcs,s3,az", "~17 min"),
    ("gcs+20ms,s3+20ms", "~14 min"),
    ("gcs+cap,s3+cap", "~26 min"),
)


def stamp(when: float) -> str:
    return _dt.datetime.fromtimestamp(when, _dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def header(
    ctx: Context, command: str, started: float, wall: float, done: list[str]
) -> dict[str, Any]:
    """What a reader of the rows needs to know about the run that measured them."""
    plan = ctx.plan
    return {
        "command": command,
        "started": started,
        "wall": wall,
        "finished": False,
        "done": done,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "workspace": str(ctx.workspace.parent),
        "plan": asdict(plan),
        "link": link_text(plan),
        "proxy_ceiling": ctx.proxy_ceiling,
        "notes": list(ctx.notes),
    }


def save(path: Path, head: dict[str, Any], rows: list[Row]) -> None:
    """Rewrite ``path`` whole, through a temporary file: a kill mid-write keeps the last one."""
    temp = path.with_name(path.name + ".tmp")
    data = {"header": head, "rows": [asdict(row) for row in rows]}
    temp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(temp, path)


def load(path: Path) -> tuple[dict[str, Any], list[Row]]:
    data = json.loads(path.read_text())
    if isinstance(data, list):  # written before the header existed: rows only
        return {"command": f"(rows only, from {path.name})", "finished": True}, [
            Row(**row) for row in data
        ]
    return data["header"], [Row(**row) for row in data["rows"]]


def merge(runs: list[list[Row]]) -> list[Row]:
    """The rows of several runs as one table: a later run's rows replace every earlier row
    with the same (scenario, store), in the place of the first; new ones go to the end."""
    merged: list[list[Row]] = []
    where: dict[tuple[str, str], int] = {}
    for rows in runs:
        groups: dict[tuple[str, str], list[Row]] = {}
        for row in rows:
            groups.setdefault((row.scenario, row.store), []).append(row)
        for key, group in groups.items():
            if key in where:
                merged[where[key]] = group
            else:
                where[key] = len(merged)
                merged.append(group)
    return [row for group in merged for row in group]


def _plan_text(plan: dict[str, Any]) -> str:
    sizes = f"{plan['files']} files x {plan['file_kb']} KB, a {plan['big_mb']} MB file"
    runs = (
        f"medians of {plan['runs']} runs (push, cold fetch), {plan['process_runs']} (big file, "
        f"{plan['procs']} processes), {plan['light_runs']} (warm, start-up)"
    )
    quick = "QUICK MODE, not the issue's sizes: " if plan["quick"] else ""
    return f"{quick}{sizes}; {runs}"


def _run_line(head: dict[str, Any]) -> str:
    """One run in a sentence: command, when, where, how far it got."""
    if "plan" not in head:
        return f"`{head['command']}`"
    started = head["started"]
    end = _dt.datetime.fromtimestamp(started + head["wall"], _dt.UTC).strftime("%H:%M")
    state = (
        f"wall time {head['wall']:.0f} s"
        if head["finished"]
        else f"STOPPED after {head['wall']:.0f} s, its last scenario done "
        f"{head['done'][-1] if head['done'] else '(none)'}: partial"
    )
    return (
        f"`{head['command']}` — {stamp(started)} to {end}, {head['cores']} cores, Python "
        f"{head['python']}, {_plan_text(head['plan'])}; workspace in {head['workspace']}; {state}"
    )


def _link(head: dict[str, Any]) -> str:
    """The capped link a run measured through, with the proxy's own ceiling in that run."""
    return (
        f"Capped link: {head['link']}; {head['proxy_ceiling']}."
        if head.get("proxy_ceiling")
        else ""
    )


def render(heads: list[dict[str, Any]], rows: list[Row], composed: str = "") -> str:
    """The report of one run, or (``composed``: the command that composed it) of several."""
    if composed:
        top = [
            f"`{composed}` — composed at {stamp(_dt.datetime.now(_dt.UTC).timestamp())} from "
            f"{len(heads)} runs, one after another; a later run's rows replace an earlier one's "
            "with the same scenario and store:",
            *(
                f"- {_run_line(head)}" + (f" {_link(head)}" if _link(head) else "")
                for head in heads
            ),
        ]
    else:
        top = [_run_line(heads[0]), *([_link(heads[0])] if _link(heads[0]) else [])]
    notes: list[str] = []
    for head in heads:
        notes += [note for note in head.get("notes", []) if note not in notes]
    return "\n".join(
        [
            *top,
            "",
            table(rows),
            "",
            "Notes:",
            *(f"- {note}" for note in NOTES),
            *(f"- {note}" for note in notes),
            *(f"- {cause}" for cause in causes(rows)),
        ]
    )


NOTES = [
    "The workspace (sources, caches, the `local` store) is on tmpfs when there is room "
    "(`PYTEST_ASSETS_BENCH_DIR` chooses another): on this VM the disk's time for the same "
    "1,000 small copies ranged from 41 to 742 ms between runs, which buries what our code "
    "costs. The servers keep their objects in memory.",
    "Stores: `local` a directory; `gcs` gcp-storage-emulator; `s3` moto; `az` Azurite (no "
    "big-file rows); `+20ms` the same server behind `benchmarks/delay_proxy.py` (20 ms each "
    "way: 40 ms per request; connecting is free, as for a client reusing connections to a "
    "real cloud, although moto and the emulator close the connection after each response).",
    "`+cap` is the `+20ms` proxy also capping each connection and the whole link "
    "(`--conn-rate`, `--link-rate`, per direction), so about 12 connections fill it; its "
    "limit is measured in the same run by 12 ranged GETs at once (`_cat_file(start, end)`), "
    "the `vs link` row. On `+cap` the big-file rows replace the 256 MB `big` scenario; "
    "`--quick` runs only those there. The big-file fetch is compared with boto3's "
    "`download_file` (s3transfer, aws-cli's engine: 10 threads, 8 MB parts) on S3 and "
    "google-cloud-storage's `transfer_manager.download_chunks_concurrently` (defaults) on "
    "GCS; its push with boto3's `upload_file` on S3 only: the emulator answers 501 to "
    "`transfer_manager.upload_chunks_concurrently` (the XML multipart API). `gcs+cap` is "
    "an emulator of its own serving a thread per request, as GCS serves connections at "
    "once (one at a time, every ranged GET queues behind the capped link).",
    "The big-file rows (`bigfetch`, `bigpush`, `copypush`) run ours and each fast comparison "
    "(the link's measurement, boto3, transfer_manager, a multi-stream `get_file`/`put_file`) "
    "`--link-runs` times, interleaved, and give medians, with the spread (min to max) after a "
    "figure when there are several. A baseline whose first run moved at one connection's "
    "rate (one stream: `get_file` with our options, `put_file` on GCS) runs once, marked "
    "`1 run`: the cap sets its time (64 s a 256 MB transfer) and it barely varies.",
    "On `gcs` and `s3` (loopback) the 256 MB `big` scenario is left out when `bigfetch` runs: "
    "bigfetch fetches the same file against the same `get_file`, with defaults and as one "
    "stream, and gives its peak RSS. The cache-size row (10 versions) measures disk use, "
    "which no store changes: it runs on `local` and `gcs` only.",
    "(b) is a loop of fsspec `get_file`, one object at a time; (c) is modelkit 0.1.3's "
    "`AssetsManager.fetch_asset` with its own google-cloud-storage / boto3 client. On the "
    "servers both are timed on a sample of the objects and scaled per object to the full "
    "count (sequential: time is linear in the objects).",
    "(a) and (b) get the per-object options our Store passes (`Store.download_options`: "
    "one streamed request per object on gcsfs and s3fs) so ratios show what our fetch adds. "
    "The big file is compared with `get_file` both with the backend's defaults and with "
    "those options; the ratio is against the faster of the two.",
    "Cold fetches use a pinned spec and a fresh cache; `ours` includes reading `.meta`, "
    "verifying sizes and sha256, and the rename into the cache.",
    "Store requests are counted as calls reaching the Store's fsspec filesystem and, "
    "behind a proxy, as HTTP requests seen on the wire.",
]


def update_readme(text: str) -> None:
    readme = h.REPO / "README.md"
    body = readme.read_text()
    py = ".venv/bin/python benchmarks/run.py"
    parts = "".join(
        f"{py} --stores {stores} --json {name}.json  # {wall}\n"
        for (stores, wall), name in zip(FULL_RUNS, ("loopback", "delayed", "capped"), strict=True)
    )
    section = (
        "## Performance\n\n"
        f"```bash\n{py}            # {FULL_WALL} on 2 cores (--stores, --scenarios pick)\n"
        f"{py} --quick    # ~3 min, smaller sizes, flagged\n"
        f"{parts}"
        f"{py} --from-json loopback.json delayed.json capped.json  # one table of the three\n"
        ".venv/bin/python benchmarks/linkmeter.py      # the proxy's own ceiling; checks its rate "
        "caps\n```\n\n"
        "It starts the GCS emulator and moto on loopback (the `dev` extra), runs each scenario of "
        "issues 5 and 11 against each store (the `+cap` columns model a real link: 20 ms each "
        "way, 4 MB/s per connection, 48 MB/s in all), interleaving ours with its comparison, "
        "and prints the table below (medians; every ratio measured in the same run). `--json` "
        "rewrites its file after every scenario, so a stopped run keeps what it measured; "
        "`--from-json` prints one table from several such files. `--link-runs N` (3; 1 with "
        "`--quick`) repeats ours and the fast clients in the big-file rows (medians, spread "
        "shown); a single capped stream runs once. `--update-readme` rewrites this section. "
        "Latest run:\n\n"
        f"{text}\n\n"
    )
    new, count = re.subn(r"## Performance\n.*?(?=^## )", section, body, flags=re.S | re.M)
    if count != 1:
        raise SystemExit("README.md has no '## Performance' section followed by another section")
    readme.write_text(new)
