"""RunConfig: everything that defines a training run, validated on construction."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from vgtui.engine.activations import parse_activation
from vgtui.engine.errors import ConfigError
from vgtui.engine.initializers import parse_initializer
from vgtui.engine.pacing import AUTO

DATASETS = ["xor", "circle", "quadrants", "gaussian", "spiral", "digits", "mnist", "random"]
OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"]
NORMS = ["none", "batch", "layer"]
DEPTHS = (1, 100)  # hidden layers, inclusive bounds
WIDTHS = (1, 8192)  # units per hidden layer, inclusive bounds
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class RunConfig:
    """What to train and how to watch it. The defaults are the dashboard's opening lesson."""

    activation: str = "sigmoid"
    init: str = "xavier"
    depth: int = 10
    width: int = 32
    dataset: str = "spiral"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    batch_size: int = 64
    steps: int = 0
    seed: int = 0
    device: str = "auto"
    norm: str = "none"
    residual: bool = False
    dropout: float = 0.0
    weight_decay: float = 0.0
    grad_clip: float = 0.0
    every: int | str = 10  # steps between snapshots, or "auto": paced by time (see pacing.py)
    bins: int = 40
    preact: bool = False  # also summarise pre-activations (the dashboard asks when shown)
    data_dir: str = ""  # mnist files; empty = the user cache directory

    def __post_init__(self) -> None:
        parse_activation(self.activation)
        parse_initializer(self.init)
        _int_in("depth", self.depth, *DEPTHS)
        _int_in("width", self.width, *WIDTHS)
        _choice("dataset", self.dataset, DATASETS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _float_in("lr", self.lr, 0.0, math.inf, low_open=True)
        _float_in("momentum", self.momentum, 0.0, 1.0, high_open=True)
        _int_in("batch_size", self.batch_size, 1, 1 << 20)
        _int_in("steps", self.steps, 0, 1 << 62)
        _int_in("seed", self.seed, 0, 2**63 - 1)
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise ConfigError("device", self.device, "auto, cpu, cuda, cuda:N or mps")
        _choice("norm", self.norm, NORMS)
        if not isinstance(self.residual, bool):
            raise ConfigError("residual", self.residual, "true or false")
        if self.norm == "batch" and self.batch_size < 2:
            raise ConfigError("batch_size", self.batch_size, "2 or more with batch norm")
        _float_in("dropout", self.dropout, 0.0, 1.0, high_open=True)
        _float_in("weight_decay", self.weight_decay, 0.0, math.inf)
        _float_in("grad_clip", self.grad_clip, 0.0, math.inf)
        if self.every != AUTO:
            _int_in("every", self.every, 1, 1 << 30, also="auto")
        _int_in("bins", self.bins, 2, 1000)
        if not isinstance(self.data_dir, str):
            raise ConfigError("data_dir", self.data_dir, "a directory path")

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Build from a flat dict, ignoring keys this version does not know."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def forward_only(self) -> bool:
        """The ``random`` dataset only looks at activations: no labels, no loss, no optimizer."""
        return self.dataset == "random"


def _choice(field: str, value: object, choices: list[str]) -> None:
    if value not in choices:
        raise ConfigError(field, value, "one of " + ", ".join(choices))


def _int_in(field: str, value: object, lo: int, hi: int, also: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(
            field, value, f"an integer in {lo}..{hi}" + (f" or {also}" if also else "")
        )


def _float_in(
    field: str,
    value: object,
    lo: float,
    hi: float,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > lo if low_open else value >= lo) and (
            value < hi if high_open else value <= hi
        )
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open or hi == math.inf else "]"
        raise ConfigError(field, value, f"a number in {left}{lo:g}, {hi:g}{right}")
