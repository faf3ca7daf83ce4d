"""Every failure reaches the user as one clear line; nothing is swallowed; nothing blocks the UI.

The trainer's serve loop (`vgtui.trainer.worker.Server`) is driven here in-process through a fake
connection, exactly as the trainer process drives it; the process-level behaviours (output
capture, orphaned children, closing without blocking) use real processes.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import pid_exists

from vgtui.core.config import RunConfig
from vgtui.core.records import End, Event, RunHeader, Snapshot
from vgtui.runlog.codec import read_log
from vgtui.trainer.worker import Server, numbered_log_path, serve, slim
from vgtui.ui.sources.trainer import TrainerSource, reap_all

SMALL = RunConfig(depth=2, width=4, dataset="xor", device="cpu", every=1)


class FakeConn:
    """The UI's end of the pipe: commands to hand out, and every batch the server sent."""

    def __init__(self, commands: list = ()) -> None:
        self.commands = list(commands)
        self.sent: list = []

    def send(self, batch) -> None:
        self.sent.append(batch)

    def poll(self, timeout: float | None = 0.0) -> bool:
        return bool(self.commands)

    def recv(self):
        command = self.commands.pop(0)
        if isinstance(command, BaseException):
            raise command
        return command

    def records(self) -> list:
        return [r for batch in self.sent for r in batch]


def errors(conn: FakeConn) -> list[str]:
    return [r.message for r in conn.records() if isinstance(r, Event) and r.kind == "error"]


def deadline_wait(condition, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


# ---- one line for every error -------------------------------------------------------------------


def test_missing_mnist_in_the_dashboard_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("VGTUI_OFFLINE", "1")
    conn = FakeConn()
    server = Server(conn, None, 30.0)
    server.start(SMALL.replace(dataset="mnist", data_dir=str(tmp_path)))
    [message] = errors(conn)
    assert "\n" not in message and "Traceback" not in message
    assert "train-images-idx3-ubyte" in message and str(tmp_path) in message


def test_a_device_the_machine_lacks_is_one_line_naming_the_devices():
    conn = FakeConn()
    Server(conn, None, 30.0).start(SMALL.replace(device="cuda:3"))
    [message] = errors(conn)
    assert "\n" not in message
    assert "device: 'cuda:3' is not valid" in message and "cpu" in message


def test_an_unexpected_error_is_its_summary_and_the_traceback_file(tmp_path, monkeypatch):
    from vgtui.trainer import trainer as trainer_module

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    def broken_step(self, force_snapshot=False):
        raise RuntimeError("the kernel fell over\nsecond line of detail")

    monkeypatch.setattr(trainer_module.Trainer, "step", broken_step)
    conn = FakeConn()
    server = Server(conn, None, 30.0)
    server.start(SMALL)
    server.train_step()
    [message] = errors(conn)
    assert message.startswith("RuntimeError: the kernel fell over (full traceback in ")
    path = Path(message.split("full traceback in ")[1].rstrip(")"))
    assert path.parent == tmp_path / "vgtui"
    text = path.read_text()
    assert "Traceback" in text and "second line of detail" in text and "broken_step" in text
    assert [r.reason for r in conn.records() if isinstance(r, End)] == ["error"]


def test_a_bad_restart_config_is_an_error_event_not_a_dead_loop():
    conn = FakeConn([("restart", {**SMALL.to_dict(), "depth": 0}), ("stop",)])
    server = Server(conn, None, 30.0)
    server.start(SMALL)
    server.loop()
    [message] = errors(conn)
    assert message == "depth: 0 is not valid; expected an integer in 1..100"


# ---- every run ends in its log ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [(EOFError(), "stopped"), (RuntimeError("a bug in the loop"), "error")],
)
def test_the_log_gets_its_end_record_whatever_stops_the_loop(tmp_path, fault, reason):
    log = tmp_path / "run.jsonl"
    conn = FakeConn([("pause",), ("step",), ("step",), fault])
    serve(conn, SMALL.to_dict(), str(log))
    run = read_log(log)
    assert run.skipped == 0 and len(run.snapshots) >= 2
    assert run.end is not None and run.end.reason == reason
    if reason == "error":
        assert "RuntimeError: a bug in the loop" in errors(conn)[0]


def test_dashboard_logs_are_numbered_per_run(tmp_path):
    base = tmp_path / "runs" / "exp.jsonl"
    assert numbered_log_path(str(base), 1) == base
    assert numbered_log_path(str(base), 3) == base.with_name("exp.3.jsonl")
    conn = FakeConn([("restart", SMALL.replace(activation="relu").to_dict()), ("stop",)])
    server = Server(conn, str(base), 30.0)
    server.start(SMALL)
    server.train_step()
    server.loop()
    first, second = read_log(base), read_log(base.with_name("exp.2.jsonl"))
    assert first.header.config["activation"] == "sigmoid" and first.end.reason == "stopped"
    assert second.header.config["activation"] == "relu" and second.end.reason == "stopped"


def test_slim_keeps_layer_statistics_on_the_newest_snapshot_only():
    conn = FakeConn()
    server = Server(conn, None, 30.0)
    server.start(SMALL)
    snaps = [r for _ in range(3) for r in server.trainer.step(force_snapshot=True)]
    batch = slim([server.trainer.header, *snaps, Event(3, "paused", "")])
    assert isinstance(batch[0], RunHeader) and isinstance(batch[-1], Event)
    kept = [r for r in batch if isinstance(r, Snapshot)]
    assert [s.step for s in kept] == [1, 2, 3]
    assert [len(s.layers) for s in kept] == [0, 0, 3]
    assert [s.loss for s in kept] == [s.loss for s in snaps]


# ---- the trainer's own output -------------------------------------------------------------------


def test_the_trainer_process_output_becomes_lines_not_terminal_noise(tmp_path):
    out = tmp_path / "lines.txt"
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from vgtui.trainer.worker import capture_output
        lines = capture_output()
        print("a python print")
        sys.stderr.write("a warning\\n"); sys.stderr.flush()
        sys.stdout.flush()
        os.write(2, b"from C code\\n")
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 3 and time.monotonic() < deadline:
            got.append(lines.get(timeout=20))
        open({str(out)!r}, "w").write("\\n".join(got))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # nothing reached the terminal
    assert sorted(out.read_text().splitlines()) == ["a python print", "a warning", "from C code"]


def test_captured_output_is_sent_and_logged_as_events(tmp_path):
    import queue

    log = tmp_path / "run.jsonl"
    conn = FakeConn([("stop",)])
    server = Server(conn, str(log), 30.0)
    server.output = queue.SimpleQueue()
    server.start(SMALL)
    server.output.put("UserWarning: something torch said")
    server.loop()
    outputs = [r for r in conn.records() if isinstance(r, Event) and r.kind == "output"]
    assert [e.message for e in outputs] == ["UserWarning: something torch said"]
    assert [e.message for e in read_log(log).events if e.kind == "output"] == [outputs[0].message]


def test_download_progress_is_reported_while_it_runs():
    conn = FakeConn()
    server = Server(conn, None, 30.0)
    server.progress(1_000_000, 11_594_722)
    server.progress(2_000_000, 11_594_722)  # within half a second: not sent
    server.progress(11_594_722, 11_594_722)  # the end is always sent
    messages = [r.message for r in conn.records() if r.kind == "progress"]
    assert messages == ["downloading 1.0 of 11.6 MB", "downloading 11.6 of 11.6 MB"]


# ---- processes never outlive the UI, and closing never blocks it --------------------------------


def _sleeper() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    time.sleep(120)


class StubbornSource(TrainerSource):
    """A 'trainer' that ignores the stop command, as a trainer stuck in a download would."""

    def start(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_sleeper, daemon=True)
        self.process.start()
        child.close()


def test_closing_a_source_returns_at_once_and_the_process_still_goes():
    source = StubbornSource(SMALL)
    source.start()
    pid = source.pid
    source.close(timeout=1.0)
    assert pid_exists(pid)  # close() returned without waiting for the process to stop
    reap_all()
    assert not pid_exists(pid)


ORPHAN_PARENT = """
import sys, time
from vgtui.core.config import RunConfig
from vgtui.ui.sources.trainer import TrainerSource
source = TrainerSource(RunConfig(depth=2, width=4, dataset="xor", device="cpu"))
source.start()
source.send(("pause",))
print(source.pid, flush=True)
time.sleep(120)
"""


def test_a_trainer_whose_dashboard_was_killed_exits_on_its_own():
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_PARENT], stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(parent.stdout.readline())
        assert pid_exists(child)
        parent.kill()  # no cleanup in the dashboard: the trainer must notice by itself
        parent.wait(timeout=10)
        deadline_wait(lambda: not pid_exists(child), "the orphaned trainer to exit")
    finally:
        parent.kill()


# ---- the dashboard during a download ------------------------------------------------------------


class DownloadingSource:
    """A trainer stuck downloading a dataset: it reports progress and answers nothing else."""

    live = True

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.sent: list[tuple] = []
        self.told = False
        self.closed = False

    def start(self) -> None:
        pass

    def recv(self, timeout: float) -> list:
        if self.told:
            time.sleep(timeout)
            return []
        self.told = True
        return [Event(0, "progress", "downloading 1.0 of 11.6 MB")]

    def send(self, command: tuple) -> None:
        self.sent.append(command)

    def close(self) -> None:
        self.closed = True


async def test_download_progress_shows_and_a_restart_key_starts_a_new_trainer(wait_until):
    from vgtui.ui.app import VgtuiApp
    from vgtui.ui.widgets.status import StatusLine

    sources: list[DownloadingSource] = []

    def factory(config: RunConfig) -> DownloadingSource:
        sources.append(DownloadingSource(config))
        return sources[-1]

    app = VgtuiApp(SMALL.replace(dataset="mnist"), source_factory=factory, fps=30.0)
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.query_one(StatusLine)
        await wait_until(
            pilot,
            lambda: "downloading 1.0 of 11.6 MB" in status.text,
            "the progress in the status line",
        )
        await pilot.press("d")  # next dataset: the stuck trainer cannot take a command
        await wait_until(pilot, lambda: len(sources) == 2, "a new trainer")
        assert sources[0].closed and sources[0].sent == []
        assert sources[1].config.dataset == "random"


async def test_the_watchdog_ends_the_process_when_exiting_hangs(monkeypatch):
    """SIGHUP with the terminal gone: if Textual's shutdown hangs, the watchdog still exits."""
    import threading

    from vgtui.ui import app as app_module

    exited = threading.Event()
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        exited.set()

    monkeypatch.setattr(app_module, "EXIT_GRACE_S", 0.2)
    monkeypatch.setattr(app_module.os, "_exit", fake_exit)
    sources: list[DownloadingSource] = []

    def factory(config):
        sources.append(DownloadingSource(config))
        return sources[-1]

    app = app_module.VgtuiApp(SMALL, source_factory=factory, fps=30.0)
    async with app.run_test(size=(80, 24)):
        monkeypatch.setattr(app, "exit", lambda *a, **k: None)  # a shutdown that never ends
        app.on_terminate_signal(signal.SIGHUP)
        assert sources[0].closed  # the trainer is stopped first
        assert exited.wait(10), "the watchdog did not fire"
    assert codes == [128 + signal.SIGHUP]
