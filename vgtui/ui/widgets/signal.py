"""How far the signal gets: each layer's activation spread (std) on a log scale, input side first.

The view of Glorot and Bengio (2010) for a forward-only run: with a good initialisation every
layer's activations keep about the same spread; with a poor one it shrinks (or grows) by a factor
at every layer, and the sentence under the bars says by how much from the first layer to the last.
"""

from __future__ import annotations

import math
import textwrap

from vgtui.core.records import LayerStats, Snapshot
from vgtui.core.text import fmt_num, log10_or_none
from vgtui.ui.widgets.histograms import NO_ACTIVATION, layer_label
from vgtui.ui.widgets.lines import Line
from vgtui.ui.widgets.log_bars import LogBars


def signal_health(std: float | None, first: float | None) -> tuple[str, str]:
    """(word, style) for one layer's activation std relative to the first layer's."""
    if std is None:
        return "n/a", "dim"
    if not math.isfinite(std):
        return "non-finite", "bold red"
    if first is None or not first > 0 or not math.isfinite(first):
        return "", "green"
    ratio = std / first
    if ratio < 1e-2:
        return "vanishing", "red"
    if ratio < 0.25:
        return "fading", "yellow"
    if ratio > 1e2:
        return "exploding", "bold magenta"
    if ratio > 4:
        return "growing", "yellow"
    return "steady", "green"


def spread_sentence(
    first_name: str, last_name: str, first: float | None, last: float | None
) -> str:
    """'std falls from 0.055 at L1 to 3.3e-13 at L10 (10^-11): the signal fades with depth'."""
    if last is not None and not math.isfinite(last):
        return f"{last_name}'s activations are not finite: the signal has blown up"
    a, b = log10_or_none(first), log10_or_none(last)
    if a is None or b is None:
        return ""
    power = round(b - a)
    span = f"from {fmt_num(first)} at {first_name} to {fmt_num(last)} at {last_name}"
    if power <= -1:
        return f"std falls {span} (10^{power}): the signal fades with depth"
    if power >= 1:
        return f"std grows {span} (10^{power}): the signal explodes with depth"
    return f"std goes {span} ({last / first:.2g}x): the signal keeps its scale"


LESSON = (
    "Forward only: random inputs, nothing is trained. With a good initialisation every layer "
    "keeps about the spread of the first (Glorot and Bengio, 2010); a poor one shrinks or grows "
    "it by a factor at every layer. Press i for the next initializer, a for the next activation."
)


class SignalBars(LogBars):
    """Activation std of each hidden layer, against the first layer's."""

    DEFAULT_CSS = """
    SignalBars { height: 1fr; }
    """
    TITLE = "activation std"
    SPAN = (-3, 1)

    def layers(self, snap: Snapshot) -> list[LayerStats]:
        hidden = [x for x in snap.layers if x.name != "output"]
        return hidden or list(snap.layers)

    def value(self, layer: LayerStats) -> float | None:
        return layer.act.std if layer.act is not None else None

    def reference(self, values: list[float | None]) -> float | None:
        return next((v for v in values if v is not None), None)

    def health(self, value: float | None, reference: float | None) -> tuple[str, str]:
        return signal_health(value, reference)

    def missing(self, layer: LayerStats) -> str:
        return NO_ACTIVATION if layer.act is None else ""

    def sentence(self, layers: list[LayerStats], values: list[float | None]) -> str:
        seen = [(x, v) for x, v in zip(layers, values, strict=True) if v is not None]
        if len(seen) < 2:
            return ""
        (first, a), (last, b) = seen[0], seen[-1]
        return spread_sentence(layer_label(first.name), layer_label(last.name), a, b)

    def build(self, width: int, height: int) -> list[Line]:
        lines = super().build(width, height)
        if self.snapshot is None:
            return lines
        return [*lines, (), *[((text, "dim"),) for text in textwrap.wrap(LESSON, max(10, width))]]
