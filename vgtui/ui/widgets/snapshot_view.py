"""The base of the widgets drawn from one snapshot."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widget import Widget

from vgtui.engine.records import Snapshot


class SnapshotView(Widget):
    """A widget drawn from the newest snapshot.

    A new snapshot only repaints the widget; its layout is refreshed only when the snapshot's
    shape (what `shape` returns) changes. A layout on every frame would reflow and repaint the
    whole screen, several times the cost of the repaint itself.
    """

    snapshot: reactive[Snapshot | None] = reactive(None)

    def shape(self, snap: Snapshot | None) -> object:
        """What the widget's height depends on: by default, the layers' names."""
        return None if snap is None else tuple(x.name for x in snap.layers)

    def watch_snapshot(self, old: Snapshot | None, new: Snapshot | None) -> None:
        if self.shape(old) != self.shape(new):
            self.refresh(layout=True)
