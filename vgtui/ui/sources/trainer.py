"""Sources of records for the dashboard: the live trainer (a child process) or a recording.

The dashboard only calls ``start``, ``recv``, ``send`` and ``close``, so it does not care which.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import threading
import time
from collections.abc import Iterable
from typing import Protocol

from vgtui.core.config import RunConfig
from vgtui.core.pacing import AUTO_HZ
from vgtui.core.records import Record, Snapshot
from vgtui.trainer.worker import serve


class SourceClosed(Exception):
    """The source has nothing more to give (the trainer process died or the recording ended)."""


class Source(Protocol):
    live: bool

    def start(self) -> None: ...
    def recv(self, timeout: float) -> list[Record]: ...
    def send(self, command: tuple) -> None: ...
    def close(self) -> None: ...


class TrainerSource:
    """The built-in trainer in a child process (or, for comparison only, in a thread)."""

    live = True

    def __init__(
        self,
        config: RunConfig,
        log_path: str | None = None,
        in_thread: bool = False,
        flush_hz: float = 30.0,
        snapshot_hz: float = AUTO_HZ,
        overwrite: bool = False,
    ) -> None:
        self.config = config
        self.snapshot_hz = snapshot_hz
        self.log_path = log_path
        self.overwrite = overwrite  # replace an earlier run's log at log_path (else: numbered)
        self.in_thread = in_thread
        self.flush_hz = flush_hz
        self.process: mp.process.BaseProcess | None = None
        self.thread: threading.Thread | None = None
        self.conn = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that runs threads
        self.conn, child = ctx.Pipe()
        args = (child, self.config.to_dict(), self.log_path, self.flush_hz)
        if self.in_thread:
            self.thread = threading.Thread(
                target=serve, args=(*args, False, self.snapshot_hz, self.overwrite), daemon=True
            )
            self.thread.start()
        else:
            process = ctx.Process(
                target=serve,
                args=(*args, True, self.snapshot_hz, self.overwrite),
                daemon=True,
                name="vgtui-trainer",
            )
            # Textual swaps sys.stderr for a capture without a real file descriptor, which the
            # spawn machinery passes on: give it the real one while the process starts.
            with contextlib.redirect_stderr(sys.__stderr__):
                process.start()
            self.process = process
            child.close()

    def recv(self, timeout: float) -> list[Record]:
        """The next batch of records, or [] if none came within ``timeout`` seconds."""
        try:
            if self.conn is None or not self.conn.poll(timeout):
                if (
                    self.process is not None
                    and not self.process.is_alive()
                    and not self.conn.poll()
                ):
                    raise SourceClosed(f"the trainer process exited (code {self.process.exitcode})")
                return []
            return self.conn.recv()
        except (EOFError, OSError) as err:
            raise SourceClosed("the trainer process exited") from err

    def send(self, command: tuple) -> None:
        try:
            if self.conn is not None:
                self.conn.send(command)
        except (BrokenPipeError, OSError):
            pass  # a dead trainer: recv reports it

    def close(self, wait: bool = False, timeout: float = 2.0) -> None:
        """Stop the trainer without blocking the caller: it is told to stop, and a thread waits
        for it (terminating, then killing it after ``timeout`` each). With ``wait`` (at exit),
        block until it is gone; `reap_all` waits for every close still under way."""
        self.send(("stop",))
        process, thread, conn = self.process, self.thread, self.conn
        self.conn = None
        reaper = threading.Thread(
            target=_reap, args=(process, thread, conn, timeout), name="vgtui-reaper", daemon=True
        )
        _REAPERS.add(reaper)
        reaper.start()
        if wait:
            reaper.join()


_REAPERS: set[threading.Thread] = set()


def _reap(process, thread, conn, timeout: float) -> None:
    """Wait for a stopped trainer to exit; terminate it, then kill it, if it does not."""
    try:
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.terminate()
                process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()
        if thread is not None:
            thread.join(timeout)
        if conn is not None:
            conn.close()
    finally:
        _REAPERS.discard(threading.current_thread())


def reap_all() -> None:
    """Block until every trainer closed so far has exited: no process outlives the app."""
    for reaper in list(_REAPERS):
        reaper.join()


class ReplaySource:
    """Records played back: all at once (``speed=None``) or paced by their ``elapsed_s``."""

    live = False

    def __init__(self, records: Iterable[Record], speed: float | None = None) -> None:
        self.records = list(records)
        self.speed = speed
        self.position = 0
        self.started = 0.0

    def start(self) -> None:
        self.started = time.monotonic()

    def recv(self, timeout: float) -> list[Record]:
        if self.position >= len(self.records):
            time.sleep(timeout)
            return []
        if self.speed is None:
            batch, self.position = self.records[self.position :], len(self.records)
            return batch
        now = (time.monotonic() - self.started) * self.speed
        end = self.position
        while end < len(self.records):
            record = self.records[end]
            if isinstance(record, Snapshot) and record.elapsed_s > now and end > self.position:
                break
            end += 1
        batch, self.position = self.records[self.position : end], end
        if not batch:
            time.sleep(timeout)
        return batch

    def send(self, command: tuple) -> None:
        pass

    def close(self) -> None:
        pass
