"""Following a run log that another process writes, like ``tail -F``; opening a big one fast.

`Follower` reads only the bytes added since its last `poll` and keeps, per run in the file: the
header, the scalar curves of every snapshot (`Curves`), the byte offset of every snapshot line (so
that any snapshot can be parsed later, `Follower.snapshot`), the last ``keep`` snapshots in full,
the events and the end. It notices the file appearing, being truncated or replaced (device and
inode, size, and the first line's bytes), a second header (a new run), the end record, and how
long the writer has been silent (on an injected clock).

Snapshot lines are the bulk of a log (~8 KB each for 11 layers) and parsing one in full costs
~0.5-1.5 ms, so a 1 GB log would take minutes. The scan reads a snapshot line's scalars only, with
a regular expression on its head (``step``, ``loss``, ``accuracy``, ``lr``, ``elapsed_s``, written
first) and its tail (``val_loss``, ``val_accuracy``, written last), and parses in full only the
last ``keep`` snapshot lines of each poll. A line in any other layout (another writer's
whitespace or field order) is parsed in full, which is slower and as correct. A snapshot line
broken in its middle but whole at both ends is found (skipped and counted) only when it is parsed
in full: as one of the last ``keep``, or through `Follower.snapshot`. `read_tail` gives
the header and the last snapshots by reading backward from the end (`vgtui.runlog.tail`): a
view's first frame costs what those snapshots cost to parse, whatever the size of the log.

Torch-free: the dashboard's process runs it. Errors in the file a user names are `check_log`'s
one-line `LogFileError` (a FIFO or a device is one: only regular files are read); broken lines
are skipped and counted, never raised. A line longer than ``max_line`` (`MAX_LINE`) is broken
too: it is read past in chunks, never held whole.
"""

from __future__ import annotations

import math
import os
import re
import stat
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from vgtui.core.records import End, Event, RunHeader, Snapshot
from vgtui.runlog.codec import INT64_MAX, LogReader
from vgtui.runlog.files import LogFileError, check_log
from vgtui.runlog.lines import MAX_LINE

KEEP = 8  # snapshots kept in full per run (the diagnosis reads 8)
CHUNK = 8 << 20  # bytes read per system call while scanning
SILENT_AFTER = 30.0  # seconds without a snapshot before the status says so

_NUM = rb'(null|-?[0-9][0-9.eE+-]*|"nan"|"inf"|"-inf")'
_HEAD = re.compile(
    rb'\{"type":"snapshot","step":([0-9]+),"loss":'
    + _NUM
    + rb',"accuracy":'
    + _NUM
    + rb',"lr":'
    + _NUM
    + rb',"elapsed_s":'
    + _NUM
    + rb',"layers":\['
)
_TAIL = re.compile(rb'\],"val_loss":' + _NUM + rb',"val_accuracy":' + _NUM + rb"\}\s*$")
_TAIL_BYTES = 160  # the tail pattern's longest match, with room to spare
_SNAPSHOT = b'{"type":"snapshot"'
_SPECIAL = {b"null": math.nan, b'"nan"': math.nan, b'"inf"': math.inf, b'"-inf"': -math.inf}


def _numbers(raw: list[bytes]) -> list[float]:
    """JSON numbers, ``null`` (NaN) and the run log's ``"nan"``, ``"inf"``, ``"-inf"``;
    ValueError on anything else."""
    quote, n = ord('"'), ord("n")
    return [_SPECIAL[v] if v[0] in (quote, n) else float(v) for v in raw]


class Curves:
    """The scalar fields of every snapshot of a run, one array per field, in step order.

    Values are floats, NaN where the snapshot has none (``loss`` of a forward-only run,
    ``val_loss`` between validations) or where it was not finite when written as ``"nan"``;
    ``"inf"`` stays infinite.
    """

    FIELDS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "elapsed_s")

    def __init__(self) -> None:
        self.step = array("q")
        self.loss = array("d")
        self.accuracy = array("d")
        self.val_loss = array("d")
        self.val_accuracy = array("d")
        self.lr = array("d")
        self.elapsed_s = array("d")

    def __len__(self) -> int:
        return len(self.step)

    def extend(self, steps: list[int], columns: list[list[float]]) -> None:
        """Snapshots: their steps, and one list of values per field in `FIELDS` order."""
        self.step.extend(steps)
        for name, values in zip(self.FIELDS, columns, strict=True):
            getattr(self, name).extend(values)


def _scalars_of(snapshot: Snapshot) -> tuple[float, ...]:
    nan = math.nan
    return tuple(
        nan if (v := getattr(snapshot, name)) is None else float(v) for name in Curves.FIELDS
    )


@dataclass
class FollowedRun:
    """One run in the followed file: from its header to the next header or the end of the file.

    ``offsets``/``lengths`` locate each snapshot line (parallel to ``curves``); they are void
    once ``detached`` (the file was truncated or replaced), while the rest stays readable.
    """

    header: RunHeader
    curves: Curves = field(default_factory=Curves)
    offsets: array = field(default_factory=lambda: array("q"))
    lengths: array = field(default_factory=lambda: array("q"))
    recent: deque[Snapshot] = field(default_factory=lambda: deque(maxlen=KEEP))
    events: list[Event] = field(default_factory=list)
    end: End | None = None
    detached: bool = False

    @property
    def last_step(self) -> int | None:
        return self.curves.step[-1] if len(self.curves) else None


@dataclass
class Change:
    """What one `Follower.poll` brought; false when nothing changed."""

    file: str | None = None  # appeared | truncated | replaced | vanished
    runs: int = 0  # new headers (a new run each)
    snapshots: int = 0  # new snapshots, over all runs
    events: list[Event] = field(default_factory=list)
    end: End | None = None
    skipped: int = 0  # broken or out-of-order lines met

    def __bool__(self) -> bool:
        return bool(self.file or self.runs or self.snapshots or self.events or self.end)


class Follower:
    """A run log followed as another process writes it; call `poll` as often as you like.

    ``keep``: snapshots kept in full per run. ``clock``: seconds, monotonic (injectable so that
    a test can say "two minutes later" without waiting them). ``max_line``: bytes; a longer line
    is broken (skipped and counted).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        keep: int = KEEP,
        clock: Callable[[], float] = time.monotonic,
        max_line: int = MAX_LINE,
    ) -> None:
        self.path = Path(path)
        self.keep = keep
        self.clock = clock
        self.max_line = max_line
        self.runs: list[FollowedRun] = []
        self._reader = LogReader(max_line)  # decodes whole lines and counts the broken ones
        self._rejected = 0  # whole records that break the order rules
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._first_line = b""  # up to the header's newline, to notice a rewrite in place
        self._offset = 0  # the first byte not yet read as part of a whole line
        self._searched = 0  # how far a line longer than a chunk was searched for its newline
        self._size = 0
        self._caught_up = False
        self._pending: deque[tuple[int, int]] = deque(maxlen=keep)  # (offset, length) to parse
        self._last_news = clock()

    # ---- what a view reads ---------------------------------------------------------------------

    @property
    def run(self) -> FollowedRun | None:
        """The current run: the file's last header and what followed it."""
        return self.runs[-1] if self.runs and not self.runs[-1].detached else None

    @property
    def latest(self) -> Snapshot | None:
        """The current run's last snapshot, in full."""
        run = self.run
        return run.recent[-1] if run is not None and run.recent else None

    @property
    def skipped(self) -> int:
        """Lines left out so far: broken ones, and records that break the order rules."""
        return self._rejected + self._reader.skipped

    @property
    def waiting(self) -> bool:
        """No run log to read yet: the file is missing or empty, or its header unfinished."""
        return not self._first_line

    @property
    def caught_up(self) -> bool:
        """The last poll read every whole line the file held (only an unfinished one is left)."""
        return not self.waiting and self._caught_up

    @property
    def pending(self) -> bool:
        """An unfinished last line is waiting for the rest of it."""
        return self.caught_up and self._offset < self._size

    @property
    def progress(self) -> float:
        """The share of the file read so far (for "reading 40%" while a big log opens)."""
        return 1.0 if self.caught_up or not self._size else self._offset / self._size

    def silent_for(self) -> float:
        """Seconds since the last new snapshot (or since following began, or the file changed)."""
        return self.clock() - self._last_news

    def status(self, silent_after: float = SILENT_AFTER) -> str:
        """One line for a status bar: waiting, ended, silent, or following."""
        if self.waiting:
            return f"waiting for {self.path}"
        run = self.run
        if run is not None and run.end is not None:
            return f"ended: {run.end.reason}"
        silent = self.silent_for()
        if silent >= silent_after:
            return f"no new snapshot for {_duration(silent)}"
        return f"following {self.path}"

    def snapshot(self, index: int, run: FollowedRun | None = None) -> Snapshot | None:
        """Snapshot ``index`` (as in ``run.curves``; negative counts from the end) of ``run``
        (the current one by default), parsed in full from the file; None where the run is
        detached or the line is broken (then counted in `skipped`)."""
        run = run or self.run
        if run is None or run.detached or self._fd is None:
            return None
        record = self._reader.feed(os.pread(self._fd, run.lengths[index], run.offsets[index]))
        return record if isinstance(record, Snapshot) else None

    # ---- reading -------------------------------------------------------------------------------

    def poll(self, max_bytes: int | None = None) -> Change:
        """Read what the writer added since the last call (about ``max_bytes`` at most, so that
        a caller can show its progress through a big log); returns what changed.

        Raises LogFileError where the path holds something that is not a run log (a directory,
        an unreadable file, another format, a newer version); a missing or empty file, or an
        unfinished header line, is waited for.
        """
        change = Change()
        skipped = self.skipped
        self._check_file(change)
        if not self.waiting:
            self._read(change, max_bytes)
        change.skipped = self.skipped - skipped
        if change.snapshots or change.file:
            self._last_news = self.clock()
        return change

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the file's identity -------------------------------------------------------------------

    def _check_file(self, change: Change) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._fd is not None:
                self._reset("vanished", change)
            return
        except OSError as err:
            raise LogFileError(f"{self.path}: cannot read it ({err.strerror or err})") from None
        if not stat.S_ISREG(st.st_mode):
            check_log(self.path)  # a directory, a FIFO, a device: raises its one-line error
        if self._fd is not None and (st.st_dev, st.st_ino) != self._identity:
            self._reset("replaced", change)
        elif self._first_line and self._rewritten(st.st_size):
            self._reset("truncated", change)
        if self._fd is None:
            self._open(change)
        if self._fd is not None and not self._first_line and self._read_first_line():
            change.file = change.file or "appeared"

    def _rewritten(self, size: int) -> bool:
        """Shorter than what was read, or different where it was read: written anew."""
        if size < self._offset:
            return True
        first = os.pread(self._fd, len(self._first_line), 0)
        before = os.pread(self._fd, 1, self._offset - 1) if self._offset else b"\n"
        return first != self._first_line or before != b"\n"

    def _open(self, change: Change) -> None:
        try:  # non-blocking: a FIFO put there since the stat must not block the open
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        except OSError as err:
            check_log(self.path)  # permission denied and the like: its one-line error
            raise LogFileError(f"{self.path}: cannot read it ({err.strerror or err})") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            check_log(self.path)  # its one-line error
            return
        os.set_blocking(fd, True)
        self._fd, self._identity = fd, (st.st_dev, st.st_ino)
        self._offset = self._size = 0

    def _read_first_line(self) -> bool:
        """The header line, checked by `check_log` once it is whole (a writer may be mid-line);
        False while there is none yet. A header is looked for in the first ``max_line`` bytes."""
        head = b""
        while True:
            more = os.pread(self._fd, 1 << 16, len(head))
            if not more:
                return False  # nothing yet, or an unfinished first line
            start = len(head)
            head += more
            newline = head.find(b"\n", max(start, len(head) - len(head.lstrip())))
            if newline >= 0 and head[:newline].strip():
                break
            if len(head) > self.max_line:
                check_log(self.path, self.max_line)  # a first line over the bound: its error
                raise LogFileError(
                    f"{self.path}: no run header in its first {self.max_line:,} bytes"
                )
        try:
            check_log(self.path, self.max_line)
        except LogFileError as err:
            if getattr(err, "missing", False):  # emptied or removed meanwhile: wait again
                return False
            raise
        self._first_line = head[: newline + 1]
        return True

    def _reset(self, why: str, change: Change) -> None:
        """The file changed under us: what was read stays, as detached runs; read it anew."""
        for run in self.runs:
            run.detached = True
        self.close()
        self._first_line = b""
        self._offset = self._size = self._searched = 0
        self._caught_up = False
        self._pending.clear()
        change.file = why

    # ---- the scan ------------------------------------------------------------------------------

    def _read(self, change: Change, max_bytes: int | None) -> None:
        self._size = os.fstat(self._fd).st_size
        stop = self._size if max_bytes is None else min(self._size, self._offset + max_bytes)
        caught_up = stop == self._size
        while self._offset < stop:
            buf = os.pread(self._fd, CHUNK, self._offset)
            last = buf.rfind(b"\n")
            if last < 0:
                if not self._long_line(change):
                    caught_up = True  # only an unfinished last line is left: it waits
                    break
                continue
            self._scan(buf, last + 1, change)
            self._offset += last + 1
        self._caught_up = caught_up or self._offset >= self._size
        self._parse_pending()

    def _long_line(self, change: Change) -> bool:
        """The line at `_offset`, longer than a chunk: taken where it is within ``max_line``,
        skipped and counted where it is longer, read in chunks to find its end (never whole).
        False while it is unfinished; the search goes on from where it stopped at the next poll."""
        pos = max(self._offset + CHUNK, self._searched)
        while True:
            piece = os.pread(self._fd, CHUNK, pos)
            newline = piece.find(b"\n")
            if newline >= 0:
                break
            if not piece:
                self._searched = pos
                return False
            pos += len(piece)
        end = pos + newline  # the newline's offset
        self._searched = 0
        if end - self._offset > self.max_line:
            self._reader.feed(None)  # counted as broken, never held
        else:
            length = end + 1 - self._offset
            self._scan(os.pread(self._fd, length, self._offset), length, change)
        self._offset = end + 1
        return True

    def _scan(self, buf: bytes, end: int, change: Change) -> None:
        """Every whole line of ``buf[:end]``, which starts at the file offset `_offset`.

        Runs of snapshot lines in the compact layout are matched at their head and tail only and
        taken together (`_take_compact`); any other line is parsed in full (`_take_line`).
        """
        compact: list[tuple[re.Match, re.Match, int, int]] = []
        pos = 0
        while pos < end:
            newline = buf.find(b"\n", pos, end)
            if newline - pos > self.max_line:  # broken, as it would be parsed in full
                self._take_compact(buf, compact, change)
                compact = []
                self._reader.feed(None)
                pos = newline + 1
                continue
            head = _HEAD.match(buf, pos, newline) if buf.startswith(_SNAPSHOT, pos) else None
            tail = head and _TAIL.search(buf, max(pos, newline - _TAIL_BYTES), newline)
            if tail:
                compact.append((head, tail, pos, newline))
            else:
                self._take_compact(buf, compact, change)
                compact = []
                self._take_line(buf, pos, newline, change)
            pos = newline + 1
        self._take_compact(buf, compact, change)

    def _take_compact(
        self, buf: bytes, lines: list[tuple[re.Match, re.Match, int, int]], change: Change
    ) -> None:
        """Consecutive compact snapshot lines: their scalars converted and stored together."""
        if not lines:
            return
        run = self.run
        steps = [int(head.group(1)) for head, _, _, _ in lines]
        last = -1 if run is None or run.last_step is None else run.last_step
        # A step too big for the curves' array is one that decode counts as broken.
        ordered = run is not None and run.end is None and last < steps[0]
        ordered = ordered and steps[-1] <= INT64_MAX
        if ordered and all(a < b for a, b in pairwise(steps)):
            try:
                raw = [head.groups()[1:] + tail.groups() for head, tail, _, _ in lines]
                # head: loss, accuracy, lr, elapsed_s; tail: val_loss, val_accuracy
                order = (0, 1, 4, 5, 2, 3)  # -> Curves.FIELDS
                columns = [_numbers([r[k] for r in raw]) for k in order]
            except ValueError:
                columns = None
            if columns is not None:
                run.curves.extend(steps, columns)
                base = self._offset
                run.offsets.extend(base + start for _, _, start, _ in lines)
                run.lengths.extend(end - start for _, _, start, end in lines)
                self._pending.extend((base + start, end - start) for _, _, start, end in lines)
                change.snapshots += len(lines)
                return
        for _, _, start, end in lines:  # out of order, or a number that is not one: one by one
            self._take_line(buf, start, end, change)

    def _take_line(self, buf: bytes, start: int, end: int, change: Change) -> None:
        """One line parsed in full: a header, an event, the end, a snapshot in another layout."""
        if not buf[start:end].strip():
            return
        record = self._reader.feed(buf[start:end])
        if isinstance(record, Snapshot):
            self._take_snapshot(record, self._offset + start, end - start, change)
        elif record is not None:
            self._take(record, change)

    def _take_snapshot(self, snapshot: Snapshot, offset: int, length: int, change: Change) -> None:
        run = self.run
        if (
            run is None
            or run.end is not None
            or (run.last_step is not None and snapshot.step <= run.last_step)
        ):
            self._rejected += 1  # before any header, after the end, or not after the last step
            return
        values = _scalars_of(snapshot)
        run.curves.extend([snapshot.step], [[v] for v in values])
        run.offsets.append(offset)
        run.lengths.append(length)
        self._pending.append((offset, length))
        change.snapshots += 1

    def _take(self, record: RunHeader | Event | End, change: Change) -> None:
        if isinstance(record, RunHeader):
            self._parse_pending()  # the run that ends here keeps its last snapshots
            self.runs.append(FollowedRun(record, recent=deque(maxlen=self.keep)))
            change.runs += 1
            return
        run = self.run
        if run is None or run.end is not None:
            self._rejected += 1
        elif isinstance(record, Event):
            run.events.append(record)
            change.events.append(record)
        else:
            run.end = change.end = record

    def _parse_pending(self) -> None:
        """Parse in full the current run's last ``keep`` snapshot lines read since last time."""
        run = self.run
        if run is not None:
            for offset, length in self._pending:
                record = self._reader.feed(os.pread(self._fd, length, offset))
                if isinstance(record, Snapshot):
                    run.recent.append(record)
        self._pending.clear()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = [
    "CHUNK",
    "KEEP",
    "SILENT_AFTER",
    "Change",
    "Curves",
    "FollowedRun",
    "Follower",
]
