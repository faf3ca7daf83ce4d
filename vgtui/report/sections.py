"""The report's sections: each a small function from the runs and the page to text.

`SECTIONS` is the report, in order; another section (a diagnosis in words, say) is one more entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from vgtui.core.diagnosis import diagnose
from vgtui.core.records import Hist, LayerStats, Stats
from vgtui.core.text import fmt_num
from vgtui.report.charts import (
    Series,
    YAxis,
    chart_rows,
    draw_lines,
    legend_rows,
    panels,
    panels_per_row,
    text_of,
)
from vgtui.report.page import Page, plural
from vgtui.report.runs import (
    Run,
    act_std,
    as_array,
    grad_norm,
    layer_series,
    pick,
    run_series,
    safe_run,
    steps_of,
    undrawn,
)

# Per-series colours (plotext's 16-colour codes) and, without colour, per-series characters.
_COLORS = (12, 10, 9, 14, 13, 11, 4, 2, 1, 6, 5, 3)
_LAYER_CHARS = "123456789abc"
_RUN_CHARS = "*o+x#%@="
_HIST_PANEL_WIDTH = 26  # the narrowest histogram panel that still reads
_HIST_FRAME = 2  # a histogram panel's columns that are not its canvas (the frame's sides)
_WIDE_PANEL = 70  # the narrowest line chart panel that still reads


Section = Callable[[Sequence[Run], Page], str]


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
    heading = page.heading("Loss and accuracy")
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
        why = "no snapshot has a loss or an accuracy (a forward-only run trains nothing)"
        return heading + "\n" + page.notes([f"Not drawn: {why}."])
    if len(charts) == 1:
        notes.append(f"No {'accuracy' if charts[0][0] == 'loss' else 'loss'} was recorded.")
    x_range = _x_range(runs)
    fig, plots, plot_width = panels(page, len(charts), _WIDE_PANEL, page.height)
    for plot, (title, series, fraction) in zip(plots, charts, strict=True):
        values = [s.y for s in series]
        if fraction:
            y_axis = YAxis.fraction()
        else:
            y_axis = YAxis.for_values(values, _wide_range(values), chart_rows(page.height))
        plot.title(title + (" (log)" if y_axis.log else ""))
        draw_lines(plot, series, y_axis, x_range, page, plot_width)
    body = text_of(fig, page)
    return "\n".join(part for part in (heading, page.notes(notes), body) if part)


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
        [v for a in arrays for v in a.values()], log=True, rows=chart_rows(height)
    )
    if y_axis is None:
        return heading + "\n" + page.notes([f"Not drawn: no value above zero ({missing})."])
    fig, plots, plot_width = panels(page, len(drawable), _WIDE_PANEL, height)
    x_range = _x_range(runs)
    for plot, (run, by_layer), array in zip(plots, drawable, arrays, strict=True):
        names = run.layers
        shown = pick(len(names), fit)
        who = f"{run.name}: " if len(runs) > 1 else ""
        if len(shown) < len(names):
            notes.append(
                f"{who}{len(shown)} of {len(names)} layers, evenly spaced from input to output."
            )
        notes.extend(f"{who}{why}." for why in undrawn(by_layer))
        series = [
            Series(names[j], steps_of(run), array[names[j]], _COLORS[k], _LAYER_CHARS[k])
            for k, j in enumerate(shown)
        ]
        if len(runs) > 1:
            plot.title(run.name)
        draw_lines(plot, series, y_axis, x_range, page, plot_width)
    body = text_of(fig, page)
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


def hist_bars(h: Hist, most: int) -> tuple[list[float], list[int]]:
    """The centres and counts of the bars that draw ``h``: a bar per bin, or where there are more
    bins than ``most`` (a panel has a bar per column), runs of consecutive bins summed exactly
    into one bar each (the last run may be shorter), so that plotting costs the panel's width."""
    n = len(h.counts)
    k = -(-n // max(1, most))  # bins per bar
    width = (h.hi - h.lo) / n
    starts = range(0, n, k)
    centres = [h.lo + (i + min(i + k, n)) / 2 * width for i in starts]
    return centres, [int(sum(h.counts[i : i + k])) for i in starts]


def section_histograms(runs: Sequence[Run], page: Page) -> str:
    """The last snapshot's activation histograms, one small panel per layer (of a deep net, two
    rows of them: evenly spaced layers, the first and the last among them)."""
    heading = page.heading("Activation histograms, last snapshot")
    parts = [heading]
    cols_fit = panels_per_row(page, _HIST_PANEL_WIDTH)
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
        fig, plots, plot_width = panels(page, len(drawable), _HIST_PANEL_WIDTH, panel_height)
        for plot, x in zip(plots, drawable, strict=True):
            h = x.act.hist
            centres, counts = hist_bars(h, plot_width - _HIST_FRAME)
            plot.draw(plot.bar(centres, counts, width=1, marker="hd" if page.color else "full"))
            plot.title(_hist_title(x.name, x.act))
            ticks = [h.lo, h.hi] if not (h.lo < 0 < h.hi) else [h.lo, 0.0, h.hi]
            plot.ruler("x").lim(h.lo, h.hi)
            plot.ruler("x").ticks(ticks, [fmt_num(t) for t in ticks])
            plot.ruler("y").ticks([])
        parts.append(text_of(fig, page))
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
            title=Text(f"{run.name}, step {last.step}" if len(runs) > 1 else f"step {last.step}"),
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
                Text(x.name),
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


def section_diagnosis(runs: Sequence[Run], page: Page) -> str:
    """What is wrong at the end of each run, where, why and what to try (`engine.diagnosis`)."""
    lines: list[str] = []
    for run in runs:
        who = f"{run.name}: " if len(runs) > 1 else ""
        lines += [who + f.line for f in diagnose(run.log.header, run.log.snapshots)]
    return page.heading("Diagnosis") + "\n" + page.notes(lines) if lines else ""


SECTIONS: list[Section] = [
    section_header,
    section_training,
    section_grad_norms,
    section_act_stds,
    section_histograms,
    section_last_table,
    section_events,
    section_diagnosis,
]


def render(runs: Sequence[Run], page: Page, sections: Sequence[Section] = SECTIONS) -> str:
    """The whole report as text (ANSI colour codes only where `page.color`). Every string from
    the logs is made safe here, where it enters the report (`safe_run`)."""
    runs = [safe_run(run, page.screenful) for run in runs]
    return "\n\n".join(text for section in sections if (text := section(runs, page))) + "\n"
