"""Opening a file a user names for reading: regular files only, and standard input once.

A FIFO with no writer blocks whoever opens it, and a device such as ``/dev/zero`` never ends:
neither is a run log or a lesson, so both are refused in one line before anything waits on them.
Standard input (``-`` or ``/dev/stdin``) is read as a stream, once: opening ``/dev/stdin`` a
second time would lose what the first reader took. Torch-free.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

STDIN_NAMES = ("-", "/dev/stdin")  # read as the standard input stream, once

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(OSError):
    """The path is not a regular file (a FIFO, a device, a socket, a directory); the message is
    one line that names the path and what it is."""


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words: "a regular file", "a FIFO (named pipe)"..."""
    return next((name for test, name in _KINDS if test(mode)), "a regular file")


def not_regular(path: str | os.PathLike[str], mode: int) -> NotRegularFile:
    return NotRegularFile(f"{path} is {kind_of(mode)}, not a regular file")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading in binary; NotRegularFile where it is not a regular file (found
    without blocking: a FIFO is opened non-blocking, then checked), OSError as `open` raises."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise not_regular(path, mode)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode  # replaced since the stat: check what was opened
        if not stat.S_ISREG(mode):
            raise not_regular(path, mode)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def reads_stdin(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names standard input (``-`` or ``/dev/stdin``)."""
    return str(path) in STDIN_NAMES


def open_input(path: str | os.PathLike[str]) -> BinaryIO:
    """A regular file (`open_regular`), or standard input where `reads_stdin`: a pipe, a socket or
    a redirected file, read once (closing it leaves the process's standard input open); a
    terminal or a device there is refused with NotRegularFile."""
    if not reads_stdin(path):
        return open_regular(path)
    mode = os.fstat(0).st_mode
    if os.isatty(0):
        raise NotRegularFile("standard input is a terminal: pipe a run log into it")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISDIR(mode):
        raise NotRegularFile(f"standard input is {kind_of(mode)}, not a run log stream")
    return open(0, "rb", closefd=False)


def display_name(path: str | os.PathLike[str]) -> str:
    """How a path is named in messages: standard input by that name."""
    return "standard input" if reads_stdin(path) else str(Path(path))


__all__ = [
    "STDIN_NAMES",
    "NotRegularFile",
    "display_name",
    "kind_of",
    "not_regular",
    "open_input",
    "open_regular",
    "reads_stdin",
]
