"""One readable training loop: `Trainer.step()` trains one batch and returns what it produced.

No I/O and no threads: the headless command, the dashboard's worker process and tests all drive
the same loop and receive the same records (snapshots, events, the end).
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone

import torch
import torch.nn.functional as F
from torch import nn

from vgtui.engine.config import RunConfig
from vgtui.engine.data import Dataset, load_dataset
from vgtui.engine.errors import ConfigError
from vgtui.engine.model import build_model
from vgtui.engine.pacing import AUTO_HZ, Pacer
from vgtui.engine.probe import Probe, Watch
from vgtui.engine.records import End, Event, Record, RunHeader, Snapshot

VAL_LIMIT = 2000  # validation samples evaluated per snapshot
VAL_EVERY = 50  # steps between validations (at snapshots; also at step 1 and at the end)


def available_devices() -> list[str]:
    """The devices this machine can train on: cpu, each cuda:N, mps."""
    found = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    return found + (["mps"] if mps is not None and mps.is_available() else [])


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; a device this machine lacks is a ConfigError that
    names the ones it has."""
    have = available_devices()
    if name == "auto":
        return torch.device(next((d for d in have if d != "cpu"), "cpu").split(":")[0])
    wanted = "cuda:0" if name == "cuda" else name
    if wanted not in have:
        raise ConfigError("device", name, "a device this machine has: auto, " + ", ".join(have))
    return torch.device(name)


def make_optimizer(config: RunConfig, params) -> torch.optim.Optimizer:
    lr, wd, mom = config.lr, config.weight_decay, config.momentum
    name = config.optimizer
    if name in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(
            params,
            lr=lr,
            weight_decay=wd,
            momentum=0.0 if name == "sgd" else mom,
            nesterov=name == "nesterov",
        )
    cls = {
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "rmsprop": torch.optim.RMSprop,
        "adagrad": torch.optim.Adagrad,
    }[name]
    return cls(params, lr=lr, weight_decay=wd)


def loss_of(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on one logit, cross-entropy on several."""
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits.squeeze(1), y.float())
    return F.cross_entropy(logits, y)


def accuracy_of(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The fraction of correct predictions, as a tensor (no host sync)."""
    predicted = (logits.squeeze(1) > 0).long() if logits.shape[1] == 1 else logits.argmax(1)
    return (predicted == y).float().mean()


class Trainer:
    """Trains `config` on its dataset; call `step()` until `end` is set."""

    def __init__(
        self, config: RunConfig, dataset: Dataset | None = None, snapshot_hz: float = AUTO_HZ
    ) -> None:
        self.config = config
        self.pacer = Pacer(config.every, hz=snapshot_hz)
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        data = dataset or load_dataset(
            config.dataset, seed=config.seed, width=config.width, data_dir=config.data_dir
        )
        self.data = data.to(self.device)
        self.model = build_model(config, self.data.input_dim, self.data.n_classes).to(self.device)
        self.optimizer = (
            None if config.forward_only else make_optimizer(config, self.model.parameters())
        )
        watches = [
            Watch(f"layer{i + 1}", b.linear, b.act, self.model.activation)
            for i, b in enumerate(self.model.blocks)
        ]
        watches.append(Watch("output", self.model.head, self.model.head))
        self.probe = Probe(watches, bins=config.bins, preact=config.preact)
        # Only these modules behave differently in evaluation; toggling just them is much cheaper
        # than model.eval()/train(), which walks every module.
        self.mode_modules = [
            m
            for m in self.model.modules()
            if isinstance(m, (nn.Dropout, nn.modules.batchnorm._BatchNorm))
        ]
        self.step_count = 0
        self.elapsed = 0.0
        self.lr = config.lr
        self.end: End | None = None
        self.header = RunHeader(
            config={**config.to_dict(), "device": str(self.device)},
            layers=self.probe.layer_infos(),
            started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def wants_snapshot(self, step: int) -> bool:
        last = bool(self.config.steps) and step == self.config.steps
        return self.pacer.due(step) or last

    def set_lr(self, lr: float) -> Event:
        """Change the learning rate of the running model (no restart)."""
        self.lr = lr
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        return Event(self.step_count, "config_changed", f"lr={lr:g}")

    def stop(self, reason: str = "stopped") -> End:
        self.end = self.end or End(self.step_count, reason)
        return self.end

    def step(self, force_snapshot: bool = False) -> list[Record]:
        """Train one batch; returns the snapshot (on snapshot steps), events and the end, if any."""
        if self.end is not None:
            return []
        started = time.perf_counter()
        step = self.step_count + 1
        snap = force_snapshot or self.wants_snapshot(step)
        x, y = self.data.batch(self.config.batch_size, self.generator)
        if snap:
            self.probe.arm()
        if self.optimizer is None:
            with torch.no_grad():
                self.model(x)
            loss = acc = None
        else:
            logits = self.model(x)
            loss = loss_of(logits, y)
            acc = accuracy_of(logits.detach(), y) if snap else None
            if not math.isfinite(loss.item()):
                return self._diverged(step, x, loss.item())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if snap:
                self.probe.read_grads()
            if self.config.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
        self.step_count = step
        records: list[Record] = []
        if snap:
            records.append(self._snapshot(loss, acc, started))
        else:
            self.elapsed += time.perf_counter() - started
        if self.config.steps and step >= self.config.steps:
            records.append(self.stop("done"))
        return records

    def _snapshot(
        self, loss: torch.Tensor | None, acc: torch.Tensor | None, started: float
    ) -> Snapshot:
        layers = self.probe.collect()
        step = self.step_count
        val_loss = val_acc = None
        if step == 1 or step % VAL_EVERY == 0 or step == self.config.steps:
            val_loss, val_acc = self._validate()
        self.elapsed += time.perf_counter() - started
        return Snapshot(
            step=self.step_count,
            loss=None if loss is None else loss.item(),
            accuracy=None if acc is None else acc.item(),
            lr=self.lr,
            elapsed_s=self.elapsed,
            layers=layers,
            val_loss=val_loss,
            val_accuracy=val_acc,
        )

    def _validate(self) -> tuple[float | None, float | None]:
        if self.data.x_val is None or self.optimizer is None:
            return None, None
        self.set_training(False)
        with torch.no_grad():
            logits = self.model(self.data.x_val[:VAL_LIMIT])
            y = self.data.y_val[:VAL_LIMIT]
            loss, acc = loss_of(logits, y), accuracy_of(logits, y)
        self.set_training(True)
        return loss.item(), acc.item()

    def set_training(self, on: bool) -> None:
        for module in self.mode_modules:
            module.training = on

    def _diverged(self, step: int, x: torch.Tensor, loss_value: float) -> list[Record]:
        """A non-finite loss ends the run: a last snapshot, an event naming the culprit, the end."""
        self.step_count = step
        self.probe.arm()
        with torch.no_grad():
            self.model(x)
        snapshot = self._snapshot(torch.tensor(loss_value), None, time.perf_counter())
        where = "the loss"
        for layer, watch in zip(snapshot.layers, self.probe.watches, strict=True):
            if not torch.isfinite(watch.layer.weight).all():
                where = f"{layer.name} (weights)"
                break
            if layer.act.hist.nonfinite:
                where = f"{layer.name} (activations)"
                break
        event = Event(
            step,
            "diverged",
            f"loss became {loss_value} at step {step}; first non-finite values in {where}",
        )
        return [snapshot, event, self.stop("diverged")]


OPTIMIZER_DESCRIPTIONS = {
    "sgd": "plain stochastic gradient descent: the update is lr x gradient",
    "momentum": "SGD with momentum (--momentum, 0.9 by default)",
    "nesterov": "SGD with Nesterov momentum",
    "adam": "Adam: per-weight step sizes from running gradient moments (hides vanishing)",
    "adamw": "Adam with decoupled weight decay",
    "rmsprop": "RMSprop: divides by a running RMS of the gradient",
    "adagrad": "Adagrad: divides by the root of the summed squared gradients",
}


def run(config: RunConfig, trainer: Trainer | None = None):
    """Yield the header, then every record until the run ends (forever when ``steps`` is 0)."""
    trainer = trainer or Trainer(config)
    yield trainer.header
    while trainer.end is None:
        yield from trainer.step()
