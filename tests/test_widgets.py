"""What the dashboard's widgets compute, without a screen: numbers checked against values worked
out by hand, and what a frame repaints checked on a running app."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vgtui.core.config import RunConfig
from vgtui.core.records import Hist, Snapshot
from vgtui.core.text import BLOCKS, fmt_num, fmt_steps, hbar
from vgtui.ui.app import VgtuiApp
from vgtui.ui.framerate import LOCAL_FPS, REMOTE_FPS, frame_rate, frame_rate_note
from vgtui.ui.sources.trainer import ReplaySource
from vgtui.ui.state import RunHistory
from vgtui.ui.widgets.curves import Line, axis_range, chart, decimate, nice_ceil
from vgtui.ui.widgets.gradients import GradientBars, grad_health, ratio_sentence
from vgtui.ui.widgets.histograms import Histograms, bars, layer_label, rebin
from vgtui.ui.widgets.lines import LineView, Steady, changed_span, fit
from vgtui.ui.widgets.signal import signal_health, spread_sentence
from vgtui.ui.widgets.status import StatusLine, describe_run, fmt_rate, status_line

# ---- histograms ----------------------------------------------------------------------------------


def test_rebin_sums_whole_groups_of_bins_and_keeps_every_count():
    counts = list(range(1, 11))  # 10 bins
    assert rebin(counts, 5).tolist() == [3, 7, 11, 15, 19]  # pairs
    assert rebin(counts, 4).tolist() == [6, 15, 24, 10]  # threes; the last group padded with 0
    assert rebin(counts, 3).tolist() == [10, 26, 19]  # fours
    for columns in range(1, 12):
        assert rebin(counts, columns).sum() == sum(counts)


def test_rebin_repeats_few_bins_a_whole_number_of_times():
    assert rebin([1, 2, 3], 7).tolist() == [1, 1, 2, 2, 3, 3]  # twice each: 6 of 7 columns
    assert rebin([4], 3).tolist() == [4, 4, 4]
    assert rebin([1, 2, 3], 3).tolist() == [1, 2, 3]


def test_bars_are_linear_in_the_count_to_the_eighth():
    hist = Hist(0.0, 1.0, [0, 3, 6, 12, 24])  # the peak fills all 3 rows: 24 eighths
    rows = bars(hist, 5, 3)
    # Column heights in eighths: 0, 3, 6, 12, 24 -> per row from the top.
    assert rows == [
        "    █",
        "   ▄█",
        " ▃▆██",
    ]
    assert set("".join(rows)) <= set(BLOCKS)


def test_bars_move_only_by_a_whole_eighth_with_steady_levels():
    steady = Steady()
    assert steady("L1", np.array([5.4, 2.0])).tolist() == [5, 2]
    assert steady("L1", np.array([5.6, 2.0])).tolist() == [5, 2]  # rounding alone would say 6
    assert steady("L1", np.array([4.5, 2.9])).tolist() == [5, 2]
    assert steady("L1", np.array([6.1, 0.9])).tolist() == [6, 1]  # a whole eighth away: moves
    assert steady("L2", np.array([5.6, 2.0])).tolist() == [6, 2]  # each key its own levels
    assert steady("L1", np.array([1.0, 2.0, 3.0])).tolist() == [1, 2, 3]  # another shape: anew
    steady.clear()
    assert steady("L1", np.array([5.6])).tolist() == [6]


# ---- gradient and signal bars --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("norm", "reference", "word"),
    [
        (None, 1.0, "n/a"),
        (float("nan"), 1.0, "non-finite"),
        (float("inf"), 1.0, "non-finite"),
        (2e3, 1e6, "exploding"),  # large in absolute terms, whatever the ratio
        (1e-4, 1.0, "vanishing"),
        (9.9e-4, 1.0, "vanishing"),
        (1e-3, 1.0, "fading"),
        (0.05, 1.0, "fading"),
        (0.1, 1.0, "healthy"),
        (50.0, 1.0, "healthy"),
        (101.0, 1.0, "exploding"),
        (0.5, None, ""),
        (0.5, 0.0, ""),
        (0.5, float("nan"), ""),
    ],
)
def test_grad_health_bands(norm, reference, word):
    assert grad_health(norm, reference)[0] == word


@pytest.mark.parametrize(
    ("first", "last", "sentence"),
    [
        (1e-9, 0.1, "layer 1 gets 10^-8 of the output layer's gradient"),
        (3e-6, 0.2, "layer 1 gets 10^-5 of the output layer's gradient"),  # log10(1.5e-5)=-4.8
        (50.0, 0.4, "layer 1 gets 10^2 times the output layer's gradient"),
        (0.3, 0.2, "layer 1 gets about as much gradient as the output layer (1.5x)"),
        (float("nan"), 0.2, "layer 1's gradient is not finite: the run has diverged"),
        (None, 0.2, ""),
        (0.0, 0.2, ""),
    ],
)
def test_ratio_sentence(first, last, sentence):
    assert ratio_sentence(first, last) == sentence


@pytest.mark.parametrize(
    ("std", "word"),
    [
        *[(None, "n/a"), (float("inf"), "non-finite"), (0.009, "vanishing"), (0.2, "fading")],
        *[(0.3, "steady"), (3.9, "steady"), (5.0, "growing"), (101.0, "exploding")],
    ],
)
def test_signal_health_against_the_first_layer(std, word):
    assert signal_health(std, 1.0)[0] == word


def test_spread_sentence_gives_the_factor_from_the_first_layer_to_the_last():
    assert spread_sentence("L1", "L10", 0.0553, 3.3e-13) == (
        "std falls from 0.0553 at L1 to 3.3e-13 at L10 (10^-11): the signal fades with depth"
    )
    assert spread_sentence("L1", "L5", 0.5, 80.0) == (
        "std grows from 0.5 at L1 to 80 at L5 (10^2): the signal explodes with depth"
    )
    assert spread_sentence("L1", "L5", 0.5, 0.4) == (
        "std goes from 0.5 at L1 to 0.4 at L5 (0.8x): the signal keeps its scale"
    )
    assert "not finite" in spread_sentence("L1", "L5", 0.5, float("nan"))


def test_hbar_is_drawn_in_eighths_of_a_cell():
    assert hbar(0, 4) == "    "
    assert hbar(8 + 3, 4) == "█▍  "
    assert hbar(99, 4) == "████"  # never longer than its width


# ---- curves --------------------------------------------------------------------------------------


def test_decimate_averages_the_points_of_each_column():
    xs = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    ys = np.array([1.0, 3.0, 5.0, np.nan, 8.0])
    # 11 columns over 0..10: one per step; the NaN is left out.
    used, means = decimate(xs, ys, 0.0, 10.0, 11)
    assert used.tolist() == [0, 1, 2, 10] and means.tolist() == [1.0, 3.0, 5.0, 8.0]
    # 3 columns over 0..10: x -> round(x / 10 * 2): 0, 0, 0, 2
    used, means = decimate(xs, ys, 0.0, 10.0, 3)
    assert used.tolist() == [0, 2] and means.tolist() == [3.0, 8.0]


def test_a_chart_costs_the_same_whatever_the_number_of_points():
    """Decimation: a million points make as many dot columns as a thousand."""
    rng = np.random.default_rng(0)
    for n in (1_000, 1_000_000):
        xs = np.arange(1, n + 1, dtype=float)
        used, _ = decimate(xs, rng.random(n), 0.0, float(n), 80)
        assert len(used) == 80
    lines, _ = chart([Line(xs, rng.random(xs.size), "cyan", "train")], 40, 10, title="loss")
    assert len(lines) == 10 and all(sum(len(t) for t, _ in line) == 40 for line in lines[1:])


def test_steps_read_as_people_write_them():
    assert [fmt_steps(n) for n in (0, 7, 3_110, 45_000, 1_234_567, 12_500_000, 3.4e9)] == [
        "0",
        "7",
        "3,110",
        "45,000",
        "1.2M",
        "12M",
        "3.4B",
    ]


@pytest.mark.parametrize(
    ("last_step", "labels"),
    [(3_110, ["step 0", "2,000", "4,000"]), (1_150_000, ["step 0", "600,000", "1.2M"])],
)
def test_the_x_axis_reads_steps_on_a_nice_grid(last_step, labels):
    xs = np.linspace(1, last_step, 50)
    lines, _ = chart([Line(xs, np.ones_like(xs), "cyan", "train")], 60, 10)
    axis = "".join(text for text, _ in lines[-1])
    assert axis.split("└")[1].split() == [*labels[0].split(), *labels[1:]]
    assert "e+" not in axis


def test_axes_move_only_when_the_data_leaves_them():
    assert [nice_ceil(v) for v in (0.7, 1, 1.1, 3_110, 8_001)] == [0.8, 1, 1.2, 4_000, 10_000]
    # (0.79 - 0.671) / 4 -> a step of 0.03: 0.66 .. 0.81, one more step for an even count.
    lo, hi = axis_range(0.671, 0.79)
    assert (lo, hi) == pytest.approx((0.66, 0.84))
    assert round((hi - lo) / 0.03) % 2 == 0  # the middle label, 0.75, is on the grid too
    # The loss goes down a little: the axis stays while the data fills half of it or more.
    assert axis_range(0.662, 0.79, (lo, hi)) == (lo, hi)
    assert axis_range(0.72, 0.79, (lo, hi)) == axis_range(0.72, 0.79)  # under half: zooms in
    assert axis_range(0.60, 0.79, (lo, hi)) == axis_range(0.60, 0.79)  # out of it: grows


# ---- history -------------------------------------------------------------------------------------


def snapshot(step: int, loss: float | None = 0.5, accuracy: float | None = None) -> Snapshot:
    return Snapshot(step=step, loss=loss, accuracy=accuracy, lr=0.1, elapsed_s=step, layers=[])


def test_history_halves_when_full_and_keeps_the_whole_run(recorded):
    header = recorded("sigmoid_xavier_spiral.jsonl")[0]
    run = RunHistory(header, limit=8)
    for step in range(1, 8):
        run.add(snapshot(step, loss=step / 10))
    assert run.points("loss")[0].tolist() == list(range(1, 8))
    run.add(snapshot(8, loss=0.8))  # the 8th point fills it: every other point goes
    steps, losses = run.points("loss")
    assert steps.tolist() == [1, 3, 5, 7] and losses.tolist() == pytest.approx([0.1, 0.3, 0.5, 0.7])
    assert run.stride == 2
    for step in range(9, 40):
        run.add(snapshot(step, loss=step / 10))
    steps, _ = run.points("loss")
    assert run.count < 8 and run.seen == 39
    assert steps[0] == 1 and steps[-1] >= 39 - run.stride  # first and recent steps both kept
    assert len(set(np.diff(steps).tolist())) <= 2  # evenly spread (one stride change at most)


def test_history_leaves_out_the_steps_a_series_has_no_value_at(recorded):
    header = recorded("sigmoid_xavier_spiral.jsonl")[0]
    run = RunHistory(header)
    for step, accuracy in ((1, 0.5), (2, None), (3, 0.75)):
        run.add(snapshot(step, loss=None, accuracy=accuracy))
    assert run.points("accuracy")[0].tolist() == [1, 3]
    assert run.points("loss")[0].tolist() == []  # a forward-only run has no loss


# ---- lines, frames and the frame rate ------------------------------------------------------------


def test_fit_pads_crops_and_joins_segments_that_look_the_same():
    assert fit((("ab", "cyan"), (" ", ""), ("cd", "cyan")), 8) == (("ab cd", "cyan"), ("   ", ""))
    assert fit((("ab", "bold"), ("cdef", "red")), 4) == (("ab", "bold"), ("cd", "red"))
    assert fit((), 3) == (("   ", ""),)


def test_changed_span_covers_the_segments_that_differ():
    old = (("L1 ", ""), ("███", "red"), (" 0.1 ", ""), ("fading", "yellow"))
    new = (("L1 ", ""), ("██▌", "red"), (" 0.2 ", ""), ("fading", "yellow"))
    assert changed_span(old, new) == (3, 11)  # the bar and the number, not the label or word
    assert changed_span(old, (*old[:3], ("vanishing", "red"))) == (11, 20)


def test_frame_rate_is_lower_over_ssh_and_fps_overrides():
    assert frame_rate(None, {}) == LOCAL_FPS
    assert frame_rate(None, {"SSH_CONNECTION": "10.0.0.2 5 10.0.0.1 22"}) == REMOTE_FPS
    assert frame_rate(None, {"SSH_TTY": "/dev/pts/1"}) == REMOTE_FPS
    assert frame_rate(30.0, {"SSH_CONNECTION": "x"}) == 30.0
    assert REMOTE_FPS < LOCAL_FPS
    assert frame_rate_note(LOCAL_FPS, None) == ""
    assert frame_rate_note(REMOTE_FPS, None) == f"{REMOTE_FPS:g} fps (ssh)"
    assert frame_rate_note(30.0, 30.0) == "30 fps"


def test_status_line_says_forward_only_and_the_frame_rate():
    text = "".join(
        t for t, _ in status_line(RunConfig(dataset="random"), "cpu", 3, 12.3, "running")
    )
    assert "forward only" in text and "sgd" not in text and " lr " not in text
    text = "".join(t for t, _ in status_line(RunConfig(), "cpu", 3_110, 412.0, "running", "4 fps"))
    assert "step 3,110 · 410 steps/s · 4 fps" in text and "sgd lr 0.1" in text
    assert [fmt_rate(r) for r in (0.5, 12.34, 412.0, 1_234.0)] == ["0.5", "12", "410", "1,200"]


async def test_a_frame_repaints_only_what_changed(wait_until, recorded):
    """The same snapshot again: no widget asks Textual for anything. One gradient norm changed:
    its one line is repainted, and nothing else."""
    records = recorded("sigmoid_xavier_spiral.jsonl")
    last = [r for r in records if isinstance(r, Snapshot)][-1]
    app = VgtuiApp(RunConfig(), source_factory=lambda c: ReplaySource(records), fps=12)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.latest == last and not app.dirty, "the recording")
        await pilot.pause()
        views = list(app.query(LineView))
        assert {type(v) for v in views} >= {Histograms, GradientBars, StatusLine}

        for view in views:  # what this frame repaints (a view not redrawn keeps its last count)
            view.repainted = 0
        app.dirty = True
        app.render_frame()
        assert {type(v).__name__: v.repainted for v in views if v.repainted} == {}
        assert not any(v._repaint_required for v in views)

        layers = list(last.layers)
        layers[4] = replace(layers[4], grad_norm=layers[4].grad_norm * 3)
        changed = replace(last, layers=layers)
        app.latest = changed
        for view in views:
            view.repainted = 0
        app.dirty = True
        app.render_frame()
        repainted = {type(v).__name__: v.repainted for v in views if v.repainted}
        assert repainted == {"GradientBars": 1}
        line = app.query_one(GradientBars).text.splitlines()[5]
        assert line.split()[0] == "L5" and f" {fmt_num(layers[4].grad_norm)} " in line


def test_layer_labels_shorten_only_the_built_in_names():
    assert [layer_label(x) for x in ("layer1", "layer12", "output")] == ["L1", "L12", "out"]
    for name in ("encoder.layers.0.linear1", "layers", "layer1.conv", "outputs"):
        assert layer_label(name) == name


def test_a_run_that_is_not_ours_is_described_by_its_header():
    header = {"source": "watch", "model": "TinyGPT", "parameters": 111674, "optimizer": "AdamW"}
    parts = describe_run({**header, "lr": 0.003, "world_size": 2, "device": "cuda:0"}, 17)
    assert parts == [
        "TinyGPT",
        "17 layers",
        "111,674 parameters",
        "AdamW lr 0.003",
        "2 ranks",
        "cuda:0",
    ]
    line = "".join(t for t, _ in status_line(RunConfig(), "cpu", 5, None, "attach", "", parts))
    assert "TinyGPT · 17 layers" in line and "sigmoid" not in line
    assert describe_run(RunConfig().to_dict(), 11) is None  # the built-in trainer's own runs
