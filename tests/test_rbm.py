"""RBM pretraining: the CD update by hand, the stack on digits, chunking, its own random stream."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vgtui.core.config import RunConfig
from vgtui.core.errors import ConfigError
from vgtui.core.records import Snapshot
from vgtui.trainer.data import load_dataset
from vgtui.trainer.model import build_model
from vgtui.trainer.rbm import (
    BERNOULLI,
    GAUSSIAN,
    RBM,
    LayerLog,
    Pretraining,
    Progress,
    Settings,
    caveat,
    cd_statistics,
    check,
    visible_units,
)
from vgtui.trainer.trainer import Trainer

# The 3x2 example (3 visible, 2 hidden), worked by hand: W is (visible, hidden).
W = [[0.5, -0.5], [0.0, 1.0], [-1.0, 0.5]]
B = [0.0, 0.5, -0.5]
C = [0.0, -1.0]
V0 = [[1.0, 0.0, 1.0]]
U = [[0.3, 0.6]]  # the uniform draws for h0: h = (u < p(h|v0)) = [1, 0]
HAND = {  # (dW, db, dc) of one CD-1 update
    "sampled": (
        [[0.0462948338, 0.0480289357], [-0.331245835, -0.2209124856], [0.2804617241, 0.2041981138]],
        [0.3775406688, -0.6224593312, 0.8175744762],
        [-0.1546159211, -0.0859612599],
    ),
    "mean-field": (
        [[0.1291676925, 0.0643580277], [-0.3304529335, -0.2721921828], [0.221654208, 0.1405386392]],
        [0.4864284285, -0.6832918574, 0.6776668065],
        [-0.1060783439, -0.1294127809],
    ),
    "gaussian": (
        [
            [-0.0484357322, 0.1777286595],
            [-0.425976401, -0.0912127619],
            [1.6554698718, 0.5425797071],
        ],
        [0.5, -0.5, 2.5],
        [-0.4744121332, 0.0865158976],
    ),
}

# The smallest convincing case: 4 sigmoid layers of 100 units on digits, SGD lr 0.5, batch 32.
DEEP_SIGMOID = RunConfig(
    activation="sigmoid",
    init="normal:0.01",
    depth=4,
    width=100,
    dataset="digits",
    lr=0.5,
    batch_size=32,
    steps=300,
    every=300,
    device="cpu",
    seed=0,
)
SMALL = DEEP_SIGMOID.replace(depth=2, width=16)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small models gain nothing from a second thread, and lose much to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def t(values: list) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def draws(*values: list) -> object:
    """A ``uniform`` that hands out the given draws in turn."""
    queue = [t(v) for v in values]
    return lambda shape: queue.pop(0)


def run_to_end(pretraining: Pretraining, budget_s: float = math.inf) -> list[Progress]:
    progress = []
    while not pretraining.done:
        progress += pretraining.advance(budget_s)
    return progress


def pretrained(config: RunConfig, epochs: int) -> tuple[Trainer, Pretraining]:
    trainer = Trainer(config)
    pretraining = Pretraining(trainer.model, trainer.data, config.seed, Settings(epochs=epochs))
    run_to_end(pretraining)
    return trainer, pretraining


def final_val_accuracy(trainer: Trainer) -> float:
    last = None
    while trainer.end is None:
        last = next((r for r in trainer.step() if isinstance(r, Snapshot)), last)
    assert trainer.end.reason == "done" and last is not None and last.val_accuracy is not None
    return last.val_accuracy


# ---- the CD update -----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(HAND))
def test_cd_statistics_match_the_hand_computed_example(variant: str) -> None:
    uniform = None if variant == "mean-field" else draws(U)
    dW, db, dc, _ = cd_statistics(
        t(W), t(B), t(C), t(V0), k=1, gaussian=variant == "gaussian", uniform=uniform
    )
    want_dW, want_db, want_dc = HAND[variant]
    torch.testing.assert_close(dW, t(want_dW), rtol=0, atol=1e-9)
    torch.testing.assert_close(db, t(want_db), rtol=0, atol=1e-9)
    torch.testing.assert_close(dc, t(want_dc), rtol=0, atol=1e-9)


def test_an_rbm_step_adds_the_update_and_returns_the_squared_error() -> None:
    rbm = RBM(t(W), t(B), t(C), False, Settings(lr=0.1), draws(U))
    error = rbm.step(t(V0))
    by_hand = [
        [0.5046294834, -0.4951971064],
        [-0.0331245835, 0.9779087514],
        [-0.9719538276, 0.5204198114],
    ]
    torch.testing.assert_close(rbm.W, t(by_hand), rtol=0, atol=1e-9)
    v1 = [0.6224593312, 0.6224593312, 0.1824255238]  # the reconstruction
    assert error.item() == pytest.approx(
        sum((a - b) ** 2 for a, b in zip(V0[0], v1, strict=True)), abs=1e-9
    )


def test_momentum_carries_the_previous_update_into_the_next() -> None:
    def sigmoid(a: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-a))

    lr, momentum, us = 0.1, 0.5, [[0.3, 0.6], [0.9, 0.05]]
    params = [np.array(W), np.array(B), np.array(C)]
    velocity = [np.zeros_like(p) for p in params]
    v0 = np.array(V0[0])
    for u in us:  # an independent CD-1 with momentum, in numpy
        w, b, c = params
        ph0 = sigmoid(v0 @ w + c)
        v1 = sigmoid((np.array(u) < ph0) @ w.T + b)
        ph1 = sigmoid(v1 @ w + c)
        grads = [np.outer(v0, ph0) - np.outer(v1, ph1), v0 - v1, ph0 - ph1]
        velocity = [momentum * v + lr * g for v, g in zip(velocity, grads, strict=True)]
        params = [p + v for p, v in zip(params, velocity, strict=True)]
    rbm = RBM(
        t(W), t(B), t(C), False, Settings(lr=lr, momentum=momentum), draws(*[[u] for u in us])
    )
    rbm.step(t(V0))
    rbm.step(t(V0))
    for got, want in zip((rbm.W, rbm.b, rbm.c), params, strict=True):
        torch.testing.assert_close(got, t(want.tolist()), rtol=0, atol=1e-12)


# ---- the stack on digits -------------------------------------------------------------------------


def test_reconstruction_error_falls_over_the_epochs_of_every_layer() -> None:
    _, pretraining = pretrained(DEEP_SIGMOID, epochs=5)
    assert [len(errors) for errors in pretraining.errors] == [5, 5, 5, 5]
    for errors in pretraining.errors:  # noisy (sampled CD), so not monotone: a clear fall
        assert errors[-1] < 0.75 * errors[0], errors


def test_pretraining_rescues_a_deep_sigmoid_net_that_small_random_weights_leave_at_chance() -> None:
    rescued, _ = pretrained(DEEP_SIGMOID, epochs=5)
    rescued.checkpoint = rescued.save()
    assert final_val_accuracy(rescued) > 0.6
    assert final_val_accuracy(Trainer(DEEP_SIGMOID)) < 0.2


def test_every_epoch_is_reported_once_in_order() -> None:
    trainer = Trainer(SMALL)
    pretraining = Pretraining(trainer.model, trainer.data, SMALL.seed, Settings(epochs=3))
    progress = run_to_end(pretraining, budget_s=0.0)
    assert [(p.layer, p.epoch) for p in progress] == [
        (1, 1),
        (1, 2),
        (1, 3),
        (2, 1),
        (2, 2),
        (2, 3),
    ]
    assert [p.error for p in progress] == [e for errors in pretraining.errors for e in errors]
    assert [p.layer_done for p in progress] == [False, False, True] * 2
    assert pretraining.advance() == []


def test_a_chunk_is_one_batch_at_the_least_and_chunks_change_nothing() -> None:
    chunked, one_go = Trainer(SMALL), Trainer(SMALL)
    a = Pretraining(chunked.model, chunked.data, SMALL.seed, Settings(epochs=2))
    batches = math.ceil(chunked.data.x.shape[0] / a.settings.batch_size)
    assert all(a.advance(0.0) == [] for _ in range(batches - 1))
    assert [(p.layer, p.epoch) for p in a.advance(0.0)] == [(1, 1)]
    run_to_end(a, budget_s=0.0)
    b = Pretraining(one_go.model, one_go.data, SMALL.seed, Settings(epochs=2))
    run_to_end(b)
    assert a.errors == b.errors
    for x, y in zip(chunked.model.parameters(), one_go.model.parameters(), strict=True):
        assert torch.equal(x, y)


def test_each_layer_gets_its_rbm_and_feeds_the_next_its_sigmoid_probabilities() -> None:
    trainer = Trainer(SMALL)
    model, x = trainer.model, trainer.data.x
    head = [p.clone() for p in model.head.parameters()]
    pretraining = Pretraining(model, trainer.data, SMALL.seed, Settings(epochs=1))
    pretraining.advance(0.0)
    while pretraining.rbm is not None:  # up to layer 1's last batch, and past it
        rbm = pretraining.rbm
        pretraining.advance(0.0)
    first = model.blocks[0].linear
    assert torch.equal(first.weight, rbm.W.T) and torch.equal(first.bias, rbm.c)
    pretraining.advance(0.0)
    assert len(pretraining.log) == 2
    torch.testing.assert_close(pretraining.visible_data, torch.sigmoid(first(x)))
    run_to_end(pretraining)
    assert all(torch.equal(p, q) for p, q in zip(model.head.parameters(), head, strict=True))


def test_real_valued_inputs_get_gaussian_units_standardised_and_folded_into_the_layer() -> None:
    config = SMALL.replace(dataset="circle")
    trainer = Trainer(config)
    x = trainer.data.x
    assert visible_units(x) == GAUSSIAN and visible_units(Trainer(SMALL).data.x) == BERNOULLI
    pretraining = Pretraining(trainer.model, trainer.data, config.seed, Settings(epochs=1))
    pretraining.advance(0.0)
    while pretraining.rbm is not None:  # up to layer 1's last batch, and past it
        rbm = pretraining.rbm
        pretraining.advance(0.0)
    run_to_end(pretraining)
    assert [entry.visible for entry in pretraining.log] == [GAUSSIAN, BERNOULLI]
    z = (x - x.mean(0)) / x.std(0)
    torch.testing.assert_close(trainer.model.blocks[0].linear(x), z @ rbm.W + rbm.c)


# ---- its own random stream ---------------------------------------------------------------------


def test_fine_tuning_draws_the_same_batches_with_and_without_pretraining() -> None:
    plain = Trainer(SMALL)
    with_rbm = Trainer(SMALL)
    global_state = torch.get_rng_state()
    before = [p.clone() for p in with_rbm.model.parameters()]
    run_to_end(Pretraining(with_rbm.model, with_rbm.data, SMALL.seed, Settings(epochs=1)))
    assert not torch.equal(before[0], with_rbm.model.blocks[0].linear.weight)
    assert torch.equal(torch.get_rng_state(), global_state)  # dropout's stream is untouched too
    for _ in range(50):  # past the end of the first epoch's permutation
        x_plain, y_plain = plain.data.batch(SMALL.batch_size, plain.generator)
        x_rbm, y_rbm = with_rbm.data.batch(SMALL.batch_size, with_rbm.generator)
        assert torch.equal(x_plain, x_rbm) and torch.equal(y_plain, y_rbm)


# ---- what it assumes and refuses -------------------------------------------------------------


@pytest.mark.parametrize("epochs", [0, -1, 2.5, True])
def test_epochs_must_be_a_positive_integer(epochs: object) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(epochs=epochs)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"init: 'rbm:{epochs}' is not valid; expected rbm or rbm:EPOCHS with EPOCHS an integer >= 1"
    )


def test_maxout_and_forward_only_runs_are_refused_in_one_line() -> None:
    maxout = SMALL.replace(activation="maxout:3")
    data = load_dataset("digits", seed=0)
    with pytest.raises(ConfigError, match=r"^activation: 'maxout' .*--init rbm") as caught:
        Pretraining(build_model(maxout, data.input_dim, data.n_classes), data, 0)
    assert "\n" not in str(caught.value)
    random = load_dataset("random", seed=0, width=16)
    model = build_model(SMALL, random.input_dim, random.n_classes)
    with pytest.raises(ConfigError, match=r"^dataset: 'random' .*forward only\)$"):
        Pretraining(model, random, 0)
    check("sigmoid", forward_only=False)  # what fits passes


@pytest.mark.parametrize(
    "settings",
    [{"k": 0}, {"batch_size": 0}, {"lr": 0.0}, {"gaussian_lr": math.nan}, {"momentum": 1.0}],
)
def test_settings_out_of_range_are_refused(settings: dict) -> None:
    with pytest.raises(ConfigError, match="is not valid; expected"):
        Settings(**settings)


def test_what_pretraining_assumes_is_said_in_one_line() -> None:
    assert caveat("sigmoid") is None
    assert caveat("relu") == (
        "RBM pretraining assumes plain sigmoid layers; with relu the pretrained weights are used"
        " as they are"
    )
    assert caveat("leaky_relu:0.2", norm="batch", residual=True) == (
        "RBM pretraining assumes plain sigmoid layers; with leaky_relu and batch norm and residual"
        " connections the pretrained weights are used as they are"
    )
    trainer = Trainer(SMALL)
    pretraining = Pretraining(trainer.model, trainer.data, 0, Settings(epochs=7))
    assert pretraining.describe() == (
        "RBM pretraining of 2 layers, 7 epochs each, CD-1,"
        " Bernoulli visible units (inputs in [0, 1])"
    )


def test_progress_and_layer_summaries_read_as_sentences() -> None:
    assert Progress(2, 4, 7, 15, 0.031).message() == (
        "pretraining layer 2 of 4, epoch 7/15, reconstruction error 0.031"
    )
    log = LayerLog(2, 4, BERNOULLI, [0.0412, 0.02, 0.0143], 0.21)
    assert log.summary() == (
        "pretrained layer 2 of 4: reconstruction error 0.0412 -> 0.0143 in 3 epochs, 0.2 s"
    )
