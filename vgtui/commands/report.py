"""`vgtui report LOG [LOG ...]`: run logs printed once as plots (`vgtui.report` draws them)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from vgtui.core.text import safe_text
from vgtui.report import MIN_HEIGHT, MIN_WIDTH, default_page, load_runs, render, wants_color
from vgtui.runlog.files import LogFileError


def _at_least(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is too small; expected at least {least}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.description = (
        "Print a run log (or several, overlaid) as plots: loss and accuracy, each "
        "layer's gradient norm and activation std over time, the last activation histograms, "
        "a per-layer table and the events."
    )
    parser.add_argument("paths", nargs="+", metavar="LOG", help="run log (JSON Lines) files")
    parser.add_argument(
        "--width", type=_at_least(MIN_WIDTH), help="columns (default: the terminal's)"
    )
    parser.add_argument(
        "--height",
        type=_at_least(MIN_HEIGHT),
        help="rows of one chart (default: the terminal's height, at most 30)",
    )
    parser.add_argument("--out", metavar="FILE", help="write the report to FILE")
    parser.add_argument(
        "--plain", action="store_true", help="no colour codes (also: NO_COLOR, or not a terminal)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        runs = load_runs(args.paths)
    except LogFileError as err:
        return _say(f"error: {err}", 2)
    empty = [r for r in runs if not r.log.snapshots]
    if empty:
        return _say(f"{empty[0].source}: no snapshots, nothing to report", 1)
    page = default_page(
        wants_color(sys.stdout, args.plain, bool(args.out)), args.width, args.height
    )
    text = render(runs, page)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as err:
            return _say(f"error: {args.out}: {err.strerror or err}", 2)
    else:
        sys.stdout.write(text)
    return 0


def _say(message: str, code: int) -> int:
    """One line on standard error, made safe (it names a path); returns ``code``."""
    print(f"vgtui report: {safe_text(message)}", file=sys.stderr)
    return code
