"""A cache shared by several users of one machine: its root group-writable and setgid
(``chgrp team; chmod 2775``), as an administrator sets one up.

Real users, made with ``useradd`` for the session (root only, else skipped saying why): alice
and bob in the group ``team``, carol outside it. Each runs in a process of its own under
``setpriv`` (uid, gid and groups of the user, umask set by the script), so the kernel checks
every permission as it would for them. alice runs with umask 077, the one that made
huggingface_hub's downloads 0600 (#1141).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from as_user import remove_tree, run_script

from pytest_assets import Assets
from pytest_assets.cache import BOOKKEEPING
from pytest_assets.content_index import ContentIndex

_PRELUDE = """
import json, os, sys
from pathlib import Path
from pytest_assets import Assets
from pytest_assets.cache import BOOKKEEPING
from pytest_assets.content_index import ContentIndex
from pytest_assets.errors import AssetsError
os.umask(int(sys.argv[1], 8))
assets = Assets(store=sys.argv[2], cache_dir=sys.argv[3])
out = {}
"""


@dataclass(frozen=True)
class Team:
    group: str
    alice: str
    bob: str
    carol: str


def _run(*command: str) -> None:
    for _ in range(20):  # useradd refuses while another holds /etc/passwd's lock
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


def _as(user: str) -> list[str]:
    """The command prefix that runs as ``user``: its uid, the group users, its groups."""
    return ["setpriv", f"--reuid={user}", "--regid=users", "--init-groups"]


@pytest.fixture(scope="session")
def team() -> Iterator[Team]:
    if os.geteuid() != 0:
        pytest.skip("needs root to create the users of a shared cache (useradd); run as root")
    if not (shutil.which("useradd") and shutil.which("groupadd") and shutil.which("setpriv")):
        pytest.skip("needs useradd, groupadd and setpriv to run as other users")
    tag = uuid.uuid4().hex[:6]  # one set per session (and xdist worker), removed after it
    found = Team(f"pa-team-{tag}", f"pa-alice-{tag}", f"pa-bob-{tag}", f"pa-carol-{tag}")
    made: list[tuple[str, str]] = []
    try:
        _run("groupadd", found.group)
        made.append(("groupdel", found.group))
        for user, groups in (
            (found.alice, [found.group]),
            (found.bob, [found.group]),
            (found.carol, []),
        ):
            extra = ["-G", ",".join(groups)] if groups else []
            _run("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", *extra, user)
            made.insert(0, ("userdel", user))
        probe = subprocess.run(
            [*_as(found.bob), sys.executable, "-c", "import pytest_assets"],
            cwd="/",
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:  # e.g. a Python under a home folder of mode 0700
            pytest.skip(f"another user cannot run this Python: {probe.stderr[-300:]}")
        yield found
    finally:
        for command, name in made:
            subprocess.run([command, name], capture_output=True, check=False)


@pytest.fixture
def shared(team: Team) -> Iterator[tuple[Path, Callable[..., dict[str, Any]]]]:
    """(cache root, ``run(user, code, umask="022")``): a store with ``d`` 0.0, 0.1, 0.2 (each
    holding ``same.txt`` unchanged and its own ``own.txt``) and an empty shared cache."""
    work = Path(tempfile.mkdtemp(prefix="pytest-assets-team-"))
    work.chmod(0o755)
    store, cache = work / "store", work / "cache"
    source = work / "source"
    source.mkdir()
    pusher = Assets(store=str(store), cache_dir=work / "pusher-cache")
    for version in ("0.0", "0.1", "0.2"):
        (source / "same.txt").write_text("the same in every version\n")
        (source / "own.txt").write_text(f"only in {version}\n")
        pusher.push(source, "d")
    cache.mkdir()
    shutil.chown(cache, group=team.group)
    cache.chmod(0o2775)

    def run(user: str, code: str, umask: str = "022") -> dict[str, Any]:
        command = [*_as(user), sys.executable, "-c"]
        return run_script(
            command, _PRELUDE, code, umask, str(store), str(cache), cwd=work, timeout=60
        )

    try:
        yield cache, run
    finally:
        remove_tree(work)


def _tree(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every path below ``folder``: (mode, owner, mtime_ns)."""
    found = {}
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        found[str(path.relative_to(folder))] = (info.st_mode, info.st_uid, info.st_mtime_ns)
    return found


def test_a_user_reads_and_uses_what_another_downloaded(shared: Any, team: Team) -> None:
    cache, run = shared
    alice = run(team.alice, 'out["path"] = str(assets.fetch("d:0.0"))', umask="077")
    bob = run(
        team.bob,
        """
        path = assets.fetch("d:0.0")
        out["path"] = str(path)
        out["read"] = (path / "own.txt").read_text()
        newer = assets.fetch("d:0.1")  # a new version beside alice's: her folders let him in
        out["newer"] = (newer / "own.txt").read_text()
        out["verify"] = [p.message for p in assets.verify()]
    """,
    )
    assert bob == {
        "path": alice["path"],
        "read": "only in 0.0\n",
        "newer": "only in 0.1\n",
        "verify": [],
    }
    # bob's fetch was indexed beside alice's: the index is the group's too
    held = {(h.version, h.relpath) for h in ContentIndex(cache / BOOKKEEPING).holders()}
    assert {("0.0", "own.txt"), ("0.1", "own.txt")} <= held


def test_what_one_user_creates_the_group_can_write_and_everyone_read(
    shared: Any, team: Team
) -> None:
    cache, run = shared
    run(team.alice, 'assets.fetch("d:0.0"); assets.fetch("d:0.1")', umask="077")
    data = {str(p) for p in cache.glob("*/d/*")}
    wrong = {}
    for path in [*cache.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        inside_data = any(str(path).startswith(d) for d in data)
        if inside_data:
            wanted = 0o555 if path.is_dir() else 0o444  # cached copies: read-only to all
        elif path.is_dir():
            wanted = 0o2775
        elif path.name.endswith(".lock"):
            wanted = 0o666  # any user may lock
        elif path.name.endswith(".owner"):
            wanted = 0o644  # read by all, replaced whole, never written in place
        else:
            wanted = 0o664  # records, the content index, the tag: the group's too
        if mode != wanted:
            wrong[str(path.relative_to(cache))] = f"{mode:o}, not {wanted:o}"
    assert wrong == {}
    assert {p.group() for p in cache.rglob("*")} == {team.group}  # setgid: the root's group


def test_a_lock_file_another_user_left_never_blocks_a_fetch(shared: Any, team: Team) -> None:
    cache, run = shared
    # alice fetched and pruned all three: their lock files stay (a lock file is never deleted)
    run(team.alice, 'for v in ("0.0", "0.1", "0.2"): assets.fetch(f"d:{v}")\nassets.prune(keep=0)')
    locks = sorted(cache.glob(".pytest-assets/locks/*/d/*.lock"))
    assert [p.name for p in locks] == ["0.0.lock", "0.1.lock", "0.2.lock"]
    # as an older release or a umask would have left them: not writable, or not even readable
    locks[1].chmod(0o644)
    locks[2].chmod(0o600)
    bob = run(
        team.bob,
        """
        fetched = [assets.fetch(f"d:{v}") for v in ("0.0", "0.1", "0.2")]
        out["read"] = [(path / "own.txt").read_text() for path in fetched]
    """,
    )
    assert bob == {"read": ["only in 0.0\n", "only in 0.1\n", "only in 0.2\n"]}
    # the owner note names the last holder: bob's replaced alice's
    assert locks[0].with_name("0.0.lock.owner").owner() == team.bob


def test_a_user_who_cannot_write_gets_hits_and_a_clear_error_on_a_miss(
    shared: Any, team: Team
) -> None:
    cache, run = shared
    run(team.alice, 'assets.fetch("d:0.0")')
    before = _tree(cache)
    carol = run(
        team.carol,
        """
        out["hit"] = (assets.fetch("d:0.0") / "own.txt").read_text()
        try:
            assets.fetch("d:0.1")
        except AssetsError as exc:
            out["miss"] = str(exc)
    """,
    )
    assert _tree(cache) == before  # nothing written, nothing touched, not even a lock
    assert carol["hit"] == "only in 0.0\n"
    assert carol["miss"] == (
        f"cache directory {cache}: d:0.1 is not cached; it is not writable by user "
        f"{team.carol}: join its group {team.group}, or set ASSETS_DIR to a cache of your own "
        f"and ASSETS_SHARED_DIRS to {cache} to keep using its copies"
    )


def test_a_user_who_cannot_write_the_content_index_still_fetches(shared: Any, team: Team) -> None:
    cache, run = shared
    run(team.alice, 'assets.fetch("d:0.0")')
    index = cache / ".pytest-assets" / "content.sqlite"
    index.chmod(0o644)  # left so by an older release: the group may read it, not write it
    bob = run(
        team.bob,
        """
        fetched = [assets.fetch(f"d:{v}") for v in ("0.1", "0.2")]
        out["read"] = [(p / f).read_text() for p in fetched for f in ("same.txt", "own.txt")]
    """,
    )
    assert bob["read"] == [
        "the same in every version\n",
        "only in 0.1\n",
        "the same in every version\n",
        "only in 0.2\n",
    ]


def test_a_version_another_user_fetched_is_kept_whole_when_one_cannot_remove_it(
    shared: Any, team: Team
) -> None:
    cache, run = shared
    run(team.alice, 'assets.fetch("d:0.0")')
    bob = run(
        team.bob,
        """
        try:
            assets.prune(keep=0)
        except AssetsError as exc:
            out["prune"] = str(exc)
        out["hit"] = (assets.fetch("d:0.0") / "own.txt").read_text()
    """,
    )
    assert bob == {
        "prune": f"cache directory {cache}: d:0.0 was fetched by user {team.alice}, and only "
        "they (or root) can remove it: it was kept, whole",
        "hit": "only in 0.0\n",
    }


@pytest.mark.parametrize("root_mode", [0o755, 0o1777])
def test_a_private_or_sticky_cache_root_keeps_the_umasks_modes(
    tmp_path: Path, root_mode: int
) -> None:
    """Only a root an administrator shared widens anything: not a private one, nor a sticky
    scratch folder such as /tmp."""
    (tmp_path / "src").write_text("x\n")
    Assets(store=str(tmp_path / "store"), cache_dir=tmp_path / "pusher").push(tmp_path / "src", "f")
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(root_mode)
    old = os.umask(0o022)
    try:
        Assets(store=str(tmp_path / "store"), cache_dir=cache).fetch("f:0.0")
    finally:
        os.umask(old)
    books = cache / BOOKKEEPING
    modes = {stat.S_IMODE(p.stat().st_mode) for p in books.rglob("*") if p.is_dir()}
    modes |= {stat.S_IMODE(p.stat().st_mode) for p in books.rglob("*.json")}
    assert modes == {0o755, 0o644}
