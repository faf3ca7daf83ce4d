"""Two runs side by side: `vgtui compare`, ``c`` in the dashboard, a lesson's comparison step.

Each side is a `RunPanel`: its own trainer process (same data and seed unless a side changes
them), status line, gradient bars and histograms; the keys that change a run act on the focused
side (``tab`` switches). Both sides' gradient bars share one log scale, so the difference reads
at a glance, and one chart overlays both loss curves. Side by side on wide terminals, stacked on
narrow ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from vgtui.core.config import RunConfig
from vgtui.ui.app import RunHost, SourceFactory, VgtuiApp
from vgtui.ui.sources.trainer import reap_all
from vgtui.ui.state import RunBook
from vgtui.ui.terminal import EndsWithItsTerminal, refuse_without_terminal
from vgtui.ui.widgets.curves import Curves, Line
from vgtui.ui.widgets.gradients import GradientBars
from vgtui.ui.widgets.histograms import Histograms
from vgtui.ui.widgets.signal import SignalBars
from vgtui.ui.widgets.status import StatusLine

SIDE_STYLES = {"A": "cyan", "B": "magenta"}
# The keys that change a run: RunHost's actions, bound as in the dashboard.
RUN_ACTIONS = {name[len("action_") :] for name in vars(RunHost) if name.startswith("action_")}
RUN_BINDINGS = [b for b in VgtuiApp.BINDINGS if b.action.split("(")[0] in RUN_ACTIONS - {"lesson"}]


class CompareCurves(Curves):
    """The loss and accuracy of both sides' current runs on one chart."""

    def __init__(self, books: dict[str, RunBook], **kwargs) -> None:
        super().__init__(books["A"], **kwargs)
        self.books = books

    def series_lines(self, series: str, val: bool) -> list[Line]:
        out = []
        for side, book in self.books.items():
            run = book.current
            if run is not None:
                xs, ys = run.points(series)
                label = f"{side}: {run.label}"
                out.append(Line(np.asarray(xs), np.asarray(ys), SIDE_STYLES[side], label))
        return out

    def version(self) -> object:
        return tuple(
            (id(b.current), b.current.seen if b.current else 0) for b in self.books.values()
        )


class NoViews:
    """What `RunHost` asks of the dashboard's views (`ViewsMixin`), for a side that has none."""

    display_paused = False

    def take_record(self, record: object) -> None:
        pass

    def views_new_run(self, header: object) -> None:
        pass

    def views_frame(self, snap: object) -> None:
        pass

    def views_note(self) -> str:
        return ""

    def refuse(self) -> None:
        pass

    def pause_display(self) -> None:
        pass

    def views_allow(self, action: str) -> bool:
        return True


class RunPanel(RunHost, NoViews, Vertical):
    """One side of a comparison; focusable, so that the run keys act on the focused side."""

    can_focus = True
    BINDINGS = RUN_BINDINGS
    DEFAULT_CSS = """
    RunPanel { width: 1fr; height: 1fr; border: round $foreground 30%; }
    RunPanel:focus { border: round $accent; }
    RunPanel > VerticalScroll { height: 1fr; }
    RunPanel > #error { display: none; height: auto; color: $text-error; }
    RunPanel > #error.-visible { display: block; }
    """

    def __init__(
        self,
        side: str,
        config: RunConfig,
        source_factory: SourceFactory | None = None,
        fps: float | None = None,
        on_end: Callable[[RunPanel], None] | None = None,
    ) -> None:
        super().__init__(id=f"side-{side}")
        self.side = side
        self.on_end = on_end
        self.ended = False
        self.shared_curves: Curves | None = None
        self.init_run(config, source_factory, fps)
        self.border_title = f"{side}  (tab: the other side)"

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(id="error")
        yield GradientBars()
        yield SignalBars()
        with VerticalScroll(can_focus=False):
            yield Histograms()

    def on_mount(self) -> None:
        self.find_widgets(self.shared_curves)
        self.show_views()
        self.start_source()
        self.set_interval(1 / self.fps, self.render_frame)

    def on_unmount(self) -> None:
        self.stop_source()

    def on_run_started(self) -> None:
        self.ended = False

    def on_run_ended(self) -> None:
        self.ended = True
        if self.on_end is not None:
            self.on_end(self)


class CompareScreen(Screen):
    """Two `RunPanel`s and their overlaid curves; ``escape`` closes it where it can be closed."""

    DEFAULT_CSS = """
    CompareScreen #sides { layout: horizontal; height: 3fr; }
    CompareScreen.-narrow #sides { layout: vertical; }
    CompareScreen #compare-caption { height: auto; padding: 0 1; background: $accent 20%; }
    CompareScreen CompareCurves { height: 2fr; min-height: 8; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "close", "close", tooltip="close the comparison")]

    def __init__(
        self,
        a: RunConfig,
        b: RunConfig,
        source_factory: SourceFactory | None = None,
        fps: float | None = None,
        caption: Text | None = None,
        on_both_ended: Callable[[], None] | None = None,
        closable: bool = True,
    ) -> None:
        super().__init__()
        self.panels = {
            side: RunPanel(side, config, source_factory, fps, on_end=self.side_ended)
            for side, config in (("A", a), ("B", b))
        }
        self.curves = CompareCurves({s: p.book for s, p in self.panels.items()})
        for panel in self.panels.values():
            panel.shared_curves = self.curves
        self.caption = caption
        self.on_both_ended = on_both_ended
        self.closable = closable

    def compose(self) -> ComposeResult:
        if self.caption is not None:
            yield Static(self.caption, id="compare-caption")
        with Container(id="sides"):
            yield from self.panels.values()
        yield self.curves
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.panels["A"].focus()
        self.set_interval(0.25, self.share_scale)

    def share_scale(self) -> None:
        """Both sides' gradient bars on one log scale: the union of what each needs."""
        ranges = [p.gradients.log_range(p.latest) for p in self.panels.values()]
        span = (min(r[0] for r in ranges), max(r[1] for r in ranges))
        for panel in self.panels.values():
            if panel.gradients.span != span:
                panel.gradients.span = span
                panel.dirty = True

    def side_ended(self, panel: RunPanel) -> None:
        if self.on_both_ended is not None and all(p.ended for p in self.panels.values()):
            self.on_both_ended()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.closable if action == "close" else True

    def action_close(self) -> None:
        self.dismiss()


class CompareApp(EndsWithItsTerminal):
    """`vgtui compare`: the comparison screen alone; ``q`` quits and stops both trainers."""

    TITLE = "vgtui compare"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("question_mark", "help", "help", key_display="?", tooltip="this help"),
        Binding("q", "quit", "quit", tooltip="quit (stops both trainers)"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        a: RunConfig,
        b: RunConfig,
        source_factory: SourceFactory | None = None,
        fps: float | None = None,
    ) -> None:
        super().__init__()
        self.screen_args = (a, b, source_factory, fps)

    def get_default_screen(self) -> Screen:
        a, b, factory, fps = self.screen_args
        return CompareScreen(a, b, factory, fps, closable=False)

    def action_help(self) -> None:
        from vgtui.ui.help import HelpScreen

        self.push_screen(HelpScreen([*RUN_BINDINGS, *self.BINDINGS]))


def run_compare_app(a: RunConfig, b: RunConfig, fps: float | None = None) -> int:
    """Open two trainers side by side; both processes stop whatever way the app ends."""
    way_out = "train each side without it with vgtui --headless (and its flags)"
    if (refused := refuse_without_terminal(way_out)) is not None:
        return refused
    app = CompareApp(a, b, fps=fps)
    try:
        app.run()
    finally:
        reap_all()
    return app.return_code or 0
