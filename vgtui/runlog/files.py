"""Opening a run log given by a user: every way it can be wrong is one clear line.

Shared by everything that reads a log a user names (`report`, `replay`, `attach`): a missing
path, a directory, a FIFO or a device (neither is a file that ends), a file that cannot be read,
a file that is not a run log (the first line's number and why), a log from a newer format
version. Broken lines further on, and lines over the bound (`MAX_LINE`), are not errors: readers
skip and count them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vgtui.core.records import RunHeader
from vgtui.runlog.codec import RunLog, decode, log_of_lines
from vgtui.runlog.lines import MAX_LINE, bounded_lines
from vgtui.runlog.regular_files import (
    NotRegularFile,
    display_name,
    not_regular,
    open_input,
    open_regular,
    reads_stdin,
)

READS_VERSIONS = (1, 2)


class LogFileError(Exception):
    """A run log cannot be read; the message is one line that names the path and why."""


def check_log(path: str | os.PathLike[str], max_line: int = MAX_LINE) -> RunHeader:
    """The log's header, after checking that ``path`` is a readable run log of a known version.

    Raises LogFileError (one line) otherwise; ``FileNotFoundError``'s case is a LogFileError too,
    with ``missing = True`` set on it, so that a follower can choose to wait instead.
    """
    with _opened(path) as f:
        return _header(bounded_lines(f, max_line), str(path), max_line)


def open_log(path: str | os.PathLike[str], max_line: int = MAX_LINE) -> RunLog:
    """The whole log at ``path`` (standard input for ``-`` and ``/dev/stdin``), read once and
    checked as `check_log` does; broken lines are skipped and counted."""
    name = display_name(path)
    with _opened(path, stdin=True) as f:
        lines = bounded_lines(f, max_line)
        header = _header(lines, name, max_line)
        try:
            return log_of_lines(lines, RunLog(header=header), max_line)
        except OSError as err:
            raise LogFileError(f"{name}: cannot read it ({err.strerror or err})") from None


def _opened(path: str | os.PathLike[str], stdin: bool = False) -> BinaryIO:
    """The regular file at ``path`` opened for reading, or where ``stdin`` and ``path`` names it,
    standard input (`open_input`); every error as LogFileError."""
    stdin = stdin and reads_stdin(path)
    name = display_name(path) if stdin else str(path)
    if not stdin and Path(path).is_dir():
        raise LogFileError(f"{path} is a directory, not a run log (a .jsonl file)")
    try:
        return open_input(path) if stdin else open_regular(path)
    except FileNotFoundError:
        err = LogFileError(f"{name}: no such file")
        err.missing = True  # type: ignore[attr-defined]
        raise err from None
    except NotRegularFile as err:
        raise LogFileError(str(err) if stdin else f"{err}; a run log is a file (.jsonl)") from None
    except PermissionError:
        raise LogFileError(f"{name}: permission denied (cannot read it)") from None
    except OSError as err:
        raise LogFileError(f"{name}: cannot read it ({err.strerror or err})") from None


def _header(lines: Iterator[bytes | None], name: str, max_line: int) -> RunHeader:
    """The run header on the first non-blank of ``lines`` (which are read up to it)."""
    first, number = b"", 0
    try:
        for number, line in enumerate(lines, start=1):
            if line is None:
                raise LogFileError(
                    f"{name}: line {number} is longer than {max_line:,} bytes: not a run log record"
                )
            if line.strip():
                first = line
                break
    except OSError as err:
        raise LogFileError(f"{name}: cannot read it ({err.strerror or err})") from None
    if not first:
        err = LogFileError(f"{name} is empty: no run header yet")
        err.missing = True  # type: ignore[attr-defined]
        raise err
    try:
        record = decode(first)
    except ValueError as why:
        raise LogFileError(f"{name}: line {number} is not a run log record ({why})") from None
    if not isinstance(record, RunHeader):
        kind = {"Snapshot": "a snapshot", "Event": "an event", "End": "an end"}[
            type(record).__name__
        ]
        raise LogFileError(
            f"{name}: line {number} is {kind} record, but a run log starts with its run header"
        )
    if record.version not in READS_VERSIONS:
        known = "-".join(map(str, (READS_VERSIONS[0], READS_VERSIONS[-1])))
        raise LogFileError(
            f"{name}: run log version {record.version} is not one this vgtui reads ({known}); "
            "upgrade vgtui"
        )
    return record


def check_writable(path: str | os.PathLike[str]) -> None:
    """Make sure a run log can be written at ``path`` before anything runs.

    Missing parent directories are created (``--log runs/exp1.jsonl`` in a fresh checkout just
    works, as with ``mkdir -p``); anything else in the way is a LogFileError naming the path.
    """
    p = Path(path)
    if p.is_dir():
        raise LogFileError(f"{p} is a directory; give a file name such as {p / 'run.jsonl'}")
    if p.exists() and not stat.S_ISREG(mode := p.stat().st_mode):  # a FIFO would block
        raise LogFileError(f"{not_regular(p, mode)}; give a file name such as run.jsonl")
    existing = next(q for q in [p.parent, *p.parent.parents] if q.exists())
    if not existing.is_dir():
        raise LogFileError(f"cannot write {p}: {existing} is a file, not a directory")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LogFileError(
            f"cannot create the directory {p.parent} ({err.strerror or err})"
        ) from None
    if not os.access(p.parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise LogFileError(f"cannot write {p} (permission denied)")
