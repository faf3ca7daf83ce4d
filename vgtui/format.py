"""Number formatting shared by the headless table and the dashboard."""

from __future__ import annotations

import math

BLOCKS = " ▁▂▃▄▅▆▇█"  # vertical eighths of a cell, empty to full (sparklines, histograms)
BARS = " ▏▎▍▌▋▊▉█"  # horizontal eighths of a cell, empty to full (bar charts)


def fmt_num(value: float | None) -> str:
    """Compact: 0.693, 1.2e-07, nan, inf, - for missing."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.1e}"


def fmt_steps(step: float) -> str:
    """A step count as people read it: 3,110; 45,000; 1.2M; 3.4B."""
    step = round(step)
    for size, unit in ((1e9, "B"), (1e6, "M")):
        if abs(step) >= size * 0.9995:  # 999,999,999 reads 1.0B, not 1,000M
            value = step / size
            return f"{value:.1f}{unit}" if abs(value) < 10 else f"{value:,.0f}{unit}"
    return f"{step:,}"


def hbar(eighths: int, width: int) -> str:
    """A horizontal bar ``eighths`` eighths of a cell long, padded to ``width`` cells."""
    eighths = max(0, min(width * 8, eighths))
    full, rest = divmod(eighths, 8)
    return ("█" * full + (BARS[rest] if rest else "")).ljust(width)


def log10_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return math.log10(value)


def grad_strip(norms: list[float | None]) -> str:
    """``1e-07 ▁▂▃▅▇█ 0.56``: first and last gradient norm around a log-scale sparkline."""
    logs = [log10_or_none(v) for v in norms]
    known = [v for v in logs if v is not None]
    if not known:
        return "-"
    lo, hi = min(known), max(known)
    span = max(hi - lo, 1e-9)
    cells = "".join(
        "?" if v is None else BLOCKS[1 + round((v - lo) / span * (len(BLOCKS) - 2))] for v in logs
    )
    return f"{fmt_num(norms[0])} {cells} {fmt_num(norms[-1])}"
