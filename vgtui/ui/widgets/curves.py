"""Loss and accuracy over steps as braille line charts, decimated to the chart's width.

Each dot column holds the mean of the points that fall in it, so a frame costs the same at step 100
and at step 1,000,000. Earlier runs stay on the chart, dimmed and named in the legend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text
from textual.widget import Widget

from vgtui.format import fmt_num
from vgtui.ui.history import RunBook

# Braille dot bits by (row within cell, column within cell).
_DOTS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int32)
PREVIOUS_STYLE = "grey50"


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


def chart(
    lines: list[Line],
    width: int,
    height: int,
    y_range: tuple[float, float] | None = None,
    title: str = "",
    x_axis: bool = True,
) -> Group:
    """A braille chart with a y axis on the left and, if `x_axis`, the step range below."""
    label_w = 7
    cols, rows = max(2, width - label_w - 1), max(2, height - bool(title) - x_axis)
    dot_w, dot_h = cols * 2, rows * 4
    x1 = max((float(line.xs.max()) for line in lines if line.xs.size), default=1.0)
    x0 = min((float(line.xs.min()) for line in lines if line.xs.size), default=0.0)
    finite = [line.ys[np.isfinite(line.ys)] for line in lines]
    if y_range is None:
        values = np.concatenate(finite) if finite else np.empty(0)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
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
    out = []
    if title:
        legend = Text(title, style="bold", no_wrap=True, overflow="crop")
        for line in lines:
            legend.append("   ━━ ", style=line.style)
            legend.append(line.label, style=PREVIOUS_STYLE if line.style == PREVIOUS_STYLE else "")
        out.append(legend)
    for r in range(rows):
        label = (
            fmt_num(hi)
            if r == 0
            else fmt_num(lo)
            if r == rows - 1
            else (fmt_num((hi + lo) / 2) if r == rows // 2 else "")
        )
        text = Text(
            label.rjust(label_w) + "┤" if label else " " * label_w + "│", style="dim", no_wrap=True
        )
        chars = np.where(bits[r] > 0, 0x2800 + bits[r], 0x20)
        row = "".join(map(chr, chars))
        # One styled segment per run of cells drawn by the same line.
        edges = np.flatnonzero(np.diff(owner[r])) + 1
        for a, b in zip(np.concatenate([[0], edges]), np.concatenate([edges, [cols]]), strict=True):
            who = owner[r, a]
            text.append(row[a:b], style=lines[who].style if who >= 0 else "")
        out.append(text)
    if not x_axis:
        return Group(*out)
    axis = f"step {fmt_num(x0)}"
    right = fmt_num(x1)
    out.append(
        Text(
            " " * label_w + "└" + axis + right.rjust(max(1, cols - len(axis))),
            style="dim",
            no_wrap=True,
        )
    )
    return Group(*out)


class Curves(Widget):
    """Training loss and accuracy (and validation, where the dataset has it) for recent runs."""

    DEFAULT_CSS = """
    Curves { height: 1fr; min-height: 8; padding: 0 1; }
    """

    def __init__(self, book: RunBook, **kwargs) -> None:
        super().__init__(**kwargs)
        self.book = book

    def lines(self, series: str, val: bool) -> list[Line]:
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
                if vx:
                    out.append(Line(np.asarray(vx), np.asarray(vy), "yellow", "val"))
        out.sort(key=lambda line: line.style != PREVIOUS_STYLE)  # current run drawn on top
        return out

    def render(self) -> RenderableType:
        if not self.book.runs or not self.book.current.steps:
            return Text("loss and accuracy: waiting…", style="dim")
        width, height = self.size.width - 2, self.size.height
        half = max(4, (height - 1) // 2)  # the two charts share the x axis under accuracy
        loss = chart(self.lines("loss", True), width, half, title="loss", x_axis=False)
        acc = chart(
            self.lines("accuracy", True), width, height - half, (0.0, 1.0), title="accuracy"
        )
        return Group(loss, acc)
