"""One bar per layer for a positive quantity on a log10 scale, a health word, a sentence below.

The gradient norms (`gradients.py`) and the activations' spread (`signal.py`) are both drawn
this way; a subclass says which value, against which reference, and in which words.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np

from vgtui.core.records import LayerStats, Snapshot
from vgtui.core.text import fmt_num, hbar, log10_or_none
from vgtui.ui.widgets.histograms import layer_label
from vgtui.ui.widgets.lines import Line
from vgtui.ui.widgets.snapshot_view import SnapshotView

NUMBER_W = 8  # the printed value's column


class LogBars(SnapshotView):
    """Bars over a log axis that covers at least ``10^SPAN[0] .. 10^SPAN[1]`` and grows to fit."""

    DEFAULT_CSS = """
    LogBars { height: auto; }
    """
    TITLE = ""  # short: "gradient norm"; the scale follows it
    WAITING = "waiting…"
    SPAN = (-8, 1)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.span = self.SPAN  # the least axis; a comparison widens it to both sides' values

    def version(self) -> object:
        return (self.snapshot, self.span)

    def log_range(self, snap: Snapshot | None) -> tuple[int, int]:
        """The whole powers of ten that the snapshot's values need, at least `span`."""
        known = []
        if snap is not None:
            known = [
                v for x in self.layers(snap) if (v := log10_or_none(self.value(x))) is not None
            ]
        lo = min([self.span[0], *[math.floor(v) for v in known]])
        hi = max([self.span[1], *[math.ceil(v) for v in known]])
        return lo, hi

    def layers(self, snap: Snapshot) -> list[LayerStats]:
        """The layers drawn, in order."""
        return list(snap.layers)

    def value(self, layer: LayerStats) -> float | None:
        raise NotImplementedError

    def reference(self, values: list[float | None]) -> float | None:
        """The value each layer is compared with."""
        raise NotImplementedError

    def health(self, value: float | None, reference: float | None) -> tuple[str, str]:
        """(word, style) for one layer."""
        raise NotImplementedError

    def sentence(self, layers: list[LayerStats], values: list[float | None]) -> str:
        raise NotImplementedError

    def missing(self, layer: LayerStats) -> str:
        """What to write instead of a bar for a layer without a value ("" for an empty bar)."""
        return ""

    def empty(self, snap: Snapshot) -> str:
        """What to say instead of bars when there is nothing to draw ("" to draw them)."""
        return ""

    def build(self, width: int, height: int) -> list[Line]:
        snap = self.snapshot
        if snap is None:
            return [((f"{self.TITLE}: {self.WAITING}", "dim"),)]
        if note := self.empty(snap):
            return [((line, "dim"),) for line in textwrap.wrap(note, max(10, width))]
        layers = self.layers(snap)
        values = [self.value(x) for x in layers]
        logs = [log10_or_none(v) for v in values]
        lo, hi = self.log_range(snap)
        label_w = max((len(layer_label(x.name)) for x in layers), default=1)
        bar_w = max(8, width - label_w - NUMBER_W - 14)
        reference = self.reference(values)
        title = f"{self.TITLE} per layer, log scale 10^{lo} .. 10^{hi}"
        if len(title) > width:
            title = f"{self.TITLE}, 10^{lo}..10^{hi}"
        lines: list[Line] = [((title, "bold"),)]
        for layer, value, log in zip(layers, values, logs, strict=True):
            label = (layer_label(layer.name).rjust(label_w) + " ", "")
            if value is None and (note := self.missing(layer)):
                lines.append((label, (note, "dim")))
                continue
            word, style = self.health(value, reference)
            frac = 1.0 if value is not None and not math.isfinite(value) else 0.0
            if log is not None:
                frac = (log - lo) / (hi - lo)
            eighths = int(self.steady(layer.name, np.array(frac * bar_w * 8)))
            number = f" {fmt_num(value):>{NUMBER_W}} "
            lines.append((label, (hbar(eighths, bar_w), style), (number, ""), (word, style)))
        # At least two lines for the sentence, so that the height stays from frame to frame.
        words = textwrap.wrap(self.sentence(layers, values), max(10, width))
        lines += [((line, "italic"),) for line in [*words, "", ""][: max(2, len(words))]]
        return lines
