"""Per-run curve history, bounded in memory: when full, every other point is dropped."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from vgtui.engine.records import RunHeader, Snapshot

SERIES = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass
class RunHistory:
    """One run's scalar curves. Appended from the reader thread, read from the UI thread."""

    header: RunHeader
    limit: int = 4096
    steps: list[int] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(
        default_factory=lambda: {name: [] for name in SERIES}
    )
    stride: int = 1
    seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def label(self) -> str:
        c = self.header.config
        return f"{c['activation']}/{c['init']}"

    def add(self, snap: Snapshot) -> None:
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        with self.lock:
            self.steps.append(snap.step)
            for name in SERIES:
                self.series[name].append(getattr(snap, name))
            if len(self.steps) >= self.limit:  # keep the whole run's shape in half the points
                self.steps = self.steps[::2]
                self.series = {k: v[::2] for k, v in self.series.items()}
                self.stride *= 2

    def points(self, name: str) -> tuple[list[int], list[float]]:
        """(steps, values) of one series, skipping missing values."""
        with self.lock:
            pairs = [
                (s, v) for s, v in zip(self.steps, self.series[name], strict=True) if v is not None
            ]
        return [s for s, _ in pairs], [v for _, v in pairs]


class RunBook:
    """The runs of one dashboard session, newest last; old runs beyond ``keep`` are dropped."""

    def __init__(self, keep: int = 4, limit: int = 4096) -> None:
        self.runs: list[RunHistory] = []
        self.keep = keep
        self.limit = limit

    def start(self, header: RunHeader) -> RunHistory:
        run = RunHistory(header, limit=self.limit)
        self.runs = [*self.runs[-(self.keep - 1) :], run] if self.keep > 1 else [run]
        return run

    @property
    def current(self) -> RunHistory | None:
        return self.runs[-1] if self.runs else None
