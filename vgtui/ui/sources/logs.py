"""Sources that read a run log: `FollowSource` (attach: a log another process writes) and
`LogReplaySource` (replay: a finished log, with pause, steps, speed and jumps).

Both give the app the records of the `Source` protocol (`vgtui.ui.sources.trainer`) and accept
no command that would change the run (``live`` is False); ``readonly`` says why, in words a status
line can show. Both read the log through the runlog's `Follower`: only new bytes, the scalars of
every snapshot from a cheap scan, any snapshot in full through the offset index.

Curves need every snapshot's scalars but the views only the newest in full: snapshots between are
sent as *light* ones (their scalars, no layers; see `light`), and the last of each batch is always
a full one. A few snapshots spread over the history are sent in full too (``history``), so that
a view of the past (the gradient waterfall) has columns for a log opened late.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path

from vgtui.core.ranges import Range
from vgtui.core.records import End, Record, Snapshot
from vgtui.runlog.files import LogFileError, check_log
from vgtui.runlog.follow import FollowedRun, Follower
from vgtui.ui.sources.trainer import SourceClosed

POLL_S = 0.05  # how often a followed file is looked at while nothing is new
HISTORY = 160  # snapshots sent in full, evenly spread, when a log is opened with a long past
REPLAY_S = 30.0  # the default replay speed plays a whole run in about this long
# The slowest and fastest replay, times training time (--speed, and the [ ] keys' limits).
SPEED = Range(1 / 64, 4096, words="a number from 1/64 to 4096")


def light(run: FollowedRun, index: int) -> Snapshot:
    """Snapshot ``index`` of ``run`` from its scalar curves alone: no layers."""
    c = run.curves

    def value(name: str) -> float | None:
        v = getattr(c, name)[index]
        return None if math.isnan(v) else v

    return Snapshot(
        step=c.step[index],
        loss=value("loss"),
        accuracy=value("accuracy"),
        lr=c.lr[index],
        elapsed_s=c.elapsed_s[index],
        layers=[],
        val_loss=value("val_loss"),
        val_accuracy=value("val_accuracy"),
    )


def spread(first: int, last: int, n: int) -> set[int]:
    """At most ``n`` indices evenly spread over ``[first, last)``."""
    count = last - first
    if count <= 0 or n <= 0:
        return set()
    if count <= n:
        return set(range(first, last))
    return {first + (i * (count - 1)) // (n - 1) for i in range(n)} if n > 1 else {last - 1}


class FollowSource:
    """A run log that another process writes, followed like ``tail -F`` (``vgtui attach``)."""

    live = False
    readonly = "this run belongs to another process"

    def __init__(
        self,
        path: str | Path,
        history: int = HISTORY,
        poll_s: float = POLL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.history = history
        self.poll_s = poll_s
        self.follower = Follower(self.path, clock=clock)
        self._sent: list[tuple[int, int, int]] = []  # per run: snapshots, events, end sent
        self._lock = threading.Lock()  # status() is read from the UI thread

    def start(self) -> None:
        pass

    def recv(self, timeout: float) -> list[Record]:
        """The records added since the last call, or [] after ``timeout`` seconds of nothing."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._lock:
                    change = self.follower.poll()
            except LogFileError as err:
                raise SourceClosed(str(err)) from None
            if change:
                return self._records()
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            time.sleep(min(self.poll_s, left))

    def _records(self) -> list[Record]:
        out: list[Record] = []
        runs = self.follower.runs
        for index, run in enumerate(runs):
            if index == len(self._sent):
                self._sent.append((0, 0, 0))
                out.append(run.header)
            snaps, events, ended = self._sent[index]
            total = len(run.curves)
            if total > snaps:
                out += self._snapshots(run, snaps, total, index == len(runs) - 1)
            out += run.events[events:]
            if run.end is not None and not ended:
                out.append(run.end)
            self._sent[index] = (total, len(run.events), int(run.end is not None))
        return out

    def _snapshots(self, run: FollowedRun, first: int, last: int, current: bool) -> list[Snapshot]:
        """Snapshots ``first..last-1``: in full where kept (the newest) or sampled for history
        (a long past), light otherwise."""
        full = {s.step: s for s in run.recent}
        sampled = spread(first, max(first, last - len(full)), self.history) if current else set()
        out = []
        for i in range(first, last):
            step = run.curves.step[i]
            snap = full.get(step) or (self.follower.snapshot(i, run) if i in sampled else None)
            out.append(snap or light(run, i))
        return out

    def status(self) -> str:
        """One line: following PATH, waiting for PATH, ended: done, no new snapshot for 2 min;
        with the broken lines skipped so far."""
        with self._lock:
            text = self.follower.status()
            skipped = self.follower.skipped
        if skipped:
            text += f" · {skipped} broken line{'s' * (skipped != 1)} skipped"
        return text

    def send(self, command: tuple) -> None:
        pass  # the run belongs to another process

    def close(self) -> None:
        with self._lock:
            self.follower.close()


class LogReplaySource:
    """A finished run log played back (``vgtui replay``), in training time times ``speed``.

    Commands (`send`, from the UI thread): ``("pause",)`` toggles, ``("step", n)`` moves n
    snapshots (and pauses), ``("speed", factor)``, ``("seek", "start" | "end")``. Playing forward
    sends the snapshots passed; any other move sends the run's header again, the snapshots up to
    the new position light and the one at it in full: a view that sees the same header object
    again knows the run was rewound (`rewinds`).
    """

    live = False
    readonly = "this is a recording"

    def __init__(
        self,
        path: str | Path,
        speed: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        history: int = HISTORY,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.history = history
        self.follower = Follower(self.path)
        self.requested_speed = speed
        self.speed = speed or 1.0
        self.paused = False
        self.position = -1  # the snapshot shown, over all runs; -1 before the first
        self.starts: list[int] = []  # each run's first position
        self._commands: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._origin = (0.0, 0.0)  # (clock, training time) when playing last (re)started
        self._ended = False
        self._opened = False
        self._lock = threading.Lock()  # send (the UI thread) against recv (the reader)

    # ---- what the status line shows ------------------------------------------------------------

    @property
    def total(self) -> int:
        return self.starts[-1] + len(self.follower.runs[-1].curves) if self.starts else 0

    def locate(self, position: int) -> tuple[FollowedRun, int]:
        """The run holding ``position`` and the index of the snapshot within it."""
        r = bisect_right(self.starts, position) - 1
        return self.follower.runs[r], position - self.starts[r]

    def status(self) -> str:
        """``▶ x4 · snapshot 12/240``, or ‖ while paused, ■ at the end."""
        total = self.total
        if not self._opened:
            return f"reading {self.path}"
        if not total:
            return "replay: no snapshot in this log"
        p = max(self.position, 0)
        mark = "■" if self._ended else "‖" if self.paused else "▶"
        speed = f"x{self.speed:.3g}" if self.speed >= 1 else f"x1/{1 / self.speed:.3g}"
        return f"{mark} {speed} · snapshot {p + 1}/{total}"

    # ---- the protocol --------------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to start: the log is read by the first `recv`, off the UI thread."""

    def _open(self) -> None:
        """Read the whole log (its scalars; snapshots are parsed in full when shown)."""
        self._opened = True
        try:
            check_log(self.path)  # a missing or empty log is an error here, not waited for
            while not self.follower.caught_up:
                self.follower.poll()
        except LogFileError as err:
            raise SourceClosed(str(err)) from None
        start = 0
        for run in self.follower.runs:
            self.starts.append(start)
            start += len(run.curves)
        if self.requested_speed is None:  # the longest run plays in about REPLAY_S seconds
            longest = max(
                (r.curves.elapsed_s[-1] for r in self.follower.runs if r.curves), default=0
            )
            self.speed = max(1.0, 2 ** math.ceil(math.log2(max(longest / REPLAY_S, 1))))
        first = next((r.curves.elapsed_s[0] for r in self.follower.runs if r.curves), 0.0)
        self._origin = (self.clock(), first)  # the first snapshot at once, then in time

    def send(self, command: tuple) -> None:
        """Pause and speed apply at once (the status line shows them at the next frame); moves
        are made by the reader's next `recv`, which sends their records."""
        name, *args = command
        with self._lock:
            if name == "pause":
                self.paused = not self.paused
                self._restart_clock()
            elif name == "speed":
                self.speed = max(SPEED.lo, min(SPEED.hi, self.speed * args[0]))
                self._restart_clock()
            else:
                self._commands.put(command)

    def recv(self, timeout: float) -> list[Record]:
        if not self._opened:
            self._open()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                out = self._apply_commands()
                if not out and not self.paused and not self._ended:
                    out = self._play()
            if out or time.monotonic() >= deadline:
                return out
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        self.follower.close()

    # ---- moving --------------------------------------------------------------------------------

    def _now(self) -> float:
        """The training time (``elapsed_s``) that playing has reached."""
        wall, at = self._origin
        return at + (self.clock() - wall) * self.speed

    def _play(self) -> list[Record]:
        total = self.total
        if self.position + 1 >= total:
            if total and not self._ended:
                self._ended = True
                run = self.follower.runs[-1]
                return [run.end or End(run.curves.step[-1], "done")]
            return []
        now = self._now()
        target = self.position
        while target + 1 < total:
            run, i = self.locate(target + 1)
            if target >= 0 and run.curves.elapsed_s[i] > now:
                break
            target += 1
        if target == self.position:
            return []
        return self._forward(target)

    def _forward(self, target: int) -> list[Record]:
        """Snapshots after the current position up to ``target``, headers and ends between."""
        out: list[Record] = []
        for p in range(self.position + 1, target + 1):
            run, i = self.locate(p)
            if i == 0:
                if p > 0:
                    before = self.locate(p - 1)[0]
                    out.append(before.end or End(before.curves.step[-1], "stopped"))
                out.append(run.header)
            out.append(self._full(run, i) if p == target else light(run, i))
        self.position = target
        return out

    def _jump(self, target: int) -> list[Record]:
        """The run at ``target`` from its header again, up to ``target``."""
        total = self.total
        if not total:
            return []
        target = max(0, min(total - 1, target))
        run, i = self.locate(target)
        first = target - i
        sampled = spread(first, target, self.history)
        out: list[Record] = [run.header]
        for k in range(i):
            snap = self.follower.snapshot(k, run) if first + k in sampled else None
            out.append(snap or light(run, k))
        out.append(self._full(run, i))
        self.position = target
        self._ended = False
        self._restart_clock()
        return out

    def _full(self, run: FollowedRun, index: int) -> Snapshot:
        return self.follower.snapshot(index, run) or light(run, index)

    def _restart_clock(self) -> None:
        if self.position >= 0:
            run, i = self.locate(self.position)
            self._origin = (self.clock(), run.curves.elapsed_s[i])

    def _apply_commands(self) -> list[Record]:
        out: list[Record] = []
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return out
            name, *args = command
            if name == "step":
                self.paused = True
                target = max(0, min(self.total - 1, self.position + args[0]))
                if target == self.position + 1:
                    out += self._forward(target)
                elif target != self.position:
                    out += self._jump(target)
            elif name == "seek":
                out += self._jump(0 if args[0] == "start" else self.total - 1)
