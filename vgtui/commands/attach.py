"""`vgtui attach PATH`, `vgtui replay PATH` and `vgtui PATH.jsonl`: the dashboard on a run log.

``attach`` follows a log that another process writes (a missing one is waited for); ``replay``
plays a finished one; a path alone is attach when the log has no end record yet, replay when it
has one. Everything wrong with the path is one line and exit code 2 before any screen opens.
"""

from __future__ import annotations

import argparse
import sys

from vgtui.core.text import safe_text
from vgtui.runlog.files import LogFileError, check_log
from vgtui.runlog.tail import read_tail
from vgtui.ui.framerate import FPS

DESCRIPTIONS = {
    "attach": "Follow a run log that another process writes (like tail -F); quitting never "
    "touches the training.",
    "replay": "Play a finished run log: space pauses, left/right step, [ ] slower/faster, "
    "g/G start/end.",
}


def add_arguments(parser: argparse.ArgumentParser, mode: str) -> None:
    from vgtui.ui.sources.logs import SPEED

    parser.description = DESCRIPTIONS[mode]
    parser.add_argument("path", metavar="PATH", help="the run log (JSON Lines)")
    parser.add_argument(
        "--fps", type=FPS.parse, default=None, help=f"dashboard frames per second ({FPS})"
    )
    if mode == "replay":
        parser.add_argument(
            "--speed",
            type=SPEED.parse,
            default=None,
            help=f"times the training's own pace, {SPEED} (default: a whole run in about 30 s)",
        )


def check_path(path: str, mode: str) -> str | None:
    """Why ``path`` cannot be opened in ``mode`` (one line), or None. A missing or empty file is
    fine to attach to (it is waited for)."""
    if path == "-":
        return f"{mode} reads a run log file; for one on standard input: vgtui report -"
    try:
        check_log(path)
    except LogFileError as err:
        if mode == "attach" and getattr(err, "missing", False):
            return None
        return str(err)
    return None


def mode_of(path: str) -> str:
    """``replay`` for a log that has its end record, else ``attach``."""
    try:
        return "replay" if read_tail(path, n=1).end is not None else "attach"
    except LogFileError:
        return "attach"  # missing or empty: waited for; anything else is said by check_path


def run(args: argparse.Namespace) -> int:
    """Open the dashboard on the run log, once the path is known to be fine for the mode."""
    mode = args.command
    if why := check_path(args.path, mode):
        print(f"vgtui {mode}: error: {safe_text(why)}", file=sys.stderr)
        return 2
    from vgtui.ui.log_app import run_log_app

    return run_log_app(args.path, mode, fps=args.fps, speed=getattr(args, "speed", None))
