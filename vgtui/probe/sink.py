"""Where `vgtui.watch()` puts its records: a run log, or nowhere.

`open_sink` turns ``watch()``'s ``log=`` argument into a sink: a `LogSink` over a run log writer
(a path, opened by `vgtui.runlog.target`'s rules, or an open text file), or a `NoSink` where there
is no log or this rank does not write. Under DDP only rank 0 writes, unless the path holds
``{rank}`` (one file per rank).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import IO, Protocol

import torch

from vgtui.core.records import Record
from vgtui.runlog.codec import RunLogWriter
from vgtui.runlog.target import LogTargetError, moved_note, open_run_log

LogArg = str | os.PathLike[str] | IO[str] | None  # what ``watch(log=...)`` takes


class RecordSink(Protocol):
    def write(self, record: Record) -> None:
        """Keep ``record`` (raises where it cannot)."""

    def close(self) -> None:
        """Keep nothing more; calling it again does nothing."""


class NoSink:
    """Keeps nothing (no log, or a rank that does not write): `Watcher.latest` is all there is."""

    def write(self, record: Record) -> None:
        pass

    def close(self) -> None:
        pass


class LogSink:
    """A run log: every record is written, as one flushed line, until `close`."""

    def __init__(self, writer: RunLogWriter) -> None:
        self.writer = writer

    def write(self, record: Record) -> None:
        if not self.writer.closed:
            self.writer.write(record)

    def close(self) -> None:
        self.writer.close()


def per_rank(log: LogArg) -> bool:
    """Whether ``log`` is a path with ``{rank}`` in it: each rank writes its own file."""
    return log is not None and not hasattr(log, "write") and "{rank}" in os.fspath(log)


def open_sink(log: LogArg, rank: int, world_size: int, overwrite: bool) -> RecordSink:
    """The sink for ``log`` on this rank; raises OSError now, naming the path, where the log cannot
    be written. Under DDP every rank raises together (a collective: every rank must call it)."""
    error: OSError | None = None
    writer = None
    if log is not None and (rank == 0 or per_rank(log)):
        if hasattr(log, "write"):
            writer = RunLogWriter(log)  # type: ignore[arg-type]
        else:
            path = Path(os.fspath(log).replace("{rank}", str(rank)))
            try:
                writer, number = open_run_log(path, overwrite)
                if number != 1:
                    note = moved_note(path, writer.path, "watch(..., overwrite=True)")
                    warnings.warn(f"vgtui.watch: {note}", UserWarning, stacklevel=4)
            except LogTargetError as err:  # says the path and why in its own words
                error = type(err)(f"vgtui.watch: {err}")
            except OSError as err:
                reason = err.strerror or str(err)
                error = OSError(f"vgtui.watch: cannot write the run log {path}: {reason}")
    if world_size > 1:
        flags = [None] * world_size
        torch.distributed.all_gather_object(flags, error is not None)
        if error is None and any(flags):
            if writer is not None:
                writer.close()
            raise OSError("vgtui.watch: another rank cannot write its run log (see its error)")
    if error is not None:
        raise error
    return NoSink() if writer is None else LogSink(writer)


__all__ = ["LogArg", "LogSink", "NoSink", "RecordSink", "open_sink", "per_rank"]
