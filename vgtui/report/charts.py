"""plotext glue: figures and grids of panels, y axes (log ones by hand), line charts with a
legend in room kept free for it, and curves shortened to what a plot's width can show."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotext as plt

from vgtui.report.page import Page


def _figure(width: int, height: int) -> Any:
    """plotext's figure, cleared and sized, without frame colours and unbounded by the terminal."""
    plt.terminal.limit(False, False)
    fig = plt.figure
    fig.clear()
    fig.theme("simple")
    fig.plot_size(width, height)
    return fig


def text_of(fig: Any, page: Page) -> str:
    """The built figure as text for `page`."""
    return page.tidy(fig.build().string(colorless=not page.color))


# -- axes ----------------------------------------------------------------------------------------


def _tick_label(value: float) -> str:
    """0.001, 0.02, 1, 1000, 25000, 1e-05 -> 1e-5, 1e+06 -> 1e6."""
    if value == round(value) and abs(value) < 1e6:
        return str(round(value))
    text = f"{value:.3g}"
    mantissa, _, exp = text.partition("e")
    return f"{mantissa}e{int(exp)}" if exp else text


def nice_ticks(lo: float, hi: float, most: int, whole: bool = False) -> list[float]:
    """As many round positions (1, 2 or 5 times a power of ten apart) within [lo, hi] as fit in
    `most`; whole numbers only where `whole`."""
    if not hi > lo:
        return [lo]
    most = max(2, most)
    power = math.floor(math.log10((hi - lo) / most)) - 1
    while True:
        for m in (1, 2, 5):
            step = m * 10.0**power
            if whole and step < 1:
                continue
            first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
            if last - first + 1 <= most:
                return [k * step for k in range(first, last + 1)]
        power += 1


@dataclass(frozen=True)
class YAxis:
    """How values map onto the y axis: limits and ticks in plotted units, and the transform.

    A log axis plots log10 of the values on a linear ruler, labelled with the values: plotext 6.1's
    own log scale raises on a flat series and ignores limits once ticks are given.
    """

    log: bool
    lo: float
    hi: float
    ticks: list[float]
    labels: list[str]

    def plotted(self, y: np.ndarray) -> np.ndarray:
        """The plotted values; NaN (a gap) where a value cannot be drawn (not finite, or <= 0 on
        a log axis)."""
        y = np.asarray(y, dtype=float)
        good = np.isfinite(y) & ((y > 0) if self.log else True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(good, np.log10(np.where(good, y, 1.0)) if self.log else y, math.nan)

    @classmethod
    def for_values(cls, values: Sequence[np.ndarray], log: bool, rows: int) -> YAxis | None:
        """An axis that holds every drawable value; None when there is none."""
        flat = (
            np.concatenate([np.asarray(v, dtype=float) for v in values]) if values else np.zeros(0)
        )
        drawable = flat[np.isfinite(flat) & ((flat > 0) if log else True)]
        if drawable.size == 0:
            return None
        if log:
            lo, hi = math.floor(np.log10(drawable.min())), math.ceil(np.log10(drawable.max()))
            hi = max(hi, lo + 1)
            every = max(1, math.ceil((hi - lo) / max(1, rows // 2)))
            ticks = [float(k) for k in range(lo, hi + 1, every)]
            if hi - lo <= 2 and rows >= 12:  # few decades: 2 and 5 between the powers of ten
                ticks = [
                    t for k in range(lo, hi + 1) for t in (k, k + math.log10(2), k + math.log10(5))
                ]
                ticks = [t for t in ticks if t <= hi + 1e-9]
            return cls(True, lo, hi, ticks, [_tick_label(10.0**t) for t in ticks])
        lo, hi = float(drawable.min()), float(drawable.max())
        if hi - lo < 1e-12 * max(1.0, abs(hi)):
            lo, hi = lo - max(abs(lo) * 0.1, 1e-3), hi + max(abs(hi) * 0.1, 1e-3)
        pad = (hi - lo) * 0.05
        lo, hi = lo - pad, hi + pad
        ticks = nice_ticks(lo, hi, max(3, rows // 3))
        return cls(False, lo, hi, ticks, [_tick_label(t) for t in ticks])

    @classmethod
    def fraction(cls) -> YAxis:
        """0 to 100 %, for accuracies."""
        ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
        return cls(False, -0.02, 1.02, ticks, [f"{t:.0%}" for t in ticks])

    def apply(self, plot: Any) -> None:
        plot.ruler("y").lim(self.lo, self.hi)
        plot.ruler("y").ticks(self.ticks, self.labels)

    @property
    def label_width(self) -> int:
        return max(map(len, self.labels), default=1)


# -- line charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One curve: its legend label, x and y (NaN: a gap), and its look (colour, character)."""

    label: str
    x: np.ndarray
    y: np.ndarray
    color: int
    char: str


def decimate(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most `buckets` points: each bucket of consecutive points becomes its mean (on a log
    axis, of the logs: the geometric mean), so the trend shows at any length; a bucket with no
    value stays a NaN, so a gap survives."""
    if len(x) <= buckets:
        return x, y
    chunks = np.array_split(np.arange(len(x)), buckets)
    xs = np.array([x[c].mean() for c in chunks])
    with np.errstate(all="ignore"):
        ys = np.array([np.nanmean(y[c]) if np.isfinite(y[c]).any() else math.nan for c in chunks])
    return xs, ys


def _segments(x: np.ndarray, y: np.ndarray) -> Iterator[tuple[list[float], list[float]]]:
    """The runs of consecutive finite points: a NaN breaks the line."""
    finite = np.isfinite(y)
    start = None
    for i, ok in enumerate([*finite, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            yield x[start:i].tolist(), y[start:i].tolist()
            start = None


def draw_lines(
    plot: Any,
    series: Sequence[Series],
    y_axis: YAxis,
    x_range: tuple[float, float],
    page: Page,
    plot_width: int,
) -> None:
    """Draw `series` on a plotext plot, with the legend in room kept free right of the data."""
    x_lo, x_hi = x_range
    if x_hi <= x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    canvas = max(10, plot_width - y_axis.label_width - 3)
    labelled = [s for s in series if s.label]
    room = max((len(s.label) for s in labelled), default=0) + 6 if labelled else 0
    room = min(room, canvas // 2)
    x_end = x_hi + (x_hi - x_lo) * room / max(1, canvas - room)
    for s in series:
        marker = plt.marker("hd" if page.color else s.char, pixel=plt.pixel(foreground=s.color))
        x, y = decimate(s.x, y_axis.plotted(s.y), (canvas - room) * (2 if page.color else 1))
        first = True
        for xs, ys in _segments(x, y):
            signal = plot.signal(xs, ys, marker=marker).lines()
            if first and s.label:
                signal.label(s.label)
            first = False
            plot.draw(signal)
    y_axis.apply(plot)
    plot.ruler("x").lim(x_lo, x_end)
    ticks = [
        t for t in nice_ticks(x_lo, x_hi, max(2, (canvas - room) // 8), whole=True) if t >= x_lo
    ]
    plot.ruler("x").ticks(ticks, [_tick_label(t) for t in ticks])
    if labelled:
        plot.legend(x=x_end, y=y_axis.hi, ha="right", va="top", relative=True)


def legend_rows(n: int) -> int:
    """Canvas rows plotext's framed legend takes for `n` entries."""
    return 2 * n + 3


def chart_rows(height: int) -> int:
    """Canvas rows of a chart `height` rows tall (title, frame and x ticks take the rest)."""
    return height - 4


def panels_per_row(page: Page, least: int) -> int:
    return max(1, page.width // least)


def panels(page: Page, count: int, least: int, height: int) -> tuple[Any, list[Any], int]:
    """A cleared figure holding a grid of `count` panels at least `least` columns wide and
    `height` rows tall, the rows filled as evenly as can be: (figure, panels, panel width)."""
    cols = min(count, panels_per_row(page, least))
    rows = math.ceil(count / cols)
    cols = math.ceil(count / rows)
    fig = _figure(page.width, height * rows)
    if rows * cols == 1:
        return fig, [fig], page.width
    fig.subplots(rows, cols)
    fig.theme("simple")  # again: new subplots copy the rulers and axes but not the colours
    cells = [fig.subplot(r + 1, c + 1) for r in range(rows) for c in range(cols)]
    for empty in cells[count:]:  # a grid cell with nothing to show: no frame
        empty.axes(False)
    return fig, cells[:count], page.width // cols
