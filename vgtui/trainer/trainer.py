"""One readable training loop: `Trainer.step()` trains one batch and returns what it produced.

No I/O and no threads: the headless command, the dashboard's worker process and tests all drive
the same loop and receive the same records (snapshots, events, the end).

Nothing crosses from the device to the host between snapshots (on CUDA a host read stalls the
pipeline): the loss is read at snapshot steps only, and a divergence is noticed there, through a
running sum of the losses that turns non-finite with the first non-finite loss. To name where it
began, the trainer goes back to its last checkpoint (a copy of the training state every few
seconds) and replays the steps since, reading each loss, up to the first non-finite one.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import torch
import torch.nn.functional as F
from torch import nn

from vgtui.core.config import RunConfig
from vgtui.core.pacing import AUTO_HZ, Pacer
from vgtui.core.records import End, Event, Record, RunHeader, Snapshot
from vgtui.probe.discover import WatchedLayer
from vgtui.probe.probe import Probe
from vgtui.trainer.data import Dataset, load_dataset
from vgtui.trainer.devices import resolve_device
from vgtui.trainer.model import build_model
from vgtui.trainer.optim import make_optimizer

VAL_LIMIT = 2000  # validation samples evaluated per validation
VAL_EVERY = 100  # validation at the first snapshot past each multiple of this (and steps 1, last)
VAL_PERIOD_S = 0.5  # ... and under every="auto", at most once in this many training seconds
CHECKPOINT_S = 5.0  # training seconds between the checkpoints a divergence is replayed from


def loss_of(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on one logit, cross-entropy on several."""
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits.squeeze(1), y.float())
    return F.cross_entropy(logits, y)


def accuracy_of(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The fraction of correct predictions, as a tensor (no host sync)."""
    predicted = (logits.squeeze(1) > 0).long() if logits.shape[1] == 1 else logits.argmax(1)
    return (predicted == y).float().mean()


@dataclass
class Checkpoint:
    """Everything a step changes, copied: enough to replay the steps that follow exactly."""

    step: int
    model: dict
    optimizer: dict | None
    generator: torch.Tensor
    rng: tuple[torch.Tensor, torch.Tensor | None]
    order: tuple[torch.Tensor | None, int]  # the dataset's epoch permutation and position
    elapsed: float  # the trainer's time when it was taken


class Trainer:
    """Trains `config` on its dataset; call `step()` until `end` is set."""

    def __init__(
        self, config: RunConfig, dataset: Dataset | None = None, snapshot_hz: float = AUTO_HZ
    ) -> None:
        self.config = config
        # Pacing and checkpoints follow the training's own time (`elapsed`), not the wall clock.
        self.pacer = Pacer(config.every, hz=snapshot_hz, clock=lambda: self.elapsed)
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
        layers = [
            WatchedLayer(f"layer{i + 1}", b.linear, b.act, self.model.activation)
            for i, b in enumerate(self.model.blocks)
        ]
        layers.append(WatchedLayer("output", self.model.head, self.model.head))
        self.probe = Probe(layers, bins=config.bins, preact=config.preact)
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
        self.loss_sum = torch.zeros((), device=self.device)  # non-finite once a loss has been
        self.validated = (0, -math.inf)  # the step and training time of the last validation
        self.step_s: float | None = None  # a plain step's seconds, a moving average
        self.checkpoint = self.save()
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
            self.checkpoint = self.save()  # a replay must use the new rate from here on
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
        loss = acc = None
        if self.optimizer is None:
            with torch.no_grad():
                self.model(x)
        else:
            logits = self.model(x)
            loss = loss_of(logits, y)
            acc = accuracy_of(logits.detach(), y) if snap else None
            self.update(loss, snap)
        self.step_count = step
        records: list[Record] = []
        if snap:
            records += self.snapshot(loss, acc, started)
        else:
            took = time.perf_counter() - started
            self.elapsed += took
            self.step_s = took if self.step_s is None else 0.9 * self.step_s + 0.1 * took
        if self.end is None and self.config.steps and step >= self.config.steps:
            records.append(self.stop("done"))
        return records

    def update(self, loss: torch.Tensor, snap: bool) -> None:
        """Backward and the optimizer step; no host synchronisation."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if snap:
            self.probe.read_grads()
        if self.config.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.loss_sum += loss.detach()

    def snapshot(
        self, loss: torch.Tensor | None, acc: torch.Tensor | None, started: float
    ) -> list[Record]:
        """The snapshot of this step (the host reads the loss here), or how the run diverged."""
        step = self.step_count
        loss_value = acc_value = None
        if loss is not None:
            numbers = torch.stack([loss.detach(), acc, self.loss_sum]).tolist()
            loss_value, acc_value, losses = numbers
            if not math.isfinite(losses):
                return self.find_divergence(step)
            self.loss_sum.zero_()
        layers = self.probe.collect()
        val_loss = val_acc = None
        if self.validation_due(step):
            val_loss, val_acc = self.validate()
        if self.elapsed - self.checkpoint.elapsed >= CHECKPOINT_S:
            self.checkpoint = self.save()
        took = time.perf_counter() - started
        self.elapsed += took
        if self.pacer.auto and step > 1:  # step 1 pays torch's one-time set-up
            # A snapshot's cost: this step's time less a plain step's (the whole step while no
            # plain step has been timed, which errs on the side of training).
            self.pacer.observe(took - (self.step_s or 0.0))
        snapshot = Snapshot(
            step=step,
            loss=loss_value,
            accuracy=acc_value,
            lr=self.lr,
            elapsed_s=self.elapsed,
            layers=layers,
            val_loss=val_loss,
            val_accuracy=val_acc,
        )
        return [snapshot]

    def validation_due(self, step: int) -> bool:
        last_step, last_time = self.validated
        if step in (1, self.config.steps):
            return True
        if self.pacer.auto and self.elapsed - last_time < VAL_PERIOD_S:
            return False
        return step // VAL_EVERY > last_step // VAL_EVERY

    def validate(self) -> tuple[float | None, float | None]:
        self.validated = (self.step_count, self.elapsed)
        if self.data.x_val is None or self.optimizer is None:
            return None, None
        self.set_training(False)
        with torch.no_grad():
            logits = self.model(self.data.x_val[:VAL_LIMIT])
            y = self.data.y_val[:VAL_LIMIT]
            loss, acc = loss_of(logits, y), accuracy_of(logits, y)
        self.set_training(True)
        loss_value, acc_value = torch.stack([loss, acc]).tolist()
        return loss_value, acc_value

    def set_training(self, on: bool) -> None:
        for module in self.mode_modules:
            module.training = on

    # ---- divergence ------------------------------------------------------------------------

    def save(self) -> Checkpoint:
        """A copy of the training state (model, optimizer, data order, random generators)."""
        cuda = self.device.type == "cuda"
        return Checkpoint(
            step=self.step_count,
            model=copy.deepcopy(self.model.state_dict()),
            optimizer=None
            if self.optimizer is None
            else copy.deepcopy(self.optimizer.state_dict()),
            generator=self.generator.get_state(),
            rng=(torch.get_rng_state(), torch.cuda.get_rng_state(self.device) if cuda else None),
            order=(self.data._perm, self.data._pos),
            elapsed=self.elapsed,
        )

    def restore(self, saved: Checkpoint) -> None:
        self.model.load_state_dict(saved.model)
        if self.optimizer is not None:
            self.optimizer.load_state_dict(copy.deepcopy(saved.optimizer))
        self.generator.set_state(saved.generator)
        torch.set_rng_state(saved.rng[0])
        if saved.rng[1] is not None:
            torch.cuda.set_rng_state(saved.rng[1], self.device)
        self.data._perm, self.data._pos = saved.order
        self.step_count = saved.step

    def find_divergence(self, seen: int) -> list[Record]:
        """A loss went non-finite at or before step ``seen``: replay from the last checkpoint,
        reading every loss, and stop at the first non-finite one."""
        self.probe.disarm()
        self.restore(self.checkpoint)
        while True:
            step = self.step_count + 1
            x, y = self.data.batch(self.config.batch_size, self.generator)
            loss = loss_of(self.model(x), y)
            value = loss.item()
            if not math.isfinite(value) or step >= seen:  # (a device that does not replay
                return self.diverged(step, x, value)  # exactly: its culprit is where it was seen)
            self.update(loss, snap=False)
            self.step_count = step

    def diverged(self, step: int, x: torch.Tensor, loss_value: float) -> list[Record]:
        """A non-finite loss ends the run: a last snapshot, an event naming the culprit, the end."""
        self.step_count = step
        self.probe.arm()
        with torch.no_grad():
            self.model(x)
        layers = self.probe.collect()
        where = "the loss"
        for layer, watched in zip(layers, self.probe.layers, strict=True):
            if not torch.isfinite(watched.layer.weight).all():
                where = f"{layer.name} (weights)"
                break
            if layer.act.hist.nonfinite:
                where = f"{layer.name} (activations)"
                break
        snapshot = Snapshot(
            step=step,
            loss=loss_value,
            accuracy=None,
            lr=self.lr,
            elapsed_s=self.elapsed,
            layers=layers,
        )
        what = (
            f"loss became {loss_value} at step {step}"
            if not math.isfinite(loss_value)
            else f"loss became non-finite by step {step} (a replay did not repeat it)"
        )
        event = Event(step, "diverged", f"{what}; first non-finite values in {where}")
        return [snapshot, event, self.stop("diverged")]


def run(config: RunConfig, trainer: Trainer | None = None):
    """Yield the header, then every record until the run ends (forever when ``steps`` is 0)."""
    trainer = trainer or Trainer(config)
    yield trainer.header
    while trainer.end is None:
        yield from trainer.step()
