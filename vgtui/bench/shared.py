"""What several bench sections share: a real run's records, a process's memory, and waiting on
the app's event loop with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from vgtui.core.config import RunConfig
from vgtui.core.records import Record


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait (yielding to the event loop) until ``condition()``; TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: no {what} within {timeout:.0f} s")
        await asyncio.sleep(0.01)


def recorded_run(depth: int, snapshots: int = 2, every: int = 1) -> list[Record]:
    """A header and ``snapshots`` real snapshots of a ``depth``-layer run, one every ``every``
    steps (step 1 first)."""
    from vgtui.trainer.trainer import Trainer

    trainer = Trainer(RunConfig(depth=depth, device="cpu", every=every))
    records: list[Record] = [trainer.header]
    while len(records) <= snapshots:
        records += trainer.step()
    return records


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc; 0 where unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
