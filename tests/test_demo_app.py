"""Lessons in the real dashboard: captions follow the steps, keys move through them, screenshots
are saved at each step's end, and a recording made without a terminal replays to the last step."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyte

from vgtui.lessons.lesson import LessonPlayer, load_lesson
from vgtui.ui.app import VgtuiApp
from vgtui.ui.lesson_driver import LessonDriver

REAL_TIMEOUT = 60.0


def caption(app: VgtuiApp) -> str:
    return app.lesson.caption().plain


async def test_a_lesson_plays_its_steps_and_the_keys_move_through_them(wait_until, tmp_path):
    lesson = load_lesson("xor")
    driver = LessonDriver(LessonPlayer(lesson, cap=15), svg_dir=str(tmp_path))
    app = VgtuiApp(driver.first_config.replace(device="cpu"), fps=30.0, lesson=driver)
    async with app.run_test(size=(120, 40)) as pilot:
        assert "step 1/2" in caption(app) and lesson.steps[0].caption in caption(app)
        # Step 1 lasts 15 training steps here: the lesson moves on by itself.
        await wait_until(pilot, lambda: "step 2/2" in caption(app), "step 2", REAL_TIMEOUT)
        await wait_until(
            pilot,
            lambda: app.book.current.header.config["activation"] == "relu",
            "step 2's run",
            REAL_TIMEOUT,
        )
        assert app.config.depth == 5 and lesson.steps[1].caption in caption(app)
        await wait_until(pilot, lambda: driver.finished, "the lesson's end", REAL_TIMEOUT)
        assert "the lesson is over" in caption(app)
        assert sorted(os.listdir(tmp_path)) == ["xor-step1.svg", "xor-step2.svg"]
        assert "The deep XOR net" in (tmp_path / "xor-step2.svg").read_text().replace("&#160;", " ")
        await pilot.press("left")  # back to step 1: its run starts again (and then step 2's)
        await wait_until(
            pilot,
            lambda: (
                [r.header.config["activation"] for r in app.book.runs][:3]
                == ["sigmoid", "relu", "sigmoid"]
            ),
            "step 1's run again",
            REAL_TIMEOUT,
        )
        await wait_until(pilot, lambda: driver.finished, "the lesson's end again", REAL_TIMEOUT)
        await pilot.press("space")
        assert app.paused and driver.player.paused_at is not None  # the step's clock stops too
        await pilot.press("space")
        assert not app.paused and driver.player.paused_at is None


async def test_the_lesson_keys_do_nothing_without_a_lesson(wait_until):
    from vgtui.core.config import RunConfig
    from vgtui.ui.sources.trainer import ReplaySource

    app = VgtuiApp(RunConfig(), source_factory=lambda c: ReplaySource([]), fps=30.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("right", "left")
        assert app.lesson is None and not app.query("#caption")
        lesson_keys = [
            key
            for key, b in app.active_bindings.items()
            if b.binding.action.startswith("lesson") and b.enabled
        ]
        assert lesson_keys == []


def test_a_recording_without_a_terminal_replays_to_the_last_step(tmp_path):
    cast = tmp_path / "xor.cast"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vgtui",
            "demo",
            "xor",
            "--step-cap",
            "20",
            "--device",
            "cpu",
            "--record",
            str(cast),
            "--size",
            "100x30",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # everything went to the recording
    lines = cast.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    events = [json.loads(line) for line in lines[1:]]
    times = [t for t, _, _ in events]
    assert times == sorted(times) and all(kind == "o" for _, kind, _ in events)
    screen = pyte.Screen(100, 30)
    stream = pyte.Stream(screen)
    for _, _, data in events:
        stream.feed(data)
    shown = "\n".join(screen.display)
    assert "step 2/2" in shown and "5 ReLU layers" in shown
    assert "relu · uniform · 5x10" in shown and "lesson is over" in shown
