"""Greedy layer-wise RBM pretraining of the lessons' MLP (a deep belief network, Hinton 2006).

Each hidden Linear layer is trained, input side first, as a restricted Boltzmann machine on the
training inputs propagated through the layers below (their sigmoid probabilities), by contrastive
divergence (CD-k) with momentum; then its weights W (visible x hidden) go into the layer as
``linear.weight = W^T`` and its hidden bias as ``linear.bias``. The output layer keeps its init.
Hidden units are Bernoulli. The first layer's visible units are Bernoulli for inputs in [0, 1]
(digits, MNIST, XOR: the grey levels are the probabilities) and Gaussian with unit variance for
other real-valued inputs (the 2-D sets), which are standardised for the RBM; the standardisation
is folded back into the layer so that the model still takes the raw inputs.

`Pretraining.advance(budget_s)` works in chunks of a few batches, so the trainer between two
chunks can answer its commands. Random numbers come from pretraining's own generator: the
fine-tuning that follows draws the same batches as a run without pretraining. The reconstruction
error is summed on the device and read once per epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from vgtui.core.activations import parse_activation
from vgtui.core.errors import ConfigError
from vgtui.trainer.data import Dataset
from vgtui.trainer.model import MLP

EPOCHS = 15  # passes over the training inputs per layer (`rbm:EPOCHS` overrides)
CD_STEPS = 1  # k of CD-k: Gibbs steps from the data to the negative statistics
LR = 0.1  # learning rate with Bernoulli visible units
GAUSSIAN_LR = 0.05  # ... with Gaussian visible units (standardised inputs; 0.3 diverges)
MOMENTUM = 0.5
BATCH_SIZE = 32
INIT_STD = 0.01  # an RBM's weights start at N(0, INIT_STD^2), its hidden bias at 0
CHUNK_S = 0.05  # the default seconds of work per `advance`
SEED_OFFSET = 7919  # pretraining's generator is seeded with the run's seed plus this
EPOCHS_VALID = "rbm or rbm:EPOCHS with EPOCHS an integer >= 1"
BERNOULLI, GAUSSIAN = "bernoulli", "gaussian"
VISIBLE_UNITS: dict[str, str] = {
    BERNOULLI: "Bernoulli visible units (inputs in [0, 1])",
    GAUSSIAN: "Gaussian visible units (real-valued inputs, standardised)",
}

Uniform = Callable[[torch.Size], torch.Tensor]  # shape -> uniform draws in [0, 1)


# ---- what pretraining assumes (no torch: plain rules on the configuration) ---------------------


def check(activation: str, forward_only: bool) -> None:
    """Raise a one-line ConfigError, naming what is valid, for a run pretraining cannot serve."""
    act = parse_activation(activation)
    if act.name == "maxout":
        raise ConfigError(
            "activation",
            activation,
            "an activation with one linear output per unit for --init rbm"
            " (maxout's pieces do not form an RBM's hidden layer)",
        )
    if forward_only:
        raise ConfigError(
            "dataset",
            "random",
            "a dataset with training inputs for --init rbm (random is forward only)",
        )


def caveat(activation: str, norm: str = "none", residual: bool = False) -> str | None:
    """One line on what RBM pretraining assumes and this net does not match; None where it fits."""
    unlike = []
    name = parse_activation(activation).name
    if name != "sigmoid":
        unlike.append(name)
    if norm != "none":
        unlike.append(f"{norm} norm")
    if residual:
        unlike.append("residual connections")
    if not unlike:
        return None
    return (
        "RBM pretraining assumes plain sigmoid layers; with "
        + " and ".join(unlike)
        + " the pretrained weights are used as they are"
    )


# ---- one RBM ---------------------------------------------------------------------------------


def cd_statistics(
    W: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    v0: torch.Tensor,
    k: int = CD_STEPS,
    gaussian: bool = False,
    uniform: Uniform | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CD-k statistics (data minus model, averaged over the batch) and the reconstruction:
    ``(dW, db, dc, v_k)``; the update is ``W += lr * dW`` and so on.

    Hidden states h_0..h_{k-1} are sampled as ``uniform(shape) < p`` (with ``uniform`` None they
    are the probabilities: mean-field CD); the last hidden layer, which only feeds the statistics,
    stays probabilities. A reconstruction is the visible mean: sigmoid for Bernoulli units, linear
    for unit-variance Gaussian ones (Hinton's practical guide).
    """
    ph0 = torch.sigmoid(v0 @ W + c)
    ph, v = ph0, v0
    for _ in range(k):
        h = ph if uniform is None else (uniform(ph.shape) < ph).to(ph.dtype)
        mean = h @ W.T + b
        v = mean if gaussian else torch.sigmoid(mean)
        ph = torch.sigmoid(v @ W + c)
    n = v0.shape[0]
    return (v0.T @ ph0 - v.T @ ph) / n, (v0 - v).mean(0), (ph0 - ph).mean(0), v


@dataclass(frozen=True)
class Settings:
    """How each layer is pretrained; the defaults are the ones that make digits learn."""

    epochs: int = EPOCHS
    k: int = CD_STEPS
    lr: float = LR
    gaussian_lr: float = GAUSSIAN_LR
    momentum: float = MOMENTUM
    batch_size: int = BATCH_SIZE

    def __post_init__(self) -> None:
        epochs = self.epochs
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError("init", f"rbm:{epochs}", EPOCHS_VALID)
        for name in ("k", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(name, value, "an integer >= 1")
        for name in ("lr", "gaussian_lr"):
            if not 0 < getattr(self, name) < math.inf:
                raise ConfigError(name, getattr(self, name), "a number > 0")
        if not 0 <= self.momentum < 1:
            raise ConfigError("momentum", self.momentum, "a number in [0, 1)")


class RBM:
    """Weights ``W`` (visible x hidden), visible bias ``b``, hidden bias ``c``, trained by CD-k
    with momentum; ``uniform`` draws the hidden samples."""

    def __init__(
        self,
        W: torch.Tensor,
        b: torch.Tensor,
        c: torch.Tensor,
        gaussian: bool,
        settings: Settings,
        uniform: Uniform,
    ) -> None:
        self.W, self.b, self.c = W, b, c
        self.gaussian = gaussian
        self.settings = settings
        self.uniform = uniform
        self.lr = settings.gaussian_lr if gaussian else settings.lr
        self.velocity = [torch.zeros_like(p) for p in (W, b, c)]

    @classmethod
    def start(
        cls,
        x: torch.Tensor,
        n_hidden: int,
        gaussian: bool,
        settings: Settings,
        generator: torch.Generator,
    ) -> RBM:
        """An RBM for the inputs ``x``: W from N(0, INIT_STD^2), the hidden bias 0, the visible
        bias at the data's mean (Gaussian) or its log-odds (Bernoulli, the practical guide's start).
        """
        options = {"device": x.device, "dtype": x.dtype}
        W = torch.randn((x.shape[1], n_hidden), generator=generator, **options) * INIT_STD
        mean = x.mean(0)
        if gaussian:
            b = mean.clone()
        else:
            p = mean.clamp(1e-3, 1 - 1e-3)
            b = torch.log(p / (1 - p))
        c = torch.zeros(n_hidden, **options)

        def uniform(shape: torch.Size) -> torch.Tensor:
            return torch.rand(shape, generator=generator, **options)

        return cls(W, b, c, gaussian, settings, uniform)

    def step(self, v0: torch.Tensor) -> torch.Tensor:
        """One CD-k update on the batch ``v0``; returns its summed squared reconstruction error
        (a tensor on the device: reading it is left to the caller)."""
        s = self.settings
        dW, db, dc, vk = cd_statistics(self.W, self.b, self.c, v0, s.k, self.gaussian, self.uniform)
        params = (self.W, self.b, self.c)
        for param, velocity, grad in zip(params, self.velocity, (dW, db, dc), strict=True):
            velocity.mul_(s.momentum).add_(grad, alpha=self.lr)
            param.add_(velocity)
        return ((v0 - vk) ** 2).sum()


def fold_standardisation(
    W: torch.Tensor, c: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Linear layer's ``(weight, bias)`` that gives on raw inputs x what ``W`` and ``c`` give
    on the standardised ``(x - mean) / std``."""
    return (W / std[:, None]).T, c - (mean / std) @ W


def visible_units(x: torch.Tensor) -> str:
    """BERNOULLI for inputs in [0, 1], GAUSSIAN otherwise."""
    return BERNOULLI if bool((x.min() >= 0) & (x.max() <= 1)) else GAUSSIAN


# ---- the stack ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """One finished epoch: layer ``layer`` of ``layers`` (from 1), epoch ``epoch`` of ``epochs``."""

    layer: int
    layers: int
    epoch: int
    epochs: int
    error: float  # the epoch's mean squared reconstruction error per visible value

    @property
    def layer_done(self) -> bool:
        return self.epoch == self.epochs

    def message(self) -> str:
        return (
            f"pretraining layer {self.layer} of {self.layers}, epoch {self.epoch}/{self.epochs},"
            f" reconstruction error {self.error:.3g}"
        )


@dataclass
class LayerLog:
    """What pretraining one layer did: the error of each epoch and the seconds it took."""

    layer: int
    layers: int
    visible: str
    errors: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """``pretrained layer 2 of 4: reconstruction error 0.041 -> 0.014 in 15 epochs, 0.2 s``"""
        first, last = self.errors[0], self.errors[-1]
        return (
            f"pretrained layer {self.layer} of {self.layers}: reconstruction error"
            f" {first:.3g} -> {last:.3g} in {len(self.errors)} epochs, {self.seconds:.1f} s"
        )


class Pretraining:
    """Greedy layer-wise pretraining of ``model.blocks[i].linear`` on ``data.x``, in chunks.

    Call `advance` until `done`; nothing happens in the constructor beyond the checks. The
    model's layers change as each one finishes (a layer is written once, when its RBM is done).
    """

    def __init__(
        self, model: MLP, data: Dataset, seed: int, settings: Settings | None = None
    ) -> None:
        self.settings = settings or Settings()
        check(model.activation.name, data.forward_only)
        self.model = model
        self.layers = len(model.blocks)
        self.generator = torch.Generator(device=data.x.device).manual_seed(
            (seed + SEED_OFFSET) % 2**64
        )
        self.visible = visible_units(data.x)
        self.log: list[LayerLog] = []
        self.inputs = data.x  # what the current layer sees in the model
        self.visible_data = data.x  # ... and as its RBM's visible units (standardised if Gaussian)
        self.standardise: tuple[torch.Tensor, torch.Tensor] | None = None  # (mean, std)
        self.rbm: RBM | None = None
        self.epoch = 0
        self.position = 0  # in the epoch's permutation
        self.order = torch.empty(0, dtype=torch.long)
        self.error_sum = torch.zeros((), device=data.x.device, dtype=data.x.dtype)
        self.clock = 0.0  # where the current layer's time was last counted

    @property
    def done(self) -> bool:
        return len(self.log) == self.layers and self.rbm is None

    @property
    def errors(self) -> list[list[float]]:
        """The reconstruction error of each finished epoch, per layer started."""
        return [list(entry.errors) for entry in self.log]

    def describe(self) -> str:
        """One line for the start: what is pretrained, and how."""
        s = self.settings
        return (
            f"RBM pretraining of {self.layers} layers, {s.epochs} epochs each, CD-{s.k},"
            f" {VISIBLE_UNITS[self.visible]}"
        )

    @torch.no_grad()
    def advance(self, budget_s: float = CHUNK_S) -> list[Progress]:
        """Train batches for about ``budget_s`` seconds (at least one); returns the epochs that
        finished meanwhile, in order (often none)."""
        finished: list[Progress] = []
        self.clock = time.perf_counter()
        until = self.clock + budget_s
        while not self.done:
            if self.rbm is None:
                self.start_layer()
            assert self.rbm is not None
            batch = self.order[self.position : self.position + self.settings.batch_size]
            self.error_sum += self.rbm.step(self.visible_data[batch])
            self.position += batch.numel()
            if self.position >= self.order.numel():
                finished.append(self.end_epoch())
            if time.perf_counter() >= until:
                break
        if self.rbm is not None:
            self.charge_time()
        return finished

    def charge_time(self) -> None:
        """Add the seconds since `clock` to the current layer (the time between chunks is not
        pretraining's)."""
        now = time.perf_counter()
        self.log[-1].seconds += now - self.clock
        self.clock = now

    def start_layer(self) -> None:
        index = len(self.log)
        linear = self.model.blocks[index].linear
        gaussian = index == 0 and self.visible == GAUSSIAN
        data = self.inputs
        if gaussian:
            mean, std = data.mean(0), data.std(0).clamp_min(1e-6)
            self.standardise = (mean, std)
            data = (data - mean) / std
        self.visible_data = data
        self.rbm = RBM.start(data, linear.out_features, gaussian, self.settings, self.generator)
        self.log.append(LayerLog(index + 1, self.layers, GAUSSIAN if gaussian else BERNOULLI))
        self.epoch = 0
        self.new_order()

    def new_order(self) -> None:
        n = self.visible_data.shape[0]
        self.order = torch.randperm(n, generator=self.generator, device=self.generator.device)
        self.position = 0

    def end_epoch(self) -> Progress:
        """Read the epoch's error (the one host read per epoch); finish the layer after its last."""
        entry = self.log[-1]
        error = self.error_sum.item() / self.visible_data.numel()
        self.error_sum.zero_()
        entry.errors.append(error)
        self.epoch += 1
        progress = Progress(entry.layer, self.layers, self.epoch, self.settings.epochs, error)
        if progress.layer_done:
            self.finish_layer()
        else:
            self.new_order()
        return progress

    def finish_layer(self) -> None:
        """Write the RBM into its Linear layer; its sigmoid probabilities feed the next RBM."""
        rbm, linear = self.rbm, self.model.blocks[len(self.log) - 1].linear
        assert rbm is not None
        weight, bias = rbm.W.T, rbm.c
        if self.standardise is not None:
            weight, bias = fold_standardisation(rbm.W, rbm.c, *self.standardise)
            self.standardise = None
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)
        if len(self.log) < self.layers:
            self.inputs = torch.sigmoid(self.inputs @ linear.weight.T + linear.bias)
        self.rbm = None
        self.charge_time()
