"""The first frame of a big run log: its header and last snapshots, read backward from the end.

Torch-free. Errors in the file are `check_log`'s one-line `LogFileError`; broken lines, and lines
over the bound (`MAX_LINE`), are skipped and counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vgtui.core.records import End, RunHeader, Snapshot
from vgtui.runlog.codec import LogReader
from vgtui.runlog.files import LogFileError, check_log
from vgtui.runlog.follow import KEEP
from vgtui.runlog.lines import MAX_LINE
from vgtui.runlog.regular_files import open_regular


@dataclass
class Tail:
    """A log's header and its last snapshots, read from the end; ``end`` where it has one."""

    header: RunHeader
    snapshots: list[Snapshot]
    end: End | None
    skipped: int


def read_tail(
    path: str | os.PathLike[str], n: int = KEEP, block: int = 1 << 16, max_line: int = MAX_LINE
) -> Tail:
    """The last ``n`` snapshots of a run log (oldest first) and its header, reading backward
    from the end: the cost is that of parsing those lines, whatever the size of the file.

    The header is the run's own where a header line lies among the lines read; otherwise it is
    the file's first (a log holds one run unless a writer appended a second: `Follower` tells
    runs apart). An unfinished last line is left out; a line over ``max_line`` is counted as
    broken and read past, never held whole. Raises LogFileError as `check_log` does.
    """
    header = check_log(path, max_line)
    reader = LogReader(max_line)
    snapshots: list[Snapshot] = []
    end: End | None = None
    try:
        f = open_regular(path)
    except OSError as err:
        raise LogFileError(f"{path}: cannot read it ({err.strerror or err})") from None
    with f:
        pos = f.seek(0, os.SEEK_END)
        carry = b""  # the earliest line read so far, which may begin in the block before
        tail_dropped = False  # the piece after the last newline: unfinished, or empty
        skipping = False  # inside a line over the bound: reading back to where it starts
        while pos > 0 and len(snapshots) < n:
            size = min(block, pos)
            pos -= size
            f.seek(pos)
            data = f.read(size)
            if skipping:
                cut = data.rfind(b"\n")
                if cut < 0:
                    continue
                data, skipping = data[:cut], False
            lines = (data + carry).split(b"\n")
            carry = lines.pop(0) if pos > 0 else b""
            if not tail_dropped and lines:
                lines.pop()
                tail_dropped = True
            if len(carry) > max_line:
                if tail_dropped:  # a whole line (else the unfinished last one, left out anyway)
                    reader.feed(None)
                carry, skipping, tail_dropped = b"", True, True
            for line in reversed(lines):
                record = reader.feed(line)
                if isinstance(record, Snapshot):
                    if not snapshots or record.step < snapshots[-1].step:
                        snapshots.append(record)
                elif isinstance(record, End) and not snapshots:
                    end = end or record
                elif isinstance(record, RunHeader):
                    header, pos = record, 0
                    break
                if len(snapshots) >= n:
                    break
    return Tail(header, snapshots[::-1], end, reader.skipped)


__all__ = ["Tail", "read_tail"]
