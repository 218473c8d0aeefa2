"""Fault 2, killed push: a pushing process dies by SIGKILL between or inside the claim, the
uploads, ``.meta``, the ``.versions`` lock and the ``.versions`` write, also while its source is
being written to. Readers must never see a listed version that is incomplete, the store must
never list a version whose ``.meta`` disagrees with its objects, and running the same push
again completes it (once)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from servers import StoreUnderTest

from pytest_assets import AssetNotFoundError, Assets

from . import _kill
from ._helpers import in_thread, make_folder, store_problems, tree_digests

pytestmark = pytest.mark.reliability

NAME = "models/pushed"


class Pushes:
    """Trials pushing new content of one asset into one store; every trial's content is
    different, so the leftovers (claims, locks, objects) of earlier kills are in the way."""

    def __init__(self, tmp_path: Path, store: StoreUnderTest, files: int, size: int) -> None:
        self.tmp_path = tmp_path
        self.store = store
        self.files, self.size = files, size
        self.phases = tmp_path / "phases.txt"
        self.contents: dict[str, dict[str, str]] = {}  # source folder -> digests

    def assets(self, cache: str = "reader") -> Assets:
        return Assets(
            store=self.store.url,
            cache_dir=self.tmp_path / cache,
            storage_options=self.store.storage_options,
        )

    def source(self, trial: str) -> Path:
        folder = self.tmp_path / f"source-{trial}"
        self.contents[str(folder)] = make_folder(folder, self.files, self.size, seed=trial)
        return folder

    def args(self, source: Path, kill_point: str = "") -> list[str]:
        options = json.dumps(self.store.storage_options)
        cache = str(self.tmp_path / "pusher")
        phases = str(self.phases)
        return ["push", self.store.url, options, cache, str(source), NAME, phases, kill_point]

    def check_readers(self, context: str) -> dict[str, dict[str, str]]:
        """Every listed version fetches whole (fresh cache) and holds one of the pushed
        contents; on a directory store, every listed version's objects match its .meta."""
        reader = self.assets(f"reader-{len(self.contents)}-{context.replace(' ', '_')}")
        try:
            listed = reader.versions(NAME)
        except AssetNotFoundError:
            return {}
        if "://" not in self.store.url:
            assert store_problems(Path(self.store.url)) == [], context
        known = list(self.contents.values())
        seen = {}
        for version in listed:
            digests = tree_digests(reader.fetch(f"{NAME}:{version}"))
            assert digests in known, f"{context}: {version} holds content nobody pushed"
            seen[version] = digests
        assert reader.verify() == []
        return seen

    def rerun_completes(self, source: Path, context: str) -> None:
        """The same push again completes within seconds, and the content is listed once."""
        pusher = self.assets("pusher")
        pushed, took = in_thread(lambda: pusher.push(source, NAME), timeout=120)
        assert took < 15, f"{context}: re-running the push took {took:.1f} s"
        seen = self.check_readers(context + " rerun")
        assert seen[pushed.version] == self.contents[str(source)], context
        holding = [v for v, d in seen.items() if d == self.contents[str(source)]]
        assert holding == [pushed.version], f"{context}: the content is listed as {holding}"


@pytest.fixture
def local(tmp_path: Path) -> Pushes:
    return Pushes(tmp_path, StoreUnderTest(str(tmp_path / "store"), {}), files=24, size=64 * 1024)


KILL_POINTS = [
    "claimed",
    "upload:1",
    "upload:12",
    "torn",
    "uploaded",
    "meta",
    "locked",
    "versions",
    "released",
]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_push_killed_at_a_chosen_point_is_never_listed_incomplete_and_completes_on_rerun(
    local: Pushes, kill_point: str
) -> None:
    """Fault: a first push completes, then a second push of new content is SIGKILLed exactly
    at ``kill_point`` (after claiming the version, after N objects, half-way through copying an
    object, after all objects, after .meta, while holding the .versions lock, after writing
    .versions, after releasing the lock). After: every listed version is whole and matches its
    .meta; re-running the same push completes within seconds and lists that content once."""
    first = local.source("first")
    local.assets("pusher").push(first, NAME)
    second = local.source("second")
    outcome = _kill.run(local.args(second, kill_point), local.phases)
    assert outcome.killed, outcome.stderr
    assert outcome.where == f"killed at {kill_point}"
    local.check_readers(kill_point)
    local.rerun_completes(second, kill_point)


@pytest.mark.servers
@pytest.mark.parametrize(
    ("kind", "kill_point"),
    [*(("s3", point) for point in ["claimed", "upload:5", "meta", "locked", "versions"]),
     *(("az", point) for point in ["claimed", "locked", "versions"])],
)  # fmt: skip
def test_push_to_a_server_killed_at_a_chosen_point_completes_on_rerun(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, kill_point: str
) -> None:
    """Fault: as above against the moto S3 server and Azurite (create-only writes with
    If-None-Match; on Azurite the points where the claim and the lock are held). After: listed
    versions are whole, the re-run completes within seconds, content listed once."""
    store: StoreUnderTest = request.getfixturevalue(f"{kind}_store")
    pushes = Pushes(tmp_path, store, files=10, size=16 * 1024)
    source = pushes.source("only")
    outcome = _kill.run(pushes.args(source, kill_point), pushes.phases)
    assert outcome.killed, outcome.stderr
    pushes.check_readers(kill_point)
    pushes.rerun_completes(source, kill_point)


@pytest.mark.parametrize("batch", range(2))
def test_push_killed_at_random_moments_is_never_listed_incomplete(
    local: Pushes, batch: int
) -> None:
    """Fault: SIGKILL after a random delay within the length of a whole push (measured first),
    6 trials per batch, 2 batches, each trial pushing new content into the same store. After
    each: every listed version is whole and matches its .meta; unless the push had finished,
    the same push run again completes and lists the content once."""
    calibration = _kill.run(local.args(local.source("calibration")), local.phases)
    window = float(calibration.result()["seconds"])  # type: ignore[arg-type]
    rng, seed = _kill.trial_rng()
    landed = []
    for trial in range(6):
        source = local.source(f"b{batch}-t{trial}")
        outcome = _kill.run(local.args(source), local.phases, kill_after=rng.uniform(0, window))
        landed.append(outcome.where)
        context = f"seed {seed} trial {trial}: killed in {outcome.where}"
        seen = local.check_readers(context)
        # After "released" the push only drops its claim; once that is gone it has finished.
        claims = list((Path(local.store.url) / NAME).parent.rglob("*.claim"))
        if outcome.where == "done" or (outcome.where == "released" and not claims):
            holding = [v for v, d in seen.items() if d == local.contents[str(source)]]
            assert len(holding) == 1, f"{context}: the content is listed as {holding}"
        else:
            local.rerun_completes(source, context)
    print(f"batch {batch}: window {window * 1000:.0f} ms, kills landed in {landed}")


# -- a source that changes while it is pushed (issue 10, case 2) --------------------------------


@pytest.mark.parametrize("kill_point", ["upload:1", "uploaded", "withdrawn", "none"])
def test_push_of_a_source_changed_mid_upload_is_never_listed_and_a_later_push_completes(
    local: Pushes, kill_point: str
) -> None:
    """Fault: a first push completes; a second push's source grows after it was hashed, just
    before its upload, and the push is SIGKILLed at ``kill_point`` (after one object, after all
    objects, after taking its objects back) or left to refuse. After: nothing of the second
    push is listed, every listed version matches its .meta, a refusal leaves no claim; the same
    push, once the source holds still, completes and lists that content once."""
    first = local.source("first")
    local.assets("pusher").push(first, NAME)
    second = local.source("second")
    point = "" if kill_point == "none" else kill_point
    outcome = _kill.run([*local.args(second, point), "change"], local.phases)
    if kill_point == "none":
        assert outcome.returncode == 1, outcome.stderr
        assert "changed while it was being pushed; nothing was published" in outcome.stderr
        assert list(Path(local.store.url).rglob("*.claim")) == []
    else:
        assert outcome.killed, outcome.stderr
        assert outcome.where == f"killed at {kill_point}"
    local.contents[str(second)] = tree_digests(second)  # what it holds now that it is still
    assert list(local.check_readers(kill_point)) == ["0.0"]
    local.rerun_completes(second, kill_point)


def _write_until(stop: threading.Event, folder: Path) -> None:
    """A job still writing its output: one file grows, another is rewritten in place."""
    growing = folder / "part-0" / "file-000.bin"
    rewritten = folder / "part-1" / "file-001.bin"
    while not stop.is_set():
        with growing.open("ab") as handle:
            handle.write(os.urandom(1024))
        with rewritten.open("r+b") as handle:
            handle.write(os.urandom(4096))
        time.sleep(0.003)


def test_push_of_a_source_being_written_killed_at_random_moments_never_lists_a_bad_version(
    local: Pushes,
) -> None:
    """Fault: while a writer keeps changing two files of the source, 8 pushes of it run, each
    SIGKILLed after a random delay within the length of a whole push (measured first), unless
    it refused or finished first. After each: every listed version's objects match its .meta
    and it fetches whole. Once the writer stops, the push completes with what the folder holds."""
    calibration = _kill.run(local.args(local.source("calibration")), local.phases)
    window = float(calibration.result()["seconds"])  # type: ignore[arg-type]
    source = local.source("changing")
    rng, seed = _kill.trial_rng()
    stop = threading.Event()
    writer = threading.Thread(target=_write_until, args=(stop, source), daemon=True)
    writer.start()
    landed = []
    try:
        for trial in range(8):
            outcome = _kill.run(local.args(source), local.phases, kill_after=rng.uniform(0, window))
            refused = "being pushed; nothing was published" in outcome.stderr
            assert outcome.killed or outcome.returncode == 0 or refused, outcome.stderr
            landed.append(f"refused after {outcome.where}" if refused else outcome.where)
            context = f"seed {seed} trial {trial}: {landed[-1]}"
            assert store_problems(Path(local.store.url)) == [], context
            reader = local.assets(f"reader-{trial}")
            for version in reader.versions(NAME):
                reader.fetch(f"{NAME}:{version}")  # verified against its .meta
            assert reader.verify() == [], context
    finally:
        stop.set()
        writer.join()
    local.contents[str(source)] = tree_digests(source)
    local.rerun_completes(source, f"seed {seed}: after the writer stopped")
    print(f"window {window * 1000:.0f} ms, trials ended in {landed}")
