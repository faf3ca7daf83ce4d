"""The trainer as a server: commands in, batches of records out, over one duplex connection.

`serve` runs in a child process (the dashboard's default, so that training never holds the UI's
GIL) or, for comparison, in a thread; the loop is the same. Records are sent in batches at most
`flush_hz` times a second, so a fast trainer does not flood the reader with small messages.

Commands are tuples: ``("pause",)``, ``("resume",)``, ``("step",)`` (one step while paused),
``("lr", value)``, ``("preact", on)`` (summarise pre-activations too), ``("restart",
config_dict)``, ``("stop",)``.

Every error reaches the other end as one line (an ``error`` event, see `errors.describe`), and
every run that started ends with an ``end`` record, whatever way the loop stops. In its own
process the trainer's standard output and error (torch's warnings, anything a library prints)
would land on top of the dashboard: they are captured and sent as ``output`` events instead.
Dataset downloads report ``progress`` events (not logged: they come before the run's header).
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from vgtui.core.config import RunConfig
from vgtui.core.errors import describe
from vgtui.core.pacing import AUTO_HZ
from vgtui.core.records import End, Event, Record, Snapshot
from vgtui.runlog.codec import RunLogWriter
from vgtui.runlog.target import moved_note, numbered_log_path, open_run_log

if TYPE_CHECKING:  # torch is imported in the trainer's process only, when it starts training
    from vgtui.trainer.trainer import Trainer


class Connection(Protocol):
    def send(self, obj: Any) -> None: ...
    def recv(self) -> Any: ...
    def poll(self, timeout: float | None = 0.0) -> bool: ...


class Server:
    """State of the serve loop: the current trainer, whether paused, pending records."""

    def __init__(
        self,
        conn: Connection,
        log_path: str | None,
        flush_hz: float,
        snapshot_hz: float = AUTO_HZ,
        overwrite: bool = False,
    ) -> None:
        self.conn = conn
        self.snapshot_hz = snapshot_hz
        self.log_path = log_path
        self.overwrite = overwrite
        self.next_log = 1  # the number of the next run's log (`numbered_log_path`)
        self.flush_every = 1.0 / flush_hz
        self.trainer: Trainer | None = None
        self.writer: RunLogWriter | None = None
        self.paused = False
        self.running = True
        self.pending: list[Record] = []
        self.last_flush = 0.0
        self.last_progress = 0.0
        self.output: queue.SimpleQueue[str] | None = None  # captured stdout/stderr lines

    def emit(self, records: list[Record], urgent: bool = False) -> None:
        if self.writer is not None:
            for record in records:
                self.writer.write(record)
        self.pending.extend(records)
        now = time.monotonic()
        # Anything but a routine snapshot goes at once, and so does a run's first snapshot (the
        # answer to a key that restarted the run).
        urgent = urgent or any(not isinstance(r, Snapshot) or r.step == 1 for r in records)
        if self.pending and (urgent or now - self.last_flush >= self.flush_every):
            self.conn.send(slim(self.pending))
            self.pending = []
            self.last_flush = now

    def start(self, config: RunConfig) -> None:
        self.close_run("stopped")
        from vgtui.trainer.data import load_dataset
        from vgtui.trainer.trainer import Trainer

        try:
            data = load_dataset(
                config.dataset,
                seed=config.seed,
                width=config.width,
                data_dir=config.data_dir,
                progress=self.progress,
            )
            self.trainer = Trainer(config, data, snapshot_hz=self.snapshot_hz)
            if self.log_path:
                self.writer, number = open_run_log(self.log_path, self.overwrite, self.next_log)
                if number != self.next_log:  # an earlier run's log was in the way: say where
                    wanted = numbered_log_path(self.log_path, self.next_log)
                    note = moved_note(wanted, self.writer.path, "--overwrite")
                    self.conn.send([Event(0, "notice", note)])
                self.next_log = number + 1
        except Exception as err:  # a bad dataset, device or log path: report, keep serving
            self.trainer = None
            self.emit([Event(0, "error", describe(err))], urgent=True)
            return
        self.emit([self.trainer.header], urgent=True)

    def progress(self, done: int, total: int) -> None:
        """A download's progress, sent at most every half second (not logged: no run yet)."""
        now = time.monotonic()
        if now - self.last_progress >= 0.5 or done >= total:
            self.last_progress = now
            message = f"downloading {done / 1e6:.1f} of {total / 1e6:.1f} MB"
            self.conn.send([Event(0, "progress", message)])

    def close_run(self, reason: str) -> None:
        """End the current run (its ``end`` record is logged even if the other end is gone)."""
        try:
            if self.trainer is not None and self.trainer.end is None:
                self.emit([self.trainer.stop(reason)], urgent=True)
        finally:
            if self.writer is not None:
                self.writer.close()
                self.writer = None

    def handle(self, command: tuple) -> None:
        verb = command[0]
        trainer = self.trainer
        if verb == "stop":
            self.running = False
        elif verb == "restart":
            self.paused = False
            try:
                config = RunConfig.from_dict(command[1])
            except Exception as err:
                self.emit(
                    [Event(self.trainer.step_count if trainer else 0, "error", describe(err))]
                )
                return
            self.start(config)
        elif verb in ("pause", "resume") and trainer is not None and trainer.end is None:
            self.paused = verb == "pause"
            self.emit([Event(trainer.step_count, verb + "d", "")], urgent=True)
        elif verb == "step":
            self.train_step(force_snapshot=True)
        elif verb == "preact" and trainer is not None:
            trainer.probe.preact = bool(command[1])
        elif verb == "lr" and trainer is not None:
            event = trainer.set_lr(float(command[1]))
            if trainer.end is None:
                self.emit([event], urgent=True)

    def train_step(self, force_snapshot: bool = False) -> None:
        trainer = self.trainer
        if trainer is None or trainer.end is not None:
            return
        try:
            records = trainer.step(force_snapshot=force_snapshot)
        except Exception as err:
            trainer.end = End(trainer.step_count, "error")
            records = [Event(trainer.step_count, "error", describe(err)), trainer.end]
        self.emit(records, urgent=force_snapshot)

    @property
    def idle(self) -> bool:
        return self.paused or self.trainer is None or self.trainer.end is not None

    def loop(self) -> None:
        parent = os.getppid()
        while self.running:
            if self.output is not None and not self.output.empty():
                self.forward_output()
            # Idle: block for the next command (waking to notice an orphaned process).
            if self.conn.poll(0.5 if self.idle else 0.0):
                self.handle(self.conn.recv())
            elif self.idle:
                if self.pending:
                    self.emit([], urgent=True)
                if os.getppid() != parent:
                    break
            else:
                self.train_step()
        self.close_run("stopped")
        if self.pending:
            self.conn.send(self.pending)

    def forward_output(self) -> None:
        """Captured output lines, as ``output`` events (logged with the run, if one is going)."""
        assert self.output is not None
        step = self.trainer.step_count if self.trainer is not None else 0
        lines = []
        while not self.output.empty():
            lines.append(self.output.get())
        events = [Event(step, "output", line) for line in lines]
        if self.writer is not None:
            self.emit(events, urgent=True)
        else:
            self.conn.send(events)


def capture_output() -> queue.SimpleQueue[str]:
    """Point this process's stdout and stderr (file descriptors 1 and 2, so C libraries' output
    too) at a pipe; a thread turns what arrives into lines on the returned queue."""
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    read_end, write_end = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with open(read_end, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    lines.put(line)

    threading.Thread(target=pump, name="vgtui-output", daemon=True).start()
    return lines


def slim(batch: list[Record]) -> list[Record]:
    """The batch with layer statistics only on its newest snapshot; the others keep their scalars.

    The dashboard draws at most one frame per batch, from the newest snapshot, and the curves need
    only the scalars; unpickling every snapshot's layers would only feed the UI's garbage collector
    (the run log, written here, keeps everything).
    """
    newest = max((i for i, r in enumerate(batch) if isinstance(r, Snapshot)), default=-1)
    return [
        replace(r, layers=[]) if isinstance(r, Snapshot) and i != newest else r
        for i, r in enumerate(batch)
    ]


def serve(
    conn: Connection,
    config: dict,
    log_path: str | None = None,
    flush_hz: float = 30.0,
    own_process: bool = False,
    snapshot_hz: float = AUTO_HZ,
    overwrite: bool = False,
) -> None:
    """Train ``config`` and answer commands until told to stop or the other end goes away.

    In its ``own_process``, the trainer leaves one core to the dashboard: torch's intra-op
    threads spin while they wait, and on a small machine they would starve the UI's process.
    """
    if own_process:
        import torch

        torch.set_num_threads(max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1)))
    server = Server(conn, log_path, flush_hz, snapshot_hz, overwrite)
    if own_process:
        server.output = capture_output()
    reason = "stopped"
    try:
        server.start(RunConfig.from_dict(config))
        server.loop()
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the UI went away: nothing left to tell
    except Exception as err:  # a fault in the loop itself: one line to the UI, then stop
        reason = "error"
        step = server.trainer.step_count if server.trainer is not None else 0
        with contextlib.suppress(EOFError, OSError):
            server.emit([Event(step, "error", describe(err))], urgent=True)
    finally:
        # Whatever way the loop stopped, the run's log gets its end record.
        with contextlib.suppress(EOFError, OSError):
            server.close_run(reason)
