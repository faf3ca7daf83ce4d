"""The dashboard on a run log (pilot tests that press real keys): attach follows a file this test
writes line by line, replay moves on its keys; the views and the diagnosis panel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vgtui.core.config import RunConfig
from vgtui.core.records import End, Snapshot
from vgtui.runlog.codec import encode
from vgtui.ui.app import VgtuiApp
from vgtui.ui.log_app import log_app
from vgtui.ui.sources.trainer import ReplaySource
from vgtui.ui.views import default_view
from vgtui.ui.widgets.diagnosis_panel import DiagnosisPanel
from vgtui.ui.widgets.distributions import Distributions
from vgtui.ui.widgets.gradients import GradientBars
from vgtui.ui.widgets.histograms import Histograms
from vgtui.ui.widgets.waterfall import Waterfall

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from deep_logs import write_deep_log

SIZE = (120, 40)


def append(path, *records) -> None:
    with open(path, "ab") as f:
        for record in records:
            f.write(encode(record).encode() + b"\n")


def status(app) -> str:
    return app.query_one("#status").text


def toasts(app) -> list[str]:
    return [toast.render().plain for toast in app.screen.query("Toast")]


@pytest.fixture
def spiral(recorded):
    records = recorded("relu_he_spiral.jsonl")
    return records[0], [r for r in records if isinstance(r, Snapshot)]


async def test_attach_follows_a_file_written_line_by_line(tmp_path, spiral, wait_until):
    header, snaps = spiral
    path = tmp_path / "runs" / "exp1.jsonl"
    app = log_app(path, "attach", fps=30)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "waiting for" in status(app), "waiting for the file")
        path.parent.mkdir()
        append(path, header)
        for snap in snaps[:3]:
            append(path, snap)
            await wait_until(pilot, lambda s=snap: app.latest == s, f"step {snap.step} shown")
        assert "following" in status(app) and app.state == "attach"
        append(path, header, snaps[0])  # a second run in the same file
        await wait_until(
            pilot, lambda: len(app.book.runs) == 2 and app.latest == snaps[0], "the second run"
        )
        assert app.book.runs[0].count == 3  # the old run's curve stays (dimmed)
        path.write_bytes(b"")  # truncated, and written anew
        append(path, header, snaps[0], snaps[1])
        await wait_until(pilot, lambda: len(app.book.runs) == 3, "the rewritten file's run")
        await wait_until(pilot, lambda: app.latest == snaps[1], "its snapshots")
        append(path, End(snaps[1].step, "diverged"))
        await wait_until(pilot, lambda: "ended: diverged" in status(app), "the end shown")


async def test_keys_that_change_the_run_say_why_they_cannot(tmp_path, wait_until):
    log = write_deep_log(tmp_path / "deep.jsonl", snapshots=4, end=None)
    app = log_app(log, "attach", fps=30)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: app.latest is not None, "the log shown")
        shown = app.latest
        await pilot.press("a")
        await wait_until(pilot, lambda: toasts(app), "a notification")
        assert "this run belongs to another process" in toasts(app)[0]
        await pilot.press("space")  # the display pauses; the log is still read
        await wait_until(pilot, lambda: "display paused" in status(app), "display paused")
        append(log, *[r for r in _deep_records(tmp_path)][-1:])
        await pilot.press("space")
        await wait_until(pilot, lambda: "display paused" not in status(app), "display resumed")
        assert app.latest.step > shown.step


def _deep_records(tmp_path) -> list:
    """One more snapshot for the 4-snapshot deep log: the fifth of a longer one."""
    from vgtui.runlog.codec import read_log

    longer = read_log(write_deep_log(tmp_path / "longer.jsonl", snapshots=5, end=None))
    return longer.snapshots


async def test_replay_keys(tmp_path, wait_until):
    log = write_deep_log(tmp_path / "deep.jsonl", snapshots=12)
    app = log_app(log, "replay", fps=30, speed=1 / 64)  # slow: the keys move it, not time
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: app.latest is not None, "the first snapshot")
        await pilot.press("space")
        await wait_until(pilot, lambda: "‖" in status(app), "paused")
        at = app.latest.step
        await pilot.press("right")
        await wait_until(pilot, lambda: app.latest.step == at + 10, "one snapshot on")
        await pilot.press("left")
        await wait_until(pilot, lambda: app.latest.step == at, "one snapshot back")
        assert len(app.book.runs) == 1  # moving back is the same run, not a new one
        await pilot.press("G")
        await wait_until(pilot, lambda: app.latest.step == 120, "the end")
        await wait_until(pilot, lambda: "snapshot 12/12" in status(app), "the position drawn")
        assert app.book.current.count == 12
        await pilot.press("g")
        await wait_until(pilot, lambda: app.latest.step == 10, "the start")
        assert app.book.current.count == 1
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: "x1/32" in status(app), "faster")
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_until(pilot, lambda: "x1/64" in status(app), "slower, down to the slowest")
        await pilot.press("i")
        await wait_until(pilot, lambda: toasts(app), "a notification")
        assert "this is a recording" in toasts(app)[0]


async def test_view_keys_filter_and_fold(tmp_path, wait_until):
    log = write_deep_log(tmp_path / "deep.jsonl", snapshots=6)
    app = log_app(log, "replay", fps=30, speed=64)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "done", "the whole replay")
        assert app.view == "waterfall"  # 100 layers at 80x24
        assert app.query_one(Waterfall).display and not app.query_one(Histograms).display
        await pilot.press("t")
        await wait_until(pilot, lambda: app.query_one(Distributions).lines, "compact view")
        assert app.view == "compact" and not app.query_one(Waterfall).display
        dist = app.query_one(Distributions)
        await pilot.press("slash", *"mlp.fc1", "enter")
        await wait_until(pilot, lambda: app.layer_filter.pattern == "mlp.fc1", "the filter")
        await wait_until(pilot, lambda: len(dist.lines) == 13, "12 layers and the title")
        assert all("mlp.fc1" in "".join(t for t, _ in line) for line in dist.lines[1:])
        await pilot.press("slash", *["backspace"] * 7, "enter")
        await wait_until(pilot, lambda: len(dist.lines) == 101, "every layer again")
        await pilot.press("z")
        await wait_until(pilot, lambda: len(dist.lines) < 30, "folded")
        assert "blocks.0.*" in dist.text
        await pilot.press("z")
        await wait_until(pilot, lambda: len(dist.lines) == 101, "unfolded")
        await pilot.press("h")
        await wait_until(pilot, lambda: app.query_one(Histograms).display, "the grid")


def test_the_default_view_picks_itself():
    assert default_view(11, 96, 46) == "grid"
    assert default_view(100, 40, 18) == "waterfall"
    assert default_view(30, 96, 46) == "compact"
    assert default_view(12, 40, 18) == "grid"  # a small model: the grid, which scrolls


async def test_the_dashboard_diagnosis_names_keys_when_the_run_is_ours(recorded, wait_until):
    records = recorded("sigmoid_xavier_spiral.jsonl")

    class Live(ReplaySource):
        live = True

    app = VgtuiApp(RunConfig(device="cpu"), source_factory=lambda c: Live(records), fps=30)
    async with app.run_test(size=(160, 50)) as pilot:
        panel = app.query_one(DiagnosisPanel)
        await wait_until(pilot, lambda: "vanishing" in panel.text, "the vanishing diagnosis")
        assert "`a`" in panel.text or "`i`" in panel.text  # a key to press
    replay = VgtuiApp(
        RunConfig(device="cpu"), source_factory=lambda c: ReplaySource(records), fps=30
    )
    async with replay.run_test(size=(160, 50)) as pilot:
        panel = replay.query_one(DiagnosisPanel)
        await wait_until(pilot, lambda: "vanishing" in panel.text, "the vanishing diagnosis")
        assert "`" not in panel.text  # a recording: remedies in words


async def test_a_watched_models_log_is_described_by_its_model_not_a_default_config(
    tmp_path, wait_until
):
    import torch
    from torch import nn

    import vgtui

    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("encoder", nn.Sequential(nn.Linear(4, 8), nn.Tanh()))
    model.add_module("layers", nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    log = tmp_path / "watched.jsonl"
    with vgtui.watch(model, log=str(log), every=1, optimizer=opt) as probe:
        for _ in range(3):
            loss = model(torch.randn(16, 4)).pow(2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            probe.step(loss)
    app = log_app(log, "replay", fps=30)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot,
            lambda: app.latest is not None and app.latest.step == 3 and not app.dirty,
            "the last snapshot drawn",
        )
        line = status(app)
        assert "3 layers" in line and "Adam lr 0.01" in line and "cpu" in line
        assert "sigmoid" not in line and "spiral" not in line  # not the built-in defaults
        bars = app.query_one(GradientBars).text
        assert "layers.0" in bars and "Ls.0" not in bars  # names as the model has them
