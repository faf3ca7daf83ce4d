"""Text from data made safe to draw or print: the one function every view and printer uses.

A layer name, an event message, a config value, a lesson's caption or a path comes from a file
that someone else may have written. Sent to a terminal as it is, ``ESC ] 0 ; ... BEL`` would set
the window's title and ``ESC [ 2 J`` clear the screen. `safe_text` shows every character that a
terminal acts on instead of drawing as an escape a person can read, the way Python's ``repr``
writes it: the C0 controls, DEL and the C1 controls as ``\\x1b``, line and paragraph
separators and the bidirectional overrides and isolates (which reorder what a terminal shows) as
``\\u202e``, a lone surrogate (which no terminal encoding can write) as ``\\udc80``. A tab
becomes a space; a newline stays where the caller means one (``newlines=True``).

Dependency-free: no numpy, no Rich; a translation table built once.
"""

from __future__ import annotations

import re

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
