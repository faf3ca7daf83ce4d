"""The training loop and the model it builds."""

import subprocess
import sys

import pytest
import torch

from vgtui.engine.config import RunConfig
from vgtui.engine.model import build_model
from vgtui.engine.records import End, Event, RunHeader, Snapshot
from vgtui.engine.trainer import Trainer, resolve_device, run


def test_snapshots_at_step_1_every_interval_and_the_last_step():
    records = list(run(RunConfig(steps=25, every=10, depth=2, width=8, device="cpu")))
    assert isinstance(records[0], RunHeader)
    assert [r.step for r in records if isinstance(r, Snapshot)] == [1, 10, 20, 25]
    assert records[-1] == End(25, "done")


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


@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"]
)
def test_every_optimizer_trains_xor_without_error(optimizer):
    records = list(
        run(RunConfig(optimizer=optimizer, steps=5, depth=2, width=8, dataset="xor", device="cpu"))
    )
    assert records[-1].reason == "done"


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


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if (
        not torch.cuda.is_available()
        and getattr(torch.backends, "mps", None)
        and torch.backends.mps.is_available()
    ):
        expected = "mps"
    assert resolve_device("auto").type == expected


def test_engine_never_imports_the_ui_toolkit():
    code = (
        "import sys, vgtui.engine.trainer, vgtui.engine.worker, vgtui.engine.runlog, "
        "vgtui.engine.probe, vgtui.engine.data; "
        "bad = [m for m in ('textual', 'rich', 'plotext') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
