"""Lessons: the classic demonstrations as data, and a player that knows when each step is over.

A lesson is a TOML file (``vgtui/lessons/*.toml``, or a user's own) of steps. Each step has a
caption (what to look at now, and why), a configuration (changes to the previous step's) and a
length: a number of training steps, a number of seconds, or a condition such as ``loss < 0.1``
with a cap. A step can also be a comparison: ``compare`` holds the other side's changes.

```toml
title = "Vanishing gradients"
summary = "A deep sigmoid net stalls; ReLU and He init make it learn."
config = { activation = "sigmoid", init = "xavier", depth = 10 }   # the first step's start

[[steps]]
caption = "Layer 1 gets a millionth of the output layer's gradient."
steps = 600

[[steps]]
caption = "ReLU lets the gradient through."
config = { activation = "relu" }
until = "loss < 0.1"
max_steps = 3000
```

Pure data and logic: no torch, no Textual. The dashboard and the headless player both drive
`LessonPlayer`, so a lesson behaves the same in both, and with the same seed gives the same
numbers on a CPU (lessons use a fixed snapshot interval, never ``every = "auto"``).
"""

from __future__ import annotations

import dataclasses
import operator
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vgtui.core.config import MAX_STEPS, RunConfig
from vgtui.core.errors import ConfigError
from vgtui.core.ranges import FINITE, Range
from vgtui.core.records import Snapshot
from vgtui.core.text import safe_text
from vgtui.runlog.regular_files import NotRegularFile, open_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LESSON_DIR = Path(__file__).parent
LESSON_EVERY = 10  # snapshot interval of lessons that set none: reproducible numbers
UNTIL_CAP = 5000  # an ``until`` step without ``max_steps`` ends after this many steps
MAX_LESSON_BYTES = 1 << 20  # a bigger file is refused unread: lessons are a few KB
# Training steps of a lesson step, and demo's --step-cap.
STEP_CAP = Range(1, MAX_STEPS, integer=True, words="an integer: 1 or more, at most 2^62")
SECONDS = Range(0, 86400, low_open=True)  # a step's length in seconds: at most a day
# Config fields a lesson may not set: the data directory is the user's (--data-dir), never a
# place a lesson file from elsewhere chooses to create and download into.
USER_ONLY = {"data_dir"}
_CONDITION = re.compile(
    r"^\s*(loss|accuracy|val_loss|val_accuracy)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$"
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_STEP_KEYS = {
    "caption",
    "config",
    "compare",
    "steps",
    "seconds",
    "until",
    "max_steps",
    "fallback",
    "fallback_caption",
}
_LESSON_KEYS = {"title", "summary", "config", "steps"}
FIELDS = [f.name for f in dataclasses.fields(RunConfig)]


class LessonError(Exception):
    """A lesson cannot be found or read; the message is one line naming the file and the step."""


@dataclass(frozen=True)
class Condition:
    """``loss < 0.1``: holds on a snapshot whose value of ``series`` compares so."""

    series: str
    op: str
    value: float

    def holds(self, snap: Snapshot) -> bool:
        value = getattr(snap, self.series)
        return value is not None and _OPS[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{self.series} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Length:
    """How long a step lasts: ``steps``, ``seconds``, or ``until`` a condition (``max_steps``)."""

    steps: int | None = None
    seconds: float | None = None
    until: Condition | None = None
    max_steps: int | None = None

    def budget(self, cap: int | None = None) -> int:
        """The most training steps the step may take (0: no limit but the clock), within ``cap``."""
        limit = self.steps or self.max_steps or (UNTIL_CAP if self.until else 0)
        if cap:
            limit = min(limit, cap) if limit else cap
        return limit

    def __str__(self) -> str:
        if self.steps:
            return f"{self.steps:,} steps"
        if self.seconds:
            return f"{self.seconds:g} s"
        return f"until {self.until} (at most {self.budget():,} steps)"


@dataclass(frozen=True)
class Step:
    """One step of a lesson: its whole configuration (changes applied) and its length."""

    number: int
    caption: str
    config: RunConfig
    length: Length
    compare: RunConfig | None = None  # the other side, when the step is a comparison
    fallback: RunConfig | None = None  # what to train when ``config`` cannot start (no data)
    fallback_caption: str = ""


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    summary: str
    steps: list[Step]
    source: str


# ---- reading ------------------------------------------------------------------------------------


def lesson_names() -> list[str]:
    """The shipped lessons, in teaching order (their files are numbered: ``1-vanishing.toml``)."""
    return [_name(p) for p in sorted(LESSON_DIR.glob("*.toml"))]


def _name(path: Path) -> str:
    return path.stem.split("-", 1)[1] if path.stem[:1].isdigit() else path.stem


def load_lesson(name_or_path: str) -> Lesson:
    """A shipped lesson by name, or a user's TOML file by path; LessonError (one line) if not."""
    shipped = {_name(p): p for p in LESSON_DIR.glob("*.toml")}
    if name_or_path in shipped:
        path = shipped[name_or_path]
    elif name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
    else:
        raise LessonError(
            f"no lesson {name_or_path!r}; the lessons are: {', '.join(lesson_names())} "
            "(or give a path to your own .toml)"
        )
    try:
        with open_regular(path) as f:
            data = f.read(MAX_LESSON_BYTES + 1)
        if len(data) > MAX_LESSON_BYTES:
            raise LessonError(
                f"{path} is over {MAX_LESSON_BYTES >> 20} MiB: too big to be a lesson (a .toml)"
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise LessonError(f"{path}: no such file") from None
    except NotRegularFile as err:
        raise LessonError(f"{err}; a lesson is a .toml file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise LessonError(f"{path}: cannot read it ({err})") from None
    return parse_lesson(text, str(path), _name(path))


def parse_lesson(text: str, source: str = "<lesson>", name: str = "lesson") -> Lesson:
    """Parse and validate a lesson; every problem is a LessonError naming the file and step.
    What it shows (its name, title, summary and captions) is made safe to print (`safe_text`):
    a lesson may come from anywhere."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LessonError(f"{source}: not valid TOML: {err}") from None
    _no_unknown(data, _LESSON_KEYS, source, "the lesson")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LessonError(f"{source}: a lesson needs at least one [[steps]] table")
    config = _apply(RunConfig(every=LESSON_EVERY), data.get("config", {}), source, "config")
    steps = []
    for number, raw in enumerate(raw_steps, start=1):
        where = f"step {number}"
        if not isinstance(raw, dict):
            raise LessonError(f"{source}: {where} must be a table ([[steps]])")
        _no_unknown(raw, _STEP_KEYS, source, where)
        caption = raw.get("caption")
        if not isinstance(caption, str) or not caption.strip():
            raise LessonError(f"{source}: {where} has no caption")
        config = _apply(config, raw.get("config", {}), source, where)
        compare = _apply(config, raw["compare"], source, where) if "compare" in raw else None
        fallback = _apply(config, raw["fallback"], source, where) if "fallback" in raw else None
        fallback_caption = raw.get("fallback_caption", caption)
        if not isinstance(fallback_caption, str):
            raise LessonError(f"{source}: {where}: fallback_caption must be a string")
        length = _length(raw, source, where)
        caption, fallback_caption = (
            safe_text(text.strip(), newlines=True) for text in (caption, fallback_caption)
        )
        steps.append(Step(number, caption, config, length, compare, fallback, fallback_caption))
    title = data.get("title", name)
    summary = data.get("summary", "")
    if not isinstance(title, str) or not isinstance(summary, str):
        raise LessonError(f"{source}: title and summary must be strings")
    return Lesson(safe_text(name), safe_text(title), safe_text(summary), steps, source)


def _no_unknown(table: dict, known: set[str], source: str, where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise LessonError(
            f"{source}: {where}: unknown key {unknown[0]!r}; expected {', '.join(sorted(known))}"
        )


def _apply(config: RunConfig, changes: Any, source: str, where: str) -> RunConfig:
    """``config`` with ``changes`` (a TOML table of config fields) applied and validated."""
    if not isinstance(changes, dict):
        raise LessonError(f"{source}: {where}: config must be a table, like {{ depth = 5 }}")
    for key in changes:
        if key in USER_ONLY:
            raise LessonError(
                f"{source}: {where}: a lesson may not set {key!r}: it is the user's choice "
                f"(--{key.replace('_', '-')})"
            )
        if key not in FIELDS:
            raise LessonError(
                f"{source}: {where}: {key!r} is not a config field; expected one of "
                + ", ".join(f for f in FIELDS if f not in USER_ONLY)
            )
    try:
        return config.replace(**changes)
    except ConfigError as err:
        raise LessonError(f"{source}: {where}: {err.as_flag()}") from None


def _length(raw: dict, source: str, where: str) -> Length:
    given = [k for k in ("steps", "seconds", "until") if k in raw]
    if len(given) != 1:
        problem = "has no length" if not given else "has more than one length"
        raise LessonError(
            f"{source}: {where} {problem}: give one of steps = N, seconds = S or "
            'until = "loss < 0.1" (with max_steps = N)'
        )
    steps, seconds, until, max_steps = (
        raw.get(k) for k in ("steps", "seconds", "until", "max_steps")
    )
    for key, value, valid in (
        ("steps", steps, STEP_CAP),
        ("seconds", seconds, SECONDS),
        ("max_steps", max_steps, STEP_CAP),
    ):
        if value is not None and value not in valid:
            raise LessonError(f"{source}: {where}: {key} = {value!r}; expected {valid}")
    condition = None
    if until is not None:
        match = _CONDITION.match(until) if isinstance(until, str) else None
        try:
            condition = Condition(match[1], match[2], float(match[3])) if match else None
        except ValueError:
            condition = None
        if condition is None:
            raise LessonError(
                f"{source}: {where}: until = {until!r}; expected a condition like "
                '"loss < 0.1" on loss, accuracy, val_loss or val_accuracy'
            )
        if condition.value not in FINITE:
            raise LessonError(
                f"{source}: {where}: until = {until!r}; expected {FINITE} after {match[2]}"
            )
    return Length(steps, float(seconds) if seconds else None, condition, max_steps)


# ---- playing ------------------------------------------------------------------------------------


class LessonPlayer:
    """Where a lesson is, and whether its current step is over.

    The caller starts a run of `run_config()` for the current step (and of `compare_config()`
    beside it for a comparison), feeds it the run's snapshots and end through `over`, and calls
    `advance` when `over` says so. Pausing stops a step's clock. ``cap`` (a preview or a test)
    shortens every step to at most that many training steps.
    """

    def __init__(
        self, lesson: Lesson, cap: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lesson = lesson
        self.cap = cap
        self.clock = clock
        self.index = 0
        self.started = clock()
        self.paused_at: float | None = None
        self.paused_for = 0.0
        self.fell_back = False  # the current step runs its fallback (its data was missing)

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    def fall_back(self) -> bool:
        """The current step's run could not start: use its fallback, if it has one (once)."""
        if self.step.fallback is None or self.fell_back:
            return False
        self.fell_back = True
        return True

    @property
    def caption(self) -> str:
        return self.step.fallback_caption if self.fell_back else self.step.caption

    @property
    def last(self) -> bool:
        return self.index == len(self.lesson.steps) - 1

    def _limited(self, config: RunConfig) -> RunConfig:
        return config.replace(steps=self.step.length.budget(self.cap))

    def run_config(self) -> RunConfig:
        """The configuration to train for the current step, its step budget included."""
        step = self.step
        return self._limited(step.fallback if self.fell_back and step.fallback else step.config)

    def compare_config(self) -> RunConfig | None:
        return self._limited(self.step.compare) if self.step.compare is not None else None

    def begin(self) -> None:
        """The current step's run starts now."""
        self.started = self.clock()
        self.paused_at = None
        self.paused_for = 0.0

    def pause(self, on: bool) -> None:
        now = self.clock()
        if on and self.paused_at is None:
            self.paused_at = now
        elif not on and self.paused_at is not None:
            self.paused_for += now - self.paused_at
            self.paused_at = None

    def elapsed(self) -> float:
        now = self.paused_at if self.paused_at is not None else self.clock()
        return now - self.started - self.paused_for

    def over(self, snap: Snapshot | None, ended: bool) -> bool:
        """Whether the current step is done, given its run's newest snapshot and whether the run
        has ended (its step budget reached, or diverged)."""
        length = self.step.length
        if ended:
            return True
        if length.until is not None and snap is not None and length.until.holds(snap):
            return True
        if length.seconds is not None:
            return self.elapsed() >= length.seconds
        return False

    def advance(self, by: int = 1) -> bool:
        """Move ``by`` steps (negative: back); False, and nothing moves, past either end."""
        index = self.index + by
        if not 0 <= index < len(self.lesson.steps):
            return False
        self.index = index
        self.fell_back = False
        self.begin()
        return True

    def banner(self) -> str:
        """``vanishing · step 2/4 · <caption>``: what the caption line shows."""
        return (
            f"{self.lesson.name} · step {self.index + 1}/{len(self.lesson.steps)} · {self.caption}"
        )
