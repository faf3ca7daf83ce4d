"""Pictures of the dashboard, fed by committed recordings (tests/fixtures, made by
make_fixtures.py) so that every run draws the same thing.

When the dashboard's look changes on purpose, refresh the baselines and look at them:

    .venv/bin/pytest tests/test_app_snapshots.py --snapshot-update

The baselines were made with the Textual and Rich versions pinned in pyproject's ``test`` extra;
another version may draw a cell differently, so upgrading them is a deliberate change.
"""

from __future__ import annotations

import pytest
from conftest import draw_exactly

from vgtui.core.config import RunConfig
from vgtui.core.records import End, Event, Record, Snapshot
from vgtui.ui.app import VgtuiApp
from vgtui.ui.help import HelpScreen
from vgtui.ui.sources.trainer import ReplaySource

SIGMOID = "sigmoid_xavier_spiral.jsonl"
RELU = "relu_he_spiral.jsonl"
DIVERGED = "identity_diverged_spiral.jsonl"
FORWARD = "tanh_small_random.jsonl"


class LiveRecording(ReplaySource):
    """A recording that stands in for a live trainer: it has not ended, it confirms a pause or a
    resume as the trainer does, and it may end in an error event."""

    live = True

    def __init__(self, records: list[Record], error: str = "") -> None:
        super().__init__([r for r in records if not isinstance(r, End)])
        self.step = [r for r in records if isinstance(r, Snapshot)][-1].step
        if error:
            self.records.append(Event(self.step, "error", error))

    def send(self, command: tuple) -> None:
        if command[0] in ("pause", "resume"):
            self.records.append(Event(self.step, command[0] + "d", ""))


def replay_app(records) -> VgtuiApp:
    return VgtuiApp(RunConfig(device="cpu"), source_factory=lambda c: ReplaySource(records), fps=12)


def live_app(records, error: str = "") -> VgtuiApp:
    source = LiveRecording(records, error)
    return VgtuiApp(RunConfig(device="cpu"), source_factory=lambda c: source, fps=12)


def settled(wait_until, condition, what: str):
    """A ``run_before`` that waits for ``condition(app)`` and a repaint after it."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(
            pilot, lambda: app.snapshots_shown > 0 and condition(app) and not app.dirty, what
        )
        await pilot.pause()  # let the layout settle after the last repaint
        await draw_exactly(pilot)

    return run_before


@pytest.fixture
def shown(wait_until):
    """A ``run_before`` for snap_compare: waits until the whole recording is on screen."""

    def make(records, state: str = "done"):
        last = [r for r in records if isinstance(r, Snapshot)][-1]
        runs = sum(r.__class__.__name__ == "RunHeader" for r in records)

        async def run_before(pilot) -> None:
            app = pilot.app
            await wait_until(
                pilot,
                lambda: (
                    app.snapshots_shown > 0
                    and app.state == state
                    and len(app.book.runs) == runs
                    and app.latest == last
                    and not app.dirty
                ),
                "the recording on screen",
            )
            await pilot.pause()  # let the layout settle after the last repaint
            await draw_exactly(pilot)

        return run_before

    return make


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_dashboard(snap_compare, recorded, shown, size):
    """A deep sigmoid network on the spiral: gradients vanish toward the input."""
    records = recorded(SIGMOID)
    assert snap_compare(replay_app(records), terminal_size=size, run_before=shown(records))


def test_two_runs_keep_the_previous_curve_dimmed(snap_compare, recorded, shown):
    """The sigmoid run, then relu/he: the sigmoid curves stay, dimmed, named in the legend."""
    records = recorded(SIGMOID, RELU)
    assert snap_compare(replay_app(records), terminal_size=(160, 50), run_before=shown(records))


def test_help_screen(snap_compare, recorded, shown):
    records = recorded(SIGMOID)
    run_before = shown(records)

    async def open_help(pilot) -> None:
        await run_before(pilot)
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)

    assert snap_compare(replay_app(records), terminal_size=(100, 40), run_before=open_help)


def test_running(snap_compare, recorded, wait_until):
    """A live run at its latest snapshot: the status says running."""
    records = recorded(SIGMOID)
    last = [r for r in records if isinstance(r, Snapshot)][-1]
    ready = settled(wait_until, lambda app: app.state == "running" and app.latest == last, "it")
    assert snap_compare(live_app(records), terminal_size=(160, 50), run_before=ready)


def test_paused_at_80x24(snap_compare, recorded, wait_until):
    """Space pauses: the trainer confirms, the status says paused; 80x24 stays readable."""
    records = recorded(SIGMOID)

    async def pause(pilot) -> None:
        await settled(wait_until, lambda app: app.state == "running", "the run")(pilot)
        await pilot.press("space")
        await settled(wait_until, lambda app: app.state == "paused", "the pause")(pilot)

    assert snap_compare(live_app(records), terminal_size=(80, 24), run_before=pause)


def test_error_panel(snap_compare, recorded, wait_until):
    """A trainer error: one line and the way out, above the run it stopped."""
    records = recorded(SIGMOID)
    error = "cannot write the run log /no/such/dir/run.jsonl: no such directory"
    ready = settled(wait_until, lambda app: app.state == "error", "the error")
    app = live_app(records, error)
    assert snap_compare(app, terminal_size=(160, 50), run_before=ready)


def test_diverged_run(snap_compare, recorded, shown):
    """Identity activations at lr 0.6: the loss explodes and turns to nan at step 11."""
    records = recorded(DIVERGED)
    app = replay_app(records)
    ready = shown(records, "diverged at step 11")
    assert snap_compare(app, terminal_size=(160, 50), run_before=ready)


def test_pre_activations(snap_compare, recorded, shown):
    """``p``: the input to each activation function instead of its output."""
    records = recorded(FORWARD)
    run_before = shown(records)

    async def press_p(pilot) -> None:
        await run_before(pilot)
        await pilot.press("p")
        await pilot.pause()

    assert snap_compare(replay_app(records), terminal_size=(160, 50), run_before=press_p)


def test_forward_only(snap_compare, recorded, shown):
    """The random dataset: no loss, no gradients; each layer's activation spread instead."""
    records = recorded(FORWARD)
    assert snap_compare(replay_app(records), terminal_size=(120, 40), run_before=shown(records))
