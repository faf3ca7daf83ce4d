"""Number formatting shared by the headless table and the dashboard."""

from __future__ import annotations

import math

BLOCKS = " ▁▂▃▄▅▆▇█"


def fmt_num(value: float | None) -> str:
    """Compact: 0.693, 1.2e-07, nan, inf, - for missing."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.1e}"


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
