"""Per-run curve history, bounded in memory: when full, every other point is dropped."""

from __future__ import annotations

import threading

import numpy as np

from vgtui.core.records import RunHeader, Snapshot

SERIES = ("loss", "accuracy", "val_loss", "val_accuracy")


class RunHistory:
    """One run's scalar curves, at most ``limit`` points of each. Appended from the reader
    thread, read from the UI thread.

    When full, every other point is dropped and from then on only every other snapshot is kept
    (then every fourth, ...): the whole run's shape stays, in bounded memory and drawing time.
    A missing value (no validation at that step, a forward-only run's loss) is NaN.
    """

    def __init__(self, header: RunHeader, limit: int = 4096) -> None:
        self.header = header
        self.limit = limit
        self.steps = np.zeros(limit, dtype=np.int64)
        self.values = np.full((len(SERIES), limit), np.nan)
        self.count = 0  # points kept
        self.stride = 1  # one snapshot in `stride` is kept
        self.seen = 0  # snapshots offered
        self.lock = threading.Lock()

    @property
    def label(self) -> str:
        c = self.header.config
        return f"{c['activation']}/{c['init']}"

    def add(self, snap: Snapshot) -> None:
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        with self.lock:
            n = self.count
            self.steps[n] = snap.step
            for row, name in enumerate(SERIES):
                value = getattr(snap, name)
                self.values[row, n] = np.nan if value is None else value
            self.count = n + 1
            if self.count >= self.limit:  # keep the whole run's shape in half the points
                half = self.count // 2 + self.count % 2
                self.steps[:half] = self.steps[: self.count : 2]
                self.values[:, :half] = self.values[:, : self.count : 2]
                self.values[:, half:] = np.nan
                self.count = half
                self.stride *= 2

    def points(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one series, leaving out the steps where it has no value."""
        with self.lock:
            steps = self.steps[: self.count].copy()
            values = self.values[SERIES.index(name), : self.count].copy()
        known = ~np.isnan(values)
        return steps[known], values[known]


class RunBook:
    """The runs of one dashboard session, newest last; old runs beyond ``keep`` are dropped."""

    def __init__(self, keep: int = 4, limit: int = 4096) -> None:
        self.runs: list[RunHistory] = []
        self.keep = keep
        self.limit = limit

    def start(self, header: RunHeader) -> RunHistory:
        """A new run; the same header again (a replay moved back) starts the current one anew."""
        run = RunHistory(header, limit=self.limit)
        if self.runs and self.runs[-1].header is header:
            self.runs = [*self.runs[:-1], run]
            return run
        self.runs = [*self.runs[-(self.keep - 1) :], run] if self.keep > 1 else [run]
        return run

    @property
    def current(self) -> RunHistory | None:
        return self.runs[-1] if self.runs else None
