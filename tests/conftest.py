"""Shared helpers for the dashboard tests: recorded runs and bounded waits."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from vgtui.core.records import Record
from vgtui.runlog.codec import LogReader

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> list[Record]:
    reader = LogReader()
    with open(FIXTURES / name, "rb") as f:
        records = list(reader.records(f))
    assert reader.skipped == 0, f"{name}: {reader.skipped} broken lines"
    return records


@pytest.fixture
def recorded() -> Callable[..., list[Record]]:
    """``recorded("a.jsonl", "b.jsonl")``: the records of committed run logs, back to back."""

    def load(*names: str) -> list[Record]:
        return [record for name in names for record in _load(name)]

    return load


@pytest.fixture
def wait_until() -> Callable[..., Awaitable[None]]:
    """``await wait_until(pilot, condition, "what we wait for", timeout=30)``.

    Lets the app run in small pauses until ``condition()`` holds; fails with the description (and
    the app's state) if it does not within ``timeout`` seconds. A deadline, not a sleep: the test
    goes on as soon as the condition holds.
    """

    async def wait(pilot, condition: Callable[[], object], what: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                app = pilot.app
                pytest.fail(
                    f"timed out after {timeout:g}s waiting for {what} "
                    f"(state={getattr(app, 'state', '?')!r}, "
                    f"error={getattr(app, 'error_text', '')!r})"
                )
            await pilot.pause(0.05)

    return wait


async def draw_exactly(pilot) -> None:
    """Redraw every snapshot view from its exact values, forgetting the bar lengths kept against
    flicker (they depend on which frames happened to be drawn before): a snapshot test's picture
    is then the last snapshot's alone, whatever the timing."""
    from vgtui.ui.widgets.snapshot_view import SnapshotView

    for view in pilot.app.query(SnapshotView):
        view.steady.clear()
        view.invalidate()
        view.redraw()
    await pilot.pause()


def pid_exists(pid: int) -> bool:
    """Whether a process with this id is still there (a zombie counts until it is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
