"""The benchmark's saved runs: rows kept as they come, several runs composed into one table,
and the big-file rounds that run a single-stream baseline once (benchmarks/ is no package)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bigfile import rounds
from context import Row
from report import load, merge, render, save


def _row(scenario: str, store: str, ours: str = "1 s") -> Row:
    return Row(scenario, store, ours, "other", "1.0x", "-", None, {"ours": [1.0]})


def _head(command: str, started: float = 1_764_600_000.0, **more: Any) -> dict[str, Any]:
    plan = {"quick": False, "files": 1000, "file_kb": 10, "big_mb": 256, "runs": 4}
    plan |= {"process_runs": 3, "procs": 8, "light_runs": 7}
    head = {"command": command, "started": started, "wall": 600.0, "finished": True}
    head |= {"done": ["push on s3"], "cores": 2, "python": "3.11.7", "workspace": "/dev/shm"}
    head |= {"plan": plan, "link": "", "proxy_ceiling": "", "notes": []}
    return head | more


def test_a_later_run_replaces_the_rows_of_the_same_scenario_and_store() -> None:
    first = [_row("push", "s3", "old"), _row("push", "gcs")]
    second = [_row("push", "s3", "new")]

    merged = merge([first, second])

    assert [(r.store, r.ours) for r in merged] == [("s3", "new"), ("gcs", "1 s")]


def test_rows_only_a_later_run_has_come_after_the_earlier_ones() -> None:
    merged = merge([[_row("push", "local")], [_row("push", "s3+cap"), _row("cold", "s3+cap")]])

    assert [(r.scenario, r.store) for r in merged] == [
        ("push", "local"),
        ("push", "s3+cap"),
        ("cold", "s3+cap"),
    ]


def test_a_key_with_several_rows_in_one_run_is_replaced_as_a_whole() -> None:
    first = [_row("peak RSS", "gcs", "a"), _row("peak RSS", "gcs", "b")]

    merged = merge([first, [_row("peak RSS", "gcs", "c")]])

    assert [r.ours for r in merged] == ["c"]


def test_a_saved_run_loads_back_with_its_header_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    save(path, _head("python benchmarks/run.py"), [_row("push", "s3")])
    save(path, _head("python benchmarks/run.py"), [_row("push", "s3"), _row("cold", "s3")])

    head, rows = load(path)

    assert head["command"] == "python benchmarks/run.py"
    assert [r.scenario for r in rows] == ["push", "cold"]
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary left behind


def test_a_composed_report_names_each_run_its_command_and_times() -> None:
    heads = [_head("python benchmarks/run.py --stores local"), _head("python x --stores s3")]

    text = render(heads, [_row("push", "s3")], composed="python benchmarks/run.py --from-json")

    assert "composed at" in text and "from 2 runs" in text
    assert "`python benchmarks/run.py --stores local` — 2025-12-01 14:40 UTC to 14:50" in text
    assert "`python x --stores s3`" in text


def test_a_stopped_run_says_it_is_partial_and_where_it_stopped() -> None:
    head = _head("python benchmarks/run.py", finished=False, done=["push on s3", "cold on s3"])

    text = render([head], [_row("push", "s3")])

    assert "STOPPED after 600 s, its last scenario done cold on s3: partial" in text


def test_from_json_prints_one_table_of_several_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import run

    for name, rows in (("a", [_row("push", "s3", "old")]), ("b", [_row("push", "s3", "new")])):
        save(tmp_path / f"{name}.json", _head(f"run {name}"), rows)

    assert run.main(["--from-json", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0

    out = capsys.readouterr().out
    assert "| push | s3 | new |" in out and "| push | s3 | old |" not in out
    assert "`run a`" in out and "`run b`" in out


def test_rows_written_before_the_header_existed_still_load(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps([{**_row("push", "s3").__dict__}]))

    head, rows = load(path)

    assert [r.store for r in rows] == ["s3"] and "rows only" in head["command"]


def test_a_baseline_at_one_streams_pace_runs_once_and_the_others_every_round() -> None:
    calls: dict[str, int] = {"ours": 0, "one_stream": 0, "get_file": 0}

    def timer(key: str, seconds: float) -> Any:
        def run() -> float:
            calls[key] += 1
            return seconds

        return run

    timers = {"ours": timer("ours", 6.0), "one_stream": timer("one_stream", 64.0)}
    timers["get_file"] = timer("get_file", 16.0)  # several streams: it varies, runs each round

    times = rounds(3, timers, ("one_stream", "get_file"), one_stream=64.0)

    assert calls == {"ours": 3, "one_stream": 1, "get_file": 3}
    assert times["one_stream"] == [64.0]


def test_json_is_rewritten_after_every_scenario_of_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import run

    saved: list[tuple[list[str], int, bool]] = []

    def recording(path: Path, head: dict[str, Any], rows: list[Row]) -> None:
        saved.append((list(head["done"]), len(rows), head["finished"]))
        save(path, head, rows)

    monkeypatch.setattr(run, "save", recording)
    monkeypatch.setenv("PYTEST_ASSETS_BENCH_DIR", str(tmp_path))
    args = ["--quick", "--stores", "local", "--scenarios", "push,warm", "--files", "5"]
    args += ["--big-mb", "1", "--runs", "1", "--json", str(tmp_path / "run.json")]

    assert run.main(args) == 0

    capsys.readouterr()
    assert [(done, finished) for done, _rows, finished in saved] == [
        (["push on local"], False),
        (["push on local", "warm on local"], False),
        (["push on local", "warm on local"], True),
    ]
    assert saved[0][1] == 1 and saved[1][1] == 3  # the push row, then the two warm rows
    head, _rows = load(tmp_path / "run.json")
    assert head["finished"] and "--stores local" in head["command"]
