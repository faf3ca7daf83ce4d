"""Where a new run log is written, and the lock that keeps it one writer's.

Nothing of the user's is lost. A file that is not a run log is never written over: refused in one
line. An earlier run's log is kept: the new run goes to the next free numbered sibling
(``exp1.2.jsonl``, the names the dashboard gives its restarts) unless the caller asks to
overwrite. A log that another process is writing now is refused: every writer holds an exclusive
``flock`` on its file for as long as it writes, so two writers never interleave their lines.

The file is opened without truncating it, locked, checked, and only then emptied: a refusal
changes nothing. Readers (attach, replay, report) never lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path
from typing import IO

from vgtui.runlog.codec import RunLogWriter
from vgtui.runlog.files import LogFileError, check_log
from vgtui.runlog.regular_files import not_regular

MAX_SIBLINGS = 10_000  # numbered names tried before giving up


class LogTargetError(LogFileError, OSError):
    """A run log cannot be written where asked; one line naming the path. An OSError too, so that
    a `vgtui.watch` caller catches it as any other file error."""


class LogLockedError(LogTargetError):
    """Another process is writing a run log at this path now."""


class NotALogError(LogTargetError):
    """The path holds a file that is not a run log: it is never written over."""


class LogExistsError(LogTargetError):
    """The path holds an earlier run's log, and overwriting it was not asked for."""


def numbered_log_path(base: str | os.PathLike[str], run: int) -> Path:
    """Run 1 logs to ``base``; run N to ``stem.N.suffix`` beside it."""
    path = Path(base)
    return path if run == 1 else path.with_name(f"{path.stem}.{run}{path.suffix or '.jsonl'}")


def _check_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):  # a FIFO would block the writer, a device never ends
        raise LogTargetError(f"{not_regular(path, mode)}; a run log is written to a file")


def _inspect(fd: int, path: Path, overwrite: bool) -> bool:
    """Lock the open file ``fd`` and check that it may be written; whether it holds anything.
    Raises a LogTargetError naming ``path`` where it may not."""
    _check_regular(path, os.fstat(fd).st_mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise LogLockedError(
            f"{path} is being written by another run now; give another log path"
        ) from None
    if not os.fstat(fd).st_size:
        return False
    try:
        check_log(path)
    except LogFileError as err:
        if getattr(err, "missing", False):  # blank lines only: nothing to keep
            return True
        raise NotALogError(f"{err}; vgtui never writes over it: give another path") from None
    if not overwrite:
        raise LogExistsError(
            f"{path} holds an earlier run's log; it is kept (overwrite replaces it)"
        )
    return True


def claim(path: str | os.PathLike[str], overwrite: bool = False) -> IO[str]:
    """``path`` opened for a new run log (parent folders created), empty and locked until the
    returned file is closed; a LogTargetError naming the path where it may not be written."""
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        _check_regular(path, path.stat().st_mode)  # said in words, before any open
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_NONBLOCK: a FIFO without a reader is refused at once instead of blocking the open.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as err:
        raise LogTargetError(f"cannot write the run log {path}: {err.strerror or err}") from None
    try:
        if _inspect(fd, path, overwrite):
            os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "w", encoding="utf-8", newline="\n")
    except BaseException:
        os.close(fd)
        raise


def check_target(path: str | os.PathLike[str]) -> None:
    """Refuse now, before anything runs, a log path that `claim` would refuse whatever the
    numbering: a file that is not a run log, or one another run is writing. Creates nothing."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError as err:
        raise LogTargetError(f"cannot write the run log {path}: {err.strerror or err}") from None
    try:
        _inspect(fd, path, overwrite=True)
    finally:
        os.close(fd)  # and with it the lock


def open_run_log(
    base: str | os.PathLike[str], overwrite: bool = False, first: int = 1
) -> tuple[RunLogWriter, int]:
    """A writer for a new run log at ``numbered_log_path(base, first)``, or, where that holds an
    earlier run's log and ``overwrite`` is not asked for, at the next free number after it;
    returns the writer and the number it got. Every refusal is a LogTargetError naming the path.
    """
    for number in range(first, first + MAX_SIBLINGS):
        path = numbered_log_path(base, number)
        try:
            return RunLogWriter(path, overwrite=overwrite), number
        except LogExistsError:
            continue
        except (LogLockedError, NotALogError):
            if number == first:
                raise
            continue  # a numbered name already in use: never touched, the next one is tried
    raise LogTargetError(f"no free name for a new run log beside {base}")


def moved_note(wanted: Path, got: Path, how: str) -> str:
    """The one line that says where a run's log went instead of ``wanted``."""
    return f"{wanted} holds an earlier run's log; this run's log is {got} ({how} replaces it)"
