"""Pictures of the views for big models: a 100-layer log (tests/fixtures/deep_logs.py, written
deterministically) replayed to its end, each view at 80x24 and 160x50.

Refresh after a deliberate change of look, and look at them:

    .venv/bin/python -m pytest tests/test_views_snapshots.py --snapshot-update
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import draw_exactly

from vgtui.ui.log_app import log_app

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from deep_logs import write_deep_log


@pytest.fixture
def deep(tmp_path):
    """12 snapshots of 100 layers, the last four exploding (the last not finite)."""
    return write_deep_log(tmp_path / "deep.jsonl", snapshots=12, explode=True)


def at_the_end(wait_until, key: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.latest is not None, "the first snapshot")
        await pilot.press("space", "G", key)  # paused at the end, in the view asked for
        await wait_until(
            pilot,
            lambda: app.latest.step == 120 and app.view == key_view[key] and not app.dirty,
            "the end, drawn",
        )
        await pilot.pause()
        await draw_exactly(pilot)

    return run_before


key_view = {"h": "grid", "w": "waterfall", "t": "compact"}


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
@pytest.mark.parametrize("key", ["w", "t", "h"], ids=["waterfall", "compact", "grid"])
def test_view_of_100_layers(snap_compare, wait_until, deep, key, size):
    app = log_app(deep, "replay", fps=30)
    assert snap_compare(app, terminal_size=size, run_before=at_the_end(wait_until, key))


def test_folded_compact_view(snap_compare, wait_until, deep):
    """``z`` folds the 12 blocks' layers by module prefix to fit the screen."""
    app = log_app(deep, "replay", fps=30)
    run_before = at_the_end(wait_until, "t")

    async def fold(pilot) -> None:
        await run_before(pilot)
        await pilot.press("z")
        await wait_until(pilot, lambda: pilot.app.layer_filter.folded, "folded")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(160, 50), run_before=fold)
