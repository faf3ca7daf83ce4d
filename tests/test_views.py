"""The views for big models, as lines: the waterfall, compact distributions, the diagnosis panel
and the layer filter (the widgets draw exactly these lines)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from vgtui.core.diagnosis import DASHBOARD_KEYS, Finding, Severity, diagnose, render
from vgtui.core.records import Hist, LayerStats, Snapshot, Stats
from vgtui.core.text import BLOCKS, fmt_num
from vgtui.runlog.codec import read_log
from vgtui.ui.widgets.diagnosis_panel import STYLES, diagnosis_lines
from vgtui.ui.widgets.distributions import distribution_lines, sparkline
from vgtui.ui.widgets.layer_filter import LayerFilter, Row, prefix
from vgtui.ui.widgets.waterfall import (
    COLOURS,
    MISSING,
    NONFINITE,
    PALETTE,
    GradHistory,
    _pool,
    levels,
    waterfall_lines,
)

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from deep_logs import layer_names, write_deep_log


def text(line) -> str:
    return "".join(t for t, _ in line)


@pytest.fixture(scope="module")
def deep_log(tmp_path_factory):
    return read_log(write_deep_log(tmp_path_factory.mktemp("logs") / "deep.jsonl", explode=True))


# ---- the layer filter ------------------------------------------------------------------------


def test_filter_by_substring_and_glob():
    names = layer_names()
    f = LayerFilter("ATTN.Q")  # a substring, any case
    assert [r.label for r in f.rows(names)] == [f"blocks.{b}.attn.q" for b in range(12)]
    f = LayerFilter("blocks.1?.mlp.*")  # a glob, whole name, case as given
    assert [r.label for r in f.rows(names)] == [
        f"blocks.{b}.mlp.{p}" for b in (10, 11) for p in ("fc1", "fc2")
    ]
    assert f.describe(names) == "4/100 layers match 'blocks.1?.mlp.*'"
    assert LayerFilter().describe(names) == ""
    assert len(LayerFilter().rows(names)) == 100


def test_groups_fold_into_one_row_and_unfold():
    names = layer_names()
    assert prefix("blocks.3.attn.q", 2) == "blocks.3" and prefix("embed", 1) == ""
    f = LayerFilter()
    f.toggle("blocks.0.attn")
    rows = f.rows(names)
    assert rows[1] == Row("blocks.0.attn.*", (1, 2, 3, 4), True)
    assert rows[2].label == "blocks.0.mlp.fc1" and len(rows) == 97
    f.toggle("blocks.0")  # the outer prefix takes in the inner one
    assert f.rows(names)[1] == Row("blocks.0.*", tuple(range(1, 9)), True)
    f.folded = set()


def test_fold_to_picks_the_finest_level_that_fits():
    names = layer_names()
    f = LayerFilter()
    f.fold_to(names, 52)  # each block's attn and mlp folded, its two norms apart: 1 + 12 x 4 + 3
    assert len(f.rows(names)) == 52 and "blocks.0.attn" in f.folded
    assert f.describe(names) == "100/100 layers · 24 groups folded"
    f.fold_to(names, 52)  # again: unfolds
    assert f.folded == set() and len(f.rows(names)) == 100
    f.fold_to(names, 20)  # one row per block
    assert len(f.rows(names)) == 16 and f.rows(names)[1].label == "blocks.0.*"
    f.folded = set()
    f.fold_to(names, 3)  # nothing fits: the coarsest level
    assert [r.label for r in f.rows(names)] == ["embed", "blocks.*", "pool", "norm", "head"]
    flat = LayerFilter()
    flat.fold_to([f"layer{i}" for i in range(100)], 10)  # no dotted names: nothing to fold
    assert flat.folded == set()


def test_a_filter_applies_within_folded_groups():
    f = LayerFilter("*attn.[qk]", folded={"blocks.2.attn"})
    rows = f.rows(layer_names())
    assert [r.layers for r in rows if r.folded] == [(17, 18)]  # q and k of block 2 only
    assert len(rows) == 23


# ---- the waterfall ---------------------------------------------------------------------------


def snap(step: int, norms: list[float | None]) -> Snapshot:
    act = Stats(0.0, 1.0, -1.0, 1.0, Hist(-1.0, 1.0, [1, 2, 1]))
    layers = [LayerStats(f"layer{i + 1}", act, n, 1.0) for i, n in enumerate(norms)]
    return Snapshot(step, 1.0, 0.5, 0.1, float(step), layers)


def test_history_keeps_log_norms_and_halves_when_full():
    h = GradHistory(limit=4)
    for step in range(1, 6):
        h.add(snap(step, [10.0**-step, math.inf, None, 0.0]))
    steps, logs = h.window()
    # full at 4: kept 1, 3 (every other), then every other snapshot: 5
    assert list(steps) == [1, 3, 5]
    assert list(logs[0]) == [-1.0, -3.0, -5.0]
    assert np.all(logs[1] == np.inf) and np.all(np.isnan(logs[2])) and np.all(logs[3] == -np.inf)
    h.add(Snapshot(9, 1.0, 0.5, 0.1, 9.0, []))  # scalars only: no column
    assert list(h.window()[0]) == [1, 3, 5]


def test_history_rewinds_and_restarts_on_another_model():
    h = GradHistory()
    for step in (1, 2, 3, 4):
        h.add(snap(step, [1.0, 2.0]))
    h.add(snap(2, [5.0, 5.0]))  # a replay moved back to step 2
    steps, logs = h.window()
    assert list(steps) == [1, 2] and logs[0, -1] == math.log10(5.0)
    h.add(snap(7, [1.0, 1.0, 1.0]))  # three layers: a new run
    assert list(h.window()[0]) == [7] and h.window()[1].shape == (3, 1)


def test_pool_is_the_mean_of_logs_ignoring_missing_and_inf_wins():
    values = np.array([[1.0, np.nan, 3.0, np.inf], [-2.0, -4.0, np.nan, 0.0]])
    got = _pool(values, np.array([0, 2, 4]), 1)
    assert got[0, 0] == 1.0 and got[0, 1] == np.inf
    assert got[1, 0] == -3.0 and got[1, 1] == 0.0
    rows = _pool(values, np.array([0, 2]), 0)
    assert rows[0, 0] == -0.5 and rows[0, 3] == np.inf and rows[0, 1] == -4.0


def test_levels_map_decades_onto_the_palette():
    logs = np.array([-7.0, -3.0, 1.0, np.inf, np.nan, -np.inf])
    got = levels(logs, -7, 1)
    assert list(got[:3]) == [0, 7, len(PALETTE) - 1]
    assert COLOURS[got[3]] == NONFINITE and COLOURS[got[4]] == MISSING and got[5] == 0


def cell_colours(line) -> list[tuple[str, str | None]]:
    """(top, bottom) colour of every half-block cell of a waterfall line."""
    out = []
    for t, style in line[1:]:
        top, _, bottom = style.partition(" on ")
        out += [(top, bottom or None)] * len(t)
    return out


@pytest.mark.parametrize("size", [(80, 24), (160, 50), (240, 70)])
def test_waterfall_of_100_layers_fits_and_shows_the_band_and_the_explosion(deep_log, size):
    width, height = size
    h = GradHistory()
    for s in deep_log.snapshots:
        h.add(s)
    steps, logs = h.window()
    names = [x.name for x in deep_log.header.layers]
    lines = waterfall_lines(steps, logs, LayerFilter().rows(names), width, height)
    assert len(lines) <= height and all(len(text(x)) <= width for x in lines)
    body = lines[1:-2]
    assert text(body[0]).strip().startswith("embed")  # the input side at the top
    first, last = cell_colours(body[0]), cell_colours(body[-1])
    # Early on (left), the input side's gradient is decades below the output side's.
    assert PALETTE.index(first[0][0]) + 5 < PALETTE.index(last[0][0])
    assert first[-1][0] != NONFINITE and last[-1][0] == NONFINITE  # the output side blew up
    assert "not finite" in text(lines[-1]) and text(lines[-2]).strip().startswith("step 10")
    assert text(lines[-2]).rstrip().endswith("240")


def test_waterfall_before_any_gradient_says_so():
    lines = waterfall_lines(np.zeros(0), np.zeros((2, 0)), LayerFilter().rows(["a", "b"]), 40, 10)
    assert "waiting" in text(lines[1])


# ---- compact distributions -------------------------------------------------------------------


def test_sparkline_is_linear_with_the_peak_full():
    assert sparkline(np.array([0, 2, 4, 8])) == BLOCKS[0] + BLOCKS[2] + BLOCKS[4] + BLOCKS[8]


@pytest.mark.parametrize("width", [80, 160])
def test_distributions_one_line_per_layer_with_true_numbers(deep_log, width):
    last = deep_log.snapshots[-1]
    names = [x.name for x in deep_log.header.layers]
    lines = distribution_lines(last, LayerFilter().rows(names), width)
    assert len(lines) == 101 and all(len(text(x)) <= width for x in lines)
    fc1 = names.index("blocks.0.mlp.fc1")
    row = text(lines[1 + fc1])
    layer = last.layers[fc1]
    assert row.lstrip().startswith("blocks.0.mlp.fc1") or row.lstrip().startswith("…")
    assert f"μ {fmt_num(layer.act.mean):>8}" in row and f"σ {fmt_num(layer.act.std):>8}" in row
    assert f"dead {100 * layer.dead_frac:.0f}%" in row
    assert "█" in row  # the fullest bin


def test_a_folded_group_is_one_line_of_its_layers_together(deep_log):
    last = deep_log.snapshots[-1]
    names = [x.name for x in deep_log.header.layers]
    rows = LayerFilter(folded={"blocks.0.mlp"}).rows(names)
    lines = distribution_lines(last, rows, 100)
    row = text(lines[1 + [r.label for r in rows].index("blocks.0.mlp.*")])
    fc1, fc2 = (
        last.layers[names.index("blocks.0.mlp.fc1")],
        last.layers[names.index("blocks.0.mlp.fc2")],
    )
    assert "(2)" in row and f"σ {fmt_num((fc1.act.std + fc2.act.std) / 2):>8}" in row
    assert f"dead {100 * fc1.dead_frac:.0f}%" in row  # the worst layer's share


# ---- the diagnosis panel ---------------------------------------------------------------------


def test_diagnosis_panel_colours_each_finding_by_its_severity():
    findings = [
        Finding("exploding", Severity.BAD, (3,), "gradient norm rose 40x", "try `L`"),
        Finding("dead", Severity.WARN, (1,), "layer 2 has 80% dead units"),
    ]
    lines = diagnosis_lines(findings, 60)
    assert [text(x) for x in lines] == render(findings, 60)
    assert [x[0][1] for x in lines] == [STYLES[Severity.BAD], STYLES[Severity.WARN]]
    wrapped = diagnosis_lines(findings[:1] * 1, 16)
    assert len(wrapped) == 2 and {x[0][1] for x in wrapped} == {STYLES[Severity.BAD]}
    assert "waiting" in text(diagnosis_lines([], 40)[0])


def test_diagnosis_panel_on_the_deep_fixture_names_the_vanishing_layers(deep_log):
    findings = diagnose(deep_log.header, deep_log.snapshots[:12], DASHBOARD_KEYS)
    lines = diagnosis_lines(findings, 160)
    assert len(lines) <= 2 and all(len(text(x)) <= 160 for x in lines)
    assert any("vanish" in f.rule for f in findings)


def test_the_waterfall_gives_each_layer_a_labelled_line_when_there_is_room():
    from vgtui.ui.widgets.layer_filter import Row
    from vgtui.ui.widgets.waterfall import waterfall_lines

    names = [f"encoder.layers.{k}.self_attn" for k in range(6)]
    rows = [Row(name, (k,)) for k, name in enumerate(names)]
    logs = np.log10(np.array([[10.0**-k] * 5 for k in range(6)]))  # layer k: 10^-k
    steps = np.arange(1, 6)
    text = ["".join(t for t, _ in line) for line in waterfall_lines(steps, logs, rows, 120, 20)]
    assert [line.split()[0] for line in text[1:7]] == names  # full names, one line each
    squeezed = waterfall_lines(steps, logs, rows, 120, 6)  # 3 lines for 6 layers: two per line
    labels = ["".join(t for t, _ in line).split()[0] for line in squeezed[1:4]]
    assert labels == names[::2]
