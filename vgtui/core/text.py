"""Text: numbers formatted for people, and text from data made safe to draw or print.

The number formats are shared by the headless table, the dashboard and the report.
`safe_text` is the one function every view and printer uses on text from data. A layer name, an
event message, a config value, a lesson's caption or a path comes from a file that someone else
may have written. Sent to a terminal as it is, ``ESC ] 0 ; ... BEL`` would set
the window's title and ``ESC [ 2 J`` clear the screen. `safe_text` shows every character that a
terminal acts on instead of drawing as an escape a person can read, the way Python's ``repr``
writes it: the C0 controls, DEL and the C1 controls as ``\\x1b``, line and paragraph
separators and the bidirectional overrides and isolates (which reorder what a terminal shows) as
``\\u202e``, a lone surrogate (which no terminal encoding can write) as ``\\udc80``. A tab
becomes a space; a newline stays where the caller means one (``newlines=True``).

Dependency-free: no numpy, no Rich; a translation table built once.
"""

from __future__ import annotations

import math
import re

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


_C0 = range(0x00, 0x20)
_C1 = range(0x80, 0xA0)
_DEL = (0x7F,)
_SEPARATORS = (0x2028, 0x2029)  # Python's splitlines breaks on them; some terminals too
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))  # embeddings, overrides, isolates
_SURROGATES = range(0xD800, 0xE000)  # only a lone one reaches a str (from JSON's \ud800)
_SHORT = {0x09: " ", 0x0A: "\\n", 0x0D: "\\r"}

_TABLE: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in (*_C0, *_DEL, *_C1)},
    **{c: f"\\u{c:04x}" for c in (*_SEPARATORS, *_BIDI, *_SURROGATES)},
    **_SHORT,
}
_TABLE_NEWLINES = {c: text for c, text in _TABLE.items() if c != 0x0A}


def _pattern(codes: set[int]) -> re.Pattern[str]:
    """A character class of ``codes``, as ranges of consecutive code points (a fast scan)."""
    ranges: list[list[int]] = []
    for c in sorted(codes):
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return re.compile(
        "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]"
    )


_UNSAFE = _pattern(set(_TABLE))
_UNSAFE_NEWLINES = _pattern(set(_TABLE_NEWLINES))


def safe_text(text: str, newlines: bool = False, most: int | None = None) -> str:
    """``text`` with every character a terminal would act on shown as an escape (see the module's
    docstring); ``newlines`` keeps line breaks as they are. With ``most``, cut first to that many
    characters, saying how long it was (`clip`). The same object when nothing needed doing, so a
    clean string costs one scan."""
    if most is not None:
        text = clip(text, most)
    if text.isprintable():  # the usual case, and the fastest test (none of those is printable)
        return text
    pattern, table = (_UNSAFE_NEWLINES, _TABLE_NEWLINES) if newlines else (_UNSAFE, _TABLE)
    return text if pattern.search(text) is None else text.translate(table)


def clip(text: str, most: int) -> str:
    """``text`` cut to its first ``most`` characters, saying how long it was: a message of
    megabytes is shown as a screenful and its length."""
    if len(text) <= most:
        return text
    return f"{text[:most]}… ({len(text):,} characters)"
