"""What a process reports for the summary and assets.lock survives xdist's wire intact."""

from __future__ import annotations

from pytest_assets.xdist_report import PinReport, Record, ReplacedLine, WorkerReport


def _report() -> WorkerReport:
    pins = PinReport(unpinned={"b:1"}, problems={"a:0.0 changed"}, paths={"/p/assets.lock"})
    pins.add("a:0", "0.1", "f" * 64)
    records = frozenset(
        {
            Record("a:0", "a", "0.1", "abc", None, pinned=True),
            Record("b:1", "b", None, None, "/draft"),
        }
    )
    return WorkerReport(records, pins, (ReplacedLine(True, "assets: ignored"),))


def test_a_worker_report_reads_back_as_it_was_published() -> None:
    sent = _report()
    wire: dict[str, object] = {}
    sent.publish(wire)
    assert WorkerReport.received(wire) == sent


def test_a_worker_that_published_nothing_reports_nothing() -> None:
    received = WorkerReport.received({})
    assert (received.records, received.replaced, received.pins.empty) == (frozenset(), (), True)


def test_two_processes_resolving_one_spec_differently_are_kept_as_diverged() -> None:
    first, second = PinReport(), PinReport()
    first.add("a:0", "0.1", "1" * 64)
    second.add("a:0", "0.2", "2" * 64)
    first.merge(PinReport.from_wire(second.to_wire()))
    assert first.pins == {"a:0": ("0.2", "2" * 64)}
    assert first.diverged == {"a:0": {"0.1", "0.2"}}
