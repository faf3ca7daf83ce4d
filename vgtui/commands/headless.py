"""`vgtui --headless`: train without the dashboard, print a row per snapshot, write the run log."""

from __future__ import annotations

import json
import math
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vgtui.core.config import RunConfig
from vgtui.core.diagnosis import diagnose
from vgtui.core.records import Event, Record, Snapshot
from vgtui.core.safe_records import safe_record
from vgtui.core.text import fmt_num, grad_strip, safe_text
from vgtui.runlog.codec import RunLog, RunLogWriter, json_safe, summary
from vgtui.runlog.target import moved_note, open_run_log

if TYPE_CHECKING:
    from vgtui.trainer.trainer import Trainer

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
    """SIGTERM, SIGHUP or SIGINT, turned into a clean end of the run."""


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Stopper:
    """The handler of `STOP_SIGNALS`: raises `_Stop` wherever the run is (building the trainer,
    loading data, training), except inside `held` (opening the log, writing a record), where the
    stop waits until that is done: the log never holds half a record or one out of order."""

    def __init__(self) -> None:
        self.holding = False
        self.pending = False
        self.stopping = False  # the run is ending: further signals change nothing

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            return
        if self.holding:
            self.pending = True
        else:
            raise _Stop

    @contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending and not self.stopping:
            raise _Stop


def run_headless(
    config: RunConfig,
    log_path: str | None = None,
    as_json: bool = False,
    report: bool = False,
    overwrite: bool = False,
    make_trainer: Callable[[RunConfig], Trainer] | None = None,
) -> int:
    """Run to the end (or a stop: Ctrl-C, SIGTERM, SIGHUP); returns the exit code. With `report`,
    print `vgtui report`'s plots of the run at the end (on stderr under `as_json`).
    ``make_trainer`` builds the run (default: `Trainer`, whose torch is imported only here).

    ``log_path`` holding an earlier run's log: the run goes to its next free numbered sibling
    (said on stderr), unless ``overwrite``. A stop at any moment ends the run as "stopped", its
    log (where one was opened) with the header and the end record, and exit code 0.
    """
    console = Console(stderr=as_json, quiet=as_json, highlight=False)
    log = RunLog()
    stopper = _Stopper()
    previous = {sig: signal.signal(sig, stopper) for sig in STOP_SIGNALS}
    trainer: Trainer | None = None
    writer: RunLogWriter | None = None
    first = True

    def emit(record: Record) -> None:
        nonlocal first
        with stopper.held():
            if writer is not None:
                writer.write(record)
            log.add(record)
            if isinstance(record, Snapshot):
                _print_snapshot(console, record, first)
                first = False
            elif isinstance(record, Event):
                _print_event(console, record)

    def end(reason: str) -> None:
        stopper.stopping = True
        if trainer is not None and trainer.end is None:
            if log.header is None:  # stopped while the log was opening
                emit(trainer.header)
            emit(trainer.stop(reason))

    try:
        if make_trainer is None:
            from vgtui.trainer.trainer import Trainer

            make_trainer = Trainer
        trainer = make_trainer(config)
        if log_path:
            with stopper.held():
                writer, number = open_run_log(log_path, overwrite)
            if number != 1:
                note = moved_note(Path(log_path), writer.path, "--overwrite")
                print(f"vgtui: {safe_text(note)}", file=sys.stderr)
        emit(trainer.header)
        while trainer.end is None:
            for record in trainer.step():
                emit(record)
    except (KeyboardInterrupt, _Stop):
        end("stopped")
    except Exception:  # the log still ends, with the reason; the CLI reports the error
        end("error")
        raise
    finally:
        stopper.stopping = True
        if writer is not None:
            writer.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    result = summary(log)
    result["reason"] = result["reason"] or "stopped"  # stopped before the run started
    result["diagnosis"] = (
        [finding.line for finding in diagnose(log.header, log.snapshots)] if log.header else []
    )
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result)) + "\n")
    else:
        _print_end(console, result)
    if report and log.header is not None:
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


def _print_end(console: Console, result: dict) -> None:
    layers = result["layers"]
    grads = [x["grad_norm"] for x in layers if isinstance(x["grad_norm"], float)]
    loss = result["final_loss"]  # JSON-safe: a non-finite loss is already "nan" or "inf"
    loss = loss if isinstance(loss, str) else fmt_num(loss)
    line = f"{result['reason']} after {result['steps']} steps, loss {loss}"
    if len(grads) >= 2 and grads[-1] > 0 and grads[0] > 0 and math.isfinite(grads[0] / grads[-1]):
        line += f"; first layer's gradient is {fmt_num(grads[0] / grads[-1])} x the output layer's"
    for text in (line, *result["diagnosis"]):  # a finding names layers: shown as it is, made safe
        console.print(Text(safe_text(text)))
