"""Without a terminal, every command that opens a dashboard says so in one line and exits 2; an
app whose input ends (a closed terminal, /dev/null) ends its input loop instead of spinning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from textual import events

from vgtui.ui.terminal import EofDriver

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = ["--depth", "2", "--width", "4", "--dataset", "xor", "--device", "cpu"]


@pytest.mark.parametrize(
    ("argv", "way_out"),
    [
        (["attach", "{tmp}/not_yet.jsonl"], "vgtui report {tmp}/not_yet.jsonl"),
        (["replay", str(FIXTURES / "relu_he_spiral.jsonl")], "vgtui report"),
        (SMALL, "vgtui --headless"),
        (["compare", "--a", "activation=relu", *SMALL], "vgtui --headless"),
        (["demo", "xor", "--device", "cpu"], "--record FILE.cast --size WxH"),
    ],
)
def test_without_a_terminal_a_dashboard_is_one_line_and_exit_2(tmp_path, argv, way_out):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    done = subprocess.run(
        [sys.executable, "-m", "vgtui", *argv],
        stdin=subprocess.DEVNULL,  # a script, cron or CI: < /dev/null
        capture_output=True,
        text=True,
        timeout=60,  # today's code runs until killed
    )
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.startswith(
        "vgtui: error: the dashboard needs a terminal, and standard input is not one; "
    )
    assert done.stderr.count("\n") == 1 and way_out.replace("{tmp}", str(tmp_path)) in done.stderr


def test_keys_from_a_terminal_are_not_enough_when_the_output_goes_to_a_file(tmp_path):
    master, slave = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vgtui", "attach", str(tmp_path / "run.jsonl")],
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 2 and done.stdout == ""
    assert "the dashboard needs a terminal, and standard output is not one" in done.stderr


class RecordingDriver(EofDriver):
    """The driver with what it passes on kept: the messages, and whether it hung up."""

    def __init__(self) -> None:
        super().__init__(app=None)
        self.messages: list[object] = []
        self.hung_up = False

    def process_message(self, message) -> None:
        self.messages.append(message)

    def hang_up(self) -> None:
        self.hung_up = True


def pipe_at_its_end() -> tuple[int, list[str]]:
    """Standard input from a file or a pipe (< /dev/null, a script): a key, then its end."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"q")
    os.close(write_end)
    return read_end, ["q"]


def pty_at_its_end() -> tuple[int, list[str]]:
    """A terminal whose other side closed: what the app sees when the recorder (or the
    terminal emulator) holding it goes."""
    master, slave = os.openpty()
    os.close(master)
    return slave, []


@pytest.mark.parametrize("source", [pipe_at_its_end, pty_at_its_end])
async def test_the_input_loop_ends_at_the_end_of_input_and_hangs_up(monkeypatch, source):
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # not this process's job control
    driver = RecordingDriver()
    driver.fileno, keys = source()
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    try:
        thread.start()
        thread.join(timeout=30)  # a deadline: today's loop selects again forever
        assert not thread.is_alive(), "the input loop still runs after the end of its input"
    finally:
        driver.exit_event.set()
        thread.join()
        os.close(driver.fileno)
    assert driver.hung_up
    assert [m.key for m in driver.messages if isinstance(m, events.Key)] == keys
