"""Per-layer activation histograms drawn with block characters, input side first."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

import numpy as np
from textual.widget import Widget

from vgtui.core.records import Hist, LayerStats, Stats
from vgtui.core.text import BLOCKS, fmt_num
from vgtui.ui.widgets.lines import Line, Seg, fit
from vgtui.ui.widgets.snapshot_view import SnapshotView

CELL_WIDTH = 28  # columns per histogram, title included
BAR_ROWS = 3
NO_ACTIVATION = "no activation seen"


def rebin(counts: list[int], columns: int) -> np.ndarray:
    """Counts as at most ``columns`` bars of equal value width.

    Bins are summed in groups of a whole number (too many bins) or repeated a whole number of
    times (too few), so that every bar spans the same range: uneven groups would draw a comb.
    """
    c = np.asarray(counts, dtype=np.float64)
    if len(c) > columns:
        group = -(-len(c) // columns)
        padded = np.concatenate([c, np.zeros(-len(c) % group)])
        return padded.reshape(-1, group).sum(axis=1)
    return np.repeat(c, columns // max(len(c), 1))


_LEVELS = str.maketrans({str(i): block for i, block in enumerate(BLOCKS)})


def bars(hist: Hist, columns: int, rows: int, levels: Callable | None = None) -> list[str]:
    """``rows`` lines of vertical bars, top line first, linear in the count, in eighths of a row.

    ``levels`` turns the exact heights (in eighths) into whole ones; by default, rounding.
    """
    values = rebin(hist.counts, columns)
    peak = values.max() if values.size and values.max() > 0 else 1.0
    exact = values / peak * rows * 8
    eighths = levels(exact) if levels else np.round(exact).astype(np.int64)
    # Row r from the top holds eighths above (rows - 1 - r) whole rows: 0..8 of them, as digits.
    level = np.minimum(np.maximum(eighths - 8 * np.arange(rows - 1, -1, -1)[:, None], 0), 8)
    digits = (level + ord("0")).astype(np.uint8).tobytes().decode("ascii")
    return [digits[r * len(values) : (r + 1) * len(values)].translate(_LEVELS) for r in range(rows)]


def health(layer: LayerStats) -> tuple[str, str]:
    """A short health label and its style: saturated or dead percentage, if the rule applies."""
    for word, frac in (("sat", layer.sat_frac), ("dead", layer.dead_frac)):
        if frac is not None:
            pct = 100 * frac
            return f"{word} {pct:.0f}%", "red" if pct >= 50 else "yellow" if pct >= 10 else "green"
    return "", ""


def layer_cell(
    layer: LayerStats,
    label: str,
    pre: bool,
    width: int = CELL_WIDTH,
    rows: int = BAR_ROWS,
    levels: Callable | None = None,
) -> list[Line]:
    """Title, bars and axis for one layer: ``rows + 2`` lines, each exactly ``width`` cells."""
    stats: Stats | None = layer.preact if pre else layer.act
    title: list[Seg] = [(f"{label} ", "bold")]
    if stats is None:  # a module whose forward did not run as a module call (run log v2)
        # Said inside the empty box: a long name fills the title line.
        inner = width - 2
        blank = fit((("▕", "dim"), (" " * inner, ""), ("▏", "dim")), width)
        note = fit(
            (("▕", "dim"), (NO_ACTIVATION[:inner].center(inner), "dim"), ("▏", "dim")), width
        )
        box = [blank] * rows
        box[(rows - 1) // 2] = note
        return [fit(tuple(title), width), *box, fit((), width)]
    title.append((f"μ {fmt_num(stats.mean)} σ {fmt_num(stats.std)}", ""))
    tag, style = health(layer) if not pre else ("", "")
    if tag:
        title.append((f" {tag}", style))
    hist = stats.hist
    columns = len(rebin(hist.counts, width - 2))  # whole bins per bar: maybe narrower
    bar_style = "red" if hist.nonfinite else "cyan"
    lines = [fit(tuple(title), width)]
    drawn = bars(hist, columns, rows, levels)
    lines += [fit(((f"▕{line}▏", bar_style),), width) for line in drawn]
    lo, hi = fmt_num(hist.lo), fmt_num(hist.hi)
    middle = []
    if hist.below:
        middle.append(f"◀{hist.below}")
    if hist.above:
        middle.append(f"{hist.above}▶")
    if hist.nonfinite:
        middle.append(f"nan/inf {hist.nonfinite}")
    mid = " ".join(middle)
    gap = max(1, columns + 2 - len(lo) - len(hi) - len(mid))
    axis = ((lo, "dim"), (" " * (gap // 2) + mid + " " * (gap - gap // 2), "bold red"), (hi, "dim"))
    lines.append(fit(axis, width))
    return lines


def layer_label(name: str) -> str:
    """The built-in MLP's ``layer3`` / ``output`` as ``L3`` / ``out``; any other name as it is
    (a user's ``encoder.layers.0`` is not ``encoder.Ls.0``)."""
    if name == "output":
        return "out"
    return re.sub(r"^layer(\d+)$", r"L\1", name)


class Histograms(SnapshotView):
    """A grid of histograms, as many per row as the width allows; scrolls when it does not fit."""

    DEFAULT_CSS = """
    Histograms { height: auto; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.preact = False
        self.steady_for = False

    def version(self) -> object:
        visible = self.parent.size.height if isinstance(self.parent, Widget) else 0
        return (self.snapshot, self.preact, visible)

    def build(self, width: int, height: int) -> list[Line]:
        if self.preact != self.steady_for:  # other values, other bars
            self.steady.clear()
            self.steady_for = self.preact
        snap = self.snapshot
        if snap is None:
            return [(("waiting for the first snapshot…", "dim"),)]
        per_row = max(1, width // (CELL_WIDTH + 1))
        cell = max(16, width // per_row - 1)
        if self.preact:
            shown = [x for x in snap.layers if x.preact is not None]
            title = "pre-activations (input to the activation)"
        else:
            shown = [x for x in snap.layers if x.name != "output"]
            title = "activations"
        grid_rows = max(1, -(-len(shown) // per_row))
        # Fill the visible height when the layers fit; otherwise the panel scrolls.
        visible = self.parent.size.height if isinstance(self.parent, Widget) else 0
        bar_rows = max(BAR_ROWS, min(12, (visible - 1) // grid_rows - 2))
        pre = self.preact
        cells = [
            layer_cell(x, layer_label(x.name), pre, cell, bar_rows, partial(self.steady, x.name))
            for x in shown
        ]
        # Cells side by side, line by line.
        lines: list[Line] = [((f"{title}, input side first", "bold"),)]
        gap: Line = ((" ", ""),)
        for i in range(0, len(cells), per_row):
            row = cells[i : i + per_row]
            for j in range(bar_rows + 2):
                line: Line = row[0][j]
                for other in row[1:]:
                    line += gap + other[j]
                lines.append(line)
        return lines
