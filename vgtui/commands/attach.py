"""`vgtui attach PATH`, `vgtui replay PATH` and `vgtui PATH.jsonl`: the dashboard on a run log.

``attach`` follows a log that another process writes (a missing one is waited for); ``replay``
plays a finished one; a path alone is attach when the log has no end record yet, replay when it
has one. Everything wrong with the path is one line and exit code 2 before any screen opens.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from vgtui.core.text import safe_text
from vgtui.runlog.files import LogFileError, check_log
from vgtui.runlog.tail import read_tail
from vgtui.ui.framerate import FPS

MODES = ("attach", "replay")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {safe_text(message)} (see {self.prog} --help)\n")


def build_parser(mode: str) -> argparse.ArgumentParser:
    what = {
        "attach": "Follow a run log that another process writes (like tail -F); quitting "
        "never touches the training.",
        "replay": "Play a finished run log: space pauses, left/right step, [ ] slower/faster, "
        "g/G start/end.",
    }[mode]
    from vgtui.ui.sources.logs import SPEED

    parser = _Parser(prog=f"vgtui {mode}", description=what)
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
    return parser


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


def looks_like_log(argv: list[str]) -> bool:
    """A run log's path as the only argument: ``vgtui runs/exp1.jsonl``."""
    return (
        len(argv) == 1
        and not argv[0].startswith("-")
        and (argv[0].endswith(".jsonl") or Path(argv[0]).is_file())
    )


def main(argv: list[str], mode: str | None = None) -> int:
    """Open the dashboard on a run log; ``mode`` None picks it from the log."""
    if mode is None:
        if len(argv) != 1:
            print("vgtui: error: give one run log: vgtui PATH.jsonl", file=sys.stderr)
            return 2
        mode = mode_of(argv[0])
    args = build_parser(mode).parse_args(argv)
    speed = getattr(args, "speed", None)
    if why := check_path(args.path, mode):
        return _fail(mode, why)
    from vgtui.ui.log_app import run_log_app

    return run_log_app(args.path, mode, fps=args.fps, speed=speed)


def _fail(mode: str, message: str) -> int:
    print(f"vgtui {mode}: error: {safe_text(message)}", file=sys.stderr)
    return 2
