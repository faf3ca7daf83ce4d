"""`vgtui.watch()` on models the tests build: every number checked against plain torch.

Each test trains a copy of the model by hand (no vgtui) and compares what the run log says with
what the copy's tensors say: gradient norms per parameter and per packed slice, weight norms,
update ratios, and activation statistics (mean, std, min, max, histogram counts, dead units).
"""

from __future__ import annotations

import copy
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vgtui
from vgtui.core.pacing import Pacer
from vgtui.core.records import LayerStats, Snapshot
from vgtui.runlog.codec import read_log

REL = 1e-5


def by_name(snapshot: Snapshot) -> dict[str, LayerStats]:
    return {x.name: x for x in snapshot.layers}


def params_of(layer: LayerStats) -> dict[str, tuple]:
    return {p.name: (p.grad_norm, p.weight_norm, p.update_ratio) for p in layer.params or []}


def assert_stats(stats, values: torch.Tensor, bins: int = 40) -> None:
    """The snapshot's statistics of a tensor against numpy's, over the snapshot's own range."""
    v = values.detach().double().numpy().ravel()
    assert stats is not None
    assert stats.mean == pytest.approx(v.mean(), rel=1e-4, abs=1e-6)
    assert stats.std == pytest.approx(v.std(), rel=1e-4, abs=1e-6)
    assert (stats.min, stats.max) == pytest.approx((v.min(), v.max()), rel=1e-6, abs=1e-7)
    h = stats.hist
    inside = v[(v >= h.lo) & (v <= h.hi)]
    counts, _ = np.histogram(inside, bins=bins, range=(h.lo, h.hi))
    assert list(counts) == h.counts
    assert (h.below, h.above, h.nonfinite) == ((v < h.lo).sum(), (v > h.hi).sum(), 0)


def assert_grads(layer: LayerStats, named: dict[str, torch.Tensor], slices=()) -> None:
    """Each parameter's gradient norm, and each slice's, against the hand-trained copy."""
    got = params_of(layer)
    for name, grad in named.items():
        assert got[name][0] == pytest.approx(grad.norm().item(), rel=REL), name
        for i, label in enumerate(slices if "weight" in name else ()):
            part = grad.chunk(len(slices))[i].norm().item()
            assert got[f"{name}[{label}]"][0] == pytest.approx(part, rel=REL), (name, label)


def grads(model: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    module = model.get_submodule(prefix) if prefix else model
    sep = "." if prefix else ""
    return {f"{prefix}{sep}{n}": p.grad for n, p in module.named_parameters(recurse=False)}


def one_step(model, x, loss_fn, tmp_path, **kwargs):
    """One step of a plain loop under watch(); returns the snapshot and the model before it."""
    before = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with vgtui.watch(model, log=tmp_path / "run.jsonl", every=1, optimizer=opt, **kwargs) as probe:
        loss = loss_fn(model(x))
        loss.backward()
        opt.step()
        opt.zero_grad()
        snapshot = probe.step(loss)
    assert snapshot is not None and snapshot.loss == pytest.approx(loss.item())
    return snapshot, before, model


# -- models ------------------------------------------------------------------------------------


def test_sequential_with_a_folded_tanh(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    x = torch.randn(16, 6) * 3
    snap, ref, after = one_step(model, x, lambda out: out.pow(2).mean(), tmp_path)
    h = torch.tanh(F.linear(x, ref[0].weight, ref[0].bias))
    out = F.linear(h, ref[2].weight, ref[2].bias)
    out.pow(2).mean().backward()
    layers = by_name(snap)
    assert list(layers) == ["0", "2"]
    assert_stats(layers["0"].act, h)
    assert (layers["0"].act.hist.lo, layers["0"].act.hist.hi) == (-1.0, 1.0)  # tanh's range
    assert layers["0"].sat_frac == pytest.approx((h.abs() > 0.97).float().mean().item())
    assert_stats(layers["2"].act, out)
    for name in ("0", "2"):
        assert_grads(layers[name], grads(ref, name))
        assert layers[name].grad_norm == pytest.approx(
            ref.get_submodule(name).weight.grad.norm().item(), rel=REL
        )
        w_before = ref.get_submodule(name).weight.detach()
        w_after = after.get_submodule(name).weight.detach()
        assert layers[name].weight_norm == pytest.approx(w_after.norm().item(), rel=REL)
        ratio = ((w_after - w_before).norm() / w_after.norm()).item()
        assert layers[name].update_ratio == pytest.approx(ratio, rel=1e-4)
    header = read_log(tmp_path / "run.jsonl").header
    assert header.version == 2
    assert [p.name for p in header.layers[0].params] == ["0.weight", "0.bias"]
    assert header.layers[0].params[0].shape == [8, 6]


class Custom(nn.Module):
    """A custom forward: the ReLU is registered first and shared, the layers in reverse order,
    and the root owns a parameter of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()
        self.b = nn.Linear(8, 4)
        self.a = nn.Linear(5, 8)
        self.scale = nn.Parameter(torch.full((4,), 2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.b(self.act(self.a(x)))) * self.scale


def test_custom_forward_pairs_activations_by_the_tensors_they_take(tmp_path):
    torch.manual_seed(1)
    model = Custom()
    with torch.no_grad():
        model.a.bias[:3] = -50.0  # three units of `a` dead for every sample
    x = torch.randn(12, 5)
    snap, ref, _ = one_step(model, x, lambda out: out.sum(), tmp_path, preact=True)
    a_pre = F.linear(x, ref.a.weight, ref.a.bias)
    a = torch.relu(a_pre)
    b = torch.relu(F.linear(a, ref.b.weight, ref.b.bias))
    out = b * ref.scale
    out.sum().backward()
    layers = by_name(snap)
    assert list(layers) == ["model", "b", "a"]  # registration order; the root owns `scale`
    assert_stats(layers["a"].act, a)
    assert_stats(layers["a"].preact, a_pre)
    assert layers["a"].dead_frac == pytest.approx((a == 0).all(dim=0).float().mean().item())
    assert layers["a"].dead_frac >= 3 / 8
    assert_stats(layers["b"].act, b)
    assert_stats(layers["model"].act, out)
    assert layers["model"].grad_norm == pytest.approx(ref.scale.grad.norm().item(), rel=REL)
    for name in ("a", "b", ""):
        assert_grads(layers[name or "model"], grads(ref, name))


def test_conv_net_dead_channels_and_gradients(tmp_path):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    with torch.no_grad():
        model[0].bias[0] = -100.0  # channel 0 dead
    x = torch.randn(5, 1, 8, 8)
    y = torch.tensor([0, 1, 1, 0, 1])
    snap, ref, _ = one_step(model, x, lambda out: F.cross_entropy(out, y), tmp_path)
    h = torch.relu(F.conv2d(x, ref[0].weight, ref[0].bias))
    out = F.linear(h.flatten(1), ref[3].weight, ref[3].bias)
    F.cross_entropy(out, y).backward()
    layers = by_name(snap)
    assert_stats(layers["0"].act, h)
    dead = (h == 0).all(dim=3).all(dim=2).all(dim=0).float().mean().item()
    assert layers["0"].dead_frac == pytest.approx(dead) and dead >= 0.25
    assert_stats(layers["3"].act, out)
    info = {x.name: x for x in read_log(tmp_path / "run.jsonl").header.layers}
    assert (info["0"].kind, info["0"].fan_in, info["0"].fan_out) == ("conv", 9, 36)
    for name in ("0", "3"):
        assert_grads(layers[name], grads(ref, name))


def test_transformer_encoder_attention_slices_and_functional_out_proj(tmp_path):
    torch.manual_seed(3)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x = torch.randn(3, 5, 8)
    snap, ref, _ = one_step(layer, x, lambda out: out.pow(3).mean(), tmp_path)
    attn = ref.self_attn(x, x, x, need_weights=False)[0]
    h1 = ref.norm1(x + attn)
    f1 = ref.linear1(h1)
    f2 = ref.linear2(torch.relu(f1))
    out = ref.norm2(h1 + f2)
    out.pow(3).mean().backward()
    layers = by_name(snap)
    assert set(layers) == {
        "self_attn",
        "self_attn.out_proj",
        "linear1",
        "linear2",
        "norm1",
        "norm2",
    }
    assert_stats(layers["self_attn"].act, attn)
    assert layers["self_attn.out_proj"].act is None  # applied functionally: no activation seen
    assert_stats(layers["linear1"].act, f1)  # F.relu is functional: nothing to fold
    assert_stats(layers["linear2"].act, f2)
    assert_stats(layers["norm2"].act, out)
    assert_grads(layers["self_attn"], grads(ref, "self_attn"), slices=("q", "k", "v"))
    assert "self_attn.in_proj_weight[v]" in params_of(layers["self_attn"])
    assert "self_attn.in_proj_bias[q]" not in params_of(layers["self_attn"])
    assert_grads(layers["self_attn.out_proj"], grads(ref, "self_attn.out_proj"))
    # no `weight` of its own: the layer's norm is that of all its parameters together
    both = torch.cat([ref.self_attn.in_proj_weight.grad.ravel(), ref.self_attn.in_proj_bias.grad])
    assert layers["self_attn"].grad_norm == pytest.approx(both.norm().item(), rel=REL)
    line = (tmp_path / "run.jsonl").read_text().splitlines()[1]
    assert '"name":"self_attn.out_proj","act":null' in line and "NaN" not in line


def test_lstm_reports_its_output_sequence_and_gate_slices(tmp_path):
    torch.manual_seed(4)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(3, 5, num_layers=2, batch_first=True)
            self.head = nn.Linear(5, 1)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    model = Net()
    x = torch.randn(4, 7, 3)
    snap, ref, _ = one_step(model, x, lambda out: out.pow(2).sum(), tmp_path)
    seq, _ = ref.rnn(x)
    out = ref.head(seq[:, -1])
    out.pow(2).sum().backward()
    layers = by_name(snap)
    assert_stats(layers["rnn"].act, seq)
    assert_stats(layers["head"].act, out)
    assert_grads(layers["rnn"], grads(ref, "rnn"), slices=("i", "f", "g", "o"))
    names = params_of(layers["rnn"])
    assert {"rnn.weight_hh_l1[f]", "rnn.weight_ih_l0[o]", "rnn.bias_hh_l1"} <= set(names)
    assert "rnn.bias_hh_l1[f]" not in names


def test_gru_gates_are_r_z_n():
    from vgtui.probe.discover import slices_of

    gru = nn.GRU(2, 3)
    assert slices_of(gru, "weight_hh_l0") == ("r", "z", "n")
    assert slices_of(gru, "weight_ih_l0_reverse") == ("r", "z", "n")
    assert slices_of(gru, "bias_hh_l0") == ()
    assert slices_of(nn.LSTMCell(2, 3), "weight_ih") == ("i", "f", "g", "o")


# -- where the gradients are read ------------------------------------------------------------------


def _loop(model, opt, probe, batches, order):
    """Train on ``batches`` in one of the loop orders users write; returns each step's grads."""
    seen = []
    for x in batches:
        if order == "zero_first":
            opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        seen.append(model.weight.grad.norm().item())
        if order == "probe_before_optimizer":
            probe.step(loss)
            opt.step()
            opt.zero_grad()
            continue
        opt.step()
        if order == "zero_then_probe":
            opt.zero_grad()
            probe.step(loss)
        else:
            probe.step(loss)
            if order == "probe_then_zero":
                opt.zero_grad()
    return seen


@pytest.mark.parametrize(
    "order", ["zero_then_probe", "probe_then_zero", "zero_first", "probe_before_optimizer"]
)
def test_every_loop_order_reports_each_steps_own_gradient(tmp_path, order):
    torch.manual_seed(5)
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    batches = [torch.randn(8, 4) * (k + 1) for k in range(4)]
    with vgtui.watch(model, log=tmp_path / "run.jsonl", every=1) as probe:
        expected = _loop(model, opt, probe, batches, order)
    got = [s.layers[0].grad_norm for s in read_log(tmp_path / "run.jsonl").snapshots]
    assert got == pytest.approx(expected, rel=REL)


def test_gradient_accumulation_reports_the_accumulated_gradient(tmp_path):
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
    ref = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    micro = [torch.randn(5, 4) for _ in range(3)]
    with vgtui.watch(model, every=1, optimizer=opt) as probe:
        for x in micro:
            (model(x).pow(2).mean() / len(micro)).backward()
        opt.step()
        opt.zero_grad()
        snap = probe.step()
    for x in micro:
        (ref(x).pow(2).mean() / len(micro)).backward()
    layers = by_name(snap)
    assert layers["0"].grad_norm == pytest.approx(ref[0].weight.grad.norm().item(), rel=REL)
    assert layers["2"].grad_norm == pytest.approx(ref[2].weight.grad.norm().item(), rel=REL)
    assert_stats(layers["0"].act, torch.relu(ref[0](micro[0])))  # the first micro-batch's
    assert snap.loss is None


def test_grad_scaler_with_bfloat16_autocast_reports_unscaled_norms(tmp_path):
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    ref = copy.deepcopy(model)
    x = torch.randn(32, 8)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with vgtui.watch(model, every=1, optimizer=opt) as probe:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(x).float().pow(2).mean()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        snap = probe.step(loss)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref(x).float().pow(2).mean().backward()
    for name in ("0", "2"):
        expected = ref.get_submodule(name).weight.grad.norm().item()
        assert by_name(snap)[name].grad_norm == pytest.approx(expected, rel=1e-3)
    assert by_name(snap)["0"].act is not None


def test_fused_optimizer_under_grad_scaler_divides_by_the_scale(tmp_path):
    torch.manual_seed(8)
    model = nn.Linear(8, 4)
    ref = copy.deepcopy(model)
    x = torch.randn(16, 8)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)  # unscales inside its step
    with vgtui.watch(model, every=1) as probe:
        scaler.scale(model(x).pow(2).mean()).backward()
        scaler.step(opt)
        scaler.update()
        snap = probe.step()
    ref(x).pow(2).mean().backward()
    assert snap.layers[0].grad_norm == pytest.approx(ref.weight.grad.norm().item(), rel=1e-5)


def test_compiled_model_is_watched_through_its_original_module(tmp_path):
    torch.manual_seed(9)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    compiled = torch.compile(model, backend="eager")  # dynamo's hook handling, no codegen
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [torch.randn(6, 4) for _ in range(4)]
    with vgtui.watch(compiled, log=tmp_path / "run.jsonl", every=2) as probe:
        for x in batches:
            expected = torch.relu(model[0](x)).detach()
            loss = compiled(x).pow(2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            snap = probe.step(loss)
            if snap is not None:
                assert_stats(by_name(snap)["0"].act, expected)
                assert by_name(snap)["0"].grad_norm is not None
    log = read_log(tmp_path / "run.jsonl")
    assert [s.step for s in log.snapshots] == [1, 2, 4]
    assert log.header.config["compiled"] is True
    assert not model[0]._forward_hooks  # closing removes the resident hooks too


def test_a_model_compiled_and_called_before_watch_keeps_its_gradients_and_says_why(tmp_path):
    model = nn.Linear(4, 2)
    compiled = torch.compile(model, backend="eager")
    compiled(torch.randn(3, 4))  # traced without hooks: dynamo will not run the probe's
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with vgtui.watch(compiled, log=tmp_path / "run.jsonl", every=1) as probe:
        for _ in range(2):
            compiled(torch.randn(3, 4)).sum().backward()
            opt.step()
            opt.zero_grad()
            probe.step()
    log = read_log(tmp_path / "run.jsonl")
    assert all(s.layers[0].act is None and s.layers[0].grad_norm for s in log.snapshots)
    assert [e.kind for e in log.events] == ["warning"]
    assert "before the model's first compiled call" in log.events[0].message


# -- pacing and cost between snapshots ------------------------------------------------------------


class Spy(torch.Tensor):
    """A tensor that counts every torch function called on it (a read would be one)."""

    calls = 0

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        Spy.calls += 1
        return super().__torch_function__(func, types, args, kwargs or {})


def test_between_snapshots_no_hook_is_registered_and_the_loss_is_not_touched():
    from torch.optim.optimizer import _global_optimizer_pre_hooks

    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hooks_before = len(_global_optimizer_pre_hooks)
    with vgtui.watch(model, every=4) as probe:
        for step in range(1, 9):
            armed = bool(model[0]._forward_hooks)
            assert armed == (step in (1, 4, 8))
            assert (len(_global_optimizer_pre_hooks) > hooks_before) == armed
            loss = model(torch.randn(2, 3)).sum()
            loss.backward()
            opt.step()
            opt.zero_grad()
            spied = loss.detach().as_subclass(Spy)
            Spy.calls = 0
            snap = probe.step(spied)
            assert (snap is not None) == armed
            if not armed:
                assert Spy.calls == 0
    assert len(_global_optimizer_pre_hooks) == hooks_before
    assert not any(m._forward_hooks for m in model.modules())


def test_auto_snapshots_are_paced_by_the_shared_policy(monkeypatch):
    """Each snapshot's cost but the first goes to the one pacing policy (`Pacer.observe`)."""
    seen: list[float] = []
    observe = Pacer.observe

    def spy(pacer: Pacer, cost: float) -> None:
        seen.append(cost)
        observe(pacer, cost)

    monkeypatch.setattr(Pacer, "observe", spy)
    model = nn.Linear(3, 1)
    with vgtui.watch(model) as probe:
        ticks = iter(range(1, 1000))  # a clock a second further on at each look: each step is due
        start = probe.pacer.clock()
        probe.pacer.clock = lambda: start + next(ticks)
        for _ in range(4):
            model(torch.randn(2, 3)).sum().backward()
            assert probe.step(1.0) is not None
    assert len(seen) == 3 and all(cost > 0 for cost in seen)
    assert probe.pacer.period == probe.pacer.period_for(probe.pacer.cost)


def test_scalars_and_their_fields(tmp_path):
    model = nn.Linear(2, 1)
    with vgtui.watch(model, log=tmp_path / "run.jsonl", every=1) as probe:
        model(torch.ones(1, 2)).sum().backward()
        probe.step(
            torch.tensor(0.5), accuracy=torch.tensor(0.75), lr=0.01, grad_scale=1024, val_loss=1.5
        )
    snap = read_log(tmp_path / "run.jsonl").snapshots[0]
    assert (snap.loss, snap.accuracy, snap.lr, snap.val_loss) == (0.5, 0.75, 0.01, 1.5)
    assert snap.scalars == {"grad_scale": 1024.0}


def test_layers_selects_by_glob_pattern():
    enc = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2, enable_nested_tensor=False
    )
    probe = vgtui.watch(enc, layers=["layers.*.linear*", "layers.1.norm2"])
    assert [w.name for w in probe.probe.layers] == [
        "layers.0.linear1",
        "layers.0.linear2",
        "layers.1.linear1",
        "layers.1.linear2",
        "layers.1.norm2",
    ]
    probe.close()


def test_a_diverging_loss_is_an_event(tmp_path):
    model = nn.Linear(2, 1)
    with vgtui.watch(model, log=tmp_path / "run.jsonl", every=1) as probe:
        for value in (1.0, math.inf, math.nan):
            model(torch.ones(1, 2)).sum().backward()
            probe.step(value)
    log = read_log(tmp_path / "run.jsonl")
    assert [(e.kind, e.step) for e in log.events] == [("diverged", 2)]
    assert log.end.reason == "done" and log.end.step == 3


# -- failures --------------------------------------------------------------------------------------


def test_a_failing_hook_is_logged_once_and_training_goes_on(tmp_path):
    def broken(output):
        raise RuntimeError("boom")

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with vgtui.watch(model, log=tmp_path / "run.jsonl", every=1) as probe:
        probe.probe.hooks.output_tensor = broken  # every hook reads a module's output with it
        for _ in range(3):
            loss = model(torch.randn(4, 3)).pow(2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            assert probe.step(loss) is None
        assert not any(m._forward_hooks for m in model.modules())
    log = read_log(tmp_path / "run.jsonl")
    assert [e.kind for e in log.events] == ["error"]
    assert "RuntimeError: boom" in log.events[0].message
    assert log.snapshots == [] and log.end.reason == "done"


def test_a_failing_snapshot_is_logged_once_and_training_goes_on(tmp_path):
    model = nn.Linear(3, 1)
    with vgtui.watch(model, log=tmp_path / "run.jsonl", every=1) as probe:
        model(torch.randn(2, 3)).sum().backward()
        assert probe.step(1.0) is not None
        probe.probe.summarize = lambda *a: 1 / 0
        for _ in range(2):
            model(torch.randn(2, 3)).sum().backward()
            assert probe.step(1.0) is None
    log = read_log(tmp_path / "run.jsonl")
    assert [s.step for s in log.snapshots] == [1]
    assert [e.kind for e in log.events] == ["error"] and "ZeroDivisionError" in log.events[
        0
    ].message


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda p: vgtui.watch([nn.Linear(2, 2)]), TypeError, "needs a torch.nn.Module; got list"),
        (lambda p: vgtui.watch(nn.ReLU()), ValueError, "ReLU has no trainable parameters"),
        (
            lambda p: vgtui.watch(nn.Linear(2, 2).requires_grad_(False)),
            ValueError,
            "no trainable parameters",
        ),
        (
            lambda p: vgtui.watch(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1)), layers="enc*"),
            ValueError,
            "layers='enc*' matches no layer; the layers are: 0, 1",
        ),
        (lambda p: vgtui.watch(nn.Linear(2, 2), every=0), ValueError, "every= takes"),
        (lambda p: vgtui.watch(nn.Linear(2, 2), every=-5), ValueError, "got -5"),
        (lambda p: vgtui.watch(nn.Linear(2, 2), every="fast"), ValueError, "'auto'"),
        (lambda p: vgtui.watch(nn.Linear(2, 2), every=True), ValueError, "got True"),
        (lambda p: vgtui.watch(nn.Linear(2, 2), bins=0), ValueError, "bins="),
        (lambda p: vgtui.watch(nn.Linear(2, 2), optimizer="sgd"), TypeError, "optimizer="),
        (
            lambda p: vgtui.watch(nn.Linear(2, 2), log=p / "file.txt" / "run.jsonl"),
            OSError,
            "cannot write the run log",
        ),
    ],
)
def test_bad_input_is_one_clear_exception(tmp_path, call, error, words):
    (tmp_path / "file.txt").write_text("a file, not a folder")
    with pytest.raises(error) as info:
        call(tmp_path)
    assert words in str(info.value)
    assert "\n" not in str(info.value)
    if error is OSError:
        assert str(tmp_path / "file.txt" / "run.jsonl") in str(info.value)


def test_a_pattern_matching_nothing_names_what_exists_even_when_there_are_many():
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(30)])
    with pytest.raises(ValueError, match=r"the layers are: 0, 1, .*, 11 and 18 more"):
        vgtui.watch(model, layers="head")


def test_a_loss_that_is_not_a_number_is_a_type_error():
    model = nn.Linear(2, 1)
    with vgtui.watch(model) as probe:
        with pytest.raises(TypeError, match="loss must be a number"):
            probe.step("0.5")
        with pytest.raises(TypeError, match="accuracy must be a number"):
            probe.step(0.5, accuracy=torch.ones(3))


def test_import_vgtui_does_not_import_torch_until_watch_is_used():
    code = (
        "import sys, vgtui; print('torch' in sys.modules); "
        "vgtui.watch; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
