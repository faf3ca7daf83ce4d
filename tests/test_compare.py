"""`vgtui compare` and ``c``: two real trainers side by side, keys on the focused side only, one
shared log scale, and a lesson's comparison step."""

from __future__ import annotations

import pytest

from vgtui.cli import main
from vgtui.commands.compare import parse_changes, sides
from vgtui.core.config import RunConfig
from vgtui.core.errors import ConfigError
from vgtui.lessons.lesson import LessonPlayer, parse_lesson
from vgtui.ui.app import VgtuiApp
from vgtui.ui.compare_screen import CompareApp, CompareScreen
from vgtui.ui.lesson_driver import LessonDriver

SMALL = RunConfig(depth=3, width=8, dataset="xor", device="cpu", every=5)
REAL_TIMEOUT = 60.0


def test_changes_are_typed_by_their_field():
    assert parse_changes("activation=relu, depth=4,residual=true,lr=0.5,every=auto") == {
        "activation": "relu",
        "depth": 4,
        "residual": True,
        "lr": 0.5,
        "every": "auto",
    }
    a, b = sides(SMALL, "activation=sigmoid", "activation=relu,init=he")
    assert (a.activation, a.init, b.activation, b.init) == ("sigmoid", "xavier", "relu", "he")
    assert a.replace(activation="relu", init="he") == b  # same data, seed, everything else


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--a", "colour=red"],
            "--a: 'colour=red' is not valid; expected KEY=VALUE with KEY one of",
        ),
        (["--b", "depth"], "--b: 'depth' is not valid"),
        (["--b", "depth=deep"], "--depth: 'deep' is not valid; expected a number"),
        (["--b", "activation=swish"], "--activation: 'swish' is not valid"),
    ],
)
def test_a_bad_compare_key_or_value_is_one_line_and_exit_2(argv, needle, capsys):
    assert main(["compare", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_unknown_field_names_the_valid_ones():
    with pytest.raises(ConfigError) as err:
        parse_changes("dept=3", "b")
    assert "activation, init, depth" in err.value.as_flag()


async def test_keys_act_on_the_focused_side_only(wait_until):
    app = CompareApp(SMALL, SMALL.replace(activation="relu"), fps=30.0)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        a, b = screen.panels["A"], screen.panels["B"]
        await wait_until(
            pilot, lambda: a.latest and b.latest, "both sides' snapshots", REAL_TIMEOUT
        )
        assert app.focused is a
        await pilot.press("i")  # side A: next initializer
        await wait_until(
            pilot,
            lambda: a.book.current.header.config["init"] == "he",
            "A's new run",
            REAL_TIMEOUT,
        )
        assert b.config.init == "xavier" and len(b.book.runs) == 1
        await pilot.press("tab", "plus")  # side B: one layer deeper
        await wait_until(
            pilot, lambda: b.book.current.header.config["depth"] == 4, "B's new run", REAL_TIMEOUT
        )
        assert a.config.depth == 3 and a.config.init == "he"
        # One log scale for both: the axis covers what either side needs.
        await wait_until(
            pilot,
            lambda: (
                a.gradients.span == b.gradients.span
                and a.gradients.span[0] <= min(p.gradients.log_range(p.latest)[0] for p in (a, b))
            ),
            "the shared scale",
        )
        curves = screen.curves
        labels = [line.label for line in curves.series_lines("loss", False)]
        assert labels == ["A: sigmoid/he", "B: relu/xavier"]
        pids = [a.source.pid, b.source.pid]
        assert None not in pids and pids[0] != pids[1]
        await pilot.press("q")
    assert a.source is None and b.source is None


async def test_c_forks_the_run_and_escape_comes_back(wait_until):
    app = VgtuiApp(SMALL, fps=30.0)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.snapshots_shown > 0, "a snapshot", REAL_TIMEOUT)
        await pilot.press("c")
        assert isinstance(app.screen, CompareScreen)
        assert app.paused  # the dashboard's own run waits
        panels = app.screen.panels
        assert panels["A"].config == panels["B"].config == app.config
        await wait_until(
            pilot,
            lambda: panels["A"].latest is not None and panels["B"].latest is not None,
            "both sides",
            REAL_TIMEOUT,
        )
        await pilot.press("escape")
        assert not isinstance(app.screen, CompareScreen)
        assert not app.paused
        await wait_until(pilot, lambda: panels["A"].source is None, "the sides to stop")


async def test_a_lesson_comparison_step_runs_both_sides_to_their_budget(wait_until):
    lesson = parse_lesson(
        """
        config = { depth = 3, width = 8, dataset = "xor", device = "cpu" }
        [[steps]]
        caption = "plain against residual"
        compare = { residual = true }
        steps = 10
        """
    )
    driver = LessonDriver(LessonPlayer(lesson))
    app = VgtuiApp(driver.first_config, fps=30.0, lesson=driver)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), "the comparison")
        screen = app.screen
        assert "plain against residual" in str(screen.query_one("#compare-caption").render())
        await wait_until(pilot, lambda: driver.finished, "both sides' budget", REAL_TIMEOUT)
        a, b = screen.panels["A"], screen.panels["B"]
        assert a.latest.step == b.latest.step == 10
        assert (a.config.residual, b.config.residual) == (False, True)
        assert "lesson is over" in str(screen.query_one("#compare-caption").render())
        await pilot.press("escape")
        assert app.screen is screen  # a lesson's comparison is not closed by escape
