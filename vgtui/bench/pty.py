"""Bench section: the bytes per second the real dashboard writes into a pseudo-terminal in
steady training (locally and as an SSH session sees it); and `DashboardInPty`, the real app in a
pty, which the memory section measures too."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from vgtui.bench.harness import Figure, Plan
from vgtui.ui.framerate import REMOTE_ENV


class DashboardInPty:
    """The real ``vgtui`` (its CLI, its trainer process) in a pseudo-terminal of ``size``, as a
    user runs it (TERM=xterm-256color; an SSH session's environment if ``remote``).

    A context manager: on leaving, the whole process group (dashboard and trainer) is killed,
    whatever happened. Everything written to the terminal is read as it comes (``read``),
    counted in ``written`` and kept in ``tail`` (the last 64 KiB) to look for text in.
    """

    def __init__(self, size: tuple[int, int], argv: tuple[str, ...] = (), remote: bool = False):
        self.size, self.argv, self.remote = size, argv, remote
        self.written = 0
        self.tail = b""

    def __enter__(self) -> DashboardInPty:
        from vgtui.commands.recording import spawn_in_pty  # POSIX only, like the pty itself

        env = {"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22"} if self.remote else {}
        drop = (*REMOTE_ENV, "COLUMNS", "LINES", "COLORTERM", "NO_COLOR", "TEXTUAL")
        self.started = time.perf_counter()
        self.proc, self.fd = spawn_in_pty(self.argv, *self.size, env=env, drop=drop)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.drain(0.5)
            self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group: nothing is left behind
        self.proc.wait()
        os.close(self.fd)

    def read(self, timeout: float) -> int:
        """Take what the app wrote within ``timeout`` seconds; returns how many bytes."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return 0
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the other side closed
            return 0
        self.written += len(data)
        self.tail = (self.tail + data)[-65536:]
        return len(data)

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read(0.05)

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        """Read until ``condition()``; returns the seconds since launch."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"bench: vgtui at {self.size} never showed {what}")
            self.read(0.05)
        return time.perf_counter() - self.started

    def step(self) -> int:
        """The last step count the status line showed (0 before any)."""
        shown = re.findall(rb"  step ([\d,]+)", self.tail)  # the status line's, not an axis
        return int(shown[-1].replace(b",", b"")) if shown else 0

    def trainer_pid(self) -> int:
        """The trainer process: the dashboard's child that multiprocessing spawned."""
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                if parent == self.proc.pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
        return 0


def terminal_bytes_per_s(
    size: tuple[int, int], seconds: float, remote: bool = False, argv: tuple[str, ...] = ()
) -> float:
    """Bytes per second the real dashboard writes into its terminal in steady training: counted
    once it shows a running trainer and the first frames of the run are out, for ``seconds``."""
    with DashboardInPty(size, argv, remote) as app:
        app.wait_for(lambda: b"running" in app.tail, 60, "a running trainer")
        app.drain(2.0)  # past the first frames of the run
        started, before = time.perf_counter(), app.written
        while time.perf_counter() - started < seconds:
            app.read(0.1)
        return (app.written - before) / (time.perf_counter() - started)


def terminal_bytes(plan: Plan) -> list[Figure]:
    """The real app in a pty at 80x24 and 160x50 (and 160x50 as an SSH session sees it)."""
    section = "bytes to the terminal (real app, steady training)"
    figures = []
    for size, remote in plan.pty_runs:
        rate = terminal_bytes_per_s(size, plan.pty_s, remote) / 1024
        name = f"{size[0]}x{size[1]}" + (" over ssh" if remote else "")
        if size == (160, 50) and not remote:
            figures.append(Figure.check(section, name, rate, "KiB/s", "<= 64"))
        else:
            figures.append(Figure(section, name, rate, "KiB/s"))
    return figures
