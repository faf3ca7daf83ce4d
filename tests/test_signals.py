"""The real dashboard in a real pseudo-terminal: SIGTERM and SIGHUP (the terminal closing) end it,
and the trainer process goes with it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from vgtui.record import spawn_in_pty

ARGS = ["--depth", "2", "--width", "4", "--dataset", "xor", "--device", "cpu"]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(x) for x in path.read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def dashboard_in_pty():
    """Start ``vgtui ARGS`` on a 100x30 pseudo-terminal; the screen's bytes are drained."""
    procs = []

    def start() -> subprocess.Popen:
        proc, master = spawn_in_pty(ARGS, 100, 30, {"VGTUI_OFFLINE": "1"})

        def drain() -> None:
            while True:
                try:
                    if not os.read(master, 65536):
                        break
                except OSError:
                    break

        threading.Thread(target=drain, daemon=True).start()
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        for pid in children(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminating_signal_ends_the_dashboard_and_its_trainer(dashboard_in_pty, sig):
    app = dashboard_in_pty()
    wait_for(lambda: children(app.pid), "the trainer process to start")
    trainers = children(app.pid)
    app.send_signal(sig)
    assert app.wait(timeout=30) == 128 + sig
    wait_for(lambda: not any(alive(pid) for pid in trainers), "the trainer to exit", 15)
