"""What is not a regular file never blocks and never reads without end: a FIFO with no writer and
``/dev/zero`` are refused in one line, exit 2, by every command that reads or writes a file a user
names; standard input (``report -``, ``/dev/stdin``) is read once, header and all; a lesson over
1 MiB is refused unread.

The commands run in subprocesses: a timeout there is the safety net for a refusal that would
otherwise block the test run, and a memory limit for one that would read without end.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from vgtui.core.records import Snapshot
from vgtui.lessons.lesson import LessonError, load_lesson

FIXTURE = Path(__file__).parent / "fixtures" / "relu_he_spiral.jsonl"
SAFETY_NET_S = 60  # a refusal takes about a second; a blocked command never ends
ONE_MIB = 1 << 20  # the largest lesson file read
MEMORY = 2 << 30  # bytes: reading /dev/zero into memory ends here, not in the machine's swap


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def vgtui(*argv: str, stdin=subprocess.DEVNULL, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "vgtui", *argv],
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=SAFETY_NET_S,
        cwd=cwd,
        preexec_fn=_limit_memory,
        check=False,
    )


def one_line_error(done, *words: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    for word in words:
        assert word in lines[0]
    return lines[0]


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.jsonl"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    "argv",
    [("report",), ("replay",), ("attach",), ("demo",), ()],
    ids=["report", "replay", "attach", "demo", "vgtui PATH"],
)
def test_a_fifo_is_refused_in_one_line_without_blocking(fifo, argv):
    path = str(fifo) if argv != ("demo",) else str(fifo.rename(fifo.with_suffix(".toml")))
    one_line_error(vgtui(*argv, path), path, "is a FIFO (named pipe), not a regular file")


def test_a_fifo_at_the_log_path_is_refused(fifo):
    done = vgtui("--headless", "--steps", "1", "--log", str(fifo))
    one_line_error(done, "--log", str(fifo), "FIFO")


@pytest.mark.parametrize("command", ["report", "replay", "attach", "demo"])
def test_dev_zero_ends_in_one_line(command):
    one_line_error(vgtui(command, "/dev/zero"), "/dev/zero is a character device")


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_report_reads_standard_input_once_header_and_every_snapshot(name, recorded):
    snaps = [r for r in recorded(FIXTURE.name) if isinstance(r, Snapshot)]
    with open(FIXTURE, "rb") as log:
        cat = subprocess.Popen(["cat"], stdin=log, stdout=subprocess.PIPE)
        try:
            done = vgtui("report", name, "--plain", "--width", "100", stdin=cat.stdout)
        finally:
            cat.stdout.close()
            cat.wait(SAFETY_NET_S)
    assert done.returncode == 0, done.stderr
    assert f"relu/he ({name})" in done.stdout  # named by the header's config
    assert f"{len(snaps)} snapshots, steps {snaps[0].step}-{snaps[-1].step};" in done.stdout
    assert "broken" not in done.stdout


def test_report_refuses_a_terminal_or_a_device_on_standard_input():
    with open("/dev/zero", "rb") as zero:
        one_line_error(vgtui("report", "-", stdin=zero), "standard input is a character device")


def test_attach_refuses_standard_input():
    one_line_error(vgtui("attach", "-"), "vgtui report -")


def test_a_lesson_over_a_mebibyte_is_refused_unread(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text('title = "big"\n' + "#" * ONE_MIB + "\n")
    with pytest.raises(LessonError) as err:
        load_lesson(str(path))
    assert str(err.value) == f"{path} is over 1 MiB: too big to be a lesson (a .toml)"


def test_a_lesson_just_under_the_limit_is_read(tmp_path):
    body = '[[steps]]\ncaption = "one"\nsteps = 1\n'
    path = tmp_path / "padded.toml"
    path.write_text(body + "#" * (ONE_MIB - len(body) - 1) + "\n")
    assert [s.caption for s in load_lesson(str(path)).steps] == ["one"]
