"""Children of ``_child.py`` forked from one warm process instead of started cold.

A kill trial's child spent most of its life starting: a new interpreter importing
pytest_assets, fsspec, s3fs and gcsfs (1-3 s on a loaded machine) before it was "ready", and a
batch runs 20 or more of them. The fork server imports all of that once; each child is a fork
of it that runs ``_child.main`` with the arguments, environment and working folder the test
gave, its stdout and stderr the test's own pipes (passed over a Unix socket). The child is
still a process of its own that the test SIGKILLs by its pid; only the start-up is shared.

The server is single-threaded (forking a process with threads is unsafe) and reports each
child's exit status once it has reaped it, so a killed child is gone, not a zombie, when the
test sees its return code, as with ``subprocess.Popen``.

Run as ``python _forkserver.py FD`` (FD: its end of the socket); :func:`start` is the client.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).parent
_MESSAGE_BYTES = 1 << 20
_GONE = -255  # the return code of a child whose server died before reporting it

# -- the server (its own process) ----------------------------------------------------------


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.send(json.dumps(message).encode())


def _run_child(command: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become the test's ``_child.py`` run, then exit with its code."""
    import traceback

    import _child  # type: ignore[import-not-found]  # imported by the server before forking

    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in (null, *fds):
        os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(command["env"])
    os.chdir(command["cwd"])
    sys.argv = [str(HERE / "_child.py"), *command["args"]]
    code = 0
    try:
        _child.main(command["args"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve(sock: socket.socket) -> None:
    children: set[int] = set()
    _send(sock, {"ready": True})
    while True:
        readable, _, _ = select.select([sock], [], [], 0.002 if children else None)
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                _send(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})
        if not readable:
            continue
        data, fds, _, _ = socket.recv_fds(sock, _MESSAGE_BYTES, 2)
        if not data:  # the tests' process is gone: take its children along
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            sock.close()
            _run_child(json.loads(data), fds)
        for fd in fds:
            os.close(fd)
        children.add(pid)
        _send(sock, {"pid": pid})


def _main(fd: int) -> None:
    sys.path.insert(0, str(HERE))
    import _child  # noqa: F401  (pytest_assets, fsspec; sets the gcsfs variable first)
    import gcsfs  # noqa: F401  (imported by a child's first connection otherwise)
    import s3fs  # noqa: F401

    with contextlib.suppress(ImportError):  # without it the Azure tests skip
        import adlfs  # noqa: F401

    _serve(socket.socket(fileno=fd))


# -- the client (the tests' process) -------------------------------------------------------


class Forked:
    """A forked child, used as the ``subprocess.Popen`` it stands in for (text pipes)."""

    def __init__(self, pid: int, stdout: IO[str], stderr: IO[str]) -> None:
        self.pid, self.stdout, self.stderr = pid, stdout, stderr
        self.returncode: int | None = None
        self.exited = threading.Event()
        self._read: dict[str, str] = {}
        self._readers: list[threading.Thread] = []

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """The rest of stdout and stderr, once the child has exited (as Popen's)."""
        if not self._readers:
            for name, stream in (("out", self.stdout), ("err", self.stderr)):
                thread = threading.Thread(target=self._drain, args=(name, stream), daemon=True)
                thread.start()
                self._readers.append(thread)
        for thread in self._readers:
            thread.join(timeout)
        if any(t.is_alive() for t in self._readers) or not self.exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"forked child {self.pid}", timeout or 0)
        return self._read["out"], self._read["err"]

    def _drain(self, name: str, stream: IO[str]) -> None:
        with stream:
            self._read[name] = stream.read()


class ForkServer:
    """The client's handle on one server process: starts children, collects their exits."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT="false"),
        )
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()  # one start at a time: its reply is the next "pid"
        self.started: list[int] = []
        self.have_pid = threading.Condition()
        self.children: dict[int, Forked] = {}
        self.exits: dict[int, int] = {}  # exits reported before their start returned
        self.alive = True
        self.ready = threading.Event()
        threading.Thread(target=self._listen, daemon=True).start()
        if not self.ready.wait(120):
            raise AssertionError("the fork server did not start within 120 s")

    def _listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(_MESSAGE_BYTES)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            if "ready" in message:
                self.ready.set()
            elif "pid" in message:
                with self.have_pid:
                    self.started.append(message["pid"])
                    self.have_pid.notify_all()
            else:
                with self.have_pid:
                    child = self.children.pop(message["exit"], None)
                    if child is None:
                        self.exits[message["exit"]] = message["code"]
                    else:
                        child.returncode = message["code"]
                        child.exited.set()
        with self.have_pid:
            self.alive = False
            for child in self.children.values():
                child.returncode = _GONE
                child.exited.set()
            self.have_pid.notify_all()

    def start(self, args: list[str], env: dict[str, str]) -> Forked:
        command = json.dumps({"args": args, "env": env, "cwd": os.getcwd()}).encode()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        with self.lock:
            try:
                socket.send_fds(self.sock, [command], [out_w, err_w])
            finally:
                os.close(out_w)
                os.close(err_w)
            with self.have_pid:
                self.have_pid.wait_for(lambda: self.started or not self.alive, 60)
                if not self.started:
                    os.close(out_r)
                    os.close(err_r)
                    raise AssertionError("the fork server is gone or did not fork")
                pid = self.started.pop(0)
                child = Forked(pid, open(out_r), open(err_r))  # noqa: SIM115  (Popen's pipes)
                if pid in self.exits or not self.alive:
                    child.returncode = self.exits.pop(pid, _GONE)
                    child.exited.set()
                else:
                    self.children[pid] = child
        return child


_server: ForkServer | None = None
_server_lock = threading.Lock()


def available() -> bool:
    """Forking a warm process is Linux's (macOS' frameworks do not survive a fork)."""
    return sys.platform == "linux" and hasattr(socket, "send_fds")


def start(args: list[str], env: dict[str, str]) -> Forked:
    """A ``_child.py`` run of ``args`` forked from this process's server (started on first
    use, started again if it died)."""
    global _server
    with _server_lock:
        if _server is None or not _server.alive:
            _server = ForkServer()
        server = _server
    return server.start(args, env)


if __name__ == "__main__":
    _main(int(sys.argv[1]))
