"""Activation functions by name, each with its output range and its health rule.

A spec is ``name[:param]``: ``leaky_relu:0.2`` (negative slope), ``elu:0.5`` (alpha),
``maxout:3`` (number of linear pieces). The *range* fixes the histogram's x-axis where the output
is bounded. The *rule* says what an unhealthy unit looks like: ``dead`` for the ReLU family (a unit
whose output is exactly zero for every sample of the batch) and ``saturated`` for bounded squashing
functions: an output within the function's *margin* of a bound, where its derivative has fallen to
about 5% of its peak or less (sigmoid: outside [0.01, 0.99], derivative under 0.0099 of at most
1/4; tanh: |y| > 0.97 as in Karpathy's makemore notes, 1 - y^2 under 0.06 of 1; softsign:
|y| > 0.78, (1 - |y|)^2 under 0.05 of 1).

Pure data, no torch: the dashboard validates and cycles through these without importing torch;
`vgtui.trainer.factories` builds the modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vgtui.core.errors import ConfigError
from vgtui.core.ranges import Range
from vgtui.core.specs import check_param, split_spec

INF = math.inf


@dataclass(frozen=True)
class Kind:
    """What the registry knows of one activation."""

    description: str
    default: float | None = None
    lo: float = -INF
    hi: float = INF
    rule: str | None = None  # "dead" | "saturated" | None
    param_name: str = ""
    param_range: Range | None = None  # the valid values of the parameter, where it has one
    margin: float = 0.0  # "saturated": outputs within this of a bound are saturated


def _elu_lo(alpha: float | None) -> float:
    return -(alpha if alpha is not None else 1.0)


KINDS: dict[str, Kind] = {
    "sigmoid": Kind(
        "1/(1+e^-x), range (0, 1), derivative at most 1/4",
        lo=0.0,
        hi=1.0,
        rule="saturated",
        margin=0.01,
    ),
    "relu": Kind("max(0, x); units can die (zero for every input)", lo=0.0, rule="dead"),
    "leaky_relu": Kind(
        "x if x > 0 else slope*x (slope 0.01 by default)",
        default=0.01,
        rule="dead",
        param_name="slope",
        param_range=Range(0, 10),
    ),
    "elu": Kind(
        "x if x > 0 else alpha*(e^x - 1) (alpha 1 by default)",
        default=1.0,
        lo=-1.0,
        rule="dead",
        param_name="alpha",
        param_range=Range(0, 10, low_open=True),
    ),
    "selu": Kind("scaled ELU, self-normalising with LeCun init", lo=-1.7581, rule="dead"),
    "gelu": Kind("x * Phi(x), the transformer default", lo=-0.17, rule="dead"),
    "silu": Kind("x * sigmoid(x) (swish)", lo=-0.279, rule="dead"),
    "tanh": Kind(
        "hyperbolic tangent, range (-1, 1), derivative at most 1",
        lo=-1.0,
        hi=1.0,
        rule="saturated",
        margin=0.03,
    ),
    "softsign": Kind(
        "x/(1+|x|), range (-1, 1), saturates slower than tanh",
        lo=-1.0,
        hi=1.0,
        rule="saturated",
        margin=0.22,
    ),
    "maxout": Kind(
        "max of k linear pieces (k 2 by default)",
        default=2,
        param_name="k",
        param_range=Range(1, 16, integer=True),
    ),
    "identity": Kind("f(x) = x: a deep linear network"),
}
NAMES = list(KINDS)  # in teaching order: the dashboard's `a` key cycles through them


@dataclass(frozen=True)
class Activation:
    """A parsed activation spec."""

    name: str
    param: float | None
    kind: Kind

    @property
    def lo(self) -> float:
        return _elu_lo(self.param) if self.name == "elu" else self.kind.lo

    @property
    def hi(self) -> float:
        return self.kind.hi

    @property
    def rule(self) -> str | None:
        return self.kind.rule

    @property
    def pieces(self) -> int:
        """How many inputs per output unit (k for maxout, else 1)."""
        return int(self.param) if self.name == "maxout" else 1

    @property
    def saturation(self) -> tuple[float, float]:
        """Outputs below the first or above the second value are saturated: the range's bounds
        moved in by the margin (sigmoid: < 0.01 or > 0.99; tanh: |y| > 0.97; softsign:
        |y| > 0.78); (-inf, inf) where the rule does not apply."""
        if self.rule != "saturated":
            return (-INF, INF)
        return (self.lo + self.kind.margin, self.hi - self.kind.margin)


def parse_activation(spec: str) -> Activation:
    """``"leaky_relu:0.2"`` -> Activation; raises ConfigError naming the valid choices."""
    name, param = split_spec("activation", spec, NAMES)
    kind = KINDS[name]
    if param is not None and not kind.param_name:
        raise ConfigError("activation", spec, f"{name} without a parameter")
    if param is None:
        param = kind.default
    elif kind.param_range is not None:
        param = check_param("activation", spec, name, kind.param_name, param, kind.param_range)
    return Activation(name, param, kind)
