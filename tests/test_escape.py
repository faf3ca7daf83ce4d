"""Text from data never reaches the terminal raw: `safe_text` against every control character, and
hostile layer names, event messages, config values, lesson texts and paths in the dashboard
(pilot tests), the report (every colour mode), headless output, demo output and error lines."""

from __future__ import annotations

import dataclasses
import io
import re
import textwrap
import unicodedata
from pathlib import Path

import numpy as np
import plotext
import pytest
from rich.console import Console

from vgtui.cli import main as cli_main
from vgtui.commands import headless
from vgtui.core.config import RunConfig
from vgtui.core.records import (
    End,
    Event,
    Hist,
    LayerInfo,
    LayerStats,
    ParamInfo,
    ParamStats,
    Record,
    RunHeader,
    Snapshot,
    Stats,
    from_dict,
    to_dict,
)
from vgtui.core.safe_records import safe_record
from vgtui.core.text import safe_text
from vgtui.lessons.lesson import parse_lesson
from vgtui.report import Page, Run, render
from vgtui.report.sections import hist_bars, section_events, section_histograms
from vgtui.runlog.codec import RunLog, encode
from vgtui.ui.log_app import log_app

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


# -- a hostile run log ---------------------------------------------------------------------------


def hostile(records: list[Record]) -> list[Record]:
    """The records with every layer named with an escape (one also with markup), escapes in the
    config's values, and three events (output, diverged, error) whose messages hold them."""
    names = {}
    out: list[Record] = []
    for r in records:
        if isinstance(r, RunHeader):
            names = {x.name: f"{x.name}{EVIL}" for x in r.layers}
            names[r.layers[1].name] = MARKUP + EVIL
            config = {
                **r.config,
                "activation": r.config["activation"] + EVIL,
                "source": "watch",
                "model": "Net" + EVIL,
                "optimizer": "sgd" + EVIL,
            }
            layers = [dataclasses.replace(x, name=names[x.name]) for x in r.layers]
            out.append(dataclasses.replace(r, config=config, layers=layers))
        elif isinstance(r, Snapshot):
            layers = [dataclasses.replace(x, name=names[x.name]) for x in r.layers]
            out.append(dataclasses.replace(r, layers=layers))
            if len(out) == 3:
                out.append(Event(r.step, "output", "printed" + EVIL))
                out.append(Event(r.step, "diverged", "[/x] loss became nan" + EVIL))
                out.append(Event(r.step, "error", "RuntimeError: boom" + EVIL))
        else:
            out.append(r)
    return out


def write(path: Path, records: list[Record]) -> Path:
    path.write_text("".join(encode(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def hostile_log(tmp_path, recorded) -> Path:
    return write(tmp_path / f"run{EVIL}.jsonl", hostile(recorded("sigmoid_xavier_spiral.jsonl")))


# -- the dashboard -------------------------------------------------------------------------------


def screen_text(app) -> str:
    """What the terminal is sent for the whole screen, as the driver writes it: its text (Textual's
    own cursor moves aside), after checking that the bytes hold no title, bell or screen clear."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    sent = console.file.getvalue()
    assert "\x1b]" not in sent and "\x07" not in sent and "\x1b[2J" not in sent
    return console.export_text()


def toasts(app) -> list[str]:
    return [toast.render().plain for toast in app.screen.query("Toast")]


async def test_attach_shows_hostile_names_messages_config_and_path_escaped(
    tmp_path, recorded, wait_until
):
    path = tmp_path / f"run{EVIL}.jsonl"
    app = log_app(path, "attach", fps=30)
    async with app.run_test(size=(200, 40), notifications=True) as pilot:
        status = lambda: app.query_one("#status").text  # noqa: E731
        await wait_until(pilot, lambda: "waiting for" in status(), "waiting for the file")
        assert f"run{SHOWN}.jsonl" in status()  # the path in the status line
        write(path, hostile(recorded("sigmoid_xavier_spiral.jsonl"))[:-1])  # no end: following
        await wait_until(pilot, lambda: app.latest and app.latest.step == 480, "the log shown")
        await wait_until(pilot, lambda: len(toasts(app)) == 2, "the output and diverged toasts")
        await pilot.pause()
        screen = screen_text(app)
        assert raw_controls(screen) == []
        assert f"layer1{SHOWN}" in screen and MARKUP + SHOWN in screen
        assert "Net" + SHOWN in status()  # the header's config
        shown = "\n".join(toasts(app))
        assert "printed" + SHOWN in shown and "[/x] loss became nan" + SHOWN in shown
        assert app.error_text.startswith("RuntimeError: boom" + SHOWN)


async def test_replay_shows_hostile_text_escaped_and_rewinds_the_same_run(hostile_log, wait_until):
    app = log_app(hostile_log, "replay", fps=30, speed=4096)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: app.state == "done", "the replay's end")
        await pilot.pause()
        assert raw_controls(screen_text(app)) == []
        assert all(n.endswith(SHOWN) for n in app.query_one("Waterfall").names)
        await pilot.press("space", "g")  # paused, back to the start: the same header again
        await wait_until(pilot, lambda: app.latest.step == 1, "the first snapshot again")
        assert len(app.book.runs) == 1  # the same run, started anew


# -- the report ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["--plain", "NO_COLOR", "--out", "FORCE_COLOR"])
def test_the_report_shows_hostile_text_escaped_in_every_mode(
    hostile_log, tmp_path, capsys, monkeypatch, mode
):
    argv = [str(hostile_log), "--width", "100"]
    if mode.startswith("--"):
        argv.append(mode)
    else:
        monkeypatch.setenv(mode, "1")
    out_file = tmp_path / "report.txt"
    if mode == "--out":
        argv.append(str(out_file))
    assert cli_main(["report", *argv]) == 0
    text = out_file.read_text(encoding="utf-8") if mode == "--out" else capsys.readouterr().out
    assert bool(SGR.search(text)) == (mode in ("--out", "FORCE_COLOR"))
    assert raw_controls(text) == []
    plain = SGR.sub("", text)
    assert f"layer1{SHOWN}" in plain and MARKUP + SHOWN in plain  # the table, the legends
    assert f"sigmoid{SHOWN}/xavier" in plain  # the run's name, from its config
    assert "[/x] loss became nan" + SHOWN in plain  # the events
    assert f"run{SHOWN}.jsonl" in plain  # the header line's path


# -- headless, demo and error lines --------------------------------------------------------------


def test_headless_prints_hostile_events_and_diagnosis_escaped(capsys, recorded):
    records = hostile(recorded("sigmoid_xavier_spiral.jsonl"))

    class Replayed:
        """The trainer, replaced by the hostile log's records."""

        def __init__(self, config: RunConfig) -> None:
            self.header, self.end = records[0], None

        def step(self) -> list[Record]:
            self.end = records[-1]
            return records[1:]

        def stop(self, reason: str) -> End:
            raise AssertionError("the records end by themselves")

    assert headless.run_headless(RunConfig(), make_trainer=Replayed) == 0
    out = capsys.readouterr().out
    assert raw_controls(out) == []
    assert "diverged: [/x] loss became nan" + SHOWN in out  # the event line, markup as it is
    assert f"(layer1{SHOWN})" in out  # the diagnosis names the vanishing layer


LESSON = """
title = "Title\\u001b]0;pwned\\u0007\\u001b[2J"
summary = "Summary\\u001b[2J"
config = { depth = 2, width = 4, dataset = "xor", device = "cpu" }

[[steps]]
caption = "Caption\\u001b]0;pwned\\u0007\\u001b[2J"
steps = 2
"""


def test_a_hostile_lesson_is_shown_escaped_headless_and_in_the_dashboard(tmp_path, capsys):
    path = tmp_path / f"l{EVIL}.toml"
    path.write_text(LESSON, encoding="utf-8")
    assert cli_main(["demo", str(path), "--headless"]) == 0
    out = capsys.readouterr().out
    assert raw_controls(out) == []
    assert f"l{SHOWN}: Title{SHOWN}" in out and f"Caption{SHOWN}" in out
    lesson = parse_lesson(LESSON)  # what the dashboard's caption line and `vgtui demo` show
    shown = [
        lesson.title,
        lesson.summary,
        lesson.steps[0].caption,
        lesson.steps[0].fallback_caption,
    ]
    assert shown == [f"Title{SHOWN}", "Summary\\x1b[2J", f"Caption{SHOWN}", f"Caption{SHOWN}"]


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{missing}.jsonl"],
        ["replay", "{missing}.jsonl"],
        ["demo", "{missing}.toml"],
        ["--headless", "--log", "{directory}"],
    ],
    ids=["report", "replay", "demo", "log"],
)
def test_an_error_line_quoting_a_hostile_path_is_escaped(tmp_path, capsys, argv):
    (tmp_path / f"d{EVIL}").mkdir()
    paths = {"missing": str(tmp_path / f"m{EVIL}"), "directory": str(tmp_path / f"d{EVIL}")}
    assert cli_main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert raw_controls(err) == [] and SHOWN in err and err.count("\n") == 1


# -- the report costs what the log's numbers cost -------------------------------------------------


def test_an_8_mb_event_message_is_cut_to_a_screenful_before_it_is_wrapped(monkeypatch, recorded):
    records = recorded("relu_he_spiral.jsonl")
    log = RunLog(header=records[0], snapshots=[r for r in records if isinstance(r, Snapshot)])
    log.events.append(Event(30, "output", "x" * 8 * 1024 * 1024))
    page = Page(100, 20)
    screenful = page.width * page.height
    wrapped: list[int] = []
    fill = textwrap.fill

    def measured_fill(text: str, *args, **kwargs) -> str:
        wrapped.append(len(text))
        assert len(text) < 2 * screenful, "a message longer than a screenful was wrapped"
        return fill(text, *args, **kwargs)

    monkeypatch.setattr(textwrap, "fill", measured_fill)
    text = render([Run("run", "run.jsonl", log)], page, [section_events])
    assert max(wrapped) >= screenful  # a screenful of it is shown
    assert re.search(r"x… \(8,388,608\s+characters\)", text)


def test_a_10000_bin_histogram_is_rebinned_to_the_panel_before_plotting(monkeypatch, recorded):
    records = recorded("relu_he_spiral.jsonl")
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 1000, 10_000)
    last = records[-2]
    assert isinstance(last, Snapshot)
    layers = [
        dataclasses.replace(
            x, act=dataclasses.replace(x.act, hist=Hist(-1.0, 1.0, counts.tolist()))
        )
        for x in last.layers
    ]
    log = RunLog(header=records[0], snapshots=[dataclasses.replace(last, layers=layers)])
    page = Page(100, 20)
    bars: list[int] = []
    plot_class = type(plotext.figure)
    bar = plot_class.bar

    def measured_bar(self, x, y, *args, **kwargs):
        bars.append(len(x))
        assert len(x) <= page.width, "more bars than the panel has columns went to plotext"
        return bar(self, x, y, *args, **kwargs)

    monkeypatch.setattr(plot_class, "bar", measured_bar)
    render([Run("run", "run.jsonl", log)], page, [section_histograms])
    assert bars and max(bars) <= page.width // 3


def test_rebinned_histogram_bars_sum_their_bins_exactly():
    counts = np.random.default_rng(1).integers(0, 10**12, 10_007)  # a prime number of bins
    h = Hist(-2.0, 3.0, counts.tolist())
    centres, sums = hist_bars(h, 30)
    k = -(-len(counts) // 30)
    assert len(sums) <= 30 and sum(sums) == int(counts.sum())
    assert sums == np.add.reduceat(counts, np.arange(0, len(counts), k)).tolist()
    edges = np.linspace(-2.0, 3.0, len(counts) + 1)
    starts = np.arange(0, len(counts), k)
    ends = np.minimum(starts + k, len(counts))
    np.testing.assert_allclose(centres, (edges[starts] + edges[ends]) / 2)
    few = Hist(0.0, 1.0, [1, 2, 3])
    centres, sums = hist_bars(few, 30)  # no more bins than bars: a bar per bin
    assert centres == pytest.approx([1 / 6, 0.5, 5 / 6]) and sums == [1, 2, 3]
