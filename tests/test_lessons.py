"""Lessons: the shipped ones parse and play to their end headless, deterministically; every bad
lesson is one line naming the file and the step; `--record` and `--size` are checked first."""

from __future__ import annotations

import pytest

from vgtui.cli import main
from vgtui.commands.demo import play_headless
from vgtui.core.records import Snapshot
from vgtui.lessons.lesson import (
    Condition,
    LessonError,
    LessonPlayer,
    lesson_names,
    load_lesson,
    parse_lesson,
)

CAP = 12  # training steps per lesson step in tests
EXPECTED = [
    "vanishing",
    "xor",
    "init-histograms",
    "dying-relu",
    "exploding",
    "batch-norm",
    "residual",
    "mnist",
]


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_lists_every_lesson_one_line_each(capsys):
    assert lesson_names() == EXPECTED
    code, out, _ = run_main(["demo"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == EXPECTED
    for line, name in zip(lines, EXPECTED, strict=True):
        assert load_lesson(name).title in line


@pytest.mark.parametrize("name", EXPECTED)
def test_each_lesson_plays_to_its_end_headless_with_its_captions_in_order(name, monkeypatch):
    monkeypatch.setenv("VGTUI_OFFLINE", "1")  # mnist falls back to the bundled digits
    lesson = load_lesson(name)
    printed: list[str] = []
    results = play_headless(lesson, cap=CAP, out=printed.append)
    assert [r.number for r in results] == [s.number for s in lesson.steps]
    captions = [line for line in printed if line.startswith("[")]
    assert len(captions) == len(lesson.steps)
    for line, result in zip(captions, results, strict=True):
        assert line.endswith(result.caption)
    for result, step in zip(results, lesson.steps, strict=True):
        snaps = [r for r in result.records if isinstance(r, Snapshot)]
        assert snaps and snaps[-1].step <= CAP
        header = result.records[0]
        config = step.fallback if result.caption != step.caption else step.config
        for key in ("activation", "init", "depth", "width", "dataset", "norm", "residual"):
            assert header.config[key] == getattr(config, key), (name, step.number, key)
        assert bool(result.compare) == (step.compare is not None)


def test_the_mnist_lesson_says_when_it_falls_back_to_digits(monkeypatch, tmp_path):
    monkeypatch.setenv("VGTUI_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no MNIST files there
    [result] = play_headless(load_lesson("mnist"), cap=3, out=lambda _: None)
    assert "bundled 8x8 digits" in result.caption
    assert result.records[0].config["dataset"] == "digits"


def test_a_lesson_is_deterministic():
    lesson = load_lesson("vanishing")

    def numbers():
        results = play_headless(lesson, cap=CAP, out=lambda _: None)
        return [
            (s.step, s.loss, s.accuracy, [x.grad_norm for x in s.layers])
            for r in results
            for s in r.records
            if isinstance(s, Snapshot)
        ]

    first, second = numbers(), numbers()
    assert first == second and len(first) >= 4


def test_the_player_follows_lengths_and_pauses_stop_the_clock():
    lesson = parse_lesson(
        """
        [[steps]]
        caption = "a"
        steps = 30
        [[steps]]
        caption = "b"
        config = { activation = "relu" }
        until = "loss < 0.5"
        max_steps = 100
        [[steps]]
        caption = "c"
        seconds = 2
        """
    )
    now = [0.0]
    player = LessonPlayer(lesson, clock=lambda: now[0])
    assert player.run_config().steps == 30 and player.run_config().every == 10
    assert not player.over(None, ended=False) and player.over(None, ended=True)
    assert player.advance()
    assert player.run_config().activation == "relu" and player.run_config().steps == 100
    snap = Snapshot(step=10, loss=0.7, accuracy=None, lr=0.1, elapsed_s=0.0, layers=[])
    assert not player.over(snap, ended=False)
    assert player.over(Snapshot(10, 0.4, None, 0.1, 0.0, []), ended=False)
    assert player.advance()
    player.begin()
    now[0] = 1.5
    player.pause(True)
    now[0] = 10.0  # paused time does not count
    assert not player.over(None, ended=False)
    player.pause(False)
    now[0] = 10.6
    assert player.over(None, ended=False)
    assert not player.advance() and player.advance(-1) and player.step.caption == "b"
    assert "step 2/3 · b" in player.banner()


def test_a_cap_shortens_every_step():
    lesson = load_lesson("vanishing")
    assert [LessonPlayer(lesson, cap=5).run_config().steps] == [5]
    assert Condition("loss", "<", 0.1).holds(Snapshot(1, 0.05, None, 0.1, 0.0, []))


# ---- bad lessons and bad flags ------------------------------------------------------------------


def write(tmp_path, text: str) -> str:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('title = "x"\n[[steps]\ncaption = "a"', "not valid TOML"),
        ('[[steps]]\ncaption = "a"\nsteps = 10\nconfig = { lr = -1 }', "step 1: --lr: -1"),
        ('[[steps]]\ncaption = "a"\nsteps = 10\n[[steps]]\ncaption = "b"', "step 2 has no length"),
        ('[[steps]]\ncaption = "a"\nsteps = 1\nseconds = 2', "more than one length"),
        ('[[steps]]\ncaption = "a"\nuntil = "loss ~ 3"', "until = 'loss ~ 3'"),
        ('[[steps]]\ncaption = "a"\nsteps = 0', "steps = 0; expected an integer: 1 or more"),
        (
            '[[steps]]\ncaption = "a"\nsteps = 5\nconfig = { colour = 1 }',
            "'colour' is not a config",
        ),
        ('[[steps]]\ncaption = "a"\nsteps = 5\ncompare = { dept = 3 }', "'dept' is not a config"),
        ("[[steps]]\nsteps = 5", "step 1 has no caption"),
        ('title = "no steps"', "at least one [[steps]]"),
        ('[[steps]]\ncaption = "a"\nsteps = 5\nspeed = 2', "unknown key 'speed'"),
        (
            'config = { data_dir = "/tmp/x" }\n[[steps]]\ncaption = "a"\nsteps = 5',
            "config: a lesson may not set 'data_dir': it is the user's choice (--data-dir)",
        ),
        (
            '[[steps]]\ncaption = "a"\nsteps = 5\nfallback = { data_dir = "d" }',
            "step 1: a lesson may not set 'data_dir'",
        ),
    ],
)
def test_a_bad_lesson_is_one_line_and_exit_code_2(tmp_path, capsys, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(LessonError) as err:
        load_lesson(path)
    assert needle in str(err.value) and str(err.value).startswith(path)
    code, _, stderr = run_main(["demo", path, "--headless"], capsys)
    assert code == 2 and needle in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr


def test_the_data_directory_and_device_are_the_users_flags_in_every_run(capsys, monkeypatch):
    from vgtui.commands import demo

    played = []
    monkeypatch.setattr(demo, "play_headless", lambda lesson, cap: played.append(lesson))
    argv = ["demo", "mnist", "--headless", "--data-dir", "/data/mnist", "--device", "cpu"]
    code, _, err = run_main(argv, capsys)
    assert code == 0, err
    step = played[0].steps[0]
    assert step.fallback is not None
    for config in (step.config, step.fallback):
        assert (config.data_dir, config.device) == ("/data/mnist", "cpu")


def test_a_toml_error_names_the_line_and_column(tmp_path):
    path = write(tmp_path, '[[steps]]\ncaption = "a"\nsteps = = 3\n')
    with pytest.raises(LessonError, match=r"line 3, column \d+"):
        load_lesson(path)


def test_an_unknown_lesson_lists_the_lessons(capsys):
    code, _, err = run_main(["demo", "vanish"], capsys)
    assert code == 2 and "no lesson 'vanish'" in err and ", ".join(EXPECTED) in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--record", "/etc/hostname/x.cast"], "--record: cannot write /etc/hostname/x.cast"),
        (["--record", "{tmp}/x.cast", "--size", "100by30"], "--size: '100by30' is not valid"),
        (["--record", "{tmp}/x.cast", "--size", "60x20"], "at least 80x24"),
        (["--size", "100x30"], "only with --record"),
        (["--record"], "--record: expected a value"),
    ],
)
def test_bad_record_flags_exit_2_before_anything_runs(tmp_path, capsys, argv, needle):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run_main(["demo", "xor", *argv], capsys)
    assert code == 2 and needle in err and err.count("\n") == 1
    assert out == "" and not (tmp_path / "x.cast").exists()


@pytest.mark.parametrize("headless", [False, True])
def test_svg_onto_a_file_is_one_line_in_every_mode(tmp_path, capsys, monkeypatch, headless):
    def run(*args, **kwargs):
        pytest.fail("the lesson was played")

    monkeypatch.setattr("vgtui.ui.app.run_lesson_app", run)
    monkeypatch.setattr("vgtui.commands.demo.play_headless", run)
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    mode = ["--headless"] if headless else []
    for svg, needle in [
        (notes, f"--svg: {notes} is a file; give a directory for the screenshots"),
        (notes / "shots", f"--svg: cannot create the directory {notes / 'shots'}"),
    ]:
        if headless:  # no screens to save: --svg is refused whatever its path
            needle = "--svg saves the dashboard's screens, and --headless has none"
        code, out, err = run_main(["demo", "xor", "--svg", str(svg), *mode], capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert needle in err
    assert notes.read_text() == "mine"


def test_demo_headless_prints_the_outcome_of_each_step(capsys):
    code, out, _ = run_main(["demo", "xor", "--headless", "--step-cap", "5"], capsys)
    assert code == 0
    assert "[1/2] The deep XOR net" in out and "[2/2] 5 ReLU layers" in out
    assert out.count("step 5: loss") == 2
