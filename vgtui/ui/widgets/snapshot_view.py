"""The base of the widgets drawn from one snapshot."""

from __future__ import annotations

from vgtui.core.records import Snapshot
from vgtui.ui.widgets.lines import LineView, Steady


class SnapshotView(LineView):
    """A widget drawn from the newest snapshot; `show` gives it one and repaints what changed."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None
        self.steady = Steady()  # bar lengths, per layer; forgotten when a new run starts

    def version(self) -> object:
        return (self.snapshot,)

    def show(self, snapshot: Snapshot | None) -> int:
        """Draw ``snapshot``; returns how many lines changed on screen."""
        self.snapshot = snapshot
        return self.redraw()
