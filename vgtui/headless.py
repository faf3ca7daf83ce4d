"""`vgtui --headless`: train without the dashboard, print a row per snapshot, write the run log."""

from __future__ import annotations

import json
import math
import signal
import sys
from contextlib import nullcontext
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vgtui.engine.config import RunConfig
from vgtui.engine.diagnosis import diagnose
from vgtui.engine.logtarget import moved_note, open_run_log
from vgtui.engine.records import Event, Record, RunHeader, Snapshot
from vgtui.engine.runlog import RunLog, json_safe, summary
from vgtui.engine.safe_records import safe_record
from vgtui.engine.text import safe_text
from vgtui.engine.trainer import Trainer
from vgtui.format import fmt_num, grad_strip

_COLUMNS = [("step", 8), ("loss", 9), ("acc", 6), ("val acc", 7), ("grad norm, input -> output", 0)]


def _row_table(header: bool) -> Table:
    table = Table(show_header=header, box=None, pad_edge=False, header_style="bold")
    for name, width in _COLUMNS:
        table.add_column(name, justify="right" if width else "left", min_width=width or None)
    return table


def _print_snapshot(console: Console, snap: Snapshot, first: bool) -> None:
    table = _row_table(first)
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    table.add_row(
        str(snap.step),
        fmt_num(snap.loss),
        pct(snap.accuracy),
        pct(snap.val_accuracy),
        grad_strip([layer.grad_norm for layer in snap.layers]),
    )
    console.print(table)


class _Stop(Exception):
    """SIGTERM, turned into a clean end of the run."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def run_headless(
    config: RunConfig,
    log_path: str | None = None,
    as_json: bool = False,
    report: bool = False,
    overwrite: bool = False,
) -> int:
    """Run to the end (or Ctrl-C / SIGTERM when steps is 0); returns the exit code. With
    `report`, print `vgtui report`'s plots of the run at the end (on stderr under `as_json`).

    ``log_path`` holding an earlier run's log: the run goes to its next free numbered sibling
    (said on stderr), unless ``overwrite``."""
    console = Console(stderr=as_json, quiet=as_json, highlight=False)
    trainer = Trainer(config)
    log = RunLog()
    writer = None
    if log_path:
        writer, number = open_run_log(log_path, overwrite)
        if number != 1:
            note = moved_note(Path(log_path), writer.path, "--overwrite")
            print(f"vgtui: {note}", file=sys.stderr)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    first = True
    with writer if writer is not None else nullcontext():

        def emit(record: Record) -> None:
            nonlocal first
            log.add(record)
            if writer is not None:
                writer.write(record)
            if isinstance(record, Snapshot):
                _print_snapshot(console, record, first)
                first = False
            elif isinstance(record, Event):
                _print_event(console, record)

        emit(trainer.header)
        try:
            while trainer.end is None:
                for record in trainer.step():
                    emit(record)
        except (KeyboardInterrupt, _Stop):
            if trainer.end is None:
                emit(trainer.stop("stopped"))
        except Exception:  # the log still ends, with the reason; the CLI reports the error
            if trainer.end is None:
                emit(trainer.stop("error"))
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
    result = summary(log)
    result["diagnosis"] = [finding.line for finding in diagnose(log.header, log.snapshots)]
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result)) + "\n")
    else:
        _print_end(console, trainer.header, result)
    if report:
        from vgtui.report import default_page, report_text, wants_color

        stream = sys.stderr if as_json else sys.stdout
        page = default_page(wants_color(stream, plain=False, to_file=False))
        title = str(writer.path) if writer is not None else "this run"
        stream.write(report_text(log, title, page))
    return 0


def _print_event(console: Console, event: Event) -> None:
    """``diverged: <message>``, the message as it is (no markup) and made safe."""
    event = safe_record(event)
    console.print(Text.assemble((event.kind, "bold red"), ": ", event.message))


def _print_end(console: Console, header: RunHeader, result: dict) -> None:
    layers = result["layers"]
    grads = [x["grad_norm"] for x in layers if isinstance(x["grad_norm"], float)]
    loss = result["final_loss"]  # JSON-safe: a non-finite loss is already "nan" or "inf"
    loss = loss if isinstance(loss, str) else fmt_num(loss)
    line = f"{result['reason']} after {result['steps']} steps, loss {loss}"
    if len(grads) >= 2 and grads[-1] > 0 and grads[0] > 0 and math.isfinite(grads[0] / grads[-1]):
        line += f"; first layer's gradient is {fmt_num(grads[0] / grads[-1])} x the output layer's"
    for text in (line, *result["diagnosis"]):  # a finding names layers: shown as it is, made safe
        console.print(Text(safe_text(text)))
