"""Loss and accuracy over steps as braille line charts, decimated to the chart's width.

Each dot column holds the mean of the points that fall in it, so a frame costs the same at step 100
and at step 1,000,000. Earlier runs stay on the chart, dimmed and named in the legend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vgtui.core.text import fmt_num, fmt_steps
from vgtui.ui.state import RunBook
from vgtui.ui.widgets.lines import Line as Row
from vgtui.ui.widgets.lines import LineView, Seg

# Braille dot bits by (row within cell, column within cell).
_DOTS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int32)
PREVIOUS_STYLE = "grey50"
NICE = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
SMALLEST = 6  # rows of the smallest chart worth drawing: title, 4 rows of dots, the axis


@dataclass
class Line:
    """One series to draw: x and y values, a colour and a legend label."""

    xs: np.ndarray
    ys: np.ndarray
    style: str
    label: str


def decimate(
    xs: np.ndarray, ys: np.ndarray, x0: float, x1: float, columns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean y per dot column, for the columns that have points: (column indices, means)."""
    finite = np.isfinite(ys)
    xs, ys = xs[finite], ys[finite]
    if xs.size == 0:
        return np.empty(0, dtype=int), np.empty(0)
    col = np.clip(
        ((xs - x0) / max(x1 - x0, 1e-12) * (columns - 1)).round().astype(int), 0, columns - 1
    )
    sums = np.bincount(col, weights=ys, minlength=columns)
    counts = np.bincount(col, minlength=columns)
    used = np.nonzero(counts)[0]
    return used, sums[used] / counts[used]


def nice_ceil(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is >= value."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in NICE:
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10 * power


def axis_range(
    lo: float, hi: float, previous: tuple[float, float] | None = None, ticks: int = 4
) -> tuple[float, float]:
    """``[lo, hi]`` widened to whole steps of a nice grid; the ``previous`` range as long as the
    data stays in it and fills half of it, so that the axis moves only now and then."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if previous is not None:
        a, b = previous
        if a <= lo and hi <= b and hi - lo >= (b - a) / 2:
            return previous
    if hi - lo < 1e-9 * max(1.0, abs(hi)):
        lo, hi = lo - 0.5, hi + 0.5
    step = nice_ceil((hi - lo) / ticks)
    first, last = math.floor(lo / step), math.ceil(hi / step)
    last += (last - first) % 2  # an even number of steps: the middle label is on the grid too
    return first * step, last * step


def chart(
    lines: list[Line],
    width: int,
    height: int,
    y_range: tuple[float, float] | None = None,
    title: str = "",
    x_axis: bool = True,
    previous: tuple[float, float] | None = None,
) -> tuple[list[Row], tuple[float, float]]:
    """A braille chart with a y axis on the left and, if `x_axis`, the step range below; and the
    y range it used (give it back as ``previous`` next time).

    Both axes snap to a nice grid (steps from 0 to 1,500, loss from 0.4 to 0.8): a new point only
    adds dots at the right, and the whole chart is redrawn only when a range has to change.
    """
    label_w = 7
    cols, rows = max(2, width - label_w - 1), max(2, height - bool(title) - x_axis)
    dot_w, dot_h = cols * 2, rows * 4
    x0 = 0.0
    x1 = nice_ceil(max((float(line.xs.max()) for line in lines if line.xs.size), default=1.0))
    if y_range is None:
        finite = [line.ys[np.isfinite(line.ys)] for line in lines]
        values = np.concatenate(finite) if finite else np.empty(0)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        lo, hi = axis_range(lo, hi, previous)
    else:
        lo, hi = y_range
    bits = np.zeros((rows, cols), dtype=np.int32)
    owner = np.full((rows, cols), -1, dtype=np.int32)
    for index, line in enumerate(lines):
        used, means = decimate(line.xs.astype(float), line.ys.astype(float), x0, x1, dot_w)
        if used.size == 0:
            continue
        # Interpolate across the columns between points, then join neighbours vertically.
        columns = np.arange(used[0], used[-1] + 1)
        ycol = np.interp(columns, used, means)
        ydot = np.clip(((hi - ycol) / (hi - lo) * (dot_h - 1)).round().astype(int), 0, dot_h - 1)
        prev = np.concatenate([ydot[:1], ydot[:-1]])
        top, length = np.minimum(prev, ydot), np.abs(prev - ydot) + 1
        xs = np.repeat(columns, length)
        within = np.arange(length.sum()) - np.repeat(length.cumsum() - length, length)
        ys = np.repeat(top, length) + within
        np.bitwise_or.at(bits, (ys // 4, xs // 2), _DOTS[ys % 4, xs % 2])
        owner[ys // 4, xs // 2] = index
    out: list[Row] = []
    if title:
        legend: list[Seg] = [(title, "bold")]
        for line in lines:
            legend.append(("   ━━ ", line.style))
            legend.append((line.label, PREVIOUS_STYLE if line.style == PREVIOUS_STYLE else ""))
        out.append(tuple(legend))
    labels = {rows // 2: fmt_num((hi + lo) / 2), 0: fmt_num(hi), rows - 1: fmt_num(lo)}
    chars = np.where(bits > 0, 0x2800 + bits, 0x20)
    for r in range(rows):
        label = labels.get(r, "")
        row = "".join(map(chr, chars[r]))
        segs: list[Seg] = [(label.rjust(label_w) + "┤" if label else " " * label_w + "│", "dim")]
        # One styled segment per run of cells drawn by the same line.
        edges = np.flatnonzero(np.diff(owner[r])) + 1
        for a, b in zip(np.concatenate([[0], edges]), np.concatenate([edges, [cols]]), strict=True):
            who = owner[r, a]
            segs.append((row[a:b], lines[who].style if who >= 0 else ""))
        out.append(tuple(segs))
    if x_axis:
        left, right = f"step {fmt_steps(x0)}", fmt_steps(x1)
        axis = list(left.ljust(cols - len(right)) + right)
        middle = fmt_steps((x0 + x1) / 2)
        at = (cols - 1) // 2 - len(middle) // 2  # centred on the middle dot column
        if at > len(left) + 1 and at + len(middle) < cols - len(right) - 1:
            axis[at : at + len(middle)] = middle
        out.append(((" " * label_w + "└" + "".join(axis), "dim"),))
    return out, (lo, hi)


class Curves(LineView):
    """Training loss and accuracy (and validation, where the dataset has it) for recent runs."""

    DEFAULT_CSS = """
    Curves { height: 1fr; min-height: 8; }
    """

    def __init__(self, book: RunBook, **kwargs) -> None:
        super().__init__(**kwargs)
        self.book = book
        self.loss_range: tuple[float, float] | None = None  # kept while the loss stays in it

    def series_lines(self, series: str, val: bool) -> list[Line]:
        runs = self.book.runs
        out = []
        for i, run in enumerate(runs):
            current = i == len(runs) - 1
            if not current and i != len(runs) - 2:
                continue  # the previous run only: more would clutter the chart
            xs, ys = run.points(series)
            style = (
                ("cyan" if series in ("loss", "accuracy") else "yellow")
                if current
                else PREVIOUS_STYLE
            )
            name = "train" if current else f"previous: {run.label}"
            out.append(Line(np.asarray(xs), np.asarray(ys), style, name))
            if val and current:
                vx, vy = run.points("val_" + series)
                if vx.size:
                    out.append(Line(np.asarray(vx), np.asarray(vy), "yellow", "val"))
        out.sort(key=lambda line: line.style != PREVIOUS_STYLE)  # current run drawn on top
        return out

    def accuracy_note(self) -> str:
        """'accuracy 0.52 · val 0.55': the current run's latest values, where it has them."""
        run = self.book.current
        parts = []
        for series, name in (("accuracy", "accuracy"), ("val_accuracy", "val")):
            _, values = run.points(series)
            if values.size:
                parts.append(f"{name} {fmt_num(float(values[-1]))}")
        return " · ".join(parts)

    def version(self) -> object:
        runs = self.book.runs
        return (tuple(runs), runs[-1].seen if runs else 0)

    def build(self, width: int, height: int) -> list[Row]:
        if not self.book.runs or not self.book.current.count:
            return [(("loss and accuracy: waiting…", "dim"),)]
        loss = self.series_lines("loss", True)
        if height < 2 * SMALLEST:  # room for one chart: loss, and the accuracy in words
            rows, self.loss_range = chart(
                loss, width, height - 1, title="loss", previous=self.loss_range
            )
            return [*rows, ((self.accuracy_note(), ""),)]
        half = max(4, (height - 1) // 2)  # the two charts share the x axis under accuracy
        rows, self.loss_range = chart(
            loss, width, half, title="loss", x_axis=False, previous=self.loss_range
        )
        accuracy = self.series_lines("accuracy", True)
        acc, _ = chart(accuracy, width, height - half, (0.0, 1.0), title="accuracy")
        return rows + acc
