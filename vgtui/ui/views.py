"""The dashboard's views for big models and its run-log modes, as one mixin of the app.

- Views of the layers, one key each (named in the footer): ``h`` the histogram grid, ``w`` the
  gradient waterfall, ``t`` compact distributions; the default picks itself from the number of
  layers and the room on screen until a key picks one. ``/`` filters layers by name (a substring
  or a glob), ``z`` folds layers by module prefix to fit the screen (and unfolds them).
- The diagnosis panel under the views: the diagnosis of the last snapshots, its hints naming
  keys when the run is ours.
- Attach and replay (a source that is not ``live``): keys that would change the run say why they
  cannot; ``space`` pauses the display (attach) or the replay; left/right, ``[`` / ``]`` and
  ``g`` / ``G`` move a replay.

The app calls four hooks: `take_record` from its reader thread for every record (thread-safe:
appends only), `views_new_run` and `views_frame` from the UI thread, and `refuse` where a key
cannot change the run.
"""

from __future__ import annotations

from collections import deque

from textual.binding import Binding
from textual.widgets import Input

from vgtui.core.diagnosis import DASHBOARD_KEYS, WINDOW, diagnose
from vgtui.core.records import Record, RunHeader, Snapshot
from vgtui.ui.sources.logs import FollowSource, LogReplaySource
from vgtui.ui.widgets.diagnosis_panel import DiagnosisPanel
from vgtui.ui.widgets.distributions import Distributions
from vgtui.ui.widgets.histograms import CELL_WIDTH, Histograms
from vgtui.ui.widgets.layer_filter import LayerFilter
from vgtui.ui.widgets.waterfall import GradHistory, Waterfall

VIEWS = {"grid": Histograms, "waterfall": Waterfall, "compact": Distributions}
GRID_CELL_ROWS = 5  # a histogram cell's lines: title, three rows of bars, axis
GRID_LAYERS = 16  # up to this many layers, the grid is the default even where it scrolls

VIEW_BINDINGS = [
    Binding("h", "view('grid')", "grid", tooltip="view: a histogram per layer"),
    Binding("w", "view('waterfall')", "waterfall", tooltip="view: gradient norms over time"),
    Binding("t", "view('compact')", "compact", tooltip="view: one line per layer"),
    Binding("slash", "filter", "filter", key_display="/", tooltip="filter layers by name or glob"),
    Binding("z", "fold", "fold", show=False, tooltip="fold layers by module prefix, or unfold"),
]
REPLAY_BINDINGS = [
    Binding("left", "replay_step(-1)", "back", key_display="←", tooltip="replay: one back"),
    Binding("right", "replay_step(1)", "forward", key_display="→", tooltip="replay: one on"),
    Binding(
        "left_square_bracket",
        "replay_speed(0.5)",
        "slower",
        key_display="[",
        tooltip="replay: half the speed",
    ),
    Binding(
        "right_square_bracket",
        "replay_speed(2)",
        "faster",
        key_display="]",
        tooltip="replay: twice the speed",
    ),
    Binding("g", "replay_seek('start')", "start", show=False, tooltip="replay: the start"),
    Binding("G", "replay_seek('end')", "end", show=False, tooltip="replay: the end"),
]


def default_view(layers: int, width: int, height: int) -> str:
    """The grid for a model of up to `GRID_LAYERS` layers (it scrolls where it does not fit) or
    one whose grid fits; else one line per layer while they fit; else the waterfall (two layers a
    line, and more pooled into one where even that does not fit)."""
    per_row = max(1, width // (CELL_WIDTH + 1))
    if layers <= GRID_LAYERS or -(-layers // per_row) * GRID_CELL_ROWS + 1 <= height:
        return "grid"
    if layers + 1 <= height:
        return "compact"
    return "waterfall"


class FilterBar(Input):
    """The ``/`` prompt: enter applies the filter (empty: none), escape leaves it as it was."""

    DEFAULT_CSS = """
    FilterBar { dock: bottom; height: 1; border: none; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel", show=False)]

    def action_cancel(self) -> None:
        self.remove()


class ViewsMixin:
    """Mixed into the app (before `App`); see the module's docstring."""

    def init_views(self) -> None:
        self.grad_history = GradHistory()
        self.layer_filter = LayerFilter()
        self.recent_full: deque[Snapshot] = deque(maxlen=WINDOW)
        self.view = ""  # the view shown; "" until the first snapshot picks one
        self.view_chosen = False  # a key picked it: no more automatic choice
        self.display_paused = False
        self._diagnosed: Snapshot | None = None

    # ---- hooks ---------------------------------------------------------------------------------

    def take_record(self, record: Record) -> None:
        """Every record, from the reader thread: the histories the views read."""
        if isinstance(record, Snapshot) and record.layers:
            self.grad_history.add(record)
            if self.recent_full and record.step <= self.recent_full[-1].step:
                self.recent_full.clear()  # a replay moved back
            self.recent_full.append(record)
        elif isinstance(record, RunHeader):
            self.recent_full.clear()

    def views_new_run(self, header: RunHeader) -> None:
        names = [x.name for x in header.layers]
        self.query_one(Waterfall).names = names
        self.query_one(Distributions).names = names
        self._diagnosed = None
        if not self.view_chosen:
            self.show_view(self.pick_view(len(names)))

    def pick_view(self, layers: int) -> str:
        left = self.query_one("#left")
        return default_view(layers, left.size.width or self.size.width, left.size.height)

    def views_frame(self, snap: Snapshot | None) -> None:
        """Once per frame with new data: the waterfall and the diagnosis."""
        waterfall = self.query_one(Waterfall)
        if waterfall.display:
            waterfall.redraw()
        if snap is not None and snap is not self._diagnosed and snap.layers:
            self._diagnosed = snap
            run = self.book.current
            live = self.source is not None and self.source.live
            findings = diagnose(
                run.header if run else None,
                list(self.recent_full),
                DASHBOARD_KEYS if live else None,
            )
            self.query_one(DiagnosisPanel).show(findings)

    @property
    def source_mode(self) -> str:
        """What the status line calls a source that is not ``live``: attach or replay."""
        return "attach" if isinstance(self.source, FollowSource) else "replay"

    def views_note(self) -> str:
        """The status line's note for a run log: following, waiting, silent, the position."""
        status = getattr(self.source, "status", None)
        text = status() if status is not None else ""
        if self.display_paused:
            text = "display paused (space) · " + text
        return text

    @property
    def readonly(self) -> str:
        """Why keys cannot change the run ("" where they can)."""
        source = self.source
        if source is None or source.live:
            return ""
        return getattr(source, "readonly", "this is a recording")

    def refuse(self) -> None:
        self.notify(f"{self.readonly}: keys that change the run do nothing here", timeout=3)

    # ---- view keys -----------------------------------------------------------------------------

    def show_view(self, name: str) -> None:
        self.view = name
        for key, cls in VIEWS.items():
            self.query_one(cls).display = key == name
        self.dirty = True

    def action_view(self, name: str) -> None:
        self.view_chosen = True
        self.show_view(name)

    def action_filter(self) -> None:
        if not self.query(FilterBar):
            bar = FilterBar(self.layer_filter.pattern, placeholder="layers: name part or glob")
            self.mount(bar)
            bar.focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        if isinstance(message.input, FilterBar):
            self.layer_filter.pattern = message.value.strip()
            message.input.remove()
            self.layers_changed()

    def action_fold(self) -> None:
        names = self.query_one(Waterfall).names
        self.layer_filter.fold_to(names, max(4, self.query_one("#left").size.height - 2))
        self.layers_changed()

    def layers_changed(self) -> None:
        if not self.view_chosen and self.view == "grid":
            self.show_view("compact")  # the grid shows every layer: filters show elsewhere
        self.query_one(Distributions).redraw()
        self.query_one(Waterfall).redraw()
        self.notify(self.layer_filter.describe(self.query_one(Waterfall).names) or "all layers")

    def pause_display(self) -> None:
        """``space`` on a run that is not ours: pause the replay, or the display of a followed
        log (the log is still read meanwhile)."""
        if isinstance(self.source, LogReplaySource):
            self.source.send(("pause",))
        else:
            self.display_paused = not self.display_paused
            if not self.display_paused:
                self.dirty = True
        self.dirty = True

    # ---- replay keys ---------------------------------------------------------------------------

    def views_allow(self, action: str) -> bool:
        """The replay keys act only in a replay (and are listed only there)."""
        if action.startswith("replay_"):
            return isinstance(self.source, LogReplaySource)
        return True

    def action_replay_step(self, n: int) -> None:
        self.source.send(("step", n))

    def action_replay_speed(self, factor: float) -> None:
        self.source.send(("speed", factor))
        self.dirty = True  # the status line shows the new speed

    def action_replay_seek(self, where: str) -> None:
        self.source.send(("seek", where))
