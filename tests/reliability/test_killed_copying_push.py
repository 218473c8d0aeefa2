"""Fault 2b, killed copying push: a push whose files are mostly copied inside the store from
the version it follows (issue 12) dies by SIGKILL at a chosen point of the copies or at a
random moment. Readers must never see a listed version that is incomplete, nothing unlisted
may be fetchable, the cache verifies clean, and the same push run again completes it."""

from __future__ import annotations

import hashlib
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from servers import StoreUnderTest

from pytest_assets import AssetNotFoundError

from . import _kill

if TYPE_CHECKING:
    from collections.abc import Callable
from ._helpers import make_folder, tree_digests
from .test_killed_push import NAME, Pushes

pytestmark = pytest.mark.reliability

FILES, SIZE = 32, 4 * 1024


class CopyingPushes(Pushes):
    """Every trial's content is one shared folder with its first file changed: the push
    follows a version holding the other 31 files, and copies them."""

    def source(self, trial: str) -> Path:
        folder = self.tmp_path / f"source-{trial}"
        make_folder(folder, self.files, self.size, seed="shared")
        changed = folder / "part-0" / "file-000.bin"
        changed.write_bytes(hashlib.sha256(trial.encode()).digest() * (self.size // 32))
        self.contents[str(folder)] = tree_digests(folder)
        return folder

    def nothing_unlisted_fetchable(self, context: str) -> None:
        """A version the killed push claimed or half-copied is not listed: fetching it fails
        saying it does not exist, and leaves nothing in the cache; once its .meta is written
        (all its objects there) a fetch by its full version gives it whole, verified."""
        reader = self.assets(f"unlisted-{len(self.contents)}")
        try:
            listed = set(reader.versions(NAME))
        except AssetNotFoundError:
            listed = set()
        store = Path(self.store.url) / NAME
        for folder in store.iterdir() if store.is_dir() else ():
            if not folder.is_dir() or folder.name in listed:
                continue
            try:
                fetched = reader.fetch(f"{NAME}:{folder.name}")
            except AssetNotFoundError:
                continue
            assert (store / f"{folder.name}.meta").is_file(), context
            assert tree_digests(fetched) in self.contents.values(), context
        assert reader.verify() == [], context


def after_claim(
    pushes: CopyingPushes, source: Path, delay: Callable[[float], float], window: float
) -> tuple[_kill.Outcome, float]:
    """Run a push and SIGKILL it ``delay(window)`` seconds after it claimed its version (the
    writes: copies, uploads, .meta, .versions); also how long after its claim it was done
    (0 if it was not seen done)."""
    proc = _kill.start(pushes.args(source), pushes.phases)
    while "claimed" not in (pushes.phases.read_text() if pushes.phases.exists() else ""):
        if proc.poll() is not None:
            break
        time.sleep(0.001)
    claimed, ran = time.monotonic(), 0.0
    wait = delay(window)
    while proc.poll() is None and time.monotonic() - claimed < wait:
        if not ran and "done" in pushes.phases.read_text():
            ran = time.monotonic() - claimed
        time.sleep(0.0005)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    return _kill.finish(proc, pushes.phases, None), ran


@pytest.fixture
def local(tmp_path: Path) -> CopyingPushes:
    return CopyingPushes(tmp_path, StoreUnderTest(str(tmp_path / "store"), {}), FILES, SIZE)


@pytest.mark.parametrize("kill_point", ["copy", "copy:1", "copy:12", "copied", "meta"])
def test_copying_push_killed_at_a_chosen_point_is_never_listed_and_completes_on_rerun(
    local: CopyingPushes, kill_point: str
) -> None:
    """Fault: a first push completes; a second, which copies 31 of its 32 files from the
    first, is SIGKILLed before its copies, after 1 or 12 of them, after all, or after
    .meta. After: every listed version is whole, nothing unlisted fetches, verify is clean;
    the same push run again completes and lists the content once."""
    local.assets("pusher").push(local.source("first"), NAME)
    second = local.source("second")
    outcome = _kill.run(local.args(second, kill_point), local.phases)
    assert outcome.killed, outcome.stderr
    assert outcome.where == f"killed at {kill_point}"
    local.check_readers(kill_point)
    local.nothing_unlisted_fetchable(kill_point)
    local.rerun_completes(second, kill_point)


@pytest.mark.parametrize("batch", range(2))
def test_copying_push_killed_at_random_moments_is_never_listed_incomplete(
    local: CopyingPushes, batch: int
) -> None:
    """Fault: SIGKILL after a random delay, from the moment the push claimed its version,
    within the length of the rest of a whole copying push (measured first; its copies, any
    upload, .meta and .versions), 11 trials per batch, 2 batches; each trial's push follows
    the version the previous one left. After each: every listed version is whole and
    matches its .meta, nothing unlisted is partial, verify is clean; unless the push had
    finished, the same push run again completes and lists the content once."""
    local.assets("pusher").push(local.source("first"), NAME)
    calibration, window = after_claim(local, local.source("calibration"), lambda w: 60.0, 0)
    assert "copied" in calibration.phases and calibration.returncode == 0  # it did copy
    rng, seed = _kill.trial_rng()
    landed = []
    for trial in range(11):
        source = local.source(f"b{batch}-t{trial}")
        outcome, _ = after_claim(local, source, lambda w: rng.uniform(0, w), window)
        landed.append(outcome.where)
        context = f"seed {seed} trial {trial}: killed in {outcome.where}"
        seen = local.check_readers(context)
        local.nothing_unlisted_fetchable(context)
        claims = list((Path(local.store.url) / NAME).parent.rglob("*.claim"))
        if outcome.where == "done" or (outcome.where == "released" and not claims):
            holding = [v for v, d in seen.items() if d == local.contents[str(source)]]
            assert len(holding) == 1, f"{context}: the content is listed as {holding}"
        else:
            local.rerun_completes(source, context)
    print(f"batch {batch}: window {window * 1000:.0f} ms, kills landed in {landed}")


@pytest.mark.servers
@pytest.mark.parametrize("kill_point", ["copy:3", "copied"])
def test_copying_push_to_s3_killed_mid_copy_completes_on_rerun(
    s3_store: StoreUnderTest, tmp_path: Path, kill_point: str
) -> None:
    """Fault: as above against the moto S3 server (CopyObject). After: listed versions are
    whole, the re-run completes, the content is listed once."""
    pushes = CopyingPushes(tmp_path, s3_store, files=10, size=8 * 1024)
    pushes.assets("pusher").push(pushes.source("first"), NAME)
    second = pushes.source("second")
    outcome = _kill.run(pushes.args(second, kill_point), pushes.phases)
    assert outcome.killed, outcome.stderr
    pushes.check_readers(kill_point)
    pushes.rerun_completes(second, kill_point)
