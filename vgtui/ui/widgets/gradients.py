"""One bar per layer for the weight-gradient norm on a log10 scale, with the ratio in words."""

from __future__ import annotations

import math

from vgtui.core.records import LayerStats, Snapshot
from vgtui.core.text import fmt_num, log10_or_none
from vgtui.ui.widgets.log_bars import LogBars

EXPLODING = 1e3  # an absolute gradient norm this large is exploding whatever the ratio


def grad_health(norm: float | None, reference: float | None) -> tuple[str, str]:
    """(word, style) for one layer's gradient relative to the output layer's."""
    if norm is None:
        return "n/a", "dim"
    if not math.isfinite(norm):
        return "non-finite", "bold red"
    if norm >= EXPLODING:
        return "exploding", "bold magenta"
    if reference is None or not reference > 0 or not math.isfinite(reference):
        return "", "green"
    ratio = norm / reference
    if ratio < 1e-3:
        return "vanishing", "red"
    if ratio < 1e-1:
        return "fading", "yellow"
    if ratio > 1e2:
        return "exploding", "bold magenta"
    return "healthy", "green"


def ratio_sentence(first: float | None, last: float | None) -> str:
    """'layer 1 gets 10^-6 of the output layer's gradient', and the like."""
    a, b = log10_or_none(first), log10_or_none(last)
    if first is not None and not math.isfinite(first):
        return "layer 1's gradient is not finite: the run has diverged"
    if a is None or b is None:
        return ""
    power = round(a - b)
    if power <= -1:
        return f"layer 1 gets 10^{power} of the output layer's gradient"
    if power >= 1:
        return f"layer 1 gets 10^{power} times the output layer's gradient"
    return f"layer 1 gets about as much gradient as the output layer ({first / last:.2g}x)"


class GradientBars(LogBars):
    """Gradient norm per layer, against the output layer's."""

    TITLE = "gradient norm"
    SPAN = (-8, 1)

    def value(self, layer: LayerStats) -> float | None:
        return layer.grad_norm

    def reference(self, values: list[float | None]) -> float | None:
        return values[-1] if values else None

    def health(self, value: float | None, reference: float | None) -> tuple[str, str]:
        return grad_health(value, reference)

    def sentence(self, layers: list[LayerStats], values: list[float | None]) -> str:
        return ratio_sentence(values[0], values[-1]) if values else ""

    def empty(self, snap: Snapshot) -> str:
        if snap.loss is None:
            return "gradient norms: none (forward-only run: nothing is trained)"
        if all(x.grad_norm is None for x in snap.layers):
            return f"gradient norms: none at step {snap.step:,} (the loss is {fmt_num(snap.loss)})"
        return ""
