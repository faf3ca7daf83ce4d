"""Lines of a file or stream read with a bound: a line longer than ``max_line`` bytes is passed
over without ever being held, and stands as ``None`` in its place.

A run log from elsewhere can hold a line of any length (``/dev/zero`` piped in has no newline at
all); reading it whole would end in a MemoryError. Readers count ``None`` as a broken line.
Torch-free.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE = 64 << 20  # bytes: a run log line longer than this is broken (a snapshot is ~8 KB)
CHUNK = 1 << 20  # bytes read at a time


class LineSplitter:
    """Splits chunks of bytes into lines (without their newline), holding at most ``max_line``
    bytes of an unfinished one; a longer line comes out as ``None`` once its end is reached."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._held: list[bytes] = []  # the unfinished line's pieces so far
        self._held_bytes = 0
        self._over = False  # inside a line over the bound: its bytes are dropped

    @property
    def pending(self) -> bool:
        """Whether an unfinished line is waiting for the rest of it."""
        return bool(self._held_bytes or self._over)

    def push(self, data: bytes) -> list[bytes | None]:
        """The lines that ``data`` completes."""
        first = data.find(b"\n")
        if first < 0:
            self._hold(data)
            return []
        done = self._release(data[:first])
        *lines, rest = data[first + 1 :].split(b"\n")
        self._hold(rest)
        return [done, *(line if len(line) <= self.max_line else None for line in lines)]

    def end(self) -> list[bytes | None]:
        """End of input: the unfinished last line, if there is one."""
        if not self.pending:
            return []
        return [self._release(b"")]

    def _hold(self, piece: bytes) -> None:
        if self._over or not piece:
            return
        self._held_bytes += len(piece)
        if self._held_bytes > self.max_line:
            self._held, self._held_bytes, self._over = [], 0, True
        else:
            self._held.append(piece)

    def _release(self, last: bytes) -> bytes | None:
        """The held line, finished by ``last``; None where it is over the bound."""
        over = self._over or self._held_bytes + len(last) > self.max_line
        line = None if over else b"".join([*self._held, last])
        self._held, self._held_bytes, self._over = [], 0, False
        return line


def bounded_lines(
    f: BinaryIO, max_line: int = MAX_LINE, chunk: int = CHUNK
) -> Iterator[bytes | None]:
    """The lines of a binary file object read to its end; ``None`` for a line over ``max_line``."""
    splitter = LineSplitter(max_line)
    while data := f.read(chunk):
        yield from splitter.push(data)
    yield from splitter.end()


__all__ = ["CHUNK", "MAX_LINE", "LineSplitter", "bounded_lines"]
