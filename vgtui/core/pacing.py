"""When to take a snapshot: every N steps (reproducible logs) or paced by time (``"auto"``).

A dashboard shows about a dozen frames a second, so a fast model that snapshots every 10 steps
spends most of its statistics on frames nobody sees. ``every="auto"`` snapshots when the display
can use one: at most ``hz`` times a second by the wall clock, and at least every ``max_steps``
steps whatever the clock says. Step 1 is always a snapshot. Pure Python: no torch, no host
synchronisation (the clock is the host's).
"""

from __future__ import annotations

import time
from collections.abc import Callable

AUTO = "auto"
AUTO_HZ = 12.0  # snapshots a second under "auto": the dashboard's default frame rate
AUTO_MAX_STEPS = 1000  # ... and at least one this many steps after the last


class Pacer:
    """``due(step)`` says whether ``step`` is a snapshot step; call it once per step."""

    def __init__(
        self,
        every: int | str,
        hz: float = AUTO_HZ,
        max_steps: int = AUTO_MAX_STEPS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every = every
        self.period = 1.0 / hz
        self.max_steps = max_steps
        self.clock = clock
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
