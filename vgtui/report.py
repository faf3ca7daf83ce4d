"""`vgtui report`: run logs as plots printed once, drawn with plotext, for any terminal or CI log.

The report is a list of sections (`SECTIONS`), each a small function from the runs and the page
to text; another section is one more entry there. Several logs are drawn together: their loss and
accuracy overlaid, their per-layer curves as panels on shared axes, each run named by its config.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import numpy as np
import plotext as plt
from rich import box
from rich.console import Console, RenderableType
from rich.rule import Rule
from rich.table import Table

from vgtui.engine.logfile import LogFileError, open_log
from vgtui.engine.records import Hist, LayerStats, Stats
from vgtui.engine.runlog import RunLog
from vgtui.format import fmt_num

MIN_WIDTH, MIN_HEIGHT = 40, 12
# Per-series colours (plotext's 16-colour codes) and, without colour, per-series characters.
_COLORS = (12, 10, 9, 14, 13, 11, 4, 2, 1, 6, 5, 3)
_LAYER_CHARS = "123456789abc"
_RUN_CHARS = "*o+x#%@="
_HIST_PANEL_WIDTH = 26  # the narrowest histogram panel that still reads
_WIDE_PANEL = 70  # the narrowest line chart panel that still reads
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# -- the runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One run log to report on, with the name it is shown under."""

    name: str
    source: str
    log: RunLog

    @property
    def layers(self) -> list[str]:
        """Layer names, input side first: the header's, else the first snapshot's."""
        if self.log.header is not None and self.log.header.layers:
            return [x.name for x in self.log.header.layers]
        return [x.name for x in self.log.snapshots[0].layers] if self.log.snapshots else []

    @property
    def config(self) -> dict[str, Any]:
        return self.log.header.config if self.log.header is not None else {}


_BARE_KEYS = ("activation", "init")  # shown as bare values ("relu/he"); others as key=value
_NOISE_KEYS = frozenset({"device", "data_dir", "steps", "every"})


def run_names(configs: Sequence[dict[str, Any]], sources: Sequence[str]) -> list[str]:
    """Names that tell the runs apart by their configs: "sigmoid/xavier" vs "relu/he", else the
    differing keys ("lr=0.1"); the file names where the configs do not tell them apart."""
    stems = [Path(s).stem for s in sources]
    if len(configs) == 1:
        config = configs[0]
        bare = [str(config[k]) for k in _BARE_KEYS if k in config]
        return ["/".join(bare) if bare else stems[0]]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differing = [
        k for k in keys if k not in _NOISE_KEYS and len({repr(c.get(k)) for c in configs}) > 1
    ]
    differing.sort(
        key=lambda k: (k not in _BARE_KEYS, _BARE_KEYS.index(k) if k in _BARE_KEYS else 0)
    )

    def name(config: dict[str, Any]) -> str:
        bare = "/".join(str(config.get(k)) for k in differing if k in _BARE_KEYS)
        rest = [f"{k}={config.get(k)}" for k in differing[:4] if k not in _BARE_KEYS]
        return " ".join([bare, *rest] if bare else rest)

    names = [name(c) for c in configs]
    if not differing or len(set(names)) < len(names):
        names = stems
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    return names


def load_runs(paths: Sequence[str]) -> list[Run]:
    """The runs at `paths`, named; LogFileError (one line) for a log that cannot be read."""
    logs = [open_log(p) for p in paths]
    names = run_names([log.header.config if log.header else {} for log in logs], paths)
    return [Run(n, str(p), log) for n, p, log in zip(names, paths, logs, strict=True)]


# -- what one series is --------------------------------------------------------------------------


def steps_of(run: Run) -> np.ndarray:
    return np.array([s.step for s in run.log.snapshots], dtype=float)


def _as_float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_series(run: Run, field: str) -> np.ndarray:
    """A snapshot field (loss, accuracy, val_loss, val_accuracy) per snapshot; NaN where None."""
    return np.array([_as_float(getattr(s, field)) for s in run.log.snapshots], dtype=float)


def layer_series(
    run: Run, value: Callable[[LayerStats], float | None]
) -> dict[str, list[float | None]]:
    """`value` of every layer per snapshot, by layer name; None where a snapshot lacks it."""
    out: dict[str, list[float | None]] = {
        name: [None] * len(run.log.snapshots) for name in run.layers
    }
    for i, snap in enumerate(run.log.snapshots):
        for layer in snap.layers:
            if layer.name in out:
                out[layer.name][i] = value(layer)
    return out


def as_array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([_as_float(v) for v in values], dtype=float)


def _any(test: Callable[[float | None], bool]) -> Callable[[list[float | None]], bool]:
    return lambda values: any(map(test, values))


def undrawn(by_layer: dict[str, list[float | None]], log: bool) -> list[str]:
    """Why some layers' points are missing from a chart: one phrase per reason, naming them."""
    reasons = (
        ("no value at any snapshot", lambda vs: all(v is None for v in vs)),
        (
            "no value at some snapshots (a gap)",
            lambda vs: None in vs and not all(v is None for v in vs),
        ),
        ("not finite at some snapshots", _any(lambda v: v is not None and not math.isfinite(v))),
        (
            "zero at some snapshots (no place on a log axis)",
            _any(lambda v: log and v is not None and math.isfinite(v) and v <= 0),
        ),
    )
    out = []
    for why, test in reasons:
        names = [n for n, vs in by_layer.items() if test(vs)]
        if names:
            out.append(f"{why}: {'every layer' if names == list(by_layer) else ', '.join(names)}")
    return out


def grad_norm(layer: LayerStats) -> float | None:
    return layer.grad_norm


def act_std(layer: LayerStats) -> float | None:
    """None where the layer's forward did not run as a module call (run log v2: ``act`` null)."""
    return layer.act.std if layer.act is not None else None


def pick(n: int, k: int) -> list[int]:
    """`k` indices out of `n`, evenly spaced, the first and the last among them (all if n <= k)."""
    if n <= k:
        return list(range(n))
    if k <= 1:
        return [n - 1]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


# -- the page and how text is made ---------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Where the report is printed: its width, one chart's height, and whether it has colour."""

    width: int = 80
    height: int = 20
    color: bool = False

    def rich(self, *renderables: RenderableType) -> str:
        """Rich renderables as text of this page's width (ANSI codes only with colour)."""
        out = io.StringIO()
        console = Console(
            file=out,
            width=self.width,
            color_system="256" if self.color else None,
            force_terminal=self.color,
            no_color=not self.color,
            highlight=False,
            emoji=False,
        )
        for renderable in renderables:
            console.print(renderable)
        return self.tidy(out.getvalue())

    def tidy(self, text: str) -> str:
        """No trailing blank lines; without colour, no trailing spaces either."""
        text = text.rstrip("\n")
        return text if self.color else "\n".join(line.rstrip() for line in text.split("\n"))

    def heading(self, title: str) -> str:
        return self.rich(Rule(f"[bold]{title}[/]" if self.color else title, align="left"))

    def notes(self, lines: Sequence[str]) -> str:
        """Lines wrapped to the page, continuation lines indented."""
        return "\n".join(
            textwrap.fill(line, self.width, subsequent_indent="  ", break_on_hyphens=False)
            for line in lines
        )


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _figure(page: Page, width: int, height: int):
    """plotext's figure, cleared and sized, without frame colours and unbounded by the terminal."""
    plt.terminal.limit(False, False)
    fig = plt.figure
    fig.clear()
    fig.theme("simple")
    fig.plot_size(width, height)
    return fig


def _text(fig: Any, page: Page) -> str:
    return page.tidy(fig.build().string(colorless=not page.color))


# -- axes ----------------------------------------------------------------------------------------


def _tick_label(value: float) -> str:
    """0.001, 0.02, 1, 1000, 25000, 1e-05 -> 1e-5, 1e+06 -> 1e6."""
    if value == round(value) and abs(value) < 1e6:
        return str(round(value))
    text = f"{value:.3g}"
    mantissa, _, exp = text.partition("e")
    return f"{mantissa}e{int(exp)}" if exp else text


def nice_ticks(lo: float, hi: float, most: int, whole: bool = False) -> list[float]:
    """As many round positions (1, 2 or 5 times a power of ten apart) within [lo, hi] as fit in
    `most`; whole numbers only where `whole`."""
    if not hi > lo:
        return [lo]
    most = max(2, most)
    power = math.floor(math.log10((hi - lo) / most)) - 1
    while True:
        for m in (1, 2, 5):
            step = m * 10.0**power
            if whole and step < 1:
                continue
            first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
            if last - first + 1 <= most:
                return [k * step for k in range(first, last + 1)]
        power += 1


@dataclass(frozen=True)
class YAxis:
    """How values map onto the y axis: limits and ticks in plotted units, and the transform.

    A log axis plots log10 of the values on a linear ruler, labelled with the values: plotext 6.1's
    own log scale raises on a flat series and ignores limits once ticks are given.
    """

    log: bool
    lo: float
    hi: float
    ticks: list[float]
    labels: list[str]

    def plotted(self, y: np.ndarray) -> np.ndarray:
        """The plotted values; NaN (a gap) where a value cannot be drawn (not finite, or <= 0 on
        a log axis)."""
        y = np.asarray(y, dtype=float)
        good = np.isfinite(y) & ((y > 0) if self.log else True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(good, np.log10(np.where(good, y, 1.0)) if self.log else y, math.nan)

    @classmethod
    def for_values(cls, values: Sequence[np.ndarray], log: bool, rows: int) -> YAxis | None:
        """An axis that holds every drawable value; None when there is none."""
        flat = np.concatenate([np.asarray(v, dtype=float) for v in values]) if values else []
        flat = np.asarray(flat)
        drawable = flat[np.isfinite(flat) & ((flat > 0) if log else True)]
        if drawable.size == 0:
            return None
        if log:
            lo, hi = math.floor(np.log10(drawable.min())), math.ceil(np.log10(drawable.max()))
            hi = max(hi, lo + 1)
            every = max(1, math.ceil((hi - lo) / max(1, rows // 2)))
            ticks = [float(k) for k in range(lo, hi + 1, every)]
            if hi - lo <= 2 and rows >= 12:  # few decades: 2 and 5 between the powers of ten
                ticks = [
                    t for k in range(lo, hi + 1) for t in (k, k + math.log10(2), k + math.log10(5))
                ]
                ticks = [t for t in ticks if t <= hi + 1e-9]
            return cls(True, lo, hi, ticks, [_tick_label(10.0**t) for t in ticks])
        lo, hi = float(drawable.min()), float(drawable.max())
        if hi - lo < 1e-12 * max(1.0, abs(hi)):
            lo, hi = lo - max(abs(lo) * 0.1, 1e-3), hi + max(abs(hi) * 0.1, 1e-3)
        pad = (hi - lo) * 0.05
        lo, hi = lo - pad, hi + pad
        ticks = nice_ticks(lo, hi, max(3, rows // 3))
        return cls(False, lo, hi, ticks, [_tick_label(t) for t in ticks])

    @classmethod
    def fraction(cls) -> YAxis:
        """0 to 100 %, for accuracies."""
        ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
        return cls(False, -0.02, 1.02, ticks, [f"{t:.0%}" for t in ticks])

    def apply(self, plot: Any, top_room: float = 0.0) -> None:
        plot.ruler("y").lim(self.lo, self.hi + top_room)
        plot.ruler("y").ticks(self.ticks, self.labels)

    @property
    def label_width(self) -> int:
        return max(map(len, self.labels), default=1)


# -- line charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One curve: its legend label, x and y (NaN: a gap), and its look (colour, character)."""

    label: str
    x: np.ndarray
    y: np.ndarray
    color: int
    char: str


def decimate(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most `buckets` points: each bucket of consecutive points becomes its mean (on a log
    axis, of the logs: the geometric mean), so the trend shows at any length; a bucket with no
    value stays a NaN, so a gap survives."""
    if len(x) <= buckets:
        return x, y
    chunks = np.array_split(np.arange(len(x)), buckets)
    xs = np.array([x[c].mean() for c in chunks])
    with np.errstate(all="ignore"):
        ys = np.array([np.nanmean(y[c]) if np.isfinite(y[c]).any() else math.nan for c in chunks])
    return xs, ys


def _segments(x: np.ndarray, y: np.ndarray) -> Iterator[tuple[list[float], list[float]]]:
    """The runs of consecutive finite points: a NaN breaks the line."""
    finite = np.isfinite(y)
    start = None
    for i, ok in enumerate([*finite, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            yield x[start:i].tolist(), y[start:i].tolist()
            start = None


def draw_lines(
    plot: Any,
    series: Sequence[Series],
    y_axis: YAxis,
    x_range: tuple[float, float],
    page: Page,
    plot_width: int,
    legend: bool = True,
) -> None:
    """Draw `series` on a plotext plot, with the legend in room kept free right of the data."""
    x_lo, x_hi = x_range
    if x_hi <= x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    canvas = max(10, plot_width - y_axis.label_width - 3)
    labelled = [s for s in series if s.label] if legend else []
    room = max((len(s.label) for s in labelled), default=0) + 6 if labelled else 0
    room = min(room, canvas // 2)
    x_end = x_hi + (x_hi - x_lo) * room / max(1, canvas - room)
    for s in series:
        marker = plt.marker("hd" if page.color else s.char, pixel=plt.pixel(foreground=s.color))
        x, y = decimate(s.x, y_axis.plotted(s.y), (canvas - room) * (2 if page.color else 1))
        first = True
        for xs, ys in _segments(x, y):
            signal = plot.signal(xs, ys, marker=marker).lines()
            if first and s.label and legend:
                signal.label(s.label)
            first = False
            plot.draw(signal)
    y_axis.apply(plot)
    plot.ruler("x").lim(x_lo, x_end)
    ticks = [
        t for t in nice_ticks(x_lo, x_hi, max(2, (canvas - room) // 8), whole=True) if t >= x_lo
    ]
    plot.ruler("x").ticks(ticks, [_tick_label(t) for t in ticks])
    if labelled:
        plot.legend(x=x_end, y=y_axis.hi, ha="right", va="top", relative=True)


def legend_rows(n: int) -> int:
    """Canvas rows plotext's framed legend takes for `n` entries."""
    return 2 * n + 3


def _chart_rows(height: int) -> int:
    """Canvas rows of a chart `height` rows tall (title, frame and x ticks take the rest)."""
    return height - 4


# -- sections ------------------------------------------------------------------------------------


Section = Callable[[Sequence[Run], Page], str]


def _panels_per_row(page: Page, least: int) -> int:
    return max(1, page.width // least)


def _panels(page: Page, count: int, least: int, height: int) -> tuple[Any, list[Any], int]:
    """A cleared figure holding a grid of `count` panels at least `least` columns wide and
    `height` rows tall, the rows filled as evenly as can be: (figure, panels, panel width)."""
    cols = min(count, _panels_per_row(page, least))
    rows = math.ceil(count / cols)
    cols = math.ceil(count / rows)
    fig = _figure(page, page.width, height * rows)
    if rows * cols == 1:
        return fig, [fig], page.width
    fig.subplots(rows, cols)
    fig.theme("simple")  # again: new subplots copy the rulers and axes but not the colours
    cells = [fig.subplot(r + 1, c + 1) for r in range(rows) for c in range(cols)]
    for empty in cells[count:]:  # a grid cell with nothing to show: no frame
        empty.axes(False)
    return fig, cells[:count], page.width // cols


def section_header(runs: Sequence[Run], page: Page) -> str:
    """Which logs, how each run was configured, how far it got, what was skipped."""
    title = "vgtui report: " + ", ".join(Path(r.source).name for r in runs)
    lines: list[str] = []
    for run in runs:
        log, c = run.log, run.config
        snaps = log.snapshots
        shape = []
        if "depth" in c and "width" in c:
            shape.append(f"depth {c['depth']} x width {c['width']}")
        for key in ("dataset", "optimizer"):
            if key in c:
                shape.append(str(c[key]))
        if "lr" in c:
            shape.append(f"lr {c['lr']}")
        first, last = (snaps[0].step, snaps[-1].step) if snaps else (0, 0)
        steps = f"steps {first}-{last}" if last > first else f"step {last}"
        end = f"ended: {log.end.reason} at step {log.end.step}" if log.end else "no end record"
        facts = [
            f"{plural(len(snaps), 'snapshot')}, {steps}",
            end,
            plural(len(run.layers), "layer"),
        ]
        if log.skipped:
            facts.append(f"{plural(log.skipped, 'broken line')} skipped")
        lines.append(f"{run.name}: {run.source}" if len(runs) > 1 else f"{run.name} ({run.source})")
        lines.append("  " + "; ".join([", ".join(shape), *facts] if shape else facts))
    return page.heading(title) + "\n" + page.notes(lines)


def _run_style(i: int) -> tuple[int, str]:
    return _COLORS[i % len(_COLORS)], _RUN_CHARS[i % len(_RUN_CHARS)]


def section_training(runs: Sequence[Run], page: Page) -> str:
    """Loss and accuracy, train and validation, against steps; every run overlaid."""
    notes: list[str] = []
    charts: list[tuple[str, list[Series], bool]] = []
    for title, fields, fraction in (
        ("loss", ("loss", "val_loss"), False),
        ("accuracy", ("accuracy", "val_accuracy"), True),
    ):
        series: list[Series] = []
        for run in runs:
            x = steps_of(run)
            for field in fields:
                y = run_series(run, field)
                known = np.isfinite(y)  # validation runs every few snapshots: join its points
                if not known.any():
                    continue
                label = ("val" if field.startswith("val") else "train") + (
                    f" {run.name}" if len(runs) > 1 else ""
                )
                series.append(Series(label, x[known], y[known], *_run_style(len(series))))
        if series:
            charts.append((title, series, fraction))
    if not charts:
        return (
            page.heading("Loss and accuracy")
            + "\n"
            + page.notes(
                [
                    "Not drawn: no snapshot has a loss or an accuracy (a forward-only run, "
                    "such as the random dataset's, trains nothing)."
                ]
            )
        )
    if len(charts) == 1:
        notes.append(f"No {'accuracy' if charts[0][0] == 'loss' else 'loss'} was recorded.")
    x_range = _x_range(runs)
    fig, plots, plot_width = _panels(page, len(charts), _WIDE_PANEL, page.height)
    for plot, (title, series, fraction) in zip(plots, charts, strict=True):
        values = [s.y for s in series]
        if fraction:
            y_axis = YAxis.fraction()
        else:
            y_axis = YAxis.for_values(values, _wide_range(values), _chart_rows(page.height))
        plot.title(title + (" (log)" if y_axis.log else ""))
        draw_lines(plot, series, y_axis, x_range, page, plot_width)
    body = _text(fig, page)
    return "\n".join(
        part for part in (page.heading("Loss and accuracy"), page.notes(notes), body) if part
    )


def _wide_range(values: Sequence[np.ndarray]) -> bool:
    """Whether the values span more than two decades (all positive): a log axis then reads."""
    flat = np.concatenate(values)
    flat = flat[np.isfinite(flat)]
    return bool(flat.size) and flat.min() > 0 and flat.max() / flat.min() > 100


def _x_range(runs: Sequence[Run]) -> tuple[float, float]:
    steps = np.concatenate([steps_of(r) for r in runs])
    return float(steps.min()), float(steps.max())


def _layer_chart(
    runs: Sequence[Run],
    page: Page,
    title: str,
    value: Callable[[LayerStats], float | None],
    missing: str,
) -> str:
    """One log-y chart per run of `value` for each layer against steps, panels on shared axes."""
    heading = page.heading(title)
    notes: list[str] = []
    drawable: list[tuple[Run, dict[str, list[float | None]]]] = []
    for run in runs:
        by_layer = layer_series(run, value)
        if any(v is not None for vs in by_layer.values() for v in vs):
            drawable.append((run, by_layer))
        elif len(runs) > 1:
            notes.append(f"{run.name}: not drawn, {missing}.")
    if not drawable:
        return heading + "\n" + page.notes([f"Not drawn: {missing}."])
    # Every layer up to 12, the chart growing to hold the legend; beyond that 12, evenly spaced.
    fit = min(max(len(run.layers) for run, _ in drawable), len(_LAYER_CHARS))
    height = max(page.height, legend_rows(fit) + 4 + (len(runs) > 1))
    arrays = [{n: as_array(vs) for n, vs in by_layer.items()} for _, by_layer in drawable]
    y_axis = YAxis.for_values(
        [v for a in arrays for v in a.values()], log=True, rows=_chart_rows(height)
    )
    if y_axis is None:
        return heading + "\n" + page.notes([f"Not drawn: no value above zero ({missing})."])
    fig, plots, plot_width = _panels(page, len(drawable), _WIDE_PANEL, height)
    x_range = _x_range(runs)
    for plot, (run, by_layer), array in zip(plots, drawable, arrays, strict=True):
        names = run.layers
        shown = pick(len(names), fit)
        who = f"{run.name}: " if len(runs) > 1 else ""
        if len(shown) < len(names):
            notes.append(
                f"{who}{len(shown)} of {len(names)} layers, evenly spaced from input to output."
            )
        notes.extend(f"{who}{why}." for why in undrawn(by_layer, log=True))
        series = [
            Series(names[j], steps_of(run), array[names[j]], _COLORS[k], _LAYER_CHARS[k])
            for k, j in enumerate(shown)
        ]
        if len(runs) > 1:
            plot.title(run.name)
        draw_lines(plot, series, y_axis, x_range, page, plot_width)
    body = _text(fig, page)
    return "\n".join(part for part in (heading, page.notes(notes), body) if part)


def section_grad_norms(runs: Sequence[Run], page: Page) -> str:
    """Each layer's gradient norm against steps, log y: the vanishing band over time."""
    return _layer_chart(
        runs,
        page,
        "Gradient norm per layer (log)",
        grad_norm,
        "no snapshot has a gradient norm (a forward-only run trains nothing)",
    )


def section_act_stds(runs: Sequence[Run], page: Page) -> str:
    """Each layer's activation standard deviation against steps, log y."""
    return _layer_chart(
        runs,
        page,
        "Activation std per layer (log)",
        act_std,
        "no activation statistics",
    )


def _hist_title(name: str, act: Stats) -> str:
    return f"{name}  std {fmt_num(act.std)}"


def _hist_notes(name: str, h: Hist) -> list[str]:
    """Values a histogram's bins leave out, where there are any."""
    parts = [
        f"{n} {what}"
        for n, what in (
            (h.below, f"below {fmt_num(h.lo)}"),
            (h.above, f"above {fmt_num(h.hi)}"),
            (h.nonfinite, "non-finite"),
        )
        if n
    ]
    return [f"{name}: {', '.join(parts)} (outside the bins)"] if parts else []


def _drawable_hist(h: Hist) -> bool:
    """Whether a histogram has bins to draw: a finite, non-empty range and a value in it."""
    return math.isfinite(h.lo) and math.isfinite(h.hi) and h.hi > h.lo and sum(h.counts) > 0


def section_histograms(runs: Sequence[Run], page: Page) -> str:
    """The last snapshot's activation histograms, one small panel per layer (of a deep net, two
    rows of them: evenly spaced layers, the first and the last among them)."""
    heading = page.heading("Activation histograms, last snapshot")
    parts = [heading]
    cols_fit = _panels_per_row(page, _HIST_PANEL_WIDTH)
    for run in runs:
        last = run.log.snapshots[-1]
        layers = [x for x in last.layers if x.act is not None]
        notes = [
            f"{x.name}: no activation statistics at step {last.step} (its forward did not run "
            "as a module call); left out."
            for x in last.layers
            if x.act is None
        ]
        shown = [layers[i] for i in pick(len(layers), max(3, 2 * cols_fit))]  # two rows
        if len(shown) < len(layers):
            notes.insert(
                0,
                f"{len(layers)} layers: showing {len(shown)}, evenly spaced from input to output "
                f"({', '.join(x.name for x in shown)}).",
            )
        drawable = [x for x in shown if _drawable_hist(x.act.hist)]
        for x in shown:
            notes.extend(_hist_notes(x.name, x.act.hist))
            if x not in drawable:
                notes.append(f"{x.name}: no values inside the histogram's range; not drawn.")
        title = f"{run.name}, step {last.step}" if len(runs) > 1 else f"step {last.step}"
        parts.append(page.notes([title, *notes]))
        if not drawable:
            continue
        panel_height = max(9, min(page.height, 12))
        fig, plots, _ = _panels(page, len(drawable), _HIST_PANEL_WIDTH, panel_height)
        for plot, x in zip(plots, drawable, strict=True):
            h = x.act.hist
            width = (h.hi - h.lo) / len(h.counts)
            centres = [h.lo + (j + 0.5) * width for j in range(len(h.counts))]
            plot.draw(
                plot.bar(
                    centres,
                    [int(c) for c in h.counts],
                    width=1,
                    marker="hd" if page.color else "full",
                )
            )
            plot.title(_hist_title(x.name, x.act))
            ticks = [h.lo, h.hi] if not (h.lo < 0 < h.hi) else [h.lo, 0.0, h.hi]
            plot.ruler("x").lim(h.lo, h.hi)
            plot.ruler("x").ticks(ticks, [fmt_num(t) for t in ticks])
            plot.ruler("y").ticks([])
        parts.append(_text(fig, page))
    return "\n".join(parts)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def section_last_table(runs: Sequence[Run], page: Page) -> str:
    """Per layer at the last snapshot: gradient norm, its ratio to the output layer's, activation
    std, dead and saturated fractions, update-to-weight ratio."""
    tables: list[RenderableType] = []
    for run in runs:
        last = run.log.snapshots[-1]
        out_grad = last.layers[-1].grad_norm if last.layers else None
        table = Table(
            title=f"{run.name}, step {last.step}" if len(runs) > 1 else f"step {last.step}",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            show_edge=False,
        )
        table.add_column("layer", overflow="fold")
        for col in ("grad norm", "÷ output", "act std", "dead", "sat", "update/w"):
            table.add_column(col, justify="right", no_wrap=True)
        for x in last.layers:
            ratio = (
                x.grad_norm / out_grad
                if x.grad_norm is not None and out_grad and math.isfinite(out_grad)
                else None
            )
            table.add_row(
                x.name,
                fmt_num(x.grad_norm),
                fmt_num(ratio),
                fmt_num(act_std(x)),
                _pct(x.dead_frac),
                _pct(x.sat_frac),
                fmt_num(x.update_ratio),
            )
        tables.append(table)
    return page.heading("Layers at the last snapshot") + "\n" + page.rich(*tables)


def section_events(runs: Sequence[Run], page: Page) -> str:
    """The events (diverged, with the layer; config changes; errors) and how each run ended."""
    lines: list[str] = []
    for run in runs:
        who = f"{run.name}: " if len(runs) > 1 else ""
        for e in run.log.events:
            lines.append(f"{who}step {e.step}: {e.kind}" + (f": {e.message}" if e.message else ""))
        end = run.log.end
        lines.append(
            f"{who}ended at step {end.step}: {end.reason}"
            if end is not None
            else f"{who}no end record: the run is still going, or was killed"
        )
    return page.heading("Events") + "\n" + page.notes(lines)


SECTIONS: list[Section] = [
    section_header,
    section_training,
    section_grad_norms,
    section_act_stds,
    section_histograms,
    section_last_table,
    section_events,
]


def render(runs: Sequence[Run], page: Page, sections: Sequence[Section] = SECTIONS) -> str:
    """The whole report as text (ANSI colour codes only where `page.color`)."""
    return "\n\n".join(text for section in sections if (text := section(runs, page))) + "\n"


# -- command line --------------------------------------------------------------------------------


def wants_color(stream: IO[str], plain: bool, to_file: bool) -> bool:
    """Colour unless --plain or NO_COLOR; on standard output only where it is a terminal (or
    FORCE_COLOR is set), in a file named with --out always."""
    if plain or os.environ.get("NO_COLOR"):
        return False
    if to_file or os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def default_page(color: bool, width: int | None = None, height: int | None = None) -> Page:
    """The terminal's width, and a chart as tall as the terminal leaves room for, unless given."""
    size = shutil.get_terminal_size((80, 24))
    return Page(
        width=width or max(MIN_WIDTH, size.columns),
        height=height or max(MIN_HEIGHT, min(30, size.lines - 4)),
        color=color,
    )


def report_text(log: RunLog, source: str, page: Page) -> str:
    """The report of one run log held in memory (the headless mode's ``--report``)."""
    if not log.snapshots:
        return f"{source}: no snapshots, nothing to report\n"
    config = log.header.config if log.header else {}
    return render([Run(run_names([config], [source])[0], source, log)], page)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"vgtui report: error: {message} (see vgtui report --help)\n")


def _at_least(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is too small; expected at least {least}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vgtui report",
        description="Print a run log (or several, overlaid) as plots: loss and accuracy, each "
        "layer's gradient norm and activation std over time, the last activation histograms, "
        "a per-layer table and the events.",
    )
    parser.add_argument("paths", nargs="+", metavar="LOG", help="run log (JSON Lines) files")
    parser.add_argument(
        "--width", type=_at_least(MIN_WIDTH), help="columns (default: the terminal's)"
    )
    parser.add_argument(
        "--height",
        type=_at_least(MIN_HEIGHT),
        help="rows of one chart (default: the terminal's height, at most 30)",
    )
    parser.add_argument("--out", metavar="FILE", help="write the report to FILE")
    parser.add_argument(
        "--plain", action="store_true", help="no colour codes (also: NO_COLOR, or not a terminal)"
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        runs = load_runs(args.paths)
    except LogFileError as err:
        print(f"vgtui report: error: {err}", file=sys.stderr)
        return 2
    empty = [r for r in runs if not r.log.snapshots]
    if empty:
        print(f"vgtui report: {empty[0].source}: no snapshots, nothing to report", file=sys.stderr)
        return 1
    page = default_page(
        wants_color(sys.stdout, args.plain, bool(args.out)), args.width, args.height
    )
    text = render(runs, page)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as err:
            print(f"vgtui report: error: {args.out}: {err.strerror or err}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return 0
