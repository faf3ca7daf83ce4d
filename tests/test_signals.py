"""The real dashboard in a real pseudo-terminal: SIGTERM and SIGHUP (the terminal closing) end it,
and the trainer process goes with it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vgtui.commands.recording import spawn_in_pty

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


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def is_trainer(pid: int) -> bool:
    try:
        return "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_closing_the_terminal_ends_the_dashboard_and_its_trainer():
    app, master = spawn_in_pty(ARGS, 100, 30, {"VGTUI_OFFLINE": "1"})
    close = threading.Event()

    def drain_then_close() -> None:  # the one thread that uses the master, so closing it is real
        while not close.is_set():
            try:
                if select.select([master], [], [], 0.05)[0] and not os.read(master, 65536):
                    break
            except OSError:
                break
        os.close(master)

    drainer = threading.Thread(target=drain_then_close, daemon=True)
    drainer.start()
    trainers: list[int] = []
    try:
        wait_for(lambda: children(app.pid), "the trainer process to start")
        trainers = children(app.pid)
        close.set()  # the terminal goes; the app has no controlling terminal to send it SIGHUP
        drainer.join()
        assert app.wait(timeout=30) == 128 + signal.SIGHUP
        wait_for(lambda: not any(alive(pid) for pid in trainers), "the trainer to exit", 15)
    finally:
        close.set()
        for pid in {*descendants(app.pid), *trainers}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        app.kill()
        app.wait()


def test_a_recorder_killed_with_sigkill_leaves_no_process_behind(tmp_path):
    argv = ["demo", "xor", "--device", "cpu", "--record", str(tmp_path / "x.cast")]
    recorder = subprocess.Popen(
        [sys.executable, "-m", "vgtui", *argv, "--size", "100x30"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "VGTUI_OFFLINE": "1"},
    )
    left: list[int] = []
    try:
        wait_for(
            lambda: any(is_trainer(pid) for pid in descendants(recorder.pid)),
            "the lesson's trainer to start",
        )
        left = descendants(recorder.pid)  # the app, its trainer, multiprocessing's helper
        recorder.kill()
        recorder.wait()
        wait_for(lambda: not any(alive(pid) for pid in left), "the app and its trainer to exit", 30)
    finally:
        recorder.kill()
        recorder.wait()
        for pid in left:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
