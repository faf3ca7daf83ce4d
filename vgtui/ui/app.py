"""The dashboard: renders what a source streams; keys change the run through commands.

The trainer runs in a child process (see `vgtui.trainer.worker`); a thread worker here only reads
its pipe and posts messages, and a timer repaints at most ``fps`` times a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, get_current_worker

from vgtui.core import activations, initializers
from vgtui.core.config import DATASETS, DEPTHS, OPTIMIZERS, WIDTHS, RunConfig
from vgtui.core.errors import ConfigError, describe
from vgtui.core.records import End, Event, RunHeader, Snapshot
from vgtui.core.safe_records import SafeRecords
from vgtui.core.text import safe_text
from vgtui.lessons.lesson import LessonPlayer
from vgtui.ui.framerate import frame_rate, frame_rate_note
from vgtui.ui.help import HelpScreen
from vgtui.ui.lesson_driver import LessonDriver
from vgtui.ui.messages import EventArrived, RunEnded, RunStarted, SnapshotArrived, SourceFailed
from vgtui.ui.sources.trainer import Source, SourceClosed, TrainerSource, reap_all
from vgtui.ui.state import RunBook
from vgtui.ui.terminal import EndsWithItsTerminal, refuse_without_terminal
from vgtui.ui.views import REPLAY_BINDINGS, VIEW_BINDINGS, ViewsMixin
from vgtui.ui.widgets.curves import Curves
from vgtui.ui.widgets.diagnosis_panel import DiagnosisPanel
from vgtui.ui.widgets.distributions import Distributions
from vgtui.ui.widgets.gradients import GradientBars
from vgtui.ui.widgets.histograms import Histograms
from vgtui.ui.widgets.signal import SignalBars
from vgtui.ui.widgets.snapshot_view import SnapshotView
from vgtui.ui.widgets.status import StatusLine, describe_run, status_line
from vgtui.ui.widgets.waterfall import Waterfall

DROPOUTS = [0.0, 0.2, 0.5]
EXIT_GRACE_S = 3.0  # after SIGTERM/SIGHUP, how long a hung shutdown may take
RATE_WINDOW_S = 1.0  # steps/s is measured over about this much training time
SHOWN_MOST = 10_000  # characters kept of one string from data (a name, a message): over a screen


OWN_ERROR = re.compile(r"^(?:[\w.]+\.)?(?:ConfigError|DataError):\s*")  # says nothing more


def error_lines(message: str, config: RunConfig) -> str:
    """A trainer's error as one line, and the way out.

    The trainer sends one line; anything longer (a traceback) is cut to its last line, the one
    that says what went wrong.
    """
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    what = OWN_ERROR.sub("", lines[-1]) if lines else "the trainer stopped with an error"
    if config.dataset == "mnist" and "MNIST" in what:
        way_out = "press d for the next dataset, or put the files there and press r"
    else:
        way_out = "press r to restart"
    return f"{what}\n{way_out}"


def cycle(choices: list, current: object, step: int = 1) -> object:
    """The next (or previous) choice; a value not in the list matches its name before any ':'."""
    keys = [str(c).split(":")[0] for c in choices]
    if current in choices:
        index = choices.index(current)
    elif str(current).split(":")[0] in keys:
        index = keys.index(str(current).split(":")[0])
    else:
        index = -1 if step > 0 else 0
    return choices[(index + step) % len(choices)]


SourceFactory = Callable[[RunConfig], Source]


class _AppShell(ViewsMixin, EndsWithItsTerminal):
    """The dashboard's application part: layout, keys, signals, help, views; the run is
    `RunHost`'s."""

    TITLE = "vgtui"
    CSS_PATH = "vgtui.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("a", "activation(1)", "activation", tooltip="next activation function (restarts)"),
        Binding(
            "A",
            "activation(-1)",
            "prev activation",
            show=False,
            tooltip="previous activation function (restarts)",
        ),
        Binding("i", "init(1)", "init", tooltip="next weight initializer (restarts)"),
        Binding(
            "I",
            "init(-1)",
            "prev init",
            show=False,
            tooltip="previous weight initializer (restarts)",
        ),
        Binding("space", "pause", "pause", tooltip="pause or resume training"),
        Binding("n", "step", "step", show=False, tooltip="one training step while paused"),
        Binding(
            "r",
            "reseed",
            "new seed",
            show=False,
            tooltip="restart with a new seed (also restarts a dead trainer)",
        ),
        Binding(
            "plus",
            "depth(1)",
            "deeper",
            show=False,
            key_display="+",
            tooltip="one more hidden layer (restarts)",
        ),
        Binding(
            "minus",
            "depth(-1)",
            "shallower",
            show=False,
            key_display="-",
            tooltip="one hidden layer fewer (restarts)",
        ),
        Binding(
            "greater_than_sign",
            "width(2)",
            "wider",
            show=False,
            key_display=">",
            tooltip="double the width (restarts)",
        ),
        Binding(
            "less_than_sign",
            "width(0.5)",
            "narrower",
            show=False,
            key_display="<",
            tooltip="halve the width (restarts)",
        ),
        Binding(
            "l",
            "lr(2)",
            "lr x2",
            show=False,
            tooltip="double the learning rate (applies to the running model)",
        ),
        Binding(
            "L",
            "lr(0.5)",
            "lr /2",
            show=False,
            tooltip="halve the learning rate (applies to the running model)",
        ),
        Binding("o", "optimizer", "optimizer", show=False, tooltip="next optimizer (restarts)"),
        Binding("d", "dataset", "dataset", show=False, tooltip="next dataset (restarts)"),
        Binding("b", "norm", "batch norm", tooltip="batch norm on/off (restarts)"),
        Binding("s", "residual", "residual", tooltip="residual connections on/off (restarts)"),
        Binding("x", "dropout", "dropout", show=False, tooltip="dropout 0, 0.2, 0.5 (restarts)"),
        Binding(
            "p",
            "preact",
            "pre-act",
            show=False,
            tooltip="histograms of activations or pre-activations",
        ),
        Binding(
            "c",
            "compare",
            "compare",
            show=False,
            tooltip="fork this run: two trainers side by side (escape comes back)",
        ),
        Binding("e", "screenshot", "screenshot", show=False, tooltip="save an SVG screenshot"),
        Binding("question_mark", "help", "help", key_display="?", tooltip="this help"),
        # Priority: a focused scroll view would take left/right for itself.
        Binding(
            "right", "lesson(1)", "next step", priority=True, tooltip="lesson: the next step now"
        ),
        Binding("left", "lesson(-1)", "prev step", priority=True, tooltip="lesson: back one step"),
        *VIEW_BINDINGS,
        *REPLAY_BINDINGS,
        Binding("q", "quit", "quit", tooltip="quit (stops the trainer)"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True, tooltip="quit"),
    ]

    def __init__(
        self,
        config: RunConfig,
        source_factory: SourceFactory | None = None,
        fps: float | None = None,
        log_path: str | None = None,
        lesson: LessonDriver | None = None,
        overwrite: bool = False,
    ) -> None:
        super().__init__()
        self.lesson = lesson
        self.log_path = log_path
        self.init_run(config, source_factory, fps, log_path, overwrite)
        self.init_views()

    # ---- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        if self.lesson is not None:
            yield Static(self.lesson.caption(), id="caption")
        yield Static(id="error")
        with Horizontal(id="main"):
            with VerticalScroll(id="left"):
                yield Histograms(id="histograms")
                yield Waterfall(self.grad_history, self.layer_filter, id="waterfall")
                yield Distributions(self.layer_filter, id="distributions")
            with Vertical(id="right"):
                yield GradientBars(id="gradients")
                yield Curves(self.book, id="curves")
                yield SignalBars(id="signal")
        yield DiagnosisPanel(id="diagnosis")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        # Everything alive now (torch, Textual, the app) lives as long as the process: keep it out
        # of the garbage collector's full passes, which otherwise stall the event loop ~150 ms.
        gc.freeze()
        self.find_widgets()
        self.show_views()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):  # before the trainer starts: nothing escapes
            # Not possible off the main thread (tests) or on some platforms: then skip.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.on_terminate_signal, sig)
        self.start_source()
        self.set_interval(1 / self.fps, self.render_frame)
        if self.lesson is not None:
            self.lesson.attach(self)
        self.render_frame()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast is plain text made safe (``markup`` is ignored): toasts quote data (the
        trainer's output, a divergence's message, a layer filter), which markup would misread
        and a terminal would act on."""
        super().notify(
            safe_text(message, newlines=True, most=SHOWN_MOST),
            title=safe_text(title, most=SHOWN_MOST),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def on_unmount(self) -> None:
        self.stop_source()
        reap_all()  # the app is going: now it may wait for the trainer to be gone

    def on_terminate_signal(self, sig: int) -> None:
        """SIGTERM, or SIGHUP when the terminal closes: stop the trainer first, then exit.

        With its terminal gone, Textual's driver can block forever while shutting down (its
        writer queue waits on a dead tty), so a watchdog ends the process if exiting hangs; the
        trainer is already stopped by then, so nothing is left behind.
        """
        self.stop_source()
        watchdog = threading.Timer(EXIT_GRACE_S, os._exit, (128 + sig,))
        watchdog.daemon = True
        watchdog.start()
        self.exit(return_code=128 + sig)


class RunHost:
    """One run on screen: its source, the reader thread, the run's state, the handlers of what the
    reader posts, the frame, and the keys that change the run.

    Mixed into the dashboard (one run) and into each side of a comparison (`RunPanel`); the host
    is a Textual node with the widgets that `find_widgets` looks for among its children.
    """

    lesson: LessonDriver | None = None

    def init_run(
        self,
        config: RunConfig,
        source_factory: SourceFactory | None,
        fps: float | None,
        log_path: str | None = None,
        overwrite: bool = False,
    ) -> None:
        self.config = config
        self.described: list[str] | None = None  # a run that is not ours, in words
        self.fps = frame_rate(fps)
        self.fps_note = frame_rate_note(self.fps, fps)  # said in the status line
        self.source_factory = source_factory or (
            lambda c: TrainerSource(c, log_path=log_path, snapshot_hz=self.fps, overwrite=overwrite)
        )
        self.source: Source | None = None
        self.book = RunBook()
        self.latest: Snapshot | None = None
        self.recent: deque[tuple[int, float]] = deque()  # (step, elapsed_s) of recent snapshots
        self.device = config.device
        self.state = "starting"
        self.paused = False
        self.dirty = True
        self.error_text = ""
        self.snapshots_shown = 0
        self.source_failed = False  # the source died: keys must start a new one, not send to it

    def find_widgets(self, curves: Curves | None = None) -> None:
        """The widgets this host draws into (a comparison shares one ``curves``)."""
        self.views = list(self.query(SnapshotView))
        self.curves = curves or self.query_one(Curves)
        self.status = self.query_one(StatusLine)
        self.error_box = self.query_one("#error", Static)
        self.gradients = self.query_one(GradientBars)
        self.signal = self.query_one(SignalBars)

    # ---- the source ---------------------------------------------------------------------------

    def start_source(self) -> None:
        self.stop_source()
        self.source = self.source_factory(self.config)
        self.source_failed = False
        self.source.start()
        self.state = "starting" if self.source.live else self.source_mode
        self.read_source(self.source)

    def stop_source(self) -> None:
        """Stop the source without waiting for it (a key handler must never block)."""
        if self.source is not None:
            self.workers.cancel_group(self, "reader")
            self.source.close()
            self.source = None

    @work(thread=True, exclusive=True, exit_on_error=False, group="reader")
    def read_source(self, source: Source) -> None:
        """Read batches of records; only ever post messages (thread-safe, non-blocking). Any
        error ends the reading and is shown (`SourceFailed`), never swallowed. Every record is
        made safe to show in `read_batches`, where data enters the UI (`SafeRecords`)."""
        worker = get_current_worker()
        try:
            self.read_batches(source, worker)
            return
        except SourceClosed as err:
            text = str(err)
        except Exception as err:  # a bug, or data no check foresaw: said, with its traceback kept
            text = f"reading the run stopped: {describe(err)}"
        if not worker.is_cancelled:
            self.post_message(SourceFailed(text))

    def read_batches(self, source: Source, worker: Worker) -> None:
        """`read_source`'s loop, until the worker is cancelled or the source fails."""
        run = self.book.current
        safe = SafeRecords(SHOWN_MOST)
        while not worker.is_cancelled:
            batch = source.recv(0.1)
            latest = None
            for record in map(safe, batch):
                self.take_record(record)
                if isinstance(record, RunHeader):
                    run = self.book.start(record)
                    self.post_message(RunStarted(record))
                elif isinstance(record, Snapshot):
                    if run is not None:
                        run.add(record)
                    latest = record
                elif isinstance(record, Event):
                    self.post_message(EventArrived(record))
                elif isinstance(record, End):
                    if latest is not None:
                        self.post_message(SnapshotArrived(latest))
                        latest = None
                    self.post_message(RunEnded(record))
            if latest is not None:
                self.post_message(SnapshotArrived(latest))

    def on_run_started(self, message: RunStarted) -> None:
        header = message.header.config
        self.device = str(header.get("device", self.device))
        self.described = describe_run(header, len(message.header.layers))
        # The header is the truth about the run (a recording's config is not the command line's).
        with contextlib.suppress(ConfigError, TypeError):
            self.config = RunConfig.from_dict({**header, "device": self.config.device})
        self.latest = None
        self.recent.clear()
        for view in self.views:
            view.steady.clear()  # a new run's bars start from their own lengths
        self.show_views()
        self.views_new_run(message.header)
        self.state = "running" if self.source and self.source.live else self.source_mode
        self.paused = False
        self.set_error("")
        self.dirty = True
        if self.lesson is not None:
            self.lesson.started()

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        snap = self.latest = message.snapshot
        self.recent.append((snap.step, snap.elapsed_s))
        while len(self.recent) > 2 and snap.elapsed_s - self.recent[1][1] >= RATE_WINDOW_S:
            self.recent.popleft()
        if self.state == "starting":
            self.state = "running"
        self.dirty = True
        if self.lesson is not None:
            self.lesson.snapshot(message.snapshot)

    def on_event_arrived(self, message: EventArrived) -> None:
        event = message.event
        if event.kind == "diverged":
            self.state = f"diverged at step {event.step}"
            self.notify(event.message, title="diverged", severity="error", timeout=8)
        elif event.kind == "error":
            self.state = "error"
            self.set_error(error_lines(event.message, self.config))
            if self.lesson is not None:
                self.lesson.failed()
        elif event.kind in ("paused", "resumed"):
            self.paused = event.kind == "paused"
            self.state = "paused" if self.paused else "running"
        elif event.kind == "progress":  # a dataset download, before the run starts
            self.state = event.message
        elif event.kind == "output":  # what the trainer's libraries printed
            self.notify(event.message, title="trainer output", timeout=6, markup=False)
        elif event.kind == "notice":  # said once: where the run log went instead
            self.notify(event.message, title="run log", timeout=10, markup=False)
        self.dirty = True

    def on_run_ended(self, message: RunEnded) -> None:
        if message.end.reason == "done":
            self.state = "done"
        self.dirty = True
        if self.lesson is not None:
            self.lesson.ended()

    def on_source_failed(self, message: SourceFailed) -> None:
        self.source_failed = True
        self.state = "error"
        live = self.source is not None and self.source.live
        way_out = "press r to start a new trainer" if live else "press q to quit"
        self.set_error(f"{message.text}\n{way_out}")
        self.dirty = True

    def set_error(self, text: str) -> None:
        """The error box: text as it is (no markup), made safe (it quotes paths and messages)."""
        self.error_text = text = safe_text(text, newlines=True, most=SHOWN_MOST)
        self.error_box.update(Text(text))
        self.error_box.set_class(bool(text), "-visible")

    # ---- rendering ----------------------------------------------------------------------------

    def show_views(self) -> None:
        """A forward-only run has no gradients and no loss: the signal's spread takes their room."""
        forward = self.config.forward_only
        self.gradients.display = not forward
        self.curves.display = not forward
        self.signal.display = forward

    def render_frame(self) -> None:
        """Draw the latest snapshot, at most once per timer tick: each widget repaints only the
        lines that changed, and asks for nothing when none did."""
        if not self.dirty or not self.app.is_running:  # shutting down: widgets going
            return
        self.dirty = False
        snap = self.latest
        step = snap.step if snap else 0
        rate = self.rate() if self.state == "running" else None  # paused, done: nothing trains
        note = self.views_note() or self.fps_note
        with self.app.batch_update():
            if not self.display_paused:
                for view in self.views:
                    if view.display:
                        view.show(snap)
                if self.curves.display:
                    self.curves.redraw()
                self.views_frame(snap)
            self.status.show(
                status_line(self.config, self.device, step, rate, self.state, note, self.described)
            )
        if snap is not None:
            self.snapshots_shown += 1

    def rate(self) -> float | None:
        """Training steps per second over the last second or so of training time."""
        if len(self.recent) < 2:
            return None
        (s0, t0), (s1, t1) = self.recent[0], self.recent[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None

    # ---- actions ------------------------------------------------------------------------------

    def restart(self, **changes: object) -> None:
        """A new run from a fresh initialisation, with ``changes`` applied to the config."""
        if self.source is None or not self.source.live:
            self.refuse()
            return
        try:
            self.config = self.config.replace(**changes)
        except ConfigError as err:
            self.notify(str(err), severity="warning")
            return
        if self.source_failed or self.state.startswith("downloading"):
            # Nothing to send a restart to, or a trainer busy downloading: start a new one.
            self.set_error("")
            self.start_source()
            return
        self.source.send(("restart", self.config.to_dict()))
        self.state = "starting"
        self.dirty = True

    def switch_run(self, config: RunConfig) -> None:
        """A new run of ``config`` (a lesson's next step): restart the trainer with it."""
        if self.source is not None and self.source.live and not self.source_failed:
            self.config = config
            self.source.send(("restart", config.to_dict()))
            self.state = "starting"
        else:
            self.config = config
            self.set_error("")
            self.start_source()
        self.dirty = True

    def show_caption(self) -> None:
        """The lesson's caption, on the dashboard and on a comparison step's screen."""
        if self.lesson is not None:
            for screen in self.app.screen_stack:
                for caption in screen.query("#caption, #compare-caption").results(Static):
                    caption.update(self.lesson.caption())

    def action_lesson(self, by: int) -> None:
        if self.lesson is not None:
            self.lesson.go(by)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The lesson keys exist only while a lesson plays."""
        if action == "lesson":
            return self.lesson is not None
        return self.views_allow(action)

    def action_activation(self, step: int) -> None:
        self.restart(activation=cycle(activations.NAMES, self.config.activation, step))

    def action_init(self, step: int) -> None:
        self.restart(init=cycle(initializers.CYCLE, self.config.init, step))

    def action_depth(self, step: int) -> None:
        depth = self.config.depth + step
        lo, hi = DEPTHS
        if lo <= depth <= hi:
            self.restart(depth=depth)
        else:
            self.notify(f"depth stays within {lo}..{hi} (now {self.config.depth})", timeout=3)

    def action_width(self, factor: float) -> None:
        width = int(self.config.width * factor)
        lo, hi = WIDTHS
        if lo <= width <= hi:
            self.restart(width=width)
        else:
            self.notify(f"width stays within {lo}..{hi} (now {self.config.width})", timeout=3)

    def action_optimizer(self) -> None:
        self.restart(optimizer=cycle(OPTIMIZERS, self.config.optimizer))

    def action_dataset(self) -> None:
        self.restart(dataset=cycle(DATASETS, self.config.dataset))

    def action_norm(self) -> None:
        self.restart(norm="none" if self.config.norm == "batch" else "batch")

    def action_residual(self) -> None:
        self.restart(residual=not self.config.residual)

    def action_dropout(self) -> None:
        self.restart(dropout=cycle(DROPOUTS, self.config.dropout))

    def action_reseed(self) -> None:
        if (
            self.source is None
            or self.source_failed
            or (self.state == "error" and self.source.live)
        ):
            self.config = self.config.replace(seed=self.config.seed + 1)
            self.set_error("")
            self.start_source()
            return
        self.restart(seed=self.config.seed + 1)

    def action_lr(self, factor: float) -> None:
        if self.readonly:
            self.refuse()
        if self.source is None or not self.source.live or self.source_failed:
            return
        try:
            self.config = self.config.replace(lr=self.config.lr * factor)
        except ConfigError as err:
            self.notify(str(err), severity="warning")
            return
        self.source.send(("lr", self.config.lr))
        self.dirty = True

    def action_pause(self) -> None:
        if self.readonly:
            self.pause_display()
        if self.source is None or not self.source.live or self.source_failed:
            return
        self.paused = not self.paused
        self.source.send(("pause",) if self.paused else ("resume",))
        self.state = "paused" if self.paused else "running"
        self.dirty = True
        if self.lesson is not None:
            self.lesson.paused(self.paused)

    def action_step(self) -> None:
        if self.readonly:
            self.refuse()
        elif not self.paused:
            self.notify("pause first (space), then n steps once", timeout=3)
        elif self.source is not None:
            self.source.send(("step",))

    def action_preact(self) -> None:
        hist = self.query_one(Histograms)
        hist.preact = not hist.preact
        hist.redraw()
        if self.source is not None and self.source.live and not self.source_failed:
            # The trainer summarises pre-activations only when asked; a restart keeps asking.
            self.config = self.config.replace(preact=hist.preact)
            self.source.send(("preact", hist.preact))


class VgtuiApp(RunHost, _AppShell):
    """The vgtui dashboard."""

    def action_compare(self) -> None:
        """Fork the current configuration into a comparison; this run waits, paused."""
        if self.source is None or not self.source.live:
            self.notify("this is a recording: there is no run to fork", timeout=3)
            return
        self.compare(self.config, self.config)

    def compare(self, a: RunConfig, b: RunConfig, **screen: object) -> None:
        """Push a comparison of ``a`` and ``b``; this run pauses until it is closed."""
        from vgtui.ui.compare_screen import CompareScreen

        resume = bool(
            self.source and self.source.live and not self.paused and not self.source_failed
        )
        if resume:
            self.action_pause()

        def closed(_: object = None) -> None:
            if resume and self.paused:
                self.action_pause()

        self.push_screen(CompareScreen(a, b, fps=self.fps, **screen), closed)

    def action_screenshot(self) -> None:
        path = self.save_screenshot(path=os.getcwd())
        self.notify(f"saved {path}", title="screenshot", markup=False)

    def available_bindings(self) -> list[Binding]:
        """The bindings that act now (the lesson keys only while a lesson plays)."""
        return [b for b in self.BINDINGS if self.check_action(b.action.split("(")[0], ())]

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.available_bindings()))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.available_bindings():
            if binding.action in ("quit",):
                continue
            title = binding.tooltip.split(" (")[0] if binding.tooltip else binding.description
            yield SystemCommand(
                title.capitalize(),
                f"key: {binding.key_display or binding.key}",
                partial(self.run_action, binding.action),
            )


def run_lesson_app(
    player: LessonPlayer,
    fps: float | None = None,
    exit_at_end: bool = False,
    svg_dir: str | None = None,
) -> int:
    """Open the dashboard playing a lesson (see `vgtui.ui.lesson_driver`)."""
    driver = LessonDriver(player, exit_at_end=exit_at_end, svg_dir=svg_dir)
    return run_app(driver.first_config, fps=fps, lesson=driver)


def run_app(
    config: RunConfig,
    fps: float | None = None,
    log_path: str | None = None,
    lesson: LessonDriver | None = None,
    overwrite: bool = False,
) -> int:
    """Open the dashboard; the trainer process is stopped whatever way the app ends."""
    way_out = (
        "play it with vgtui demo NAME --headless, or record it with --record FILE.cast --size WxH"
        if lesson is not None
        else "train without it with vgtui --headless (and the same flags)"
    )
    if (refused := refuse_without_terminal(way_out)) is not None:
        return refused
    app = VgtuiApp(config, fps=fps, log_path=log_path, lesson=lesson, overwrite=overwrite)
    try:
        app.run()
    finally:
        app.stop_source()
        reap_all()
    return app.return_code or 0
