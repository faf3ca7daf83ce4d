"""When to take a snapshot: every N steps (reproducible logs) or paced by time (``"auto"``).

A dashboard shows about a dozen frames a second, so a fast model that snapshots every 10 steps
spends most of its statistics on frames nobody sees. ``every="auto"`` snapshots when the display
can use one: at most ``hz`` times a second by the pacer's clock, and at least every ``max_steps``
steps whatever the clock says. Step 1 is always a snapshot.

A snapshot costs time of its own, and on a big model a dozen a second would take most of the
training's: `Pacer.observe` takes each snapshot's cost and spaces the snapshots so that they take
at most ``share`` of the time, though one still comes every ``max_period`` seconds. This is the one
policy of the built-in trainer and of ``vgtui.watch()``. Pure Python: no torch, no host
synchronisation (the clock is the host's).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

AUTO = "auto"
AUTO_HZ = 12.0  # snapshots a second under "auto": the dashboard's default frame rate
AUTO_MAX_STEPS = 1000  # ... and at least one this many steps after the last
AUTO_SHARE = 0.02  # the most of the time that snapshots take under "auto"
MAX_PERIOD_S = 5.0  # ... though one comes at least this often (at its cost)
SMOOTHING = 0.2  # the weight of the newest cost in the running estimate of a snapshot's cost


class Pacer:
    """``due(step)`` says whether ``step`` is a snapshot step; call it once per step, and
    `observe` the cost of each snapshot taken (under "auto")."""

    def __init__(
        self,
        every: int | str,
        hz: float = AUTO_HZ,
        max_steps: int = AUTO_MAX_STEPS,
        clock: Callable[[], float] = time.monotonic,
        share: float = AUTO_SHARE,
        max_period: float = MAX_PERIOD_S,
    ) -> None:
        self.every = every
        self.min_period = 1.0 / hz
        self.period = self.min_period
        self.max_steps = max_steps
        self.clock = clock
        self.share = share
        self.max_period = max(max_period, self.min_period)
        self.cost: float | None = None  # a snapshot's seconds, a running estimate
        self.last_time = -float("inf")
        self.last_step = 0

    @property
    def auto(self) -> bool:
        return self.every == AUTO

    def due(self, step: int) -> bool:
        if not self.auto:
            return step == 1 or step % int(self.every) == 0
        now = self.clock()
        if (
            step == 1
            or now - self.last_time >= self.period
            or step - self.last_step >= self.max_steps
        ):
            self.last_time, self.last_step = now, step
            return True
        return False

    def observe(self, cost: float) -> None:
        """A snapshot took ``cost`` seconds more than a plain step: update the running estimate
        (`SMOOTHING`) and the period from it. Leave out a run's first snapshot, which pays one-time
        costs (allocations, torch's first calls) that no later snapshot does."""
        self.cost = cost if self.cost is None else (1 - SMOOTHING) * self.cost + SMOOTHING * cost
        self.period = self.period_for(self.cost)

    def period_for(self, cost: float) -> float:
        """Seconds between snapshots that cost ``cost`` each: as often as ``hz`` allows while they
        take at most ``share`` of the time, and at least every ``max_period``."""
        return min(max(self.min_period, cost / self.share), self.max_period)

    def steps_apart(self, step_s: float, cost: float) -> int:
        """Steps between snapshots for steps of ``step_s`` seconds and snapshots of ``cost``: the
        same `period_for`, counted in steps, for processes that must agree on the next snapshot
        step without a shared clock (the ranks of a distributed job)."""
        steps = math.ceil(self.period_for(cost) / step_s) if step_s > 0 else 1
        return min(max(steps, 1), self.max_steps)
