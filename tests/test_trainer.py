"""The training loop and the model it builds."""

import math
import subprocess
import sys

import pytest
import torch

import vgtui.trainer.trainer as trainer_module
from vgtui.core.config import RunConfig
from vgtui.core.errors import ConfigError
from vgtui.core.pacing import Pacer
from vgtui.core.records import End, Event, RunHeader, Snapshot
from vgtui.trainer.devices import resolve_device
from vgtui.trainer.model import build_model
from vgtui.trainer.optim import make_optimizer
from vgtui.trainer.trainer import Trainer, run


def test_snapshots_at_step_1_every_interval_and_the_last_step():
    records = list(run(RunConfig(steps=25, every=10, depth=2, width=8, device="cpu")))
    assert isinstance(records[0], RunHeader)
    assert [r.step for r in records if isinstance(r, Snapshot)] == [1, 10, 20, 25]
    assert records[-1] == End(25, "done")


def test_validation_at_step_1_past_each_hundred_steps_and_at_the_end():
    config = RunConfig(steps=250, every=30, depth=2, width=8, dataset="circle", device="cpu")
    snaps = [r for r in run(config) if isinstance(r, Snapshot)]
    assert [s.step for s in snaps if s.val_loss is not None] == [1, 120, 210, 250]
    assert all(s.val_accuracy is not None for s in snaps if s.val_loss is not None)


def test_auto_validates_at_most_once_per_period(monkeypatch):
    monkeypatch.setattr(trainer_module, "VAL_PERIOD_S", math.inf)
    monkeypatch.setattr(trainer_module, "VAL_EVERY", 2)
    fixed = RunConfig(steps=30, every=3, depth=2, width=8, dataset="circle", device="cpu")
    auto = [r for r in run(fixed.replace(every="auto")) if isinstance(r, Snapshot)]
    assert [s.step for s in auto if s.val_loss is not None] == [1, 30]
    snaps = [r for r in run(fixed) if isinstance(r, Snapshot)]
    assert [s.step for s in snaps if s.val_loss is not None] == [1, *range(3, 31, 3)]


def test_header_lists_every_linear_layer_input_side_first():
    trainer = Trainer(RunConfig(depth=3, width=16, dataset="digits", device="cpu"))
    layers = trainer.header.layers
    assert [x.name for x in layers] == ["layer1", "layer2", "layer3", "output"]
    assert (layers[0].fan_in, layers[0].fan_out) == (64, 16)
    assert (layers[-1].fan_in, layers[-1].fan_out) == (16, 10)
    for key in (
        "activation",
        "init",
        "depth",
        "width",
        "dataset",
        "optimizer",
        "lr",
        "batch_size",
        "seed",
        "device",
    ):
        assert key in trainer.header.config
    assert trainer.header.config["device"] == "cpu"


def test_same_seed_same_numbers_and_new_seed_new_numbers():
    def losses(seed):
        records = run(RunConfig(steps=20, every=5, seed=seed, depth=3, width=8, device="cpu"))
        return [r.loss for r in records if isinstance(r, Snapshot)]

    assert losses(3) == losses(3)
    assert losses(3) != losses(4)


def test_set_lr_changes_the_running_optimizer():
    trainer = Trainer(RunConfig(depth=2, width=8, device="cpu"))
    event = trainer.set_lr(0.5)
    assert event == Event(0, "config_changed", "lr=0.5")
    assert all(g["lr"] == 0.5 for g in trainer.optimizer.param_groups)
    snap = next(r for r in trainer.step() if isinstance(r, Snapshot))
    assert snap.lr == 0.5


def test_force_snapshot_on_any_step():
    trainer = Trainer(RunConfig(depth=2, width=8, every=100, device="cpu"))
    trainer.step()
    assert trainer.step() == []
    assert isinstance(trainer.step(force_snapshot=True)[0], Snapshot)


def two_updates(optimizer: str, weight_decay: float = 0.0) -> tuple[list[float], list[float]]:
    """The first two updates of w = (1, 1) under the loss w . (2, -0.5): a constant gradient."""
    w = torch.ones(2, requires_grad=True)
    config = RunConfig(optimizer=optimizer, lr=0.1, momentum=0.9, weight_decay=weight_decay)
    opt = make_optimizer(config, [w])
    updates = []
    for _ in range(2):
        before = w.detach().clone()
        opt.zero_grad()
        (w * torch.tensor([2.0, -0.5])).sum().backward()
        opt.step()
        updates.append((w.detach() - before).tolist())
    return updates[0], updates[1]


# Each optimizer's first two steps under a constant gradient g = (2, -0.5), lr 0.1, by hand:
# SGD steps lr*g; momentum's buffer grows to (1 + 0.9) g; Nesterov steps g + 0.9 * buffer;
# Adam steps lr * sign(g) (its moments equal g and g^2 from the first step); RMSprop divides by
# sqrt(0.01 g^2), then sqrt(0.0199 g^2); Adagrad by |g|, then sqrt(2) |g|.
UPDATE_SIZES = {
    "sgd": ([0.2, 0.05], [0.2, 0.05]),
    "momentum": ([0.2, 0.05], [0.38, 0.095]),
    "nesterov": ([0.38, 0.095], [0.542, 0.1355]),
    "adam": ([0.1, 0.1], [0.1, 0.1]),
    "adamw": ([0.1, 0.1], [0.1, 0.1]),
    "rmsprop": ([1.0, 1.0], [0.1 / math.sqrt(0.0199), 0.1 / math.sqrt(0.0199)]),
    "adagrad": ([0.1, 0.1], [0.1 / math.sqrt(2), 0.1 / math.sqrt(2)]),
}


@pytest.mark.parametrize("optimizer", list(UPDATE_SIZES))
def test_each_optimizer_takes_its_own_steps(optimizer):
    first, second = two_updates(optimizer)
    want_first, want_second = UPDATE_SIZES[optimizer]
    assert [abs(u) for u in first] == pytest.approx(want_first, rel=1e-5)
    assert [abs(u) for u in second] == pytest.approx(want_second, rel=1e-5)
    assert first[0] < 0 < first[1]  # downhill


def test_adamw_decays_weights_apart_from_the_gradient():
    # Adam adds 0.1 * w to the gradient (still lr * its sign); AdamW shrinks w by lr * 0.1 * w.
    assert two_updates("adam", weight_decay=0.1)[0] == pytest.approx([-0.1, 0.1], rel=1e-5)
    assert two_updates("adamw", weight_decay=0.1)[0] == pytest.approx([-0.11, 0.09], rel=1e-5)


def test_trainer_trains_with_the_named_optimizer():
    """Adam's first update moves every weight with a gradient by lr; SGD's by lr * |gradient|."""
    sizes = {}
    for optimizer in ("adam", "sgd"):
        trainer = Trainer(
            RunConfig(optimizer=optimizer, lr=0.01, depth=2, width=8, dataset="xor", device="cpu")
        )
        weight = trainer.model.blocks[1].linear.weight
        before = weight.detach().clone()
        trainer.step()
        moved = (weight.detach() - before).abs()
        sizes[optimizer] = moved[moved > 0]
    assert sizes["adam"] == pytest.approx(torch.full_like(sizes["adam"], 0.01), rel=1e-3)
    assert sizes["sgd"].max() < 0.5 * 0.01  # small gradients: nothing like Adam's unit steps


def test_model_options_shapes_and_residual():
    cfg = RunConfig(
        depth=3, width=8, norm="batch", residual=True, dropout=0.2, activation="maxout:3"
    )
    model = build_model(cfg, input_dim=2, n_classes=10)
    assert model.blocks[0].linear.out_features == 24  # maxout: 3 pieces per unit
    assert isinstance(model.blocks[0].norm, torch.nn.BatchNorm1d)
    assert [b.residual for b in model.blocks] == [False, True, True]  # the first changes size
    assert model(torch.randn(5, 2)).shape == (5, 10)
    assert build_model(cfg.replace(norm="layer"), 2, 2)(torch.randn(5, 2)).shape == (5, 1)


def test_residual_block_adds_its_input():
    cfg = RunConfig(depth=2, width=4, residual=True, activation="relu", init="zeros")
    model = build_model(cfg, input_dim=4, n_classes=2)
    x = torch.randn(3, 4)
    block = model.blocks[1]
    assert torch.equal(block(x), x)  # zero weights: the block adds relu(0) = 0 to its input


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2 if cuda else 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device("cpu") == torch.device("cpu")
    if cuda:  # a device the machine has is taken as it is; one it lacks names those it has
        assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ConfigError, match="this machine has: auto, cpu"):
        resolve_device("cuda:2")


HOST_READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


@pytest.mark.parametrize("config", [{}, {"optimizer": "momentum", "grad_clip": 1.0}])
def test_no_host_read_between_snapshots(monkeypatch, config):
    """A read of a tensor's value on the host (a synchronisation on CUDA) only at snapshots."""
    trainer = Trainer(RunConfig(depth=3, width=8, every=5, device="cpu", **config))
    trainer.step()  # step 1: a snapshot
    reads: list[str] = []
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(t, *args, _original=original, _name=name, **kwargs):
            reads.append(_name)
            return _original(t, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    for _ in range(3):  # steps 2 to 4
        assert trainer.step() == []
    assert reads == []
    assert isinstance(trainer.step()[0], Snapshot)  # step 5
    assert "tolist" in reads  # the counting sees the snapshot's reads


def test_restoring_a_checkpoint_replays_the_same_steps(monkeypatch):
    """Also: snapshots (every 2 or 3 steps) and validations leave the training unchanged."""
    monkeypatch.setattr(trainer_module, "VAL_EVERY", 4)
    config = RunConfig(depth=3, width=8, every=2, dropout=0.2, norm="batch", device="cpu")
    straight = Trainer(config)  # (dropout draws from torch's global generator: one at a time)
    for _ in range(12):
        straight.step()
    replayed = Trainer(config.replace(every=3))
    for _ in range(5):
        replayed.step()
    saved = replayed.save()
    for _ in range(4):
        replayed.step()
    replayed.restore(saved)
    assert replayed.step_count == 5
    for _ in range(7):
        replayed.step()
    for a, b in zip(
        straight.model.state_dict().values(), replayed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


def test_the_trainer_paces_auto_snapshots_by_the_shared_policy(monkeypatch):
    """Each snapshot's cost but the first goes to the one pacing policy (`Pacer.observe`)."""
    seen: list[float] = []
    observe = Pacer.observe

    def spy(pacer: Pacer, cost: float) -> None:
        seen.append(cost)
        observe(pacer, cost)

    monkeypatch.setattr(Pacer, "observe", spy)
    trainer = Trainer(RunConfig(depth=2, width=8, every="auto", device="cpu"))
    for _ in range(4):
        trainer.step(force_snapshot=True)
    assert len(seen) == 3 and trainer.pacer.cost is not None
    assert trainer.pacer.period == trainer.pacer.period_for(trainer.pacer.cost)


# Every module of the package imported in a fresh interpreter; the modules none of them may load.
IMPORTS = (
    "import importlib, pkgutil, sys, {package}; "
    "[importlib.import_module(m.name) for m in pkgutil.walk_packages("
    "{package}.__path__, '{package}.')]; "
    "print([m for m in {banned} if m in sys.modules])"
)
UI = ("textual", "rich", "plotext", "vgtui.ui", "vgtui.commands", "vgtui.report", "vgtui.lessons")


@pytest.mark.parametrize(
    ("package", "banned"),
    [("vgtui.probe", (*UI, "vgtui.trainer")), ("vgtui.trainer", UI)],
)
def test_probe_and_trainer_never_import_the_ui_toolkit(package, banned):
    """Arrows run one way: the UI may import them, not the reverse; the trainer may import the
    probe, not the reverse."""
    code = IMPORTS.format(package=package, banned=banned)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
