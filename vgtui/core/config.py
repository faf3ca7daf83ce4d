"""RunConfig: everything that defines a training run, validated on construction."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from vgtui.core.activations import parse_activation
from vgtui.core.errors import ConfigError
from vgtui.core.initializers import parse_initializer
from vgtui.core.pacing import AUTO
from vgtui.core.ranges import Range

DATASETS = ["xor", "circle", "quadrants", "gaussian", "spiral", "digits", "mnist", "random"]
OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"]
NORMS = ["none", "batch", "layer"]
DEPTHS = (1, 100)  # hidden layers, inclusive bounds
WIDTHS = (1, 8192)  # units per hidden layer, inclusive bounds
MAX_STEPS = 1 << 62  # a run's step count; far more than any run takes ("2^62" in messages)
# The valid range of each numeric field. Upper bounds keep every value one that float32 training
# takes as a number (a diverging run is a lesson; an overflow error is not), with room above
# the rates and decays that already make any net here explode.
RANGES: dict[str, Range] = {
    "depth": Range(*DEPTHS, integer=True),
    "width": Range(*WIDTHS, integer=True),
    "lr": Range(0, 1e4, low_open=True),
    "momentum": Range(0, 1, high_open=True),
    "batch_size": Range(1, 1 << 20, integer=True),
    "steps": Range(
        0, MAX_STEPS, integer=True, words="an integer: 0 (until stopped) or more, at most 2^62"
    ),
    "seed": Range(0, 2**63 - 1, integer=True),
    "dropout": Range(0, 1, high_open=True),
    "weight_decay": Range(0, 1000),
    "grad_clip": Range(0, 1e9, words="a number in [0, 1e9] (0: off)"),
    "every": Range(1, 1 << 30, integer=True, words="an integer in 1..1073741824 or auto"),
    "bins": Range(2, 1000, integer=True),
}
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
        for name, valid in RANGES.items():
            value = getattr(self, name)
            if value not in valid and not (name == "every" and value == AUTO):
                raise ConfigError(name, value, str(valid))
        _choice("dataset", self.dataset, DATASETS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise ConfigError("device", self.device, "auto, cpu, cuda, cuda:N or mps")
        _choice("norm", self.norm, NORMS)
        if not isinstance(self.residual, bool):
            raise ConfigError("residual", self.residual, "true or false")
        if self.norm == "batch" and self.batch_size < 2:
            raise ConfigError("batch_size", self.batch_size, "2 or more with batch norm")
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
