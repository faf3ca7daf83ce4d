"""Run logs as plots printed once, drawn with plotext, for any terminal or CI log (`vgtui report`,
whose command line is `vgtui.commands.report`, and ``--headless --report``).

A report is the list of sections in `vgtui.report.sections.SECTIONS`, each a small function from
the runs and the page to text. Several logs are drawn together: their loss and accuracy overlaid,
their per-layer curves as panels on shared axes, each run named by the config keys that differ.
"""

from __future__ import annotations

import os
import shutil
from typing import IO

from vgtui.core.text import safe_text
from vgtui.report.page import Page, strip_ansi
from vgtui.report.runs import Run, load_runs, run_names
from vgtui.report.sections import SECTIONS, render
from vgtui.runlog.codec import RunLog

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


__all__ = [
    "SECTIONS",
    "Page",
    "Run",
    "default_page",
    "load_runs",
    "render",
    "report_text",
    "run_names",
    "strip_ansi",
    "wants_color",
]
