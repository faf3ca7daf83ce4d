"""One bar per layer for the weight-gradient norm on a log10 scale, with the ratio in words."""

from __future__ import annotations

import math
import textwrap

from rich.console import Group, RenderableType
from rich.text import Text

from vgtui.format import fmt_num, log10_or_none
from vgtui.ui.widgets.histograms import layer_label
from vgtui.ui.widgets.snapshot_view import SnapshotView

PARTIAL = " ▏▎▍▌▋▊▉█"
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


def bar(fraction: float, width: int) -> str:
    eighths = max(0, min(width * 8, round(fraction * width * 8)))
    full, rest = divmod(eighths, 8)
    return ("█" * full + (PARTIAL[rest] if rest else "")).ljust(width)


class GradientBars(SnapshotView):
    """Bars over a log axis that adapts to cover at least 10^-8 .. 10^1."""

    DEFAULT_CSS = """
    GradientBars { height: auto; padding: 0 1; }
    """

    def render(self) -> RenderableType:
        snap = self.snapshot
        if snap is None:
            return Text("gradient norms: waiting…", style="dim")
        norms = [x.grad_norm for x in snap.layers]
        if all(v is None for v in norms):
            return Text("gradient norms: none (forward-only run: nothing is trained)", style="dim")
        logs = [log10_or_none(v) for v in norms]
        known = [v for v in logs if v is not None]
        lo = min([-8.0, *[math.floor(v) for v in known]])
        hi = max([1.0, *[math.ceil(v) for v in known]])
        label_w = max(len(layer_label(x.name)) for x in snap.layers)
        width = max(8, self.size.width - label_w - 24)
        reference = norms[-1]
        lines = [
            Text(f"gradient norm per layer, log scale 10^{lo:.0f} .. 10^{hi:.0f}", style="bold")
        ]
        for layer, norm, log in zip(snap.layers, norms, logs, strict=True):
            word, style = grad_health(norm, reference)
            frac = 0.0 if log is None else (log - lo) / (hi - lo)
            if norm is not None and not math.isfinite(norm):
                frac = 1.0
            line = Text(no_wrap=True, overflow="crop")
            line.append(layer_label(layer.name).rjust(label_w) + " ")
            line.append(bar(frac, width), style=style)
            line.append(f" {fmt_num(norm):>8} ")
            line.append(word, style=style)
            lines.append(line)
        # Always two lines for the sentence: the height stays the same from frame to frame.
        sentence = textwrap.wrap(ratio_sentence(norms[0], reference), max(10, self.size.width - 2))
        lines += [Text(line, style="italic") for line in [*sentence, "", ""][:2]]
        return Group(*lines)
