"""Weight initializers by name, each with the formula it draws from.

A spec is ``name[:param]``: ``normal:0.01`` (std), ``uniform:0.5`` (a in U[-a, a]),
``constant:0.3`` (value). fan_in and fan_out are the weight's input and output sizes. Biases start
at zero, except with ``default`` (PyTorch's own Linear init, which also draws the bias).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from vgtui.engine.errors import ConfigError
from vgtui.engine.specs import split_spec


@dataclass(frozen=True)
class Kind:
    formula: str
    fill: Callable[[torch.Tensor, float | None], None]
    default: float | None = None
    param_name: str = ""


def _fans(w: torch.Tensor) -> tuple[int, int]:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    return fan_in, fan_out


def _normal(w: torch.Tensor, std: float) -> None:
    nn.init.normal_(w, 0.0, std)


def _uniform(w: torch.Tensor, a: float) -> None:
    nn.init.uniform_(w, -a, a)


KINDS: dict[str, Kind] = {
    "normal": Kind(
        "N(0, std^2), std 1 by default (normal:0.01 is the classic 'small random')",
        lambda w, p: _normal(w, p),
        default=1.0,
        param_name="std",
    ),
    "uniform": Kind(
        "U[-a, a], a 1 by default", lambda w, p: _uniform(w, p), default=1.0, param_name="a"
    ),
    "xavier": Kind(
        "Glorot normal: N(0, 2/(fan_in+fan_out))", lambda w, p: nn.init.xavier_normal_(w)
    ),
    "xavier_uniform": Kind(
        "Glorot uniform: U[-a, a], a = sqrt(6/(fan_in+fan_out))",
        lambda w, p: nn.init.xavier_uniform_(w),
    ),
    "he": Kind(
        "Kaiming normal (fan_in): N(0, 2/fan_in), for ReLU",
        lambda w, p: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    ),
    "he_uniform": Kind(
        "Kaiming uniform (fan_in): U[-a, a], a = sqrt(6/fan_in)",
        lambda w, p: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    ),
    "lecun": Kind(
        "LeCun normal: N(0, 1/fan_in), for SELU",
        lambda w, p: _normal(w, math.sqrt(1.0 / _fans(w)[0])),
    ),
    "orthogonal": Kind(
        "a (semi-)orthogonal matrix: all singular values 1", lambda w, p: nn.init.orthogonal_(w)
    ),
    "zeros": Kind(
        "all weights 0: every unit of a layer stays identical (symmetry never breaks)",
        lambda w, p: nn.init.zeros_(w),
    ),
    "ones": Kind("all weights 1: symmetric and exploding", lambda w, p: nn.init.ones_(w)),
    "constant": Kind(
        "all weights = value (0.1 by default)",
        lambda w, p: nn.init.constant_(w, p),
        default=0.1,
        param_name="value",
    ),
    "default": Kind(
        "PyTorch's Linear init: U[-1/sqrt(fan_in), 1/sqrt(fan_in)] weights and biases",
        lambda w, p: None,
    ),
}
NAMES = list(KINDS)


@dataclass(frozen=True)
class Initializer:
    """A parsed initializer spec; call it on a layer to (re)initialise its weight and bias."""

    name: str
    param: float | None
    kind: Kind

    @property
    def label(self) -> str:
        if self.param is None or self.param == self.kind.default:
            return self.name
        return f"{self.name}:{self.param:g}"

    def expected_std(self, fan_in: int, fan_out: int) -> float:
        """The std of the distribution this initializer draws from (0 for constants)."""
        p = self.param
        return {
            "normal": p,
            "uniform": (p or 0.0) / math.sqrt(3.0),
            "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
            "xavier_uniform": math.sqrt(2.0 / (fan_in + fan_out)),
            "he": math.sqrt(2.0 / fan_in),
            "he_uniform": math.sqrt(2.0 / fan_in),
            "lecun": math.sqrt(1.0 / fan_in),
            "orthogonal": math.sqrt(1.0 / max(fan_in, fan_out)),
            "default": 1.0 / math.sqrt(3.0 * fan_in),
        }.get(self.name, 0.0)

    def __call__(self, layer: nn.Linear) -> None:
        if self.name == "default":
            layer.reset_parameters()
            return
        with torch.no_grad():
            self.kind.fill(layer.weight, self.param)
            if layer.bias is not None:
                layer.bias.zero_()


def parse_initializer(spec: str) -> Initializer:
    """``"normal:0.01"`` -> Initializer; raises ConfigError naming the valid choices."""
    name, param = split_spec("init", spec, NAMES)
    kind = KINDS[name]
    if param is not None and not kind.param_name:
        raise ConfigError("init", spec, f"{name} without a parameter")
    if param is None:
        param = kind.default
    if name in ("normal", "uniform") and param <= 0:
        raise ConfigError("init", spec, f"{name}:{kind.param_name} with {kind.param_name} > 0")
    return Initializer(name, param, kind)
