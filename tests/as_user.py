"""Running a test's script as another user: permissions are checked by the kernel only for the
user a process runs as, and this suite may run as root (see test_multi_user_cache.py and
test_read_only_cache.py, which become other users with ``setpriv``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any


def run_script(
    command: list[str], prelude: str, code: str, *args: str, cwd: Path, timeout: float
) -> dict[str, Any]:
    """Run ``prelude`` + ``code`` (which fills the dict ``out``) by ``command`` (e.g. setpriv
    ..., python, -c) with ``args`` after the script; ``out`` as it printed it. The shell's
    ``ASSETS_*`` settings stay out: the script sees only what it configures."""
    script = prelude + textwrap.dedent(code) + "\nprint(json.dumps(out))\n"
    result = subprocess.run(
        [*command, script, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("ASSETS_")},
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return data


def remove_tree(work: Path) -> None:
    """Delete ``work`` and the read-only cached copies in it (their folders made writable)."""
    for root, dirs, _files in os.walk(work):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    shutil.rmtree(work, ignore_errors=True)
