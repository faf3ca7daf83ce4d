"""Bench sections on drawing: one frame's cost through Textual's own repaint path (`frame`, the
one place the bench touches Textual's private attributes) at three terminal sizes, over a short
and a long history, and each view of a 100-layer run."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import replace

from vgtui.bench.harness import Figure, Plan
from vgtui.bench.logs import attach_latency
from vgtui.bench.shared import recorded_run, until
from vgtui.core.config import RunConfig
from vgtui.core.records import Record, Snapshot
from vgtui.core.text import fmt_num

SIZES = [(80, 24), (160, 50), (240, 70)]


def frame(app, snap: Snapshot | None = None, full: bool = False) -> tuple[float, int]:
    """(milliseconds, bytes) of one frame through Textual's own repaint path.

    The app draws ``snap`` (its widgets rebuild their lines and mark the changed ones; with
    ``full``, every line is drawn again, as after a restart or a resize), then what Textual's
    update timer does: the compositor renders the dirty regions, and the update is encoded for the
    terminal.
    """
    from vgtui.ui.widgets.lines import LineView

    started = time.perf_counter()
    screen = app.screen
    views = list(screen.query(LineView))
    if full:
        for view in views:
            view.invalidate()
    if snap is not None:
        app.latest = snap
    app.dirty = True
    app.render_frame()
    taller = [view for view in views if view._layout_required]
    for view in taller:  # what Textual does when a widget's height changed
        view._layout_required = False
        for ancestor in view.ancestors_with_self:
            if ancestor is screen:
                break
            ancestor._clear_arrangement_cache()
            ancestor._layout_updates += 1
    if taller or screen._layout_required:
        screen._refresh_layout()
        screen._layout_required = False
    for widget in views:
        if widget._repaint_required:  # what each widget's idle check posts to the screen
            widget._repaint_required = False
            screen._dirty_widgets.add(widget)
    sent = 0
    if screen._dirty_widgets:
        screen._compositor.update_widgets(screen._dirty_widgets)
        update = screen._compositor.render_update(screen_stack=app._background_screens)
        screen._dirty_widgets.clear()
        if update is not None:
            sent = len(update.render_segments(app.console).encode())
    return (time.perf_counter() - started) * 1000, sent


def render_cost(plan: Plan) -> list[Figure]:
    """Frames at three terminal sizes with 10 and 50 layers: a new snapshot (the steady state),
    a full repaint, and the same frame over a short and a very long history.

    Steady frames draw consecutive snapshots of a real run (one every 10 steps, as a fast model
    sends them), each adding a point to the curves. The short and the long history are drawn
    alternately in one app, frame by frame, so that their ratio is not the machine's drift.
    """
    from vgtui.ui.app import VgtuiApp
    from vgtui.ui.sources.trainer import ReplaySource
    from vgtui.ui.state import RunHistory

    section = "render cost (one frame)"
    figures = []
    lengths = (1_000, plan.history_points)
    budgets = {((160, 50), 10): "<= 10", ((240, 70), 50): "<= 20"}
    for depth in (10, 50):
        records = recorded_run(depth, snapshots=20, every=10)
        header, snaps = records[0], [r for r in records if isinstance(r, Snapshot)]

        def history(points: int, header=header, snaps=snaps) -> RunHistory:
            run = RunHistory(header)
            for step in range(1, points + 1):
                run.add(replace(snaps[step % len(snaps)], step=step))
            return run

        histories = [history(points) for points in lengths]
        for size in SIZES:

            async def measure(size=size, depth=depth, histories=histories, snaps=snaps):
                app = VgtuiApp(RunConfig(depth=depth), source_factory=lambda c: ReplaySource([]))
                steady, full, sent = [], [], []
                alternate: list[list[float]] = [[] for _ in histories]
                async with app.run_test(size=size) as pilot:
                    await pilot.pause()
                    run = app.book.runs = [history(lengths[0])]
                    frame(app, snaps[0])
                    for i in range(plan.render_frames * 2):
                        run[0].add(replace(snaps[i % len(snaps)], step=lengths[0] + 1 + i))
                        ms, size_b = frame(app, snaps[i % len(snaps)])
                        steady.append(ms)
                        sent.append(size_b)
                        full.append(frame(app, full=True)[0])
                    for i in range(plan.render_frames * len(histories)):
                        which = i % len(histories)
                        app.book.runs = [histories[which]]
                        alternate[which].append(frame(app, snaps[i % len(snaps)])[0])
                medians = [statistics.median(t) for t in alternate]
                return statistics.median(steady), statistics.median(full), sent, medians

            steady, full, sent, medians = asyncio.run(measure())
            where = f"{size[0]}x{size[1]}, {depth} layers"
            name = f"{where}, {fmt_num(lengths[0])} points"
            if (size, depth) in budgets:
                figures.append(Figure.check(section, name, steady, "ms", budgets[size, depth]))
            else:
                figures.append(Figure(section, name, steady, "ms"))
            figures.append(Figure(section, f"{where}: bytes per frame", statistics.mean(sent), "B"))
            figures.append(Figure(section, f"{where}: full repaint", full, "ms"))
            if depth == 10:
                figures.append(
                    Figure.check(
                        section,
                        f"{size[0]}x{size[1]}: long / short history",
                        medians[1] / medians[0],
                        "x",
                        "<= 1.25",
                    )
                )
    return figures


def view_frames(plan: Plan, records: list[Record]) -> list[Figure]:
    """One frame of each view (waterfall, compact, grid) of a 100-layer run at 160x50 and
    240x70: a new snapshot (steady) and a full repaint."""
    from vgtui.ui.views import VIEWS

    snaps = [r for r in records if isinstance(r, Snapshot)]
    figures: list[Figure] = []
    section = "view frames, 100 layers"
    for size in ((160, 50), (240, 70)):
        for name in VIEWS:

            async def measure(size=size, name=name) -> tuple[float, float, float]:
                from vgtui.ui.app import VgtuiApp
                from vgtui.ui.sources.trainer import ReplaySource

                app = VgtuiApp(RunConfig(depth=99), source_factory=lambda c: ReplaySource(records))
                steady, full, sent = [], [], []
                async with app.run_test(size=size) as pilot:
                    await until(lambda: app.latest is snaps[-1] and not app.dirty, 60, "replay")
                    app.action_view(name)
                    await pilot.pause()
                    for i in range(plan.render_frames * 2):
                        snap = replace(snaps[i % len(snaps)], step=snaps[-1].step + 10 * (i + 1))
                        app.take_record(snap)  # what the reader does with each snapshot
                        ms, size_b = frame(app, snap)
                        steady.append(ms)
                        sent.append(size_b)
                        full.append(frame(app, full=True)[0])
                return statistics.median(steady), statistics.median(full), statistics.mean(sent)

            steady, full, sent = asyncio.run(measure())
            where = f"{size[0]}x{size[1]} {name}"
            if size == (160, 50):
                figures.append(Figure.check(section, where, steady, "ms", "<= 10"))
            else:
                figures.append(Figure.check(section, where, steady, "ms", "<= 20"))
            figures.append(Figure(section, f"{where}: full repaint", full, "ms"))
            figures.append(Figure(section, f"{where}: bytes per frame", sent, "B"))
    return figures


def log_views(plan: Plan) -> list[Figure]:
    """A real 100-layer run: `vgtui attach` on a long log of it (`attach_latency`), then the
    frames of each view of it (`view_frames`)."""
    records = recorded_run(99, snapshots=20, every=10)  # 100 Linear layers
    snaps = [r for r in records if isinstance(r, Snapshot)]
    return attach_latency(plan, records[0], snaps[-1]) + view_frames(plan, records)
