"""`vgtui report`: run logs as plots printed once, drawn with plotext, for any terminal or CI log.

A report is the list of sections in `vgtui.report.sections.SECTIONS`, each a small function from
the runs and the page to text. Several logs are drawn together: their loss and accuracy overlaid,
their per-layer curves as panels on shared axes, each run named by the config keys that differ.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, NoReturn

from vgtui.core.text import safe_text
from vgtui.report.page import Page, strip_ansi
from vgtui.report.runs import Run, load_runs, run_names
from vgtui.report.sections import SECTIONS, render
from vgtui.runlog.codec import RunLog
from vgtui.runlog.files import LogFileError

MIN_WIDTH, MIN_HEIGHT = 40, 12


def wants_color(stream: IO[str], plain: bool, to_file: bool) -> bool:
    """Colour unless --plain or NO_COLOR; on standard output only where it is a terminal (or
    FORCE_COLOR is set), in a file named with --out always."""
    if plain or os.environ.get("NO_COLOR"):
        return False
    if to_file or os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def default_page(color: bool, width: int | None = None, height: int | None = None) -> Page:
    """The terminal's width, and a chart as tall as the terminal leaves room for, unless given."""
    size = shutil.get_terminal_size((80, 24))
    return Page(
        width=width or max(MIN_WIDTH, size.columns),
        height=height or max(MIN_HEIGHT, min(30, size.lines - 4)),
        color=color,
    )


def report_text(log: RunLog, source: str, page: Page) -> str:
    """The report of one run log held in memory (the headless mode's ``--report``)."""
    if not log.snapshots:
        return f"{safe_text(source)}: no snapshots, nothing to report\n"
    config = log.header.config if log.header else {}
    return render([Run(run_names([config], [source])[0], source, log)], page)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"vgtui report: error: {safe_text(message)} (see vgtui report --help)\n")


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vgtui report",
        description="Print a run log (or several, overlaid) as plots: loss and accuracy, each "
        "layer's gradient norm and activation std over time, the last activation histograms, "
        "a per-layer table and the events.",
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
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
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


__all__ = [
    "SECTIONS",
    "Page",
    "Run",
    "default_page",
    "load_runs",
    "main",
    "render",
    "report_text",
    "run_names",
    "strip_ansi",
    "wants_color",
]
