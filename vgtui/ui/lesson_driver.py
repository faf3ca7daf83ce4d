"""A lesson in the dashboard: the caption line, and the step changes on the lesson's timeline.

The driver listens to what the app's source delivers (run started, snapshots, run ended, an
error) and, when `LessonPlayer` says the current step is over, starts the next step's run with
the app's own restart. ``right``/``left`` skip a step either way; pausing stops the step's clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from vgtui.core.config import RunConfig
from vgtui.core.records import Snapshot
from vgtui.lessons.lesson import LessonPlayer

if TYPE_CHECKING:
    from vgtui.ui.app import VgtuiApp

TICK_S = 0.2  # how often a step measured in seconds checks its clock
LINGER_S = 3.0  # with exit_at_end, how long the last frame stays before the app exits


class LessonDriver:
    """Plays ``player``'s lesson in an app; see the module docstring."""

    def __init__(
        self, player: LessonPlayer, exit_at_end: bool = False, svg_dir: str | None = None
    ) -> None:
        self.player = player
        self.exit_at_end = exit_at_end
        self.svg_dir = Path(svg_dir) if svg_dir else None
        self.app: VgtuiApp | None = None
        self.latest: Snapshot | None = None
        self.finished = False
        self.switching = False  # a new step's run was asked for and has not started yet
        self.comparing = False  # the step is a comparison, on its own screen
        self.shots: list[str] = []

    @property
    def first_config(self) -> RunConfig:
        return self.player.run_config()

    def attach(self, app: VgtuiApp) -> None:
        self.app = app
        app.set_interval(TICK_S, self.tick)
        if self.player.step.compare is not None:  # a lesson that opens with a comparison
            app.call_after_refresh(self.start_step)

    def caption(self) -> Text:
        """The caption line: where the lesson is, and what to look at."""
        player = self.player
        text = Text(no_wrap=False)
        text.append(f" {player.lesson.title} ", style="bold reverse")
        text.append(f" step {player.index + 1}/{len(player.lesson.steps)} ", style="bold")
        text.append(player.caption)
        if self.finished:
            text.append("  (the lesson is over: q quits, left goes back)", style="dim")
        return text

    # ---- what the source delivers -------------------------------------------------------------

    def started(self) -> None:
        self.switching = False
        self.latest = None
        self.player.begin()

    def snapshot(self, snap: Snapshot) -> None:
        if not self.switching:  # the previous step's last snapshots may still be on their way
            self.latest = snap
            self.check(ended=False)

    def ended(self) -> None:
        if not self.switching:  # the previous step's run ends when the next one starts
            self.check(ended=True)

    def failed(self) -> None:
        """The step's run could not start (its data is missing): its fallback, if it has one."""
        if self.player.fall_back():
            self.start_step()

    def paused(self, on: bool) -> None:
        self.player.pause(on)

    def tick(self) -> None:
        if self.player.step.length.seconds is not None and not self.switching:
            self.check(ended=False)

    # ---- the timeline -------------------------------------------------------------------------

    def check(self, ended: bool) -> None:
        if not self.finished and self.player.over(self.latest, ended):
            self.step_over()

    def step_over(self) -> None:
        self.screenshot()
        if self.player.advance():
            self.start_step()
            return
        self.finished = True
        assert self.app is not None
        self.app.show_caption()
        if self.exit_at_end:
            self.app.set_timer(LINGER_S, self.app.exit)

    def go(self, by: int) -> None:
        """``right``/``left``: the next or previous step, now."""
        if self.player.advance(by):
            self.finished = False
            self.start_step()
        else:
            assert self.app is not None
            self.app.notify(
                "this is the last step" if by > 0 else "this is the first step", timeout=2
            )

    def start_step(self) -> None:
        assert self.app is not None
        self.latest = None
        if self.comparing:  # leaving a comparison step
            self.comparing = False
            self.app.pop_screen()
        self.app.show_caption()
        compare = self.player.compare_config()
        if compare is not None:
            self.comparing = True
            self.app.compare(
                self.player.run_config(),
                compare,
                caption=self.caption(),
                on_both_ended=self.compare_over,
                closable=False,
            )
            return
        self.switching = True
        self.app.switch_run(self.player.run_config())

    def compare_over(self) -> None:
        """Both sides of a comparison step have run their budget."""
        if self.comparing and not self.finished:
            self.step_over()

    def screenshot(self) -> None:
        """With ``--svg DIR``: the screen as it is at the end of the step."""
        if self.svg_dir is None or self.app is None:
            return
        self.svg_dir.mkdir(parents=True, exist_ok=True)
        name = f"{self.player.lesson.name}-step{self.player.index + 1}.svg"
        self.shots.append(self.app.save_screenshot(filename=name, path=str(self.svg_dir)))
