"""The run log (`docs/run-log.md`, versions 1 and 2): JSON Lines encoding, an order-checking
writer, a tolerant incremental reader, and the headless summary.

Records are the dataclasses of `vgtui.core.records`; this module only adds the line encoding
(non-finite numbers as the strings ``"nan"``, ``"inf"``, ``"-inf"``) and the rules around it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from vgtui.core.records import (
    RECORD_TYPES,
    End,
    Event,
    Hist,
    LayerInfo,
    LayerStats,
    ParamStats,
    Record,
    RunHeader,
    Snapshot,
    Stats,
    from_dict,
    to_dict,
    uses_v2,
)
from vgtui.runlog.lines import MAX_LINE, LineSplitter, bounded_lines
from vgtui.runlog.regular_files import open_regular

INT64_MAX = 2**63 - 1  # steps and counts are kept as signed 64-bit integers (array "q", numpy)
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
# Keys whose values are genuine strings (or, for config, free-form): never read as numbers.
_STRING_KEYS = frozenset({"type", "name", "kind", "message", "reason", "started", "config"})


def _nonfinite_name(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def json_safe(obj: Any) -> Any:
    """A copy of `obj` that plain JSON can hold: non-finite floats become ``"nan"``, ``"inf"`` or
    ``"-inf"``; tuples become lists; numpy scalars and arrays become Python numbers and lists."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if all(type(v) is int for v in obj):  # histogram counts: nothing to convert
            return list(obj)
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return _nonfinite_name(obj)
    return obj


def _restore(obj: Any) -> Any:
    """Inverse of `json_safe` on a decoded line: the three strings back to floats where a number
    may stand (every value except those under `_STRING_KEYS`)."""
    if isinstance(obj, dict):
        return {k: v if k in _STRING_KEYS else _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    return obj


def encode(record: Record) -> str:
    """One run log line for `record` (compact JSON, no trailing newline)."""
    if type(record) not in RECORD_TYPES.values():
        raise TypeError(f"not a run log record: {type(record).__name__}")
    body = to_dict(record)
    try:  # the common case: nothing to convert (json_safe walks every value)
        return json.dumps(body, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError):  # a non-finite float, or a numpy value
        return json.dumps(json_safe(body), separators=(",", ":"), allow_nan=False)


# -- shape checks: a line that parses but does not hold the record's fields is broken too --------


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_count(x: Any) -> bool:
    """A step, a count or a size: a whole number from 0 to `INT64_MAX`."""
    return _is_int(x) and 0 <= x <= INT64_MAX


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _opt_num(x: Any) -> bool:
    return x is None or _is_num(x)


def _hist_ok(h: Hist) -> bool:
    return (
        _is_num(h.lo)
        and _is_num(h.hi)
        and all(map(_is_count, h.counts))
        and all(map(_is_count, (h.below, h.above, h.nonfinite)))
    )


def _stats_ok(s: Stats | None) -> bool:
    return (
        isinstance(s, Stats)
        and all(map(_is_num, (s.mean, s.std, s.min, s.max)))
        and _hist_ok(s.hist)
    )


def _param_ok(p: ParamStats) -> bool:
    return isinstance(p.name, str) and all(
        map(_opt_num, (p.grad_norm, p.weight_norm, p.update_ratio))
    )


def _layer_ok(x: LayerStats) -> bool:
    return (
        isinstance(x.name, str)
        and (x.act is None or _stats_ok(x.act))
        and (x.preact is None or _stats_ok(x.preact))
        and all(map(_opt_num, (x.grad_norm, x.weight_norm, x.dead_frac, x.sat_frac)))
        and _opt_num(x.update_ratio)
        and (x.grad is None or _hist_ok(x.grad))
        and (x.params is None or all(map(_param_ok, x.params)))
    )


def _layer_info_ok(x: LayerInfo) -> bool:
    return (
        isinstance(x.name, str)
        and isinstance(x.kind, str)
        and _is_count(x.fan_in)
        and _is_count(x.fan_out)
        and (
            x.params is None
            or all(isinstance(p.name, str) and all(map(_is_count, p.shape)) for p in x.params)
        )
    )


def _record_ok(r: Record) -> bool:
    if isinstance(r, RunHeader):
        return (
            isinstance(r.config, dict)
            and isinstance(r.started, str)
            and _is_int(r.version)
            and all(map(_layer_info_ok, r.layers))
        )
    if isinstance(r, Snapshot):
        return (
            _is_count(r.step)
            and all(map(_opt_num, (r.loss, r.accuracy, r.val_loss, r.val_accuracy)))
            and _is_num(r.lr)
            and _is_num(r.elapsed_s)
            and all(map(_layer_ok, r.layers))
            and (
                r.scalars is None
                or all(isinstance(k, str) and _is_num(v) for k, v in r.scalars.items())
            )
        )
    if isinstance(r, Event):
        return _is_count(r.step) and isinstance(r.kind, str) and isinstance(r.message, str)
    return _is_count(r.step) and isinstance(r.reason, str)


def decode(line: str | bytes) -> Record:
    """The record on one run log line; ValueError if the line is broken (not JSON, not an object,
    an unknown type, a missing field, one of the wrong kind, or a step or count that is negative or
    does not fit in 64 bits). Unknown fields are ignored."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"not a JSON line: {err}") from None
    if not isinstance(obj, dict):
        raise ValueError("a run log line must hold a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in RECORD_TYPES:
        raise ValueError(f"unknown record type {kind!r}")
    try:
        record = from_dict(_restore(obj))
        ok = _record_ok(record)
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as err:
        raise ValueError(f"malformed {kind} record: {err!r}") from None
    if not ok:
        raise ValueError(f"malformed {kind} record: a field has the wrong type")
    return record


class RunLogWriter:
    """Writes records to a run log, one whole flushed line each, refusing to break the order
    rules: a header first and only once, snapshot steps strictly increasing, nothing after the end.

    A header that uses a version 2 field is written as version 2; a version 2 snapshot in a log
    whose header said version 1 is refused (the producer declares version 2 in its header).

    A path is opened by `vgtui.runlog.target.claim` (parent folders created): a file that is
    not a run log is refused, an earlier run's log too unless ``overwrite``, and the file stays
    locked against other writers until `close()`. A text file object is written to as it is and
    left open by `close()`.
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str], overwrite: bool = False) -> None:
        self.path: Path | None = None
        if isinstance(target, (str, os.PathLike)):
            from vgtui.runlog.target import claim  # it reads logs through this module

            self.path = Path(target)
            self._file: IO[str] = claim(self.path, overwrite)
            self._owned = True
        else:
            self._file = target
            self._owned = False
        self._lock = threading.Lock()
        self._closed = False
        self._started = False
        self._ended = False
        self._last_step: int | None = None
        self._version = 1

    def write(self, record: Record) -> None:
        """Append `record` as one line and flush; ValueError where it breaks the order rules."""
        v2 = uses_v2(record)
        if isinstance(record, RunHeader) and v2 and record.version < 2:
            record = dataclasses.replace(record, version=2)
        line = encode(record) + "\n"
        with self._lock:
            if self._closed:
                raise ValueError("run log writer is closed")
            if self._ended:
                raise ValueError("nothing may follow the end record")
            if isinstance(record, RunHeader) == self._started:
                raise ValueError(
                    "the run header was already written"
                    if self._started
                    else "the first record must be the run header"
                )
            last = self._last_step
            if isinstance(record, Snapshot) and last is not None and record.step <= last:
                raise ValueError(f"snapshot step {record.step} after step {last}: must increase")
            if v2 and self._version < 2 and not isinstance(record, RunHeader):
                raise ValueError("a version 2 record in a version 1 log (declare 2 in the header)")
            self._file.write(line)
            self._file.flush()
            self._started = True
            if isinstance(record, RunHeader):
                self._version = record.version
            elif isinstance(record, Snapshot):
                self._last_step = record.step
            elif isinstance(record, End):
                self._ended = True

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop writing; closes the file if this writer opened it. Calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owned:
                self._file.close()

    def __enter__(self) -> RunLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LogReader:
    """Decodes run log lines one at a time, skipping (and counting in `skipped`) broken ones.

    Feed it whole lines (`feed`, `records`), the raw chunks of a growing file (`feed_data`), which
    keeps an unfinished last line until the rest of it arrives or `finish` is called, or a whole
    binary file (`stream`). A line longer than ``max_line`` bytes is broken: it is read past
    without being held (`bounded_lines` gives ``None`` in its place).
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.skipped = 0
        self.max_line = max_line
        self._splitter = LineSplitter(max_line)

    def feed(self, line: str | bytes | None) -> Record | None:
        """The record on one line (a trailing newline is allowed); None for a blank line or a
        broken one, which is counted (``None`` stands for a line over the bound)."""
        if line is None or len(line) > self.max_line:
            self.skipped += 1
            return None
        if not line.strip():
            return None
        try:
            return decode(line)
        except ValueError:
            self.skipped += 1
            return None

    def records(self, lines: Iterable[str | bytes | None]) -> Iterator[Record]:
        """The records on `lines`, lazily: `skipped` is up to date with every one yielded."""
        for line in lines:
            record = self.feed(line)
            if record is not None:
                yield record

    def feed_data(self, data: str | bytes) -> list[Record]:
        """The records completed by the next chunk of a growing log."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        return list(self.records(self._splitter.push(data)))

    @property
    def pending(self) -> bool:
        """Whether an unfinished line is waiting for the rest of it."""
        return self._splitter.pending

    def finish(self) -> Record | None:
        """End of input: the unfinished last line's record, if it is whole (else it is counted)."""
        return next(self.records(self._splitter.end()), None)

    def stream(self, f: IO[bytes]) -> Iterator[Record]:
        """The records of a binary file object read to its end, in bounded pieces."""
        return self.records(bounded_lines(f, self.max_line))


def iter_records(
    lines: Iterable[str | bytes | None], reader: LogReader | None = None
) -> Iterator[Record]:
    """The records on `lines`, skipping broken ones; pass a `reader` to read its `skipped`."""
    return (reader if reader is not None else LogReader()).records(lines)


@dataclass
class RunLog:
    """A run log read so far, in order. `skipped` counts lines that were left out: broken ones,
    and (from `read_log`) records that break the order rules."""

    header: RunHeader | None = None
    snapshots: list[Snapshot] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    end: End | None = None
    skipped: int = 0

    def add(self, record: Record) -> bool:
        """Take the next record; False (and nothing changes) where it breaks the order rules: a
        second header, a snapshot step not above the last one, anything after the end."""
        if self.end is not None:
            return False
        if isinstance(record, RunHeader):
            if self.header is not None:
                return False
            self.header = record
        elif isinstance(record, Snapshot):
            if self.snapshots and record.step <= self.snapshots[-1].step:
                return False
            self.snapshots.append(record)
        elif isinstance(record, Event):
            self.events.append(record)
        elif isinstance(record, End):
            self.end = record
        else:
            return False
        return True


def read_log(path: str | os.PathLike[str], max_line: int = MAX_LINE) -> RunLog:
    """Read a whole run log file; broken and out-of-order lines are skipped and counted, never
    raised (a run killed mid-write leaves a truncated last line, another program a line of any
    length). NotRegularFile (an OSError) for a FIFO or a device: neither would end."""
    with open_regular(path) as f:
        return log_of_lines(bounded_lines(f, max_line), max_line=max_line)


def log_of_lines(
    lines: Iterable[str | bytes | None], log: RunLog | None = None, max_line: int = MAX_LINE
) -> RunLog:
    """``log`` (a new one by default) with the records of ``lines`` added, as `read_log` adds
    them; ``None`` among the lines stands for one over the bound (`bounded_lines`)."""
    log = log if log is not None else RunLog()
    reader = LogReader(max_line)
    rejected = 0
    for record in reader.records(lines):
        rejected += not log.add(record)
    log.skipped += reader.skipped + rejected
    return log


def summary(log: RunLog) -> dict[str, Any]:
    """The headless summary (`vgtui --headless --json`), JSON-safe; layer values from the last
    snapshot. `steps` is the end's step, else the last snapshot's, else 0."""
    last = log.snapshots[-1] if log.snapshots else None
    reason = log.end.reason if log.end is not None else None
    steps = log.end.step if log.end is not None else (last.step if last is not None else 0)
    diverged = reason == "diverged" or any(e.kind == "diverged" for e in log.events)
    layers = [
        {
            "name": x.name,
            "grad_norm": x.grad_norm,
            "act_std": x.act.std if x.act is not None else None,
            "dead_frac": x.dead_frac,
            "sat_frac": x.sat_frac,
        }
        for x in (last.layers if last is not None else [])
    ]
    return json_safe(
        {
            "steps": steps,
            "final_loss": last.loss if last is not None else None,
            "final_accuracy": last.accuracy if last is not None else None,
            "diverged": diverged,
            "reason": reason,
            "layers": layers,
        }
    )


__all__ = [
    "INT64_MAX",
    "LogReader",
    "RunLog",
    "RunLogWriter",
    "decode",
    "encode",
    "iter_records",
    "json_safe",
    "log_of_lines",
    "read_log",
    "summary",
]
