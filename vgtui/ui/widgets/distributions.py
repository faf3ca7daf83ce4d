"""Compact distributions: one line per layer (name, a one-row histogram, mean, std, dead or
saturated share), like TensorBoard's distributions, so that 100 layers fit one screen.

A folded group (`layer_filter`) is one line: its layers' histograms rebinned to the same
columns and added (the shape of the group), the mean of their means and stds, the worst share.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vgtui.core.records import LayerStats, Snapshot, Stats
from vgtui.core.text import BLOCKS, fmt_num
from vgtui.ui.widgets.histograms import health, layer_label, rebin
from vgtui.ui.widgets.layer_filter import LayerFilter, Row
from vgtui.ui.widgets.lines import Line
from vgtui.ui.widgets.snapshot_view import SnapshotView

LABEL_W = 18  # the widest layer label (longer names keep their end)
NUMBERS_W = 31  # " μ -1.2e-03 σ   0.0123 dead 12%"
SPARK_MIN, SPARK_MAX = 8, 48


def sparkline(counts: np.ndarray) -> str:
    """One row of block characters, linear in the count, the fullest bin a full block."""
    peak = counts.max() if counts.size and counts.max() > 0 else 1.0
    return "".join(BLOCKS[int(v)] for v in np.round(counts / peak * 8))


def _stats(layer: LayerStats, preact: bool) -> Stats | None:
    return layer.preact if preact else layer.act


def distribution_line(
    layers: Sequence[LayerStats], label: str, label_w: int, spark_w: int, preact: bool = False
) -> Line:
    """One row: a layer's (or a folded group's) label, sparkline, mean, std, health."""
    stats = [s for x in layers if (s := _stats(x, preact)) is not None]
    name = (label if len(label) <= label_w else "…" + label[-(label_w - 1) :]).rjust(label_w)
    if not stats:
        return ((name + " ", ""), ("no activation seen", "dim"))
    counts = sum(rebin(s.hist.counts, spark_w) for s in stats)
    spark = sparkline(np.asarray(counts)[:spark_w]).ljust(spark_w)
    nonfinite = any(s.hist.nonfinite for s in stats)
    mean = float(np.mean([s.mean for s in stats]))
    std = float(np.mean([s.std for s in stats]))
    tag, style = max((health(x) for x in layers), key=lambda t: _pct(t[0]))
    return (
        (name + " ", ""),
        ("▕" + spark + "▏", "red" if nonfinite else "cyan"),
        (f" μ {fmt_num(mean):>8} σ {fmt_num(std):>8} ", ""),
        (tag, style),
    )


def _pct(tag: str) -> float:
    return float(tag.split()[-1].rstrip("%")) if tag else -1.0


def distribution_lines(
    snap: Snapshot | None, rows: Sequence[Row], width: int, preact: bool = False
) -> list[Line]:
    """A title line, then one line per row, each at most ``width`` cells."""
    what = "pre-activations" if preact else "activations"
    title: Line = ((f"{what}, one line per layer: histogram, mean μ, std σ, dead/sat", "bold"),)
    if snap is None or not snap.layers:
        return [title, (("waiting for the first snapshot…", "dim"),)]
    labels = [r.label if len(r.layers) == 1 else f"{r.label} ({len(r.layers)})" for r in rows]
    label_w = min(LABEL_W, max((len(layer_label(x)) for x in labels), default=1))
    spark_w = max(SPARK_MIN, min(SPARK_MAX, width - label_w - NUMBERS_W - 3))
    lines = [title]
    for row, label in zip(rows, labels, strict=True):
        layers = [snap.layers[i] for i in row.layers if i < len(snap.layers)]
        lines.append(distribution_line(layers, layer_label(label), label_w, spark_w, preact))
    return lines


class Distributions(SnapshotView):
    """One line per layer of the newest snapshot; ``names`` and ``layers`` say which rows."""

    DEFAULT_CSS = """
    Distributions { height: auto; display: none; }
    """

    def __init__(self, layers: LayerFilter, **kwargs) -> None:
        super().__init__(**kwargs)
        self.layer_filter = layers
        self.names: list[str] = []
        self.preact = False

    def version(self) -> object:
        f = self.layer_filter
        return (self.snapshot, f.pattern, frozenset(f.folded), tuple(self.names), self.preact)

    def build(self, width: int, height: int) -> list[Line]:
        snap = self.snapshot
        count = len(snap.layers) if snap is not None else 0
        rows = [r for r in self.layer_filter.rows(self.names) if r.layers[-1] < count]
        return distribution_lines(snap, rows, width, self.preact)
