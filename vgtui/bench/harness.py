"""The bench's harness: figures and their budgets, the plan (full or ``--quick``), the sections
by name (``--only``), the table, ``bench.json`` and the ``--check`` verdict.

Each section is a function ``Plan -> list[Figure]`` in its own module, imported when it runs:
``vgtui bench --help`` and this module import no torch.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vgtui.core.text import fmt_num


@dataclass
class Figure:
    """One measured number, its budget (``<= x`` or ``>= x``; empty for context) and the verdict."""

    section: str
    name: str
    value: float
    unit: str
    budget: str = ""
    met: bool | None = None

    @classmethod
    def check(cls, section: str, name: str, value: float, unit: str, budget: str) -> Figure:
        op, limit = budget.split()
        ok = value <= float(limit) if op == "<=" else value >= float(limit)
        return cls(section, name, value, unit, budget, ok)


@dataclass
class Plan:
    """How long each measurement runs (full, or ``--quick`` for the smoke test)."""

    probe_rounds: int = 8
    watch_steps: float = 1.0  # scales the steps per round of `watch_overhead`
    lag_s: float = 10.0
    render_frames: int = 15
    key_presses: int = 3
    memory_steps: int = 200_000
    history_points: int = 1_000_000
    log_mb: int = 1024
    log_rounds: int = 5
    views_log_mb: int = 64
    pty_s: float = 20.0
    pty_runs: tuple = (((80, 24), False), ((160, 50), False), ((160, 50), True))
    compile: bool = True  # measure torch.compile (tens of seconds)
    widths: tuple[int, ...] = (64, 1024)  # of the 10-layer MLPs whose overhead is measured

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            probe_rounds=1,
            watch_steps=0.1,
            lag_s=1.0,
            render_frames=2,
            key_presses=1,
            memory_steps=2_000,
            history_points=5_000,
            log_mb=16,
            log_rounds=2,
            views_log_mb=2,
            pty_s=1.0,
            pty_runs=(((80, 24), False),),
            compile=False,
            widths=(64,),
        )


Section = Callable[[Plan], list[Figure]]

# Each section's name (``--only``) -> ``module:function``, in the order they run.
SECTIONS = {
    "probe": "vgtui.bench.probe:probe_overhead",
    "watch": "vgtui.bench.probe:watch_overhead",
    "peers": "vgtui.bench.probe:peer_overhead",
    "compile": "vgtui.bench.probe:summary_compile",
    "ui": "vgtui.bench.ui:ui_responsiveness",
    "render": "vgtui.bench.frame:render_cost",
    "key": "vgtui.bench.ui:key_to_effect",
    "memory": "vgtui.bench.ui:memory",
    "log": "vgtui.bench.logs:log_open",
    "bytes": "vgtui.bench.pty:terminal_bytes",
    "views": "vgtui.bench.frame:log_views",
}


def section(name: str) -> Section:
    """The function that measures section ``name`` (its module imported now)."""
    module, _, function = SECTIONS[name].partition(":")
    return getattr(importlib.import_module(module), function)


def table(figures: list[Figure]) -> Table:
    out = Table(title="vgtui bench", title_justify="left")
    for column in ("section", "figure", "value", "budget", "met"):
        out.add_column(column, justify="right" if column == "value" else "left")
    previous = None
    for f in figures:
        verdict = "" if f.met is None else ("[green]yes[/]" if f.met else "[bold red]NO[/]")
        out.add_row(
            f.section if f.section != previous else "",
            f.name,
            f"{fmt_num(f.value)} {f.unit}",
            f.budget,
            verdict,
        )
        previous = f.section
    return out


def add_arguments(parser: argparse.ArgumentParser, command: str = "bench") -> None:
    parser.description = "`vgtui bench` (`make bench`): the figures every change is held to."
    parser.add_argument("--quick", action="store_true", help="tiny measurements (smoke test)")
    parser.add_argument("--out", default="bench.json", help="where to write the figures")
    parser.add_argument(
        "--only", action="append", choices=list(SECTIONS), help="run only these sections"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a budget is missed (for CI)"
    )


def run(args: argparse.Namespace, sections: Mapping[str, Section] | None = None) -> int:
    """Measure ``args.only`` (default: every section), print the table, write ``args.out``;
    1 under ``--check`` when a budget is missed. ``sections`` replaces `SECTIONS` (tests)."""
    import torch

    plan = Plan.quick() if args.quick else Plan()
    names = args.only or list(sections or SECTIONS)
    console = Console()
    figures: list[Figure] = []
    started = time.perf_counter()
    for name in names:
        measure = sections[name] if sections is not None else section(name)
        with console.status(f"measuring {name}…"):
            figures += measure(plan)
    took = time.perf_counter() - started
    console.print(table(figures))
    missed = [f for f in figures if f.met is False]
    console.print(
        f"{len(figures)} figures in {took:.0f} s; "
        + (f"[bold red]{len(missed)} over budget[/]" if missed else "[green]all within budget[/]")
    )
    report = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
        "quick": args.quick,
        "seconds": took,
        "figures": [asdict(f) for f in figures],
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 1 if args.check and missed else 0


def main(argv: list[str] | None = None, sections: Mapping[str, Section] | None = None) -> int:
    """``vgtui bench ARGV`` measuring ``sections`` (default: `SECTIONS`)."""
    parser = argparse.ArgumentParser(prog="vgtui bench")
    add_arguments(parser)
    return run(parser.parse_args(argv), sections)
