"""The classic lessons, reproduced by the engine's own numbers."""

import itertools
import math

import pytest
import torch

import vgtui.trainer.trainer as trainer_module
from vgtui.core.config import RunConfig
from vgtui.core.records import End, Event, Hist, Snapshot
from vgtui.trainer.trainer import Trainer, loss_of, run


def first_snapshot(**kw) -> Snapshot:
    trainer = Trainer(RunConfig(device="cpu", steps=1, **kw))
    return next(r for r in trainer.step() if isinstance(r, Snapshot))


def fraction(hist: Hist, lo: float, hi: float) -> float:
    """Share of the values in bins lying inside [lo, hi] (bin edges must align)."""
    width = (hist.hi - hist.lo) / len(hist.counts)
    first, last = round((lo - hist.lo) / width), round((hi - hist.lo) / width)
    return sum(hist.counts[first:last]) / hist.total


def test_sigmoid_derivative_is_at_most_a_quarter():
    x = torch.linspace(-20, 20, 100_001, requires_grad=True)
    torch.sigmoid(x).sum().backward()
    assert x.grad.max().item() == pytest.approx(0.25, abs=1e-6)
    assert x.grad.max().item() <= 0.25


def test_deep_sigmoid_xavier_gradients_vanish_toward_the_input():
    snap = first_snapshot(activation="sigmoid", init="xavier", depth=10, dataset="xor")
    grads = [layer.grad_norm for layer in snap.layers]
    assert grads[0] * 1000 <= grads[-1]
    # Shrinking layer by layer from the output toward the input, not only end to end.
    hidden = grads[:-1]
    assert all(a < b for a, b in itertools.pairwise(hidden))


def test_relu_he_keeps_gradients_within_100x():
    snap = first_snapshot(activation="relu", init="he", depth=10, dataset="xor")
    grads = [layer.grad_norm for layer in snap.layers]
    ratio = grads[0] / grads[-1]
    assert 1 / 100 <= ratio <= 100


def random_layers(activation: str, init: str, depth: int, width: int):
    snap = first_snapshot(
        dataset="random", activation=activation, init=init, depth=depth, width=width, batch_size=500
    )
    assert snap.loss is None and all(x.grad_norm is None for x in snap.layers)
    return snap.layers[:-1]  # the hidden layers


def test_random_input_sigmoid_normal_1_saturates_every_layer():
    for layer in random_layers("sigmoid", "normal", depth=10, width=256):
        extremes = fraction(layer.act.hist, 0.0, 0.1) + fraction(layer.act.hist, 0.9, 1.0)
        assert extremes > 0.5, layer.name
        assert layer.sat_frac > 0.3, layer.name


def test_random_input_sigmoid_small_init_sits_at_one_half():
    layers = random_layers("sigmoid", "normal:0.01", depth=10, width=256)
    for layer in layers:
        assert fraction(layer.act.hist, 0.4, 0.6) > 0.95, layer.name
        assert layer.sat_frac == 0.0
    # Past the first layer (whose input is the N(0, 1) data itself) inputs are all near 0.5.
    assert all(fraction(x.act.hist, 0.4, 0.6) > 0.99 for x in layers[1:])


def test_random_input_relu_he_keeps_scale_and_small_init_shrinks_it():
    he = [x.act.std for x in random_layers("relu", "he", depth=5, width=256)]
    assert all(he[0] / 2 <= s <= he[0] * 2 for s in he)
    # N(0, 0.01) with ReLU multiplies the std by sqrt(fan_in * 1e-4 / 2) per layer: 1/14 at
    # width 100 (at width >= 200 the factor is under 10x, so the lesson uses a narrow net).
    small = [x.act.std for x in random_layers("relu", "normal:0.01", depth=5, width=100)]
    assert all(b < a / 10 for a, b in itertools.pairwise(small))


DIVERGING = RunConfig(
    activation="relu", init="he", lr=1e4, dataset="circle", steps=200, every=10, device="cpu"
)


def first_nonfinite_by_hand(config: RunConfig) -> tuple[int, str]:
    """Train step by step, reading every loss; at the first non-finite one, walk the layers from
    the input for the first with non-finite weights or activations."""
    trainer = Trainer(config)
    model = trainer.model
    for step in itertools.count(1):
        x, y = trainer.data.batch(config.batch_size, trainer.generator)
        culprits = []
        h = x
        for name, layer, forward in [
            *((f"layer{i + 1}", b.linear, b) for i, b in enumerate(model.blocks)),
            ("output", model.head, model.head),
        ]:
            if not torch.isfinite(layer.weight).all():
                culprits.append(f"{name} (weights)")
            h = forward(h)
            if not torch.isfinite(h).all():
                culprits.append(f"{name} (activations)")
        loss = loss_of(h, y)
        if not math.isfinite(loss.item()):
            return step, (culprits or ["the loss"])[0]
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("every", "checkpoint_s"), [(10, 5.0), (3, 5.0), (1, 5.0), (1, 0.0)], ids=str
)
def test_huge_learning_rate_ends_as_diverged_naming_the_first_non_finite_layer(
    monkeypatch, every, checkpoint_s
):
    """The loss is read at snapshots only; the trainer replays from its last checkpoint (taken
    every ``checkpoint_s`` seconds) to the step where it first went non-finite."""
    monkeypatch.setattr(trainer_module, "CHECKPOINT_S", checkpoint_s)
    step, culprit = first_nonfinite_by_hand(DIVERGING)
    assert step > 1 and culprit.startswith("layer")  # the case is a real one, past step 1
    records = list(run(DIVERGING.replace(every=every)))
    events = [r for r in records if isinstance(r, Event)]
    assert [e.kind for e in events] == ["diverged"]
    assert events[0].step == step
    assert events[0].message == (
        f"loss became nan at step {step}; first non-finite values in {culprit}"
    )
    end = records[-1]
    assert isinstance(end, End) and end.reason == "diverged" and end.step == step
    snaps = [r for r in records if isinstance(r, Snapshot)]
    assert snaps[-1].step == step and not math.isfinite(snaps[-1].loss)
    assert all(math.isfinite(s.loss) for s in snaps[:-1])
    assert [s.step for s in snaps] == sorted({s.step for s in snaps})
