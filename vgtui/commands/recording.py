"""``--record FILE.cast``: an asciicast v2 recording of exactly what the terminal receives.

vgtui runs itself in a pseudo-terminal of a fixed size and copies every byte the app writes both
to the recording (``[seconds, "o", text]`` events after a header) and, when there is a real
terminal, to it, while the user's keys go to the app. Without a terminal (CI), the app runs on
that virtual screen alone: a lesson plays to its end and the recording is written, with no output
but the app's own one-line error, if it has one. `asciinema play FILE.cast` plays it back.

The file is opened before the app starts (an existing one only with ``--overwrite``, as asciinema's
``rec`` does), and the app does not outlive the recorder, even one killed with SIGKILL.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Callable, Collection
from pathlib import Path

from vgtui.core.text import safe_text

MIN_SIZE = (80, 24)
DEFAULT_SIZE = (100, 30)
TAIL_CHARS = 2048
PR_SET_PDEATHSIG = 1  # Linux prctl(2)
_SIZE = re.compile(r"^(\d+)x(\d+)$")
OVERWRITE = "--overwrite"  # replace an existing recording (and, with --log, the log: left in)
_ERROR_LINE = re.compile(r"^vgtui[a-z ]*: error: ")


class RecordError(Exception):
    """``--record`` or ``--size`` cannot be used as given; one line."""


def parse_size(text: str) -> tuple[int, int]:
    """``"100x30"`` -> (100, 30): columns by rows, at least 80x24."""
    match = _SIZE.match(text.strip())
    if not match:
        raise RecordError(f"--size: {text!r} is not valid; expected WxH such as 100x30")
    cols, rows = int(match[1]), int(match[2])
    if cols < MIN_SIZE[0] or rows < MIN_SIZE[1] or cols > 1000 or rows > 500:
        raise RecordError(
            f"--size: {text!r} is not valid; expected at least {MIN_SIZE[0]}x{MIN_SIZE[1]} "
            "(and at most 1000x500)"
        )
    return cols, rows


def check_cast_path(path: str, overwrite: bool = False) -> None:
    """The recording's path must be writable before anything runs, and an existing file is
    replaced only with ``--overwrite`` (as asciinema's ``rec`` does)."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise RecordError(f"--record: {p} is a broken symbolic link; give another path")
    if p.is_dir():
        raise RecordError(f"--record: {p} is a directory; give a file name such as {p / 'x.cast'}")
    if p.exists() and not p.is_file():  # a FIFO would block, a device is not a recording
        raise RecordError(f"--record: {p} is not a regular file; give a file name")
    if p.exists() and not overwrite:
        raise RecordError(f"--record: {p} exists; add --overwrite to replace it")
    from vgtui.runlog.files import LogFileError, check_writable

    try:
        check_writable(path)
    except LogFileError as err:
        raise RecordError(f"--record: {err}") from None


class CastWriter:
    """Writes an asciicast v2 file: a header line, then one ``[time, "o", text]`` line per
    chunk of output, with times in seconds since the start."""

    def __init__(
        self, path: str, cols: int, rows: int, title: str, overwrite: bool = False
    ) -> None:
        """Opens ``path`` (RecordError, one line, if it cannot be, or exists without
        ``overwrite``) and writes the header."""
        try:
            self.file = open(path, "w" if overwrite else "x", encoding="utf-8")  # noqa: SIM115
        except FileExistsError:
            raise RecordError(f"--record: {path} exists; add --overwrite to replace it") from None
        except OSError as err:
            raise RecordError(f"--record: cannot write {path} ({err.strerror or err})") from None
        self.started = time.monotonic()
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.tail = ""  # the end of the output so far: where a command's error line is
        header = {
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": int(time.time()),
            "title": title,
            "env": {"TERM": "xterm-256color", "SHELL": os.environ.get("SHELL", "/bin/sh")},
        }
        self.file.write(json.dumps(header) + "\n")

    def output(self, data: bytes) -> None:
        text = self.decoder.decode(data)  # a character split across two reads waits for its rest
        if text:
            self.tail = (self.tail + text)[-TAIL_CHARS:]
            elapsed = round(time.monotonic() - self.started, 6)
            self.file.write(json.dumps([elapsed, "o", text], ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.output(b"")
        self.file.close()

    def error_line(self) -> str | None:
        """The recorded command's last line where it is one of vgtui's one-line errors."""
        lines = [line for line in self.tail.replace("\r", "").split("\n") if line.strip()]
        last = lines[-1].strip() if lines else ""
        return last if _ERROR_LINE.match(last) and last.isprintable() else None


def spawn_in_pty(
    argv: list[str] | tuple[str, ...],
    cols: int,
    rows: int,
    env: dict[str, str] | None = None,
    drop: Collection[str] = (),
) -> tuple[subprocess.Popen, int]:
    """Start ``vgtui ARGV`` on a new pseudo-terminal of ``cols`` x ``rows``; returns the process
    and the terminal's master end, from which everything the app writes can be read.

    The app gets this process's environment without the names in ``drop``, TERM
    xterm-256color, then ``env``; its own session (a process group: its trainer goes with it),
    and it dies with the thread that started it (`_dies_with_parent`). The recorder and the
    bench's `DashboardInPty` both start the app here.
    """
    environ = {name: value for name, value in os.environ.items() if name not in drop}
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-m", "vgtui", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**environ, "TERM": "xterm-256color", **(env or {})},
        start_new_session=True,
        preexec_fn=_dies_with_parent(),
    )
    os.close(slave)
    return child, master


def _dies_with_parent() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` that has the kernel send the child SIGTERM when the thread
    that started it dies (a recorder killed with SIGKILL leaves no app behind); elsewhere None,
    and the app ends when its terminal does (`vgtui.ui.terminal.EofDriver`)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def record(
    argv: list[str],
    path: str,
    size: tuple[int, int] | None,
    title: str,
    overwrite: bool = False,
) -> int:
    """Run ``vgtui ARGV`` in a pseudo-terminal and record it to ``path``; returns its exit code.

    With a terminal on both standard input and output, the recording has the terminal's size
    (or ``size``) and the user sees and drives the app as usual. Without one, the app runs on a
    virtual screen of ``size`` (default 100x30) and must end by itself; a one-line error of the
    app is said on standard error too. The file is opened before the app starts (RecordError
    if it cannot be).
    """
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if size is None:
        size = os.get_terminal_size() if interactive else os.terminal_size(DEFAULT_SIZE)
    cols, rows = size[0], size[1]
    cast = CastWriter(path, cols, rows, title, overwrite)
    try:
        child, master = spawn_in_pty(argv, cols, rows, {"COLORTERM": "truecolor"})
    except BaseException:
        cast.close()
        raise
    saved = termios.tcgetattr(sys.stdin) if interactive else None
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        if interactive:
            tty.setraw(sys.stdin)
        _pump(master, cast, interactive)
    finally:
        if saved is not None:
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGTERM, previous)
        cast.close()
        with contextlib.suppress(OSError):
            os.close(master)
        try:
            code = child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
    if code and not interactive and (line := cast.error_line()):
        print(line, file=sys.stderr)
    return code


def _pump(master: int, cast: CastWriter, interactive: bool) -> None:
    """Copy the app's output to the recording (and the terminal), and keys to the app, until the
    app closes its terminal."""
    inputs = [master, sys.stdin.fileno()] if interactive else [master]
    out = sys.stdout.fileno()
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the app has exited and its terminal is gone
                return
            if not data:
                return
            cast.output(data)
            if interactive:
                os.write(out, data)
        if interactive and sys.stdin.fileno() in ready:
            keys = os.read(sys.stdin.fileno(), 1024)
            if keys:
                os.write(master, keys)
            else:
                inputs.remove(sys.stdin.fileno())


def split_record_args(argv: list[str]) -> tuple[list[str], str | None, str | None]:
    """``argv`` without ``--record FILE`` and ``--size WxH`` (either ``--x y`` or ``--x=y``), and
    their values (None where absent). Raises RecordError where one lacks its value."""
    rest: list[str] = []
    found: dict[str, str | None] = {"--record": None, "--size": None}
    args = iter(argv)
    for arg in args:
        flag, eq, value = arg.partition("=")
        if flag in found:
            if not eq:
                value = next(args, None)
                if value is None or value.startswith("--"):
                    raise RecordError(f"{flag}: expected a value")
            found[flag] = value
        else:
            rest.append(arg)
    return rest, found["--record"], found["--size"]


def main_with_recording(argv: list[str]) -> int | None:
    """If ``argv`` asks for ``--record``, record the rest and return its exit code; else None.

    Bad ``--record`` or ``--size`` values, and an existing file without ``--overwrite``, are one
    line and exit code 2, before anything runs. ``--overwrite`` stays in the recorded command
    where it has a ``--log`` (which it replaces too).
    """
    if not any(a.split("=")[0] in ("--record", "--size") for a in argv):
        return None
    try:
        rest, path, size_text = split_record_args(argv)
        if path is None:
            raise RecordError("--size: only with --record FILE.cast")
        size = parse_size(size_text) if size_text else None
        overwrite = OVERWRITE in rest
        check_cast_path(path, overwrite)
        if not (sys.stdin.isatty() and sys.stdout.isatty()) and rest[:1] != ["demo"]:
            raise RecordError(
                "--record without a terminal plays a lesson only: vgtui demo NAME --record FILE"
            )
        if not any(a.split("=")[0] == "--log" for a in rest):
            rest = [a for a in rest if a != OVERWRITE]  # it was for the recording alone
        if rest[:1] == ["demo"] and "--exit-at-end" not in rest:
            rest = [*rest, "--exit-at-end"]  # a recording of a lesson ends with the lesson
        return record(rest, path, size, "vgtui " + " ".join(rest), overwrite)
    except RecordError as err:
        print(f"vgtui: error: {safe_text(str(err))}", file=sys.stderr)  # it may quote a path
        return 2


__all__ = ["CastWriter", "RecordError", "main_with_recording", "parse_size", "record"]
