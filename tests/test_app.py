"""The dashboard driven by Textual's pilot: every key, the command palette, and the real trainer.

Most tests feed the app from `EngineSource`: a live source that answers the app's commands with the
real worker (`vgtui.trainer.worker.Server`, the same code the trainer process runs) in this process,
and that trains one step per run start (and per ``step`` command) instead of training freely. Every
record is the engine's own and nothing moves unless a key asks for it, so each test can wait for
exactly the effect of one key. The last tests run the real trainer process.
"""

from __future__ import annotations

import io
import math
import os
import queue
import re
import signal
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import pid_exists
from rich.console import Console
from rich.text import Text
from textual.command import CommandPalette
from textual.widgets import Static

from vgtui.core import activations, initializers
from vgtui.core.config import RunConfig
from vgtui.core.records import Event, Record, RunHeader, Snapshot
from vgtui.core.text import fmt_num
from vgtui.trainer.worker import Server
from vgtui.ui.app import VgtuiApp, error_lines
from vgtui.ui.help import HelpScreen
from vgtui.ui.sources.trainer import ReplaySource, TrainerSource
from vgtui.ui.views import REPLAY_BINDINGS
from vgtui.ui.widgets.curves import Curves
from vgtui.ui.widgets.gradients import GradientBars
from vgtui.ui.widgets.histograms import Histograms
from vgtui.ui.widgets.lines import LineView
from vgtui.ui.widgets.signal import SignalBars
from vgtui.ui.widgets.status import StatusLine

SIZE = (120, 40)
# Small and quick to build; every field a key changes is at a value the key moves away from.
CONFIG = RunConfig(
    activation="sigmoid", init="xavier", depth=3, width=8, dataset="xor", device="cpu", every=10
)
REAL_TIMEOUT = 60.0  # the real trainer process imports torch: give it a generous deadline


class _Outbox:
    """The worker's end of the connection: the batches it sends wait here for ``recv``."""

    def __init__(self) -> None:
        self.batches: list[list[Record]] = []

    def send(self, batch: list[Record]) -> None:
        self.batches.append(list(batch))


class EngineSource:
    """A live source: records each command it is sent and answers it with the real worker.

    The worker runs in the app's reader thread (inside ``recv``), as the real one runs beside the
    app. Starting, and each ``restart``, builds a real `Trainer` and delivers its `RunHeader` and
    the `Snapshot` of one training step; ``step`` trains one more step; ``pause``, ``resume`` and
    ``lr`` produce the worker's events; nothing trains on its own.
    """

    live = True

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.commands: list[tuple] = []
        self.received: list[Record] = []
        self.closed = False
        self._inbox: queue.Queue[tuple] = queue.Queue()
        self._outbox = _Outbox()
        self.server = Server(self._outbox, log_path=None, flush_hz=30.0)

    def start(self) -> None:
        self._inbox.put(("<start>",))

    def send(self, command: tuple) -> None:
        assert not self.closed, f"{command} sent to a closed source"
        self.commands.append(command)
        self._inbox.put(command)

    def recv(self, timeout: float) -> list[Record]:
        try:
            command = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return []
        if command[0] == "<start>":
            self.server.start(self.config)
        else:
            self.server.handle(command)
        if command[0] in ("<start>", "restart"):
            self.server.train_step(force_snapshot=True)
        if self.server.pending:
            self.server.emit([], urgent=True)
        batch = [record for sent in self._outbox.batches for record in sent]
        self._outbox.batches.clear()
        self.received.extend(batch)
        return batch

    def close(self) -> None:
        self.closed = True

    def restarts(self) -> list[dict]:
        return [c[1] for c in self.commands if c[0] == "restart"]


class Dashboard:
    """An app fed by EngineSource, and every source it made (one per trainer start)."""

    def __init__(self, config: RunConfig = CONFIG) -> None:
        self.sources: list[EngineSource] = []
        self.app = VgtuiApp(config, source_factory=self._factory, fps=30.0)

    def _factory(self, config: RunConfig) -> EngineSource:
        self.sources.append(EngineSource(config))
        return self.sources[-1]

    @property
    def source(self) -> EngineSource:
        assert len(self.sources) == 1, "one trainer start expected"
        return self.sources[0]


def text_of(widget) -> str:
    """What a widget shows, as plain text."""
    if isinstance(widget, LineView):
        return widget.text
    shown = widget.content if isinstance(widget, Static) else widget.render()
    if isinstance(shown, str):
        return shown
    if isinstance(shown, Text):
        return shown.plain
    console = Console(
        width=max(widget.size.width, 40), file=io.StringIO(), color_system=None, record=True
    )
    console.print(shown)
    return console.export_text()


def status(app: VgtuiApp) -> str:
    return text_of(app.query_one(StatusLine))


def toasts(app: VgtuiApp) -> list[str]:
    """The notifications on screen, as plain text."""
    return [toast.render().plain for toast in app.screen.query("Toast")]


async def first_snapshot(pilot, wait_until) -> Snapshot:
    app = pilot.app
    await wait_until(
        pilot,
        lambda: len(app.book.runs) == 1 and app.latest is not None and not app.dirty,
        "the first snapshot on screen",
    )
    return app.latest


async def next_run(pilot, wait_until, before: Snapshot, runs: int) -> Snapshot:
    """Wait for run number ``runs`` to deliver its first snapshot and for it to be drawn."""
    app = pilot.app
    await wait_until(
        pilot,
        lambda: (
            len(app.book.runs) == runs
            and app.latest is not None
            and app.latest is not before
            and app.state == "running"
            and not app.dirty
        ),
        f"run {runs} to show its first snapshot",
    )
    return app.latest


# ---- keys that restart the run with a changed config ---------------------------------------------

RESTART_KEYS = [
    # key, config field, its new value, what the status line then says (None: not shown there)
    ("a", "activation", "relu", "relu · xavier"),
    ("A", "activation", "identity", "identity · xavier"),
    ("i", "init", "he", "sigmoid · he"),
    ("I", "init", "default", "sigmoid · default"),
    ("plus", "depth", 4, "4x8"),
    ("minus", "depth", 2, "2x8"),
    ("greater_than_sign", "width", 16, "3x16"),
    ("less_than_sign", "width", 4, "3x4"),
    ("o", "optimizer", "momentum", "momentum lr 0.1"),
    ("d", "dataset", "circle", "· circle ·"),
    ("b", "norm", "batch", "batch norm"),
    ("s", "residual", True, "residual"),
    ("x", "dropout", 0.2, "dropout 0.2"),
    ("r", "seed", 1, None),
]


@pytest.mark.parametrize(
    ("key", "field", "value", "shown"), RESTART_KEYS, ids=[k[0] for k in RESTART_KEYS]
)
async def test_key_restarts_the_run_with_the_changed_config(wait_until, key, field, value, shown):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        first = await first_snapshot(pilot, wait_until)
        assert app.state == "running"
        assert getattr(app.config, field) != value
        if shown is not None:
            assert shown not in status(app)

        await pilot.press(key)
        latest = await next_run(pilot, wait_until, first, runs=2)

        expected = CONFIG.replace(**{field: value})
        assert app.config == expected
        # One restart command, carrying the whole new config, and nothing else was sent.
        assert dash.source.commands == [("restart", expected.to_dict())]
        # The new run is the trainer's answer to that command: its header and a fresh step 1.
        header = app.book.current.header
        assert header.config[field] == value
        assert RunConfig.from_dict(header.config) == expected
        assert latest.step == 1
        assert app.book.runs[0].header.config[field] == getattr(CONFIG, field)
        if shown is not None:
            assert shown in status(app)
        assert "step 1" in status(app)


async def test_new_activation_shows_in_every_widget(wait_until):
    """``a``: sigmoid to relu. The status names relu, the histograms report dead ReLU units
    instead of saturated sigmoids, and the curves keep the sigmoid run as the previous one."""
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        first = await first_snapshot(pilot, wait_until)
        histograms = text_of(app.query_one(Histograms))
        assert "sat " in histograms and "dead " not in histograms
        assert "sigmoid · xavier" in status(app)
        assert "previous:" not in text_of(app.query_one(Curves))

        await pilot.press("a")
        await next_run(pilot, wait_until, first, runs=2)

        assert app.book.current.label == "relu/xavier"
        assert "relu · xavier" in status(app)
        histograms = text_of(app.query_one(Histograms))
        assert "dead " in histograms and "sat " not in histograms
        assert "previous: sigmoid/xavier" in text_of(app.query_one(Curves))


async def test_depth_and_width_keys_reshape_the_network_shown(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        latest = await first_snapshot(pilot, wait_until)
        assert [x.name for x in latest.layers] == ["layer1", "layer2", "layer3", "output"]

        await pilot.press("plus")
        latest = await next_run(pilot, wait_until, latest, runs=2)
        assert [x.name for x in latest.layers][-2:] == ["layer4", "output"]
        assert "L4 " in text_of(app.query_one(Histograms))
        assert "L4 " in text_of(app.query_one(GradientBars))

        await pilot.press("greater_than_sign")
        latest = await next_run(pilot, wait_until, latest, runs=3)
        assert [x.fan_out for x in app.book.current.header.layers[:-1]] == [16] * 4

        await pilot.press("less_than_sign", "less_than_sign")
        await wait_until(pilot, lambda: len(dash.source.restarts()) == 4, "two more restarts")
        latest = await next_run(pilot, wait_until, latest, runs=4)  # the book keeps four runs
        await wait_until(
            pilot,
            lambda: app.book.current.header.config["width"] == 4 and app.latest.step == 1,
            "the width-4 run",
        )
        assert [x.fan_out for x in app.book.current.header.layers[:-1]] == [4] * 4
        assert [c["width"] for c in dash.source.restarts()] == [8, 16, 8, 4]


async def test_toggles_and_the_dropout_cycle_come_back_round(wait_until):
    """``b`` and ``s`` switch on and off; ``x`` goes 0 -> 0.2 -> 0.5 -> 0."""
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        latest = await first_snapshot(pilot, wait_until)
        runs = 1
        steps = [
            ("b", "norm", "batch", "batch norm"),
            ("b", "norm", "none", "batch norm"),
            ("s", "residual", True, "residual"),
            ("s", "residual", False, "residual"),
            ("x", "dropout", 0.2, "dropout 0.2"),
            ("x", "dropout", 0.5, "dropout 0.5"),
            ("x", "dropout", 0.0, "dropout"),
        ]
        for key, field, value, words in steps:
            await pilot.press(key)
            runs += 1
            latest = await next_run(pilot, wait_until, latest, runs=min(runs, app.book.keep))
            await wait_until(
                pilot,
                lambda field=field, value=value: app.book.current.header.config[field] == value,
                f"the run with {field}={value}",
            )
            assert getattr(app.config, field) == value
            assert dash.source.commands[-1] == ("restart", app.config.to_dict())
            on = value not in ("none", False, 0.0)
            assert (words in status(app)) == on, (key, value, status(app))
        assert app.config == CONFIG
        assert len(dash.source.restarts()) == len(steps)


@pytest.mark.parametrize(
    ("key", "back", "field", "choices"),
    [("a", "A", "activation", activations.NAMES), ("i", "I", "init", initializers.CYCLE)],
    ids=["activation", "init"],
)
async def test_i_and_a_cycle_through_every_choice_and_back(wait_until, key, back, field, choices):
    """``a`` (``i``) steps through every registered choice in order, wrapping round to the
    first; ``A`` (``I``) goes the same way backwards. Every choice, ``constant`` included, is
    reachable, and each one starts a run with it."""
    start = choices.index(getattr(CONFIG, field))
    forward = [choices[(start + k) % len(choices)] for k in range(1, len(choices) + 1)]
    backward = [choices[(start - k) % len(choices)] for k in range(1, len(choices) + 1)]
    assert sorted(forward) == sorted(choices) and forward[-1] == getattr(CONFIG, field)
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        await first_snapshot(pilot, wait_until)
        for _ in choices:
            await pilot.press(key)
        for _ in choices:
            await pilot.press(back)
        sent = [c[field] for c in dash.source.restarts()]
        assert sent == forward + backward
        await wait_until(
            pilot,
            lambda: (
                len(dash.source.received) > 0
                and app.book.current.header.config[field] == backward[-1]
                and app.latest is not None
                and app.latest.step == 1
                and not app.dirty
            ),
            "the last run",
        )
        started = [r.config[field] for r in dash.source.received if isinstance(r, RunHeader)]
        assert started == [getattr(CONFIG, field), *forward, *backward]  # every choice trained
        assert app.config == CONFIG


async def test_r_restarts_from_a_new_initialisation(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        first = await first_snapshot(pilot, wait_until)
        await pilot.press("r")
        second = await next_run(pilot, wait_until, first, runs=2)
        await pilot.press("r")
        third = await next_run(pilot, wait_until, second, runs=3)
        assert [c["seed"] for c in dash.source.restarts()] == [1, 2]
        assert [run.header.config["seed"] for run in app.book.runs] == [0, 1, 2]
        # New seeds, new weights: the first step's numbers differ.
        weights = [s.layers[0].weight_norm for s in (first, second, third)]
        assert len(set(weights)) == 3, weights


async def test_depth_and_width_stay_in_bounds(wait_until):
    dash = Dashboard(CONFIG.replace(depth=1, width=1))
    app = dash.app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_snapshot(pilot, wait_until)
        await pilot.press("minus", "less_than_sign")
        await wait_until(pilot, lambda: len(toasts(app)) == 2, "two notifications")
        assert any("depth stays within 1..100" in t for t in toasts(app))
        assert any("width stays within 1..8192" in t for t in toasts(app))
        assert dash.source.commands == []
        assert (app.config.depth, app.config.width) == (1, 1)
        assert len(app.book.runs) == 1


# ---- keys that act on the running model ----------------------------------------------------------


async def test_space_pauses_n_steps_once_and_space_resumes(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        first = await first_snapshot(pilot, wait_until)
        assert first.step == 1

        await pilot.press("space")
        assert dash.source.commands == [("pause",)]
        await wait_until(
            pilot,
            lambda: any(isinstance(r, Event) and r.kind == "paused" for r in dash.source.received),
            "the trainer to confirm the pause",
        )
        await wait_until(pilot, lambda: not app.dirty, "a repaint")
        assert app.paused and app.state == "paused"
        assert "paused" in status(app)

        await pilot.press("n")
        assert dash.source.commands[-1] == ("step",)
        await wait_until(pilot, lambda: app.latest.step == 2 and not app.dirty, "step 2")
        assert "step 2" in status(app)
        assert app.state == "paused"
        await pilot.press("n")
        await wait_until(pilot, lambda: app.latest.step == 3 and not app.dirty, "step 3")
        assert "step 3" in status(app)

        await pilot.press("space")
        assert dash.source.commands[-1] == ("resume",)
        await wait_until(
            pilot,
            lambda: any(isinstance(r, Event) and r.kind == "resumed" for r in dash.source.received),
            "the trainer to confirm the resume",
        )
        await wait_until(pilot, lambda: not app.dirty, "a repaint")
        assert not app.paused and app.state == "running"
        assert "running" in status(app)
        assert dash.source.commands == [("pause",), ("step",), ("step",), ("resume",)]
        assert len(app.book.runs) == 1  # none of this restarted the run


async def test_n_while_running_does_nothing_but_say_how(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_snapshot(pilot, wait_until)
        await pilot.press("n")
        await wait_until(pilot, lambda: toasts(app), "a notification")
        assert "pause first" in toasts(app)[0]
        assert dash.source.commands == []


@pytest.mark.parametrize(("key", "lr"), [("l", 0.2), ("L", 0.05)])
async def test_l_changes_the_running_models_learning_rate_without_restarting(wait_until, key, lr):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        first = await first_snapshot(pilot, wait_until)
        assert first.lr == 0.1
        assert "lr 0.1 " in status(app)

        await pilot.press(key)
        assert dash.source.commands == [("lr", lr)]
        await wait_until(
            pilot,
            lambda: Event(1, "config_changed", f"lr={lr:g}") in dash.source.received,
            "the trainer to take the new learning rate",
        )
        await wait_until(pilot, lambda: not app.dirty, "a repaint")
        assert app.config.lr == lr
        assert f"lr {lr:g} " in status(app)
        # The same run goes on with it: the next step trains at the new rate.
        await pilot.press("space", "n")
        await wait_until(pilot, lambda: app.latest.step == 2, "step 2")
        assert app.latest.lr == lr
        assert len(app.book.runs) == 1
        assert dash.source.restarts() == []
        assert sum(isinstance(r, RunHeader) for r in dash.source.received) == 1


# ---- keys that change the view -------------------------------------------------------------------


async def test_p_switches_the_histograms_to_pre_activations_and_back(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        snap = await first_snapshot(pilot, wait_until)
        hist = app.query_one(Histograms)
        act = f"L1 μ {fmt_num(snap.layers[0].act.mean)} σ {fmt_num(snap.layers[0].act.std)}"
        assert text_of(hist).startswith("activations, input side first")
        assert act in text_of(hist)

        await pilot.press("p")
        assert hist.preact
        assert text_of(hist).startswith("pre-activations (input to the activation)")
        assert dash.source.commands == [("preact", True)]  # the trainer is asked to record them
        # The next snapshot's pre-activations are what the histograms show.
        await pilot.press("space", "n")
        await wait_until(pilot, lambda: app.latest.step == 2 and not app.dirty, "step 2")
        layers = app.latest.layers
        assert all(x.preact is not None for x in layers[:-1]), "no pre-activations recorded"
        pre = f"L1 μ {fmt_num(layers[0].preact.mean)} σ {fmt_num(layers[0].preact.std)}"
        assert pre != f"L1 μ {fmt_num(layers[0].act.mean)} σ {fmt_num(layers[0].act.std)}"
        assert pre in text_of(hist)
        assert "L3 μ" in text_of(hist)

        await pilot.press("p")
        assert not hist.preact
        assert dash.source.commands[-1] == ("preact", False)
        assert text_of(hist).startswith("activations, input side first")
        assert pre not in text_of(hist)
        assert f"L1 μ {fmt_num(layers[0].act.mean)}" in text_of(hist)
        assert dash.source.restarts() == [] and len(app.book.runs) == 1  # the run is untouched


async def test_pre_activations_stay_on_across_a_restart(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        first = await first_snapshot(pilot, wait_until)
        await pilot.press("p", "a")
        latest = await next_run(pilot, wait_until, first, runs=2)
        assert app.query_one(Histograms).preact
        assert all(x.preact is not None for x in latest.layers[:-1]), "no pre-activations"
        pre = latest.layers[0].preact
        assert f"L1 μ {fmt_num(pre.mean)} σ {fmt_num(pre.std)}" in text_of(
            app.query_one(Histograms)
        )


async def test_e_saves_an_svg_screenshot_and_says_where(wait_until, tmp_path, monkeypatch):
    tmp_path = tmp_path / "[shots] here"  # brackets: the path is shown as written, not as markup
    tmp_path.mkdir()
    monkeypatch.chdir(tmp_path)
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_snapshot(pilot, wait_until)
        assert list(tmp_path.iterdir()) == []
        await pilot.press("e")
        await wait_until(pilot, lambda: list(tmp_path.glob("*.svg")), "the screenshot file")
        await wait_until(pilot, lambda: toasts(app), "a notification")
        [saved] = list(tmp_path.glob("*.svg"))
        svg = saved.read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<svg")
        assert "activations" in svg  # the dashboard itself, not a blank page
        [note] = toasts(app)
        assert note == f"screenshot\nsaved {saved}"
        assert Path(os.getcwd()) == tmp_path


async def test_question_mark_opens_help_listing_every_key(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        await first_snapshot(pilot, wait_until)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = "\n".join(text_of(w) for w in app.screen.query("Static"))
        # No lesson plays here, and this is no replay of a log.
        mode_only = {"lesson(1)", "lesson(-1)", *(b.action for b in REPLAY_BINDINGS)}
        for binding in app.BINDINGS:
            assert (binding.tooltip in shown) == (binding.action not in mode_only), binding
        for label in ["+", "-", ">", "<", "?", "space", "A", "I", "L"]:
            assert any(line.lstrip().startswith(label + " ") for line in shown.splitlines()), label
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)
        assert dash.source.commands == []


async def test_q_quits_and_closes_the_source(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        await first_snapshot(pilot, wait_until)
        assert not dash.source.closed
        assert app.return_code is None
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code == 0, "the app to exit")
    assert dash.source.closed
    assert app.source is None
    assert dash.source.commands == []


# ---- the command palette -------------------------------------------------------------------------


async def test_command_palette_offers_every_action(wait_until, monkeypatch):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        await first_snapshot(pilot, wait_until)
        ran: list[str] = []
        monkeypatch.setattr(app, "run_action", lambda action, *a, **k: ran.append(action))
        commands = list(app.get_system_commands(app.screen))
        for command in commands:
            if command.help.startswith("key: "):
                command.callback()
        # Textual's own quit; no lesson plays; this is no replay of a log.
        skipped = {"quit", "lesson(1)", "lesson(-1)", *(b.action for b in REPLAY_BINDINGS)}
        actions = {b.action for b in app.BINDINGS if b.action not in skipped}
        assert sorted(ran) == sorted(actions)  # each action once, under its key
        helps = {c.help for c in commands}
        for binding in app.BINDINGS:
            if binding.action not in skipped:
                assert f"key: {binding.key_display or binding.key}" in helps
        assert "Quit" in {c.title for c in commands}  # Textual's own quit command


async def test_command_palette_runs_an_action(wait_until):
    dash = Dashboard()
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        first = await first_snapshot(pilot, wait_until)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"next activation function")

        def top_hit() -> str:
            hits = app.screen.query_one("CommandList")
            return hits.get_option_at_index(0).prompt.plain if hits.option_count else ""

        await wait_until(pilot, lambda: top_hit() == "Next activation function\nkey: a", "a hit")
        await pilot.press("enter")
        await next_run(pilot, wait_until, first, runs=2)
        assert app.config.activation == "relu"
        assert dash.source.commands == [("restart", CONFIG.replace(activation="relu").to_dict())]


# ---- errors, diverged and forward-only runs ------------------------------------------------------


async def test_a_trainer_error_is_one_line_and_the_way_out_and_the_curves_stay(
    wait_until, tmp_path, monkeypatch
):
    """``d`` until mnist, with no MNIST files and no network: the one line that says what is
    missing and where, then how to go on; no traceback; the previous run stays on screen."""
    monkeypatch.setenv("VGTUI_OFFLINE", "1")  # never touch the network
    config = CONFIG.replace(data_dir=str(tmp_path))
    dash = Dashboard(config)
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        latest = await first_snapshot(pilot, wait_until)
        while app.config.dataset != "digits":  # xor, circle, ..., digits: the one before mnist
            runs = min(len(app.book.runs) + 1, app.book.keep)
            await pilot.press("d")
            latest = await next_run(pilot, wait_until, latest, runs=runs)
            await wait_until(
                pilot,
                lambda: app.book.current.header.config["dataset"] == app.config.dataset,
                "the new dataset's run",
            )
        runs = list(app.book.runs)
        snapshot = app.latest
        titles = [line for line in text_of(app.query_one(Histograms)).splitlines() if "μ" in line]
        assert "L1 μ" in titles[0]
        error = app.query_one("#error", Static)
        assert not error.has_class("-visible")

        await pilot.press("d")
        await wait_until(pilot, lambda: app.state == "error" and not app.dirty, "the error")
        assert app.config.dataset == "mnist"
        lines = app.error_text.split("\n")
        assert len(lines) == 2, app.error_text
        what, way_out = lines
        assert what.startswith("MNIST needs train-images-idx3-ubyte"), what
        assert f"in {tmp_path}" in what and "offline" in what
        assert way_out == "press d for the next dataset, or put the files there and press r"
        assert "Traceback" not in app.error_text and "Error:" not in app.error_text
        assert error.has_class("-visible") and str(error.content) == app.error_text
        assert "● error" in status(app) and "mnist" in status(app)
        # The previous run is still what the dashboard shows (in a panel shorter by the error).
        assert app.book.runs == runs and app.latest is snapshot
        curves = text_of(app.query_one(Curves))
        assert "train" in curves and any(0x2800 < ord(c) <= 0x28FF for c in curves)  # dots
        shown = text_of(app.query_one(Histograms)).splitlines()
        assert [line for line in shown if "μ" in line] == titles

        await pilot.press("d")  # the way out: the next dataset trains
        await wait_until(
            pilot,
            lambda: app.state == "running" and app.latest is not None and app.latest is not latest,
            "the random run",
        )
        assert app.book.current.header.config["dataset"] == "random"
        assert app.error_text == "" and not error.has_class("-visible")


def test_error_lines_keep_the_last_line_and_say_the_way_out():
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "ZeroDivisionError: division by zero\n"
    )
    assert error_lines(traceback, CONFIG) == (
        "ZeroDivisionError: division by zero\npress r to restart"
    )
    data = "vgtui.core.errors.DataError: MNIST needs x in /d: missing x (offline)"
    assert error_lines(data, CONFIG.replace(dataset="mnist")) == (
        "MNIST needs x in /d: missing x (offline)\n"
        "press d for the next dataset, or put the files there and press r"
    )
    assert error_lines("device cuda: not available", CONFIG) == (
        "device cuda: not available\npress r to restart"
    )
    assert error_lines("", CONFIG).split("\n") == [
        "the trainer stopped with an error",
        "press r to restart",
    ]


async def test_a_diverged_run_says_so_in_a_notification_and_the_status(wait_until, recorded):
    records = recorded("identity_diverged_spiral.jsonl")
    [event] = [r for r in records if isinstance(r, Event)]
    assert event.kind == "diverged"
    app = VgtuiApp(CONFIG, source_factory=lambda c: ReplaySource(records))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: toasts(app) and not app.dirty, "the notification")
        assert toasts(app) == [f"diverged\n{event.message}"]
        assert app.state == f"diverged at step {event.step}"
        assert f"● diverged at step {event.step}  step {event.step}" in status(app)
        gradients = " ".join(text_of(app.query_one(GradientBars)).split())
        assert gradients == f"gradient norms: none at step {event.step} (the loss is nan)"
        assert "nan/inf" in text_of(app.query_one(Histograms))


async def test_forward_only_shows_each_layers_spread_instead_of_loss_and_gradients(
    wait_until, recorded
):
    records = recorded("tanh_small_random.jsonl")
    last = [r for r in records if isinstance(r, Snapshot)][-1]
    assert last.loss is None and all(x.grad_norm is None for x in last.layers)
    app = VgtuiApp(CONFIG, source_factory=lambda c: ReplaySource(records))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "done" and not app.dirty, "the recording")
        await pilot.pause()
        assert "forward only" in status(app)
        assert " lr " not in status(app) and "sgd" not in status(app)
        signal = app.query_one(SignalBars)
        assert signal.display and signal.region.height > 0
        assert not app.query_one(GradientBars).display and not app.query_one(Curves).display
        shown = text_of(signal)
        hidden = [x for x in last.layers if x.name != "output"]
        for layer in hidden:  # each hidden layer's std, by its label
            label = layer.name.replace("layer", "L")
            assert re.search(rf"^ *{label} .* {re.escape(fmt_num(layer.act.std))} ", shown, re.M)
        first, final = hidden[0].act.std, hidden[-1].act.std
        power = round(math.log10(final / first))
        assert power <= -5  # tanh with N(0, 0.01) weights: the signal dies out
        sentence = (
            f"std falls from {fmt_num(first)} at L1 to {fmt_num(final)} at L{len(hidden)} "
            f"(10^{power}): the signal fades with depth"
        )
        assert sentence in " ".join(shown.split())


async def test_keys_switch_between_the_forward_only_and_the_training_views(wait_until):
    dash = Dashboard(CONFIG.replace(dataset="random"))
    app = dash.app
    async with app.run_test(size=SIZE) as pilot:
        latest = await first_snapshot(pilot, wait_until)
        assert app.query_one(SignalBars).display
        assert "forward only" in status(app)
        await pilot.press("d")  # random wraps round to xor
        await next_run(pilot, wait_until, latest, runs=2)
        assert app.config.dataset == "xor"
        assert not app.query_one(SignalBars).display
        assert app.query_one(GradientBars).display and app.query_one(Curves).display
        assert "forward only" not in status(app) and "sgd lr 0.1" in status(app)
        assert text_of(app.query_one(GradientBars)).startswith("gradient norm, 10^")


@pytest.mark.parametrize("dataset", ["spiral", "random"])
async def test_a_layer_with_no_activation_is_drawn_as_such(wait_until, recorded, dataset):
    """Run log v2: a module whose forward was not a module call has ``act`` None. A hand-made
    snapshot with such a layer, in a training run and in a forward-only one."""
    records = recorded("sigmoid_xavier_spiral.jsonl")
    header = records[0]
    snap = [r for r in records if isinstance(r, Snapshot)][-1]
    layers = [replace(x, act=None) if x.name == "layer3" else x for x in snap.layers]
    made = replace(snap, layers=layers, loss=None if dataset == "random" else snap.loss)
    run = replace(header, config={**header.config, "dataset": dataset})
    app = VgtuiApp(CONFIG, source_factory=lambda c: ReplaySource([run, made]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.latest is made and not app.dirty, "the snapshot")
        histograms = text_of(app.query_one(Histograms))
        cell = next(line for line in histograms.splitlines() if "no activation seen" in line)
        assert re.search(r"▕ +no activation seen +▏", cell)  # inside L3's empty box
        assert re.search(r"\bL3\b", histograms) and "L3 μ" not in histograms  # titled, no stats
        assert f"L4 μ {fmt_num(layers[3].act.mean)}" in histograms
        if dataset == "random":  # shown by this run's header: drawn once it has been laid out
            bars = app.query_one(SignalBars)
            await wait_until(pilot, lambda: text_of(bars), "the signal bars laid out")
            signal = text_of(bars)
            assert re.search(r"^ *L3 no activation seen$", signal, re.M)
            assert f"{fmt_num(layers[3].act.std)} " in signal
        else:
            assert re.search(r"^ *L3 █", text_of(app.query_one(GradientBars)), re.M)
        await pilot.press("p")  # pre-activations: none recorded, nothing to draw, no crash
        assert text_of(app.query_one(Histograms)).startswith("pre-activations")


# ---- a recording ---------------------------------------------------------------------------------


async def test_keys_that_change_the_run_do_nothing_to_a_recording(wait_until, recorded):
    records = recorded("sigmoid_xavier_spiral.jsonl")
    app = VgtuiApp(CONFIG, source_factory=lambda c: ReplaySource(records))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: app.state == "done" and not app.dirty, "the recording")
        config = app.config
        assert config.dataset == "spiral"  # the recording's config, not the command line's
        await pilot.press("a", "plus", "r", "l", "space")
        await wait_until(pilot, lambda: toasts(app), "a notification")
        assert "this is a recording" in toasts(app)[0]
        assert app.config == config
        assert len(app.book.runs) == 1
        assert app.state == "done"


async def test_at_80x24_the_keyboard_scrolls_through_layers_that_do_not_fit(wait_until, recorded):
    records = recorded("sigmoid_xavier_spiral.jsonl")
    app = VgtuiApp(CONFIG, source_factory=lambda c: ReplaySource(records))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "done" and not app.dirty, "the recording")
        await pilot.pause()
        left = app.query_one("#left")
        assert left.max_scroll_y > 0  # ten layers do not fit in 24 rows
        assert app.focused is left  # no mouse needed: the histograms have the keyboard
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: left.scroll_y > 0, "a page down")
        await pilot.press("end")
        await wait_until(pilot, lambda: left.scroll_y == left.max_scroll_y, "the last layer")


# ---- the real trainer process --------------------------------------------------------------------

REAL = RunConfig(depth=3, width=8, dataset="xor", device="cpu")


class RecordingTrainerSource(TrainerSource):
    """The real trainer process; also keeps every record it delivered, for the tests to read."""

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.received: list[Record] = []

    def recv(self, timeout: float) -> list[Record]:
        batch = super().recv(timeout)
        self.received.extend(batch)
        return batch


async def test_quitting_stops_the_trainer_process(wait_until):
    app = VgtuiApp(REAL)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.snapshots_shown > 0, "a snapshot", REAL_TIMEOUT)
        assert isinstance(app.source, TrainerSource)
        pid = app.source.pid
        assert pid is not None and pid != os.getpid()
        assert pid_exists(pid)
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code == 0, "the app to exit")
    assert app.source is None
    assert not pid_exists(pid), f"trainer process {pid} outlived the app"


async def test_killed_trainer_shows_the_error_and_r_starts_a_new_one(wait_until):
    app = VgtuiApp(REAL)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.snapshots_shown > 0, "a snapshot", REAL_TIMEOUT)
        first = app.source
        os.kill(first.pid, signal.SIGKILL)
        await wait_until(pilot, lambda: app.state == "error", "the error state", REAL_TIMEOUT)
        await wait_until(pilot, lambda: not app.dirty, "a repaint")
        assert "the trainer process exited" in app.error_text
        assert "press r" in app.error_text
        error = app.query_one("#error")
        assert error.display and error.has_class("-visible")
        assert "the trainer process exited" in str(error.content)
        assert "● error" in status(app)
        await pilot.press("space", "l")  # nothing to pause or speed up: the error stays
        assert app.state == "error" and app.source is first and app.config.lr == REAL.lr
        assert "press r" in app.error_text

        await pilot.press("r")
        await wait_until(
            pilot,
            lambda: app.source is not first and app.source.pid is not None,
            "a new trainer",
            REAL_TIMEOUT,
        )
        second = app.source
        assert second.pid != first.pid
        assert not pid_exists(first.pid)  # the dead one was reaped
        await wait_until(
            pilot,
            lambda: app.state == "running" and app.latest is not None,
            "snapshots from the new trainer",
            REAL_TIMEOUT,
        )
        shown = app.snapshots_shown
        await wait_until(pilot, lambda: app.snapshots_shown > shown, "more snapshots", REAL_TIMEOUT)
        assert app.error_text == ""
        assert not error.has_class("-visible")
        assert app.config.seed == REAL.seed + 1
        assert app.book.current.header.config["seed"] == REAL.seed + 1

        # Any key that restarts the run also starts a new trainer when the old one is dead.
        os.kill(second.pid, signal.SIGKILL)
        await wait_until(pilot, lambda: app.state == "error", "the error state", REAL_TIMEOUT)
        await pilot.press("a")
        await wait_until(
            pilot,
            lambda: (
                app.source is not second
                and app.book.current.label == "relu/xavier"
                and app.state == "running"
                and app.latest is not None
            ),
            "a new relu trainer and its snapshots",
            REAL_TIMEOUT,
        )
        third = app.source
        assert app.error_text == ""
        assert not pid_exists(second.pid)
        assert pid_exists(third.pid)
    assert not pid_exists(third.pid)


async def test_keys_take_effect_while_the_real_trainer_runs_flat_out(wait_until):
    sources: list[RecordingTrainerSource] = []

    def factory(config: RunConfig) -> RecordingTrainerSource:
        sources.append(RecordingTrainerSource(config))
        return sources[-1]

    app = VgtuiApp(REAL, source_factory=factory)

    def snapshots_after(index: int) -> list[Snapshot]:
        return [r for r in source.received[index:] if isinstance(r, Snapshot)]

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: app.state == "running" and app.snapshots_shown > 0, "a snapshot", 60
        )
        [source] = sources
        # Snapshots keep coming: the trainer is not waiting for the UI.
        mark = len(source.received)
        await wait_until(pilot, lambda: len(snapshots_after(mark)) >= 3, "snapshots", 60)

        # A restart key: a relu run starts and streams, while the sigmoid run's records stop.
        await pilot.press("a")
        await wait_until(
            pilot,
            lambda: app.book.current.label == "relu/xavier" and len(app.book.runs) == 2,
            "the relu run",
            REAL_TIMEOUT,
        )
        mark = len(source.received)
        await wait_until(pilot, lambda: len(snapshots_after(mark)) >= 3, "relu snapshots", 60)
        await wait_until(pilot, lambda: "relu · xavier" in status(app), "relu in the status", 10)

        # The learning rate: applied to the running model, no new run.
        await pilot.press("l")
        await wait_until(
            pilot,
            lambda: app.latest is not None and app.latest.lr == 2 * REAL.lr,
            "snapshots at the doubled learning rate",
            REAL_TIMEOUT,
        )
        assert len(app.book.runs) == 2

        # Pause: the trainer confirms; then n trains exactly one more step.
        await pilot.press("space")
        await wait_until(
            pilot,
            lambda: any(isinstance(r, Event) and r.kind == "paused" for r in source.received),
            "the trainer to pause",
            REAL_TIMEOUT,
        )
        paused_at = next(
            r.step for r in source.received if isinstance(r, Event) and r.kind == "paused"
        )
        await pilot.press("n")
        await wait_until(
            pilot,
            lambda: app.latest.step == paused_at + 1,
            f"the one step after {paused_at}",
            REAL_TIMEOUT,
        )
        assert app.state == "paused"
        await wait_until(pilot, lambda: f"step {paused_at + 1:,}" in status(app), "the status", 10)

        # Resume: it streams again.
        await pilot.press("space")
        await wait_until(
            pilot,
            lambda: app.latest.step > paused_at + 1 and app.state == "running",
            "training to go on",
            REAL_TIMEOUT,
        )
        await pilot.press("q")
    assert not pid_exists(source.pid)
