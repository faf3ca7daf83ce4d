"""Pictures of the dashboard, fed by committed recordings (tests/fixtures, made by
make_fixtures.py) so that every run draws the same thing.

When the dashboard's look changes on purpose, refresh the baselines and look at them:

    .venv/bin/pytest tests/test_app_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from vgtui.engine.config import RunConfig
from vgtui.engine.records import Snapshot
from vgtui.ui.app import VgtuiApp
from vgtui.ui.help import HelpScreen
from vgtui.ui.source import ReplaySource

SIGMOID = "sigmoid_xavier_spiral.jsonl"
RELU = "relu_he_spiral.jsonl"


def replay_app(records) -> VgtuiApp:
    return VgtuiApp(RunConfig(device="cpu"), source_factory=lambda c: ReplaySource(records))


@pytest.fixture
def shown(wait_until):
    """A ``run_before`` for snap_compare: waits until the whole recording is on screen."""

    def make(records):
        last = [r for r in records if isinstance(r, Snapshot)][-1]
        runs = sum(r.__class__.__name__ == "RunHeader" for r in records)

        async def run_before(pilot) -> None:
            app = pilot.app
            await wait_until(
                pilot,
                lambda: (
                    app.snapshots_shown > 0
                    and app.state == "done"
                    and len(app.book.runs) == runs
                    and app.latest == last
                    and not app.dirty
                ),
                "the recording on screen",
            )
            await pilot.pause()  # let the layout settle after the last repaint

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
