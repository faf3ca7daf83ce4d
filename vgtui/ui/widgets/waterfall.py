"""The gradient waterfall: each layer's gradient norm (rows, input side at the top) over time
(columns, newest at the right), coloured on a log scale, with its legend.

A vanishing network shows as a dark band over the input side's rows; an explosion as a bright
column, white where the norm is not finite. Each text row holds two layer rows (an upper half
block coloured by the upper row, on the lower row's colour); a model with more layers than that
draws each row from several neighbouring layers (the mean of their logs, any non-finite one
winning). Columns are snapshots, or the mean of several once the run is wider than the view: the
frame costs the same at step 100 as at step 1,000,000, and the history is bounded (`GradHistory`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np

from vgtui.core.records import Snapshot
from vgtui.ui.widgets.layer_filter import LayerFilter, Row
from vgtui.ui.widgets.lines import Line, LineView

# The turbo colour map in 15 steps: dark blue (vanished) ... green (healthy) ... dark red (huge).
PALETTE = (
    "#30123b",
    "#4145ab",
    "#4675ed",
    "#39a2fc",
    "#1bcfd4",
    "#24eca6",
    "#61fc6c",
    "#a4fc3b",
    "#d1e834",
    "#f3c63a",
    "#fe9b2d",
    "#f36315",
    "#d93806",
    "#b11901",
    "#7a0403",
)
NONFINITE = "#ffffff"
MISSING = "#262626"  # no gradient (a layer that did not train) or no snapshot yet
COLOURS = (*PALETTE, NONFINITE, MISSING)
NONFINITE_LEVEL, MISSING_LEVEL = len(PALETTE), len(PALETTE) + 1
SPAN = (-7, 1)  # decades the colour scale covers at least; it widens to fit the data
LABEL_W = 14  # the narrowest label column; a wide panel gives a quarter of its width (names keep
# their end: "…attn.out_proj")
TOP = "▀"
TITLE = "gradient norm per layer over time (log colour), input side at the top"


class GradHistory:
    """Every snapshot's gradient norms as log10 (NaN: none, +inf: not finite), ``limit`` at most:
    when full, every other column is dropped and from then on every other snapshot kept.

    A snapshot with no layers (the scalars-only ones a log source sends between) is ignored; one
    with a different layer count, or a step not after the last one (a replay moved back), starts
    again from the columns before its step. Appended by the reader thread, read by the UI thread.
    """

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self.steps = np.zeros(limit, dtype=np.int64)
        self.logs = np.full((0, limit), np.nan)
        self.count = 0
        self.stride = 1
        self.seen = 0
        self.version = 0  # grows with every change (a view's cache key)
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.logs = np.full((0, self.limit), np.nan)
            self.count, self.stride, self.seen = 0, 1, 0
            self.version += 1

    def add(self, snap: Snapshot) -> None:
        if not snap.layers:
            return
        with self.lock:
            if len(snap.layers) != self.logs.shape[0]:
                self.logs = np.full((len(snap.layers), self.limit), np.nan)
                self.count, self.stride, self.seen = 0, 1, 0
            elif self.count and snap.step <= self.steps[self.count - 1]:
                self.count = int(np.searchsorted(self.steps[: self.count], snap.step))
                self.seen = self.count * self.stride
            self.seen += 1
            if (self.seen - 1) % self.stride:
                return
            n = self.count
            self.steps[n] = snap.step
            self.logs[:, n] = [_log(x.grad_norm) for x in snap.layers]
            self.count = n + 1
            if self.count >= self.limit:
                half = (self.count + 1) // 2
                self.steps[:half] = self.steps[: self.count : 2]
                self.logs[:, :half] = self.logs[:, : self.count : 2]
                self.logs[:, half:] = np.nan
                self.count = half
                self.stride *= 2
            self.version += 1

    def window(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, logs) of the columns kept, copied."""
        with self.lock:
            return self.steps[: self.count].copy(), self.logs[:, : self.count].copy()


def _log(norm: float | None) -> float:
    if norm is None:
        return math.nan
    if not math.isfinite(norm):
        return math.inf
    return math.log10(norm) if norm > 0 else -math.inf


def _pool(values: np.ndarray, edges: np.ndarray, axis: int) -> np.ndarray:
    """Mean of each group ``edges[k]:edges[k+1]`` along ``axis``, ignoring NaN; +inf wins."""
    values = np.moveaxis(values, axis, 0)
    finite = np.where(np.isfinite(values), values, 0.0)
    known = np.isfinite(values)
    sums = np.add.reduceat(finite, edges[:-1], axis=0)
    counts = np.add.reduceat(known, edges[:-1], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums / counts
    out[np.add.reduceat(values == np.inf, edges[:-1], axis=0) > 0] = np.inf
    lowest = np.add.reduceat(values == -np.inf, edges[:-1], axis=0) > 0
    out[lowest & (counts == 0)] = -np.inf  # zero gradient everywhere in the group
    return np.moveaxis(out, 0, axis)


def _edges(n: int, groups: int) -> np.ndarray:
    """Boundaries splitting ``n`` items into ``min(n, groups)`` nearly equal consecutive runs."""
    groups = max(1, min(n, groups))
    return np.round(np.linspace(0, n, groups + 1)).astype(np.int64)


def scale(logs: np.ndarray, span: tuple[int, int] = SPAN) -> tuple[int, int]:
    """Whole decades ``(lo, hi)`` covering ``span`` and every finite value."""
    finite = logs[np.isfinite(logs)]
    lo, hi = span
    if finite.size:
        lo, hi = min(lo, math.floor(finite.min())), max(hi, math.ceil(finite.max()))
    return lo, hi


def levels(logs: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Palette indices; NONFINITE_LEVEL for +inf, MISSING_LEVEL for NaN; -inf is the lowest."""
    n = len(PALETTE)
    with np.errstate(invalid="ignore"):
        level = np.floor((logs - lo) / (hi - lo) * n)
    level = np.clip(np.nan_to_num(level, nan=0, posinf=n - 1, neginf=0), 0, n - 1).astype(np.int64)
    level[logs == np.inf] = NONFINITE_LEVEL
    level[np.isnan(logs)] = MISSING_LEVEL
    return level


def _label(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def waterfall_lines(
    steps: np.ndarray, logs: np.ndarray, rows: Sequence[Row], width: int, height: int
) -> list[Line]:
    """The waterfall in ``height`` lines of ``width`` cells: a title, the layers, the step axis and
    the legend. ``logs`` is `GradHistory.window`'s (layers x columns); ``rows`` the layers shown."""
    title: Line = ((TITLE, "bold"),)
    if not rows or not steps.size:
        return [title, (("waiting for the first snapshot with gradients…", "dim"),)]
    # Labels get up to a quarter of a wide panel, LABEL_W at least.
    label_w = min(max(LABEL_W, width // 4), max(len(r.label) for r in rows))
    cols = max(1, width - label_w - 1)
    body = max(1, height - 3)
    # Rows of layers (a folded group: its layers' mean), then rows pooled to what fits.
    per_row = logs[[r.layers[0] for r in rows]]
    for k, r in enumerate(rows):
        if len(r.layers) > 1:
            per_row[k] = _pool(logs[list(r.layers)], _edges(len(r.layers), 1), 0)[0]
    # A line holds two rows (upper and lower half-blocks); with room for a line per row, both
    # halves of a line are one row, so each row is labelled and none is squeezed.
    row_of = np.arange(len(rows))
    if len(rows) <= body:
        row_of = np.repeat(row_of, 2)
        per_row = per_row[row_of]
    slots = _edges(len(per_row), 2 * body)
    pooled = _pool(per_row, slots, 0)
    pooled = _pool(pooled, _edges(pooled.shape[1], cols), 1)
    pooled = np.repeat(pooled, max(1, cols // pooled.shape[1]), axis=1)  # few snapshots: wide
    lo, hi = scale(pooled)
    level = levels(pooled, lo, hi)
    if level.shape[0] % 2:  # an odd number of rows: the last line's lower half is blank
        level = np.vstack([level, np.full((1, level.shape[1]), -1)])
    lines: list[Line] = [title]
    for k in range(level.shape[0] // 2):
        top, bottom = level[2 * k], level[2 * k + 1]
        first = rows[row_of[slots[2 * k]]].label
        segs = [(_label(first, label_w).rjust(label_w) + " ", "dim")]
        pair = top * (len(COLOURS) + 1) + (bottom + 1)
        edges = np.flatnonzero(np.diff(pair)) + 1
        for a, b in zip(np.r_[0, edges], np.r_[edges, len(pair)], strict=True):
            t, u = COLOURS[top[a]], bottom[a]
            segs.append((TOP * int(b - a), f"{t} on {COLOURS[u]}" if u >= 0 else t))
        lines.append(tuple(segs))
    left = f"step {steps[0]:,}"
    right = f"{steps[-1]:,}"
    per = f" {-(-len(rows) // (2 * body))} layers/half-row" if len(rows) > 2 * body else ""
    axis = left + per
    lines.append(((" " * (label_w + 1) + axis + right.rjust(max(1, cols - len(axis))), "dim"),))
    lines.append(legend(lo, hi))
    return lines


def legend(lo: int, hi: int) -> Line:
    """``10^-7 ████████ 10^1  █ not finite  █ none``, each block in its colour."""
    segs: list[tuple[str, str]] = [(f"10^{lo} ", "dim")]
    segs += [("█", colour) for colour in PALETTE]
    segs.append((f" 10^{hi}", "dim"))
    segs += [("  █", NONFINITE), (" not finite", "dim"), ("  █", MISSING), (" no gradient", "dim")]
    return tuple(segs)


class Waterfall(LineView):
    """The waterfall: `history` is filled by the app's reader, ``names`` and ``layers`` say
    which rows to draw; `redraw` once a frame builds only when one of them changed."""

    DEFAULT_CSS = """
    Waterfall { height: 1fr; display: none; }
    """

    def __init__(self, history: GradHistory, layers: LayerFilter, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.layer_filter = layers
        self.names: list[str] = []

    def version(self) -> object:
        f = self.layer_filter
        return (self.history.version, f.pattern, frozenset(f.folded), tuple(self.names))

    def build(self, width: int, height: int) -> list[Line]:
        steps, logs = self.history.window()
        rows = [r for r in self.layer_filter.rows(self.names) if r.layers[-1] < logs.shape[0]]
        return waterfall_lines(steps, logs, rows, width, max(height, 6))
