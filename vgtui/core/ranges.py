"""The valid range of a number that comes from outside: one check, one way of saying it.

Every number from a flag, a lesson or a ``name:param`` spec is finite and within its `Range`, or
it is refused in one line that names the range ("expected a number in (0, 10000]"). Each range is
defined once, beside what it limits, and read wherever that value is parsed.

Plain Python (no torch, no Textual): the command line and the dashboard's process use it.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """``lo``..``hi`` (each end closed unless ``low_open``/``high_open``); ``integer``: whole
    numbers only (a Python int, never a float or a bool); ``words``: how to say it, where the
    bounds alone would not be the clearest ("0 (until stopped) or more")."""

    lo: float
    hi: float
    integer: bool = False
    low_open: bool = False
    high_open: bool = False
    words: str = ""

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.lo if self.low_open else value >= self.lo
        below = value < self.hi if self.high_open else value <= self.hi
        return above and below

    def __str__(self) -> str:
        if self.words:
            return self.words
        if self.integer:
            return f"an integer in {self.lo}..{self.hi}"
        if self.lo == -math.inf and self.hi == math.inf:
            return "a finite number"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"a number in {left}{self.lo:g}, {self.hi:g}{right}"

    def parse(self, text: str) -> int | float:
        """The number written in ``text`` (argparse's ``type=``); ArgumentTypeError naming the
        range for anything else: ``nan``, ``inf``, ``1e308``, a word, a number out of range."""
        try:
            value: int | float = int(text) if self.integer else float(text)
        except ValueError:
            value = math.nan
        if value not in self:
            raise argparse.ArgumentTypeError(f"{text!r} is not valid; expected {self}")
        return value


FINITE = Range(-math.inf, math.inf)  # any finite number (a threshold that may have any sign)
