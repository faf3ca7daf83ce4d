"""Opening a run log given by a user: every way it can be wrong is one clear line.

Shared by everything that reads a log a user names (`report`, `replay`, `attach`): a missing
path, a directory, a file that cannot be read, a file that is not a run log (the first line's
number and why), a log from a newer format version. Broken lines further on are not errors:
readers skip and count them.
"""

from __future__ import annotations

import os
from pathlib import Path

from vgtui.engine.records import RunHeader
from vgtui.engine.runlog import RunLog, decode, read_log

READS_VERSIONS = (1, 2)


class LogFileError(Exception):
    """A run log cannot be read; the message is one line that names the path and why."""


def check_log(path: str | os.PathLike[str]) -> RunHeader:
    """The log's header, after checking that ``path`` is a readable run log of a known version.

    Raises LogFileError (one line) otherwise; ``FileNotFoundError``'s case is a LogFileError too,
    with ``missing = True`` set on it, so that a follower can choose to wait instead.
    """
    p = Path(path)
    if p.is_dir():
        raise LogFileError(f"{p} is a directory, not a run log (a .jsonl file)")
    try:
        with open(p, "rb") as f:
            first, number = b"", 0
            for number, line in enumerate(f, start=1):  # noqa: B007 (the number is used below)
                if line.strip():
                    first = line
                    break
    except FileNotFoundError:
        err = LogFileError(f"{p}: no such file")
        err.missing = True  # type: ignore[attr-defined]
        raise err from None
    except PermissionError:
        raise LogFileError(f"{p}: permission denied (cannot read it)") from None
    except OSError as err:
        raise LogFileError(f"{p}: cannot read it ({err.strerror or err})") from None
    if not first:
        err = LogFileError(f"{p} is empty: no run header yet")
        err.missing = True  # type: ignore[attr-defined]
        raise err
    try:
        record = decode(first)
    except ValueError as why:
        raise LogFileError(f"{p}: line {number} is not a run log record ({why})") from None
    if not isinstance(record, RunHeader):
        kind = {"Snapshot": "a snapshot", "Event": "an event", "End": "an end"}[
            type(record).__name__
        ]
        raise LogFileError(
            f"{p}: line {number} is {kind} record, but a run log starts with its run header"
        )
    if record.version not in READS_VERSIONS:
        known = "-".join(map(str, (READS_VERSIONS[0], READS_VERSIONS[-1])))
        raise LogFileError(
            f"{p}: run log version {record.version} is not one this vgtui reads ({known}); "
            "upgrade vgtui"
        )
    return record


def open_log(path: str | os.PathLike[str]) -> RunLog:
    """The whole log at ``path`` after `check_log`; broken lines are skipped and counted."""
    check_log(path)
    try:
        return read_log(path)
    except OSError as err:
        raise LogFileError(f"{path}: cannot read it ({err.strerror or err})") from None


def check_writable(path: str | os.PathLike[str]) -> None:
    """Make sure a run log can be written at ``path`` before anything runs.

    Missing parent directories are created (``--log runs/exp1.jsonl`` in a fresh checkout just
    works, as with ``mkdir -p``); anything else in the way is a LogFileError naming the path.
    """
    p = Path(path)
    if p.is_dir():
        raise LogFileError(f"{p} is a directory; give a file name such as {p / 'run.jsonl'}")
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
