"""Numbers that are not numbers: every number from a flag, a lesson or a `compare` key is finite and
within its range, or it is refused in one line that names the range, with exit code 2, before
anything starts."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from vgtui import cli
from vgtui.commands import demo, headless
from vgtui.core.config import RANGES, RunConfig
from vgtui.lessons.lesson import LessonError, load_lesson
from vgtui.ui import app, compare_screen, log_app
from vgtui.ui.framerate import FPS
from vgtui.ui.sources.logs import SPEED

HUGE = "9" * 30


@pytest.fixture
def nothing_starts(monkeypatch):
    """Every way a command could start a run or a screen fails the test instead."""

    def started(*args, **kwargs):
        raise AssertionError("a run or a screen started")

    for module, name in [
        (app, "run_app"),
        (app, "run_lesson_app"),
        (compare_screen, "run_compare_app"),
        (log_app, "run_log_app"),
        (headless, "run_headless"),
        (demo, "play_headless"),
    ]:
        monkeypatch.setattr(module, name, started)


def run_main(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own errors exit from inside the parser
        code = exit_.code
    return code, capsys.readouterr().err


FLAGS = [
    (["--fps", "nan"], "--fps: 'nan' is not valid; expected a number in [0.5, 60]"),
    (["--fps", "inf"], "--fps: 'inf' is not valid"),
    (["--fps", "0"], "--fps: '0' is not valid"),
    (["--fps", "-0"], "--fps: '-0' is not valid"),
    (["--fps", "1e308"], "--fps: '1e308' is not valid"),
    (["demo", "xor", "--fps", "0"], "--fps: '0' is not valid; expected a number in [0.5, 60]"),
    (["demo", "xor", "--fps", "nan"], "--fps: 'nan' is not valid"),
    (["compare", "--fps", "0"], "--fps: '0' is not valid; expected a number in [0.5, 60]"),
    (["compare", "--a", "activation=relu", "--fps", "inf"], "--fps: 'inf' is not valid"),
    (["demo", "xor", "--step-cap", "0"], "--step-cap: '0' is not valid; expected an integer: 1"),
    (["demo", "xor", "--step-cap", HUGE], "--step-cap: '999"),
    (["--lr", "1e308"], "--lr: 1e+308 is not valid; expected a number in (0, 10000]"),
    (["--lr", "nan"], "--lr: nan is not valid; expected a number in (0, 10000]"),
    (["--lr", "-0"], "--lr: -0.0 is not valid; expected a number in (0, 10000]"),
    (["--weight-decay", "1e308"], "--weight-decay: 1e+308 is not valid; expected a number in"),
    (["--grad-clip", "inf"], "--grad-clip: inf is not valid; expected a number in [0, 1e9]"),
    (["--steps", "-1"], "--steps: -1 is not valid; expected an integer: 0 (until stopped) or more"),
    (["--steps", HUGE], "0 (until stopped) or more, at most 2^62"),
    (
        ["--activation", "leaky_relu:1e308"],
        "--activation: 'leaky_relu:1e308' is not valid; expected leaky_relu:slope, where slope "
        "is a number in [0, 10]",
    ),
    (["--activation", "elu:nan"], "elu:alpha, where alpha is a number in (0, 10]"),
    (["--activation", "maxout:1e308"], "maxout:k, where k is an integer in 1..16"),
    (
        ["--init", "uniform:1e308"],
        "--init: 'uniform:1e308' is not valid; expected uniform:a, where a is a number in (0, 100]",
    ),
    (["--init", "normal:inf"], "normal:std, where std is a number in (0, 100]"),
    (["--init", "constant:-1e308"], "constant:value, where value is a number in [-100, 100]"),
    (["compare", "--a", "lr=nan"], "--lr: nan is not valid; expected a number in (0, 10000]"),
    (["compare", "--b", "lr=1e308"], "--lr: 1e+308 is not valid"),
    (["compare", "--a", "init=normal:1e308"], "normal:std, where std is a number in (0, 100]"),
    (["compare", "--b", "steps=-1"], "--steps: -1 is not valid; expected an integer: 0"),
]


@pytest.mark.parametrize(("argv", "needle"), FLAGS)
def test_a_bad_number_in_a_flag_or_a_compare_key_is_one_line_and_exit_2(
    argv, needle, capsys, nothing_starts
):
    code, err = run_main(argv, capsys)
    assert code == 2, err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("mode", "flag", "value", "needle"),
    [
        ("replay", "--speed", "nan", "--speed: 'nan' is not valid; expected a number from 1/64"),
        ("replay", "--speed", "inf", "--speed: 'inf' is not valid"),
        ("replay", "--speed", "0", "--speed: '0' is not valid"),
        ("replay", "--fps", "nan", "--fps: 'nan' is not valid"),
        ("attach", "--fps", "1e308", "--fps: '1e308' is not valid"),
    ],
)
def test_a_bad_replay_or_attach_number_is_one_line_and_exit_2(
    capsys, nothing_starts, mode, flag, value, needle
):
    log = FIXTURES / "relu_he_spiral.jsonl"
    code, err = run_main([mode, str(log), flag, value], capsys)
    assert code == 2 and needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


LESSONS = [
    ("seconds = nan", "seconds = nan; expected a number in (0, 86400]"),
    ("seconds = inf", "seconds = inf; expected a number in (0, 86400]"),
    ("seconds = 1e308", "seconds = 1e+308; expected"),
    ("steps = 9223372036854775807", "steps = 9223372036854775807; expected an integer: 1 or more"),
    ('until = "loss < 0.1"\nmax_steps = 0', "max_steps = 0; expected an integer: 1 or more"),
    ('until = "loss < 1e999"', "until = 'loss < 1e999'; expected a finite number after <"),
    (
        "steps = 5\nconfig = { lr = nan }",
        "step 1: --lr: nan is not valid; expected a number in (0, 10000]",
    ),
    ("steps = 5\nconfig = { lr = 1e308 }", "step 1: --lr: 1e+308 is not valid"),
    (
        'steps = 5\nconfig = { activation = "leaky_relu:1e308" }',
        "step 1: --activation: 'leaky_relu:1e308' is not valid",
    ),
]


@pytest.mark.parametrize(("length", "needle"), LESSONS)
def test_a_bad_number_in_a_lesson_is_one_line_and_exit_2(
    tmp_path, capsys, nothing_starts, length, needle
):
    path = tmp_path / "mine.toml"
    path.write_text(f'[[steps]]\ncaption = "a"\n{length}\n')
    with pytest.raises(LessonError) as err:
        load_lesson(str(path))
    assert str(err.value).startswith(f"{path}: step 1") and needle in str(err.value)
    code, err_text = run_main(["demo", str(path), "--headless"], capsys)
    assert code == 2 and needle in err_text
    assert err_text.count("\n") == 1 and "Traceback" not in err_text


def test_the_ends_of_each_range_are_accepted():
    config = RunConfig(
        lr=1e4,
        weight_decay=1000,
        grad_clip=1e9,
        activation="leaky_relu:10",
        init="uniform:100",
        steps=RANGES["steps"].hi,
    )
    assert config.lr == 1e4 and config.steps == 2**62
    assert RunConfig(activation="maxout:16", init="constant:-100").activation == "maxout:16"
    assert FPS.parse("0.5") == 0.5 and FPS.parse("60") == 60
    assert SPEED.parse("4096") == 4096 and SPEED.parse(str(1 / 64)) == 1 / 64
    for text in ("0.49", "60.01"):
        with pytest.raises(Exception, match="expected a number in"):
            FPS.parse(text)
