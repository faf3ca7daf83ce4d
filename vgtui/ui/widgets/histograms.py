"""Per-layer activation histograms drawn with block characters, input side first."""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from vgtui.engine.records import Hist, LayerStats, Snapshot
from vgtui.format import fmt_num
from vgtui.ui.widgets.snapshot_view import SnapshotView

EIGHTHS = " ▁▂▃▄▅▆▇█"
CELL_WIDTH = 28  # columns per histogram, title included
BAR_ROWS = 3


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


def bars(hist: Hist, columns: int, rows: int) -> list[str]:
    """``rows`` lines of vertical bars, top line first, linear in the count."""
    values = rebin(hist.counts, columns)
    peak = values.max() if values.size and values.max() > 0 else 1.0
    eighths = np.round(values / peak * rows * 8).astype(int)
    lines = []
    for row in range(rows - 1, -1, -1):
        level = np.clip(eighths - row * 8, 0, 8)
        lines.append("".join(EIGHTHS[v] for v in level))
    return lines


def health(layer: LayerStats) -> tuple[str, str]:
    """A short health label and its style: saturated or dead percentage, if the rule applies."""
    if layer.sat_frac is not None:
        pct = 100 * layer.sat_frac
        return f"sat {pct:.0f}%", "red" if pct >= 50 else "yellow" if pct >= 10 else "green"
    if layer.dead_frac is not None:
        pct = 100 * layer.dead_frac
        return f"dead {pct:.0f}%", "red" if pct >= 50 else "yellow" if pct >= 10 else "green"
    return "", ""


def layer_cell(
    layer: LayerStats, label: str, pre: bool, width: int = CELL_WIDTH, rows: int = BAR_ROWS
) -> list[Text]:
    """Title, bars and axis for one layer: ``rows + 2`` lines, each exactly ``width`` cells."""
    stats = layer.preact if pre and layer.preact is not None else layer.act
    title = Text(no_wrap=True, overflow="crop")
    title.append(f"{label} ", style="bold")
    title.append(f"μ {fmt_num(stats.mean)} σ {fmt_num(stats.std)}")
    tag, style = health(layer) if not pre else ("", "")
    if tag:
        title.append(f" {tag}", style=style)
    columns = len(rebin(stats.hist.counts, width - 2))  # whole bins per bar: maybe narrower
    bar_style = "red" if stats.hist.nonfinite else "cyan"
    lines = [title] + [
        Text(f"▕{line}▏", style=bar_style) for line in bars(stats.hist, columns, rows)
    ]
    lo, hi = fmt_num(stats.hist.lo), fmt_num(stats.hist.hi)
    middle = []
    if stats.hist.below:
        middle.append(f"◀{stats.hist.below}")
    if stats.hist.above:
        middle.append(f"{stats.hist.above}▶")
    if stats.hist.nonfinite:
        middle.append(f"nan/inf {stats.hist.nonfinite}")
    mid = " ".join(middle)
    gap = max(1, columns + 2 - len(lo) - len(hi) - len(mid))
    axis = Text(lo, style="dim")
    axis.append(" " * (gap // 2) + mid + " " * (gap - gap // 2), style="bold red")
    axis.append(hi, style="dim")
    lines.append(axis)
    for line in lines:
        line.truncate(width, overflow="crop", pad=True)
    return lines


def layer_label(name: str) -> str:
    return "out" if name == "output" else name.replace("layer", "L")


class Histograms(SnapshotView):
    """A grid of histograms, as many per row as the width allows; scrolls when it does not fit."""

    DEFAULT_CSS = """
    Histograms { height: auto; padding: 0 1; }
    """

    preact: reactive[bool] = reactive(False, layout=True)

    def shape(self, snap: Snapshot | None) -> object:
        if snap is None:
            return None
        return tuple((x.name, x.preact is not None) for x in snap.layers)

    def render(self) -> RenderableType:
        snap = self.snapshot
        if snap is None:
            return Text("waiting for the first snapshot…", style="dim")
        width = max(self.size.width, CELL_WIDTH)
        per_row = max(1, width // (CELL_WIDTH + 1))
        cell = max(16, width // per_row - 1)
        layers = snap.layers if self.preact else [x for x in snap.layers if x.name != "output"]
        title = "pre-activations (input to the activation)" if self.preact else "activations"
        shown = [x for x in layers if not self.preact or x.preact is not None]
        grid_rows = max(1, -(-len(shown) // per_row))
        # Fill the visible height when the layers fit; otherwise the panel scrolls.
        visible = self.parent.size.height if isinstance(self.parent, Widget) else 0
        bar_rows = max(BAR_ROWS, min(12, (visible - 1) // grid_rows - 2))
        cells = [layer_cell(x, layer_label(x.name), self.preact, cell, bar_rows) for x in shown]
        # Cells side by side, line by line: plain lines render far faster than a Rich table.
        lines = [Text(f"{title}, input side first", style="bold")]
        gap = Text(" ")
        for i in range(0, len(cells), per_row):
            row = cells[i : i + per_row]
            lines += [gap.join(cell[j] for cell in row) for j in range(bar_rows + 2)]
        for line in lines:
            line.no_wrap, line.overflow = True, "crop"
        return Group(*lines)
