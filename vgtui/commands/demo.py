"""`vgtui demo`: list the lessons, play one in the dashboard, or play it headless.

``vgtui demo`` lists the lessons, one line each; ``vgtui demo NAME`` (or a path to a TOML file)
opens the dashboard and plays it; ``--headless`` prints each step's caption and what the run did.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from vgtui.core.diagnosis import diagnose
from vgtui.core.errors import ConfigError, DataError
from vgtui.core.records import End, Record, Snapshot
from vgtui.core.text import fmt_num, safe_text
from vgtui.lessons.lesson import (
    STEP_CAP,
    Lesson,
    LessonError,
    LessonPlayer,
    lesson_names,
    load_lesson,
)
from vgtui.ui.framerate import FPS


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.description = (
        "Play a lesson: captions say what to look at while the dashboard trains. "
        "Keys: space pauses, right/left go to the next/previous step, q quits."
    )
    parser.add_argument("lesson", nargs="?", help="a lesson's name, or a path to your own .toml")
    parser.add_argument("--headless", action="store_true", help="no dashboard: print the steps")
    parser.add_argument(
        "--step-cap",
        type=STEP_CAP.parse,
        metavar="N",
        help="end every step after at most N training steps",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--data-dir",
        default="",
        metavar="DIR",
        help="directory with the MNIST IDX files (default: the user cache)",
    )
    parser.add_argument(
        "--exit-at-end", action="store_true", help="quit the dashboard when the lesson ends"
    )
    parser.add_argument("--svg", metavar="DIR", help="save an SVG screenshot at each step's end")
    parser.add_argument("--fps", type=FPS.parse, help=f"dashboard frames per second ({FPS})")


def print_lessons() -> None:
    for name in lesson_names():
        lesson = load_lesson(name)
        print(f"{name:<16} {lesson.title}: {lesson.summary}")


def run(args: argparse.Namespace) -> int:
    if args.lesson is None:
        print_lessons()
        return 0
    try:
        lesson = load_lesson(args.lesson)
        lesson = with_user_fields(lesson, device=args.device, data_dir=args.data_dir)
    except (LessonError, ConfigError) as err:
        return _fail(err.as_flag() if isinstance(err, ConfigError) else str(err))
    if args.svg is not None and (why := svg_dir_problem(args.svg, args.headless)):
        return _fail(why)
    if args.headless:
        try:
            play_headless(lesson, cap=args.step_cap)
        except (ConfigError, DataError) as err:
            return _fail(err.as_flag() if isinstance(err, ConfigError) else str(err))
        return 0
    from vgtui.ui.app import run_lesson_app

    return run_lesson_app(
        LessonPlayer(lesson, cap=args.step_cap),
        fps=args.fps,
        exit_at_end=args.exit_at_end,
        svg_dir=args.svg,
    )


def svg_dir_problem(path: str, headless: bool) -> str | None:
    """Why ``--svg DIR`` cannot be used (one line), or None once DIR exists as a directory that
    can be written: checked before anything runs, not when the first step ends."""
    p = Path(path)
    if headless:
        return "--svg saves the dashboard's screens, and --headless has none; drop one of them"
    if p.exists() and not p.is_dir():
        return f"--svg: {p} is a file; give a directory for the screenshots"
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return f"--svg: cannot create the directory {p} ({err.strerror or err})"
    if not os.access(p, os.W_OK | os.X_OK):
        return f"--svg: cannot write in {p} (permission denied)"
    return None


def _fail(message: str) -> int:
    print(f"vgtui demo: error: {safe_text(message)}", file=sys.stderr)
    return 2


def with_user_fields(lesson: Lesson, **fields: str) -> Lesson:
    """The lesson with every run of every step (comparisons and fallbacks too) given the user's
    own settings (``device``, ``data_dir``: the flags, never the lesson's), validated."""

    def move(config):
        return None if config is None else config.replace(**fields)

    steps = [
        replace(s, config=move(s.config), compare=move(s.compare), fallback=move(s.fallback))
        for s in lesson.steps
    ]
    return replace(lesson, steps=steps)


@dataclass
class StepResult:
    """What one lesson step's run (and its comparison's) produced."""

    number: int
    caption: str
    records: list[Record] = field(default_factory=list)
    compare: list[Record] = field(default_factory=list)

    @staticmethod
    def last_snapshot(records: list[Record]) -> Snapshot | None:
        return next((r for r in reversed(records) if isinstance(r, Snapshot)), None)


def _train(player: LessonPlayer, config) -> list[Record]:
    """Run one side of the current step to its end, as the dashboard would."""
    from vgtui.trainer.trainer import Trainer

    trainer = Trainer(config)
    records: list[Record] = [trainer.header]
    latest: Snapshot | None = None
    player.begin()
    while True:
        batch = trainer.step()
        records += batch
        latest = next((r for r in reversed(batch) if isinstance(r, Snapshot)), latest)
        ended = any(isinstance(r, End) for r in batch)
        if player.over(latest if batch else None, ended):
            break
    if trainer.end is None:
        records.append(trainer.stop("stopped"))
    return records


def play_headless(
    lesson: Lesson, cap: int | None = None, out: Callable[[str], None] = print
) -> list[StepResult]:
    """Play every step of ``lesson`` without the dashboard, printing captions and outcomes."""
    player = LessonPlayer(lesson, cap=cap)
    out(f"{lesson.name}: {lesson.title}")
    results = []
    while True:
        step = player.step
        try:
            records = _train(player, player.run_config())
        except DataError:
            if not player.fall_back():
                raise
            records = _train(player, player.run_config())
        out(f"[{step.number}/{len(lesson.steps)}] {player.caption}")
        result = StepResult(step.number, player.caption, records)
        if step.compare is not None:
            result.compare = _train(player, player.compare_config())
        for label, records in (("", result.records), ("compared: ", result.compare)):
            snaps = [r for r in records if isinstance(r, Snapshot)]
            if snaps:
                out(f"      {label}{outcome(snaps[-1])}")
                findings = diagnose(records[0], snaps)
                if findings:
                    out(f"      {safe_text(findings[0].line)}")
        results.append(result)
        if not player.advance():
            return results


def outcome(snap: Snapshot) -> str:
    """``step 600: loss 0.699, accuracy 34%`` (a forward-only run: the activations' spread)."""
    parts = [f"step {snap.step:,}"]
    if snap.loss is not None:
        parts.append(f"loss {fmt_num(snap.loss)}")
    if snap.accuracy is not None:
        parts.append(f"accuracy {100 * snap.accuracy:.0f}%")
    text = f"{parts[0]}: " + ", ".join(parts[1:]) if len(parts) > 1 else parts[0]
    stds = [x.act.std for x in snap.layers[:-1] if x.act is not None]
    if snap.loss is None and len(stds) >= 2 and stds[0]:
        text += f"; activation std {fmt_num(stds[0])} in layer 1, {fmt_num(stds[-1])} in the last"
    return text
