"""The probe's statistics against values computed independently with numpy."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from vgtui.core.activations import parse_activation
from vgtui.probe.discover import WatchedLayer, discover
from vgtui.probe.probe import Probe
from vgtui.probe.stats import (
    DEAD,
    SAT,
    Segment,
    count_slots,
    nice_ceil,
    summarize,
    summarize_many,
    unpack,
)
from vgtui.trainer.factories import make_activation


def stats_of(x, lo, hi, bins):
    floats, counts = summarize(torch.as_tensor(x, dtype=torch.float32).reshape(-1), lo, hi, bins)
    return unpack(floats[0], counts[0])


def numpy_hist(values, lo, hi, bins):
    """Independent reference: np.histogram puts the right edge in the last bin, like the probe."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    inside = finite[(finite >= lo) & (finite <= hi)]
    counts, _ = np.histogram(inside, bins=bins, range=(lo, hi))
    return (
        counts.tolist(),
        int((finite < lo).sum()),
        int((finite > hi).sum()),
        int((~np.isfinite(v)).sum()),
    )


FIXED = [0.0, 0.1, 0.25, 0.5, 0.74, 0.99, 1.0, 1.5, -0.2, float("nan"), float("inf"), -float("inf")]


def test_histogram_counts_below_above_nonfinite_match_numpy():
    s = stats_of(FIXED, 0.0, 1.0, 4)
    counts, below, above, nonfinite = numpy_hist(FIXED, 0.0, 1.0, 4)
    assert s.hist.counts == counts == [2, 1, 2, 2]
    assert (s.hist.below, s.hist.above, s.hist.nonfinite) == (below, above, nonfinite) == (1, 1, 3)
    assert s.hist.total == len(FIXED)


def test_mean_std_min_max_over_finite_values_match_numpy():
    s = stats_of(FIXED, 0.0, 1.0, 4)
    v = np.array(FIXED)
    finite = v[np.isfinite(v)]
    assert s.mean == pytest.approx(finite.mean(), rel=1e-6)
    assert s.std == pytest.approx(finite.std(), rel=1e-6)  # population std
    assert (s.min, s.max) == (pytest.approx(finite.min()), pytest.approx(finite.max()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_tensor_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.3, 2.0, size=(64, 33)).astype(np.float32)
    s = stats_of(x, -3.0, 4.0, 17)
    counts, below, above, nonfinite = numpy_hist(x, -3.0, 4.0, 17)
    assert s.hist.counts == counts
    assert (s.hist.below, s.hist.above, s.hist.nonfinite) == (below, above, nonfinite)
    assert s.hist.total == x.size
    assert s.mean == pytest.approx(float(x.mean()), abs=1e-5)
    assert s.std == pytest.approx(float(x.std()), rel=1e-5)


def test_unbounded_range_adapts_symmetrically_to_a_nice_number():
    s = stats_of([-3.7, 0.0, 2.0], -math.inf, math.inf, 10)
    assert (s.hist.lo, s.hist.hi) == (-5.0, 5.0)
    assert s.hist.below == s.hist.above == 0
    half = stats_of([0.0, 0.3, 0.7], 0.0, math.inf, 10)
    assert (half.hist.lo, half.hist.hi) == (0.0, 1.0)
    assert sum(half.hist.counts) == 3


def test_rows_are_summarised_independently():
    rows = torch.tensor([[0.0, 0.5, 1.0, 2.0], [-3.0, 0.1, 0.2, float("nan")]])
    floats, counts = summarize(rows, -math.inf, math.inf, 4)
    for i in range(2):
        together = unpack(floats[i], counts[i])
        alone = stats_of(rows[i].tolist(), -math.inf, math.inf, 4)
        assert together == alone


@pytest.mark.parametrize(
    ("x", "expected"),
    [(0.7, 1.0), (1.0, 1.0), (1.2, 2.0), (3.0, 5.0), (7.0, 10.0), (0.013, 0.02), (0.0, 1.0)],
)
def test_nice_ceil(x, expected):
    assert nice_ceil(x) == pytest.approx(expected)


def test_all_nonfinite_tensor_is_counted_not_crashed_on():
    s = stats_of([float("nan")] * 5, 0.0, 1.0, 4)
    assert s.hist.nonfinite == 5 and s.hist.total == 5
    assert math.isnan(s.min) and math.isnan(s.max)


def _probe_once(act_name, weight, x, bins=8):
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
    act = parse_activation(act_name)
    model = nn.Sequential(layer, make_activation(act))
    probe = Probe([WatchedLayer("l", layer, model[1], act)], bins=bins)
    probe.arm()
    model(x).sum().backward()
    probe.read_grads()
    return probe.collect()[0], layer, model


def test_dead_fraction_and_norms_match_numpy():
    w = torch.tensor([[1.0, 0.0], [-1.0, -1.0], [0.0, 1.0], [-2.0, 0.5]])
    x = torch.tensor([[1.0, 2.0], [3.0, 0.5], [0.5, 0.1]])
    stats, _, _ = _probe_once("relu", w, x)
    y = np.maximum(x.numpy() @ w.numpy().T, 0)
    dead = (y == 0).all(axis=0).mean()  # units zero for every sample: units 2 and 4
    assert stats.dead_frac == pytest.approx(dead) == pytest.approx(0.5)
    assert stats.sat_frac is None
    # d(sum relu(xW^T))/dW = (y > 0)^T x
    grad = (y > 0).astype(np.float32).T @ x.numpy()
    assert stats.grad_norm == pytest.approx(float(np.linalg.norm(grad)), rel=1e-6)
    assert stats.weight_norm == pytest.approx(float(np.linalg.norm(w.numpy())), rel=1e-6)
    assert stats.preact is not None
    assert stats.preact.mean == pytest.approx(float((x.numpy() @ w.numpy().T).mean()), rel=1e-6)


def test_saturated_fraction_sigmoid_tanh_softsign_match_numpy():
    # 3.0 * 0.8 = 2.4: tanh 0.984, saturated at 0.97 (Karpathy's bound), not at 0.99.
    w = torch.tensor([[10.0], [0.1], [-10.0], [3.0]])
    x = torch.tensor([[1.0], [0.2], [-0.5], [0.8]])
    pre = x.numpy() @ w.numpy().T
    sig, _, _ = _probe_once("sigmoid", w, x)
    s = 1 / (1 + np.exp(-pre))
    assert sig.sat_frac == pytest.approx(float(((s < 0.01) | (s > 0.99)).mean()))
    assert sig.dead_frac is None
    th, _, _ = _probe_once("tanh", w, x)
    assert th.sat_frac == pytest.approx(float((np.abs(np.tanh(pre)) > 0.97).mean()))
    assert th.sat_frac > float((np.abs(np.tanh(pre)) > 0.99).mean())
    soft, _, _ = _probe_once("softsign", w, x)
    assert soft.sat_frac == pytest.approx(float((np.abs(pre / (1 + np.abs(pre))) > 0.78).mean()))


def test_update_ratio_is_update_norm_over_weight_norm():
    torch.manual_seed(0)
    layer = nn.Linear(5, 3)
    probe = Probe([WatchedLayer("l", layer, layer)])
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    for lr in (0.5, 0.01, 0.2):  # each snapshot's own update, in the buffers the last one used
        opt.param_groups[0]["lr"] = lr
        before = layer.weight.detach().clone()
        probe.arm()
        layer(torch.randn(4, 5)).pow(2).sum().backward()
        probe.read_grads()
        opt.step()
        opt.zero_grad()
        stats = probe.collect()[0]
        after = layer.weight.detach()
        expected = float((after - before).norm() / after.norm())
        assert stats.update_ratio == pytest.approx(expected, rel=1e-5)
        layer(torch.randn(4, 5)).pow(2).sum().backward()  # a step between snapshots
        opt.step()
        opt.zero_grad()
    assert stats.preact is None  # a layer watched at its own output has no separate pre-activation


def test_hooks_exist_only_while_armed():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    probe = Probe.for_model(model)
    assert [w.activation.name if w.activation else None for w in probe.layers] == ["tanh", None]
    assert not model[1]._forward_hooks
    probe.arm()
    assert model[1]._forward_hooks
    model(torch.randn(2, 3))
    probe.collect()
    assert not model[1]._forward_hooks and not model[2]._forward_hooks


def test_forward_only_snapshot_has_no_gradients():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid())
    probe = Probe(discover(model))
    probe.arm()
    with torch.no_grad():
        model(torch.randn(8, 3))
    stats = probe.collect()[0]
    assert stats.grad_norm is None and stats.update_ratio is None
    assert stats.act.hist.total == 32
    assert (stats.act.hist.lo, stats.act.hist.hi) == (0.0, 1.0)


def test_many_tensors_of_mixed_shapes_and_rules_come_back_in_order_as_if_alone():
    gen = torch.Generator().manual_seed(3)
    tensors = [
        torch.sigmoid(3 * torch.randn(16, 8, generator=gen)),
        torch.relu(torch.randn(16, 4, generator=gen)),
        torch.randn(16, 1, generator=gen),
        torch.sigmoid(torch.randn(16, 8, generator=gen)),
    ]
    segments = [
        Segment(0.0, 1.0, 0.01, 0.99),
        Segment(0.0, math.inf, dead=True),
        Segment(),
        Segment(0.0, 1.0, 0.01, 0.99),
    ]
    floats, counts = summarize_many(tensors, segments, 10)
    for t, seg, f, c in zip(tensors, segments, floats, counts, strict=True):
        alone_f, alone_c = summarize_many([t], [seg], 10)
        assert (f, c) == (alone_f[0], alone_c[0])
        assert sum(c) == t.numel()
        y = t.numpy()
        if seg.sat_hi < math.inf:
            assert f[SAT] == pytest.approx(((y < 0.01) | (y > 0.99)).mean())
        if seg.dead:
            assert f[DEAD] == pytest.approx((y == 0).all(axis=0).mean())


def test_rules_ignore_non_finite_values():
    y = torch.tensor([[0.0, 0.995, float("nan")], [0.0, 0.5, float("inf")], [0.0, 0.2, 0.3]])
    (sat,), _ = summarize_many([y], [Segment(0.0, 1.0, 0.01, 0.99)], 4)
    # saturated: the three zeros and 0.995, out of all 9 values; NaN and inf are neither
    assert sat[SAT] == pytest.approx(4 / 9)
    (dead,), (counts,) = summarize_many([y], [Segment(0.0, math.inf, dead=True)], 4)
    # unit 0 is zero for every sample; units 1 and 2 are not (a NaN or inf is not zero)
    assert dead[DEAD] == pytest.approx(1 / 3)
    assert counts[-1] == 2 and sum(counts) == 9
    assert dead[0] == pytest.approx(np.mean([0.0, 0.995, 0.0, 0.5, 0.0, 0.2, 0.3]))


def test_every_activation_name_has_a_module_factory():
    from vgtui.core.activations import KINDS
    from vgtui.trainer.factories import ACTIVATION_MODULES

    assert sorted(ACTIVATION_MODULES) == sorted(KINDS)


def numpy_stats(x):
    v = np.asarray(x, dtype=np.float64)
    return v.mean(), v.std(), v.min(), v.max()


@pytest.mark.parametrize("seed", [0, 1])
def test_values_inside_a_fixed_range_match_numpy_with_one_transfer(seed, monkeypatch):
    """The device path: every value finite and <= hi (some below lo); a single host transfer."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.3, 2.0, size=(3, 64, 33)).astype(np.float32)
    transfers = []
    tolist = torch.Tensor.tolist
    monkeypatch.setattr(torch.Tensor, "tolist", lambda t: transfers.append(t.shape) or tolist(t))
    tensors = [torch.from_numpy(layer) for layer in x]
    floats, counts = summarize_many(tensors, [Segment(-1.0, 20.0)] * 3, 17)
    assert len(transfers) == 1
    for layer, f, c in zip(x, floats, counts, strict=True):
        s = unpack(f, c)
        hist, below, above, nonfinite = numpy_hist(layer, -1.0, 20.0, 17)
        assert (s.hist.counts, s.hist.below, s.hist.above, s.hist.nonfinite) == (
            hist,
            below,
            above,
            nonfinite,
        )
        assert below > 0 and above == 0
        mean, std, vmin, vmax = numpy_stats(layer)
        assert s.mean == pytest.approx(mean, abs=1e-5)
        assert s.std == pytest.approx(std, rel=1e-5)
        assert (s.min, s.max) == (pytest.approx(vmin), pytest.approx(vmax))


def test_std_of_values_far_from_zero_is_accurate():
    """A saturated sigmoid: mean near 1, spread 1e-4; no cancellation in the variance."""
    rng = np.random.default_rng(5)
    x = (0.999 + 1e-4 * rng.standard_normal(100_000)).astype(np.float32)
    s = stats_of(x, 0.0, 1.0, 10)
    assert s.std == pytest.approx(float(x.astype(np.float64).std()), rel=1e-4)


@pytest.mark.parametrize("value", [1e-30, 3e-7, 0.013, 0.02, 0.2, 0.5, 0.99, 1.0, 7.0, 123.0, 3e38])
def test_adaptive_range_is_the_nice_ceiling_of_the_largest_magnitude(value):
    stored = float(torch.tensor(value, dtype=torch.float32))  # the value as the tensor holds it
    for values in ([stored, 0.0], [-stored, 0.5 * stored]):
        s = stats_of(values, -math.inf, math.inf, 4)
        assert (s.hist.lo, s.hist.hi) == (-nice_ceil(stored), nice_ceil(stored))
        assert s.hist.below == s.hist.above == 0 and sum(s.hist.counts) == 2


def test_all_zero_tensor_gets_a_unit_range():
    s = stats_of([0.0] * 6, -math.inf, math.inf, 4)
    assert (s.hist.lo, s.hist.hi) == (-1.0, 1.0)
    assert s.hist.counts == [0, 0, 6, 0]
    assert (s.mean, s.std, s.min, s.max) == (0.0, 0.0, 0.0, 0.0)


def test_dead_units_with_negative_values_and_channels_match_numpy():
    """Leaky units (negative values are alive) and conv channels (zero at every position)."""
    gen = torch.Generator().manual_seed(1)
    leaky = torch.randn(8, 5, generator=gen)
    leaky[:, 1] = 0.0
    leaky[:, 3] = 0.0
    leaky[0, 3] = -1e-3  # one negative value keeps unit 3 alive
    conv = torch.relu(torch.randn(4, 6, 3, 3, generator=gen))
    conv[:, 2] = 0.0
    conv[:, 4, 1:] = 0.0  # zero but for one position row: alive
    segments = [Segment(dead=True), Segment(0.0, math.inf, dead=True)]
    floats, counts = summarize_many([leaky, conv], segments, 8)
    for t, f, c in zip([leaky, conv], floats, counts, strict=True):
        y = t.numpy().reshape(t.shape[0], t.shape[1], -1)
        assert f[DEAD] == pytest.approx((y == 0).all(axis=(0, 2)).mean())
        assert sum(c) == t.numel()
        assert math.isnan(f[SAT])
    assert floats[0][DEAD] == pytest.approx(1 / 5) and floats[1][DEAD] == pytest.approx(1 / 6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saturated_fraction_and_histogram_of_random_sigmoid_layers_match_numpy(seed):
    gen = torch.Generator().manual_seed(seed)
    layers = [torch.sigmoid(4 * torch.randn(32, 16, generator=gen)) for _ in range(4)]
    floats, counts = summarize_many(layers, [Segment(0.0, 1.0, 0.01, 0.99)] * 4, 20)
    for t, f, c in zip(layers, floats, counts, strict=True):
        y = t.numpy().astype(np.float64)
        assert f[SAT] == pytest.approx(((y < 0.01) | (y > 0.99)).mean())
        assert c[:20] == numpy_hist(y, 0.0, 1.0, 20)[0]
        assert f[0] == pytest.approx(y.mean(), abs=1e-6)
        assert f[1] == pytest.approx(y.std(), rel=1e-5)


def test_sync_free_slot_counts_equal_bincount():
    """The GPU's histogram (no host read to size it) counts as `torch.bincount` does."""
    gen = torch.Generator().manual_seed(4)
    slot = torch.randint(0, 37, (5000,), generator=gen, dtype=torch.int32)
    slot[:3] = 0  # the first and last slots are reached
    slot[3:5] = 40
    on_cpu = count_slots(slot, 41, sync_free=False)
    sync_free = count_slots(slot, 41, sync_free=True)
    assert sync_free.dtype == torch.float64
    assert sync_free.tolist() == on_cpu.tolist() == np.bincount(slot.numpy(), minlength=41).tolist()


def test_summaries_are_the_same_with_the_sync_free_histogram(monkeypatch):
    from vgtui.probe import stats

    gen = torch.Generator().manual_seed(6)
    tensors = [torch.sigmoid(3 * torch.randn(32, 8, generator=gen)) for _ in range(3)]
    tensors.append(torch.randn(32, 1, generator=gen))
    segments = [Segment(0.0, 1.0, 0.01, 0.99)] * 3 + [Segment()]
    expected = summarize_many(tensors, segments, 12)
    count = stats.count_slots
    monkeypatch.setattr(stats, "count_slots", lambda slot, size, sync_free: count(slot, size, True))
    assert summarize_many(tensors, segments, 12) == expected
