"""Text from data never reaches the terminal raw: `safe_text` against every control character, and
hostile layer names, event messages, config values, lesson texts and paths in the dashboard
(pilot tests), the report (every colour mode), headless output, demo output and error lines."""

from __future__ import annotations

import re
import unicodedata

import pytest

from vgtui.engine.records import (
    End,
    Event,
    Hist,
    LayerInfo,
    LayerStats,
    ParamInfo,
    ParamStats,
    RunHeader,
    Snapshot,
    Stats,
    from_dict,
    to_dict,
)
from vgtui.engine.safe_records import safe_record
from vgtui.engine.text import safe_text

EVIL = "\u001b]0;pwned\u0007\u001b[2J"  # sets the terminal's title, then clears the screen
SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J"  # what is shown instead
MARKUP = "[bold red]x"  # a layer name that Rich markup would read as a style
BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A)}
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colour codes Rich and plotext write themselves


def acts_on_terminal(c: str) -> bool:
    """Whether a terminal would act on ``c`` rather than draw it, by Unicode's own categories:
    a control (C0, DEL, C1), a line or paragraph separator, a lone surrogate, or a bidi override
    or isolate."""
    return unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") or ord(c) in BIDI


def raw_controls(text: str) -> list[str]:
    """The characters of ``text`` (colour codes aside) a terminal would act on, newlines aside."""
    return sorted({c for c in SGR.sub("", text) if c != "\n" and acts_on_terminal(c)})


# -- the function --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [*range(0x20), 0x7F, *range(0x80, 0xA0)])
def test_every_control_character_is_shown_as_an_escape(code):
    c = chr(code)
    expected = {"\t": " ", "\n": "\\n", "\r": "\\r"}.get(c, f"\\x{code:02x}")
    assert safe_text(c) == expected
    assert safe_text(f"a{c}b") == f"a{expected}b"
    assert safe_text(c, newlines=True) == ("\n" if c == "\n" else expected)


def test_no_character_a_terminal_acts_on_survives_and_every_other_is_kept():
    """Every code point, judged by Unicode's categories rather than the function's own table."""
    for code in range(0x110000):
        c = chr(code)
        out = safe_text(c)
        if acts_on_terminal(c):
            assert out != c and not any(map(acts_on_terminal, out)), hex(code)
        else:
            assert out is c, hex(code)


def test_bidi_overrides_separators_and_lone_surrogates_are_escaped():
    assert safe_text("a\u202eb\u2066c\u2028d\ud800") == "a\\u202eb\\u2066c\\u2028d\\ud800"
    assert safe_text(EVIL) == SHOWN


def test_clean_text_is_the_same_object_and_long_text_is_cut_saying_how_long():
    text = "layer1 é 中文 ⚡"
    assert safe_text(text) is text
    assert safe_text("x" * 10, most=4) == "xxxx… (10 characters)"
    assert safe_text("\x1b" * 10, most=2) == "\\x1b\\x1b… (10 characters)"


def strings(value: object) -> list[str]:
    """Every string in a record's JSON shape, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [t for v in value for t in strings(v)]
    return []


def test_safe_record_escapes_every_string_in_every_record_and_keeps_clean_ones():
    params = [ParamInfo("w" + EVIL, [2, 2])]
    header = RunHeader(
        config={"model" + EVIL: ["a" + EVIL, {"k" + EVIL: "v" + EVIL, "n": 1.5}], "depth": 3},
        layers=[LayerInfo("fc" + EVIL, "Linear" + EVIL, 2, 2, params)],
        started="2026" + EVIL,
        version=2,
    )
    stats = Stats(0.0, 1.0, -1.0, 1.0, Hist(-1.0, 1.0, [1, 2]))
    layer = LayerStats("fc" + EVIL, stats, 0.1, 1.0, params=[ParamStats("w" + EVIL, 0.1, 1.0)])
    snapshot = Snapshot(3, 0.5, None, 0.1, 1.0, [layer], scalars={"acc" + EVIL: 0.5})
    records = [header, snapshot, Event(3, "note" + EVIL, "a\nb" + EVIL), End(3, "done" + EVIL)]
    for record in records:
        safe = safe_record(record)
        assert not any(map(acts_on_terminal, "".join(strings(to_dict(safe))).replace("\n", "")))
        assert len(strings(to_dict(safe))) == len(strings(to_dict(record)))  # none dropped
        clean = from_dict(to_dict(safe))  # a record with nothing to escape: kept as it is
        assert safe_record(clean) is clean
    assert safe_record(records[2]).message == "a\nb" + SHOWN  # a message keeps its lines
    assert safe_record(snapshot).layers[0].act is stats  # numbers untouched
    cut = safe_record(Event(3, "output", "x" * 100_000), most=100).message
    assert cut == "x" * 100 + "… (100,000 characters)"
