"""The diagnosis: each rule on a short real run of the configuration that shows it, and none on
ReLU + He on the spiral. The flagged layers are checked against numpy on the snapshots."""

from __future__ import annotations

import math
from collections import deque
from functools import cache

import numpy as np
import pytest
import torch

from vgtui.core.config import RunConfig
from vgtui.core.diagnosis import (
    DASHBOARD_KEYS,
    WINDOW,
    Finding,
    Severity,
    diagnose,
    layer_ranges,
    render,
)
from vgtui.core.records import End, RunHeader, Snapshot
from vgtui.trainer.trainer import run


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small models gain nothing from a second thread, and lose much to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@cache
def recorded(**kw) -> tuple[RunHeader, tuple[Snapshot, ...], End]:
    records = list(run(RunConfig(device="cpu", **kw)))
    snapshots = tuple(r for r in records if isinstance(r, Snapshot))
    return records[0], snapshots, records[-1]


def only(findings: list[Finding], rule: str) -> Finding:
    matching = [f for f in findings if f.rule == rule]
    assert len(matching) == 1, [f.line for f in findings]
    return matching[0]


def window(snaps) -> list[Snapshot]:
    return list(snaps[-WINDOW:])


def per_layer(snaps, value) -> np.ndarray:
    """snapshots x layers array of a per-layer value (NaN where it is None)."""
    return np.array([[np.nan if value(x) is None else value(x) for x in s.layers] for s in snaps])


def test_deep_sigmoid_xavier_vanishes_and_says_why_and_what_to_try():
    header, snaps, _ = recorded(activation="sigmoid", init="xavier", depth=10, steps=30, every=10)
    grads = per_layer(window(snaps), lambda x: x.grad_norm)
    ratio = np.median(grads[:, :-1] / grads[:, -1:], axis=0)
    expected = tuple(int(i) for i in np.flatnonzero(ratio < 1e-3))
    assert 0 in expected and 9 not in expected  # the input side vanishes, not the last hidden

    finding = only(diagnose(header, snaps, DASHBOARD_KEYS), "vanishing")
    assert finding.layers == expected and finding.severity == Severity.WARN
    assert finding.text.startswith(f"vanishing: {layer_ranges(expected)} get under 1e-3 of")
    assert "sigmoid's derivative is at most 1/4 per layer" in finding.text
    assert finding.hint == "try `a` (ReLU) then `i` (He), or `b` (batch norm)"
    words = only(diagnose(header, snaps), "vanishing")
    assert words.hint == "try ReLU then He init, or batch norm" and "`" not in words.line


def test_normal_init_relu_explodes_forward_then_diverges():
    header, snaps, end = recorded(activation="relu", init="normal", depth=10, steps=20, every=1)
    first = snaps[0]
    growth = first.layers[9].act.std / first.layers[0].act.std
    assert growth > 1e3
    finding = only(diagnose(header, snaps[:1], DASHBOARD_KEYS), "exploding")
    assert finding.severity == Severity.BAD and "activations grow" in finding.text
    assert finding.layers == tuple(range(10))
    assert "(He)" in finding.hint

    assert end.reason == "diverged"
    assert not math.isfinite(snaps[-1].loss)
    last = only(diagnose(header, snaps, DASHBOARD_KEYS), "exploding")
    assert "the run diverged" in last.text and f"the loss is {snaps[-1].loss}" in last.text


def test_too_high_a_learning_rate_is_seen_exploding_before_it_diverges():
    header, snaps, end = recorded(
        activation="identity", init="xavier", depth=2, lr=0.5, dataset="digits", every=1, steps=100
    )
    assert end.reason == "diverged"
    verdicts = [diagnose(header, snaps[: k + 1]) for k in range(len(snaps))]
    fired = [k for k, v in enumerate(verdicts) if any(f.rule == "exploding" for f in v)]
    assert fired and all(math.isfinite(snaps[k].loss) for k in range(fired[0] + 1))
    assert fired[0] >= 10  # the steady start is not called exploding
    k = fired[0]
    totals = np.sqrt((per_layer(snaps[: k + 1], lambda x: x.grad_norm) ** 2).sum(axis=1))
    earlier = totals[-WINDOW:-3]
    assert totals[-3:].min() >= 10 * np.median(earlier)
    assert "the gradient norm rose" in only(verdicts[k], "exploding").text


def test_tanh_with_normal_init_saturates():
    header, snaps, _ = recorded(activation="tanh", init="normal", depth=10, steps=30, every=10)
    sat = np.median(per_layer(window(snaps), lambda x: x.sat_frac), axis=0)
    expected = tuple(int(i) for i in np.flatnonzero(sat > 0.5))
    assert len(expected) >= 5
    finding = only(diagnose(header, snaps, DASHBOARD_KEYS), "saturated")
    assert finding.layers == expected
    assert "of outputs at |y| > 0.97 (tanh)" in finding.text
    assert "`b` (batch norm)" in finding.hint


def test_a_high_learning_rate_kills_relu_units():
    header, snaps, _ = recorded(activation="relu", init="he", lr=3.0, steps=100, every=10)
    dead = per_layer(window(snaps), lambda x: x.dead_frac)[:, :-1].min(axis=0)
    expected = tuple(int(i) for i in np.flatnonzero(dead > 0.5))
    assert len(expected) >= 3
    findings = diagnose(header, snaps, DASHBOARD_KEYS)
    finding = only(findings, "dead")
    assert finding.layers == expected
    assert "learning rate too high, or a bad bias" in finding.text
    assert finding.hint == "try `a` (leaky_relu) or `L` (halve the learning rate)"
    # A fully dead layer stops every gradient; that is said too, and is no learning-rate problem.
    assert all(x.grad_norm == 0 for x in snaps[-1].layers)
    assert "every layer's gradient is 0" in only(findings, "vanishing").text
    assert not any(f.rule == "update_low" for f in findings)


def test_update_ratio_far_above_and_far_below_one_in_a_thousand():
    header, snaps, _ = recorded(activation="relu", init="he", lr=3.0, steps=3, every=1)
    ratios = np.median(per_layer(snaps, lambda x: x.update_ratio), axis=0)
    high = only(diagnose(header, snaps, DASHBOARD_KEYS), "update_high")
    assert high.layers == tuple(int(i) for i in np.flatnonzero(ratios > 0.1)) != ()
    assert high.hint == "try `L` (halve the learning rate)"

    header, snaps, _ = recorded(activation="relu", init="he", lr=1e-5, steps=30, every=10)
    ratios = np.median(per_layer(window(snaps), lambda x: x.update_ratio), axis=0)
    assert (ratios < 1e-5).all()
    low = only(diagnose(header, snaps, DASHBOARD_KEYS), "update_low")
    assert low.layers == tuple(range(len(ratios))) and low.severity == Severity.NOTE
    assert low.hint == "try `l` (double the learning rate)"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_relu_he_on_the_spiral_is_healthy_from_the_second_snapshot(seed):
    header, snaps, _ = recorded(activation="relu", init="he", steps=300, every=10, seed=seed)
    for k in range(1, len(snaps)):  # step 10 to 300
        findings = diagnose(header, snaps[: k + 1], DASHBOARD_KEYS)
        assert [f.rule for f in findings] == ["healthy"], (snaps[k].step, findings)
    assert findings[0].severity == Severity.OK and findings[0].text.startswith("healthy: ")


def test_forward_only_run_claims_nothing_about_gradients():
    header, snaps, _ = recorded(activation="relu", init="he", dataset="random", steps=2, every=1)
    findings = diagnose(header, snaps)
    assert findings and all("gradient" not in f.text for f in findings)


def test_no_snapshot_no_finding_and_only_the_window_is_read():
    header, snaps, _ = recorded(activation="sigmoid", init="xavier", depth=10, steps=30, every=10)
    assert diagnose(header, []) == []
    longer = snaps * 3  # what came before the window does not count
    assert diagnose(header, longer) == diagnose(header, iter(longer)) == diagnose(header, snaps)
    assert diagnose(header, deque(longer, maxlen=WINDOW)) == diagnose(header, snaps)
    assert diagnose(None, snaps)  # a log without a header still gets a diagnosis


def test_render_fits_the_width_and_counts_what_is_left_out():
    header, snaps, _ = recorded(activation="relu", init="normal", depth=10, steps=20, every=1)
    findings = diagnose(header, snaps[:1], DASHBOARD_KEYS)
    assert len(findings) >= 2
    for width in (12, 30, 60, 80, 120, 400):
        for lines in (1, 2, 3):
            out = render(findings, width, lines)
            assert 1 <= len(out) <= lines and all(len(x) <= width for x in out), (width, out)
            assert out[0].startswith(findings[0].rule[: width - 1])
    wide = render(findings, 400, 1)
    assert wide == [f"{findings[0].line} (+{len(findings) - 1} more)"]
    assert render(findings, 30, 1)[0].endswith("…")
    assert render([], 80) == []


def test_layer_ranges():
    names = [f"layer{i}" for i in range(1, 11)] + ["output"]
    assert layer_ranges([0, 1, 2, 5, 7, 8], names) == "layers 1-3, 6, 8-9"
    assert layer_ranges([3], names) == "layer 4"
    assert layer_ranges([10], names) == "layer 11 (output)"
    assert layer_ranges([]) == "no layer"
