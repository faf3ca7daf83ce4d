"""Weight initializers by name, each with the formula it draws from.

A spec is ``name[:param]``: ``normal:0.01`` (std), ``uniform:0.5`` (a in U[-a, a]),
``constant:0.3`` (value). fan_in and fan_out are the weight's input and output sizes. Biases start
at zero, except with ``default`` (PyTorch's own Linear init, which also draws the bias).

Pure data, no torch: `vgtui.trainer.factories` holds the fill functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from vgtui.core.errors import ConfigError
from vgtui.core.ranges import Range
from vgtui.core.specs import check_param, split_spec


@dataclass(frozen=True)
class Kind:
    formula: str
    default: float | None = None
    param_name: str = ""
    param_range: Range | None = None  # the valid values of the parameter, where it has one


KINDS: dict[str, Kind] = {
    "xavier": Kind("Glorot normal: N(0, 2/(fan_in+fan_out))"),
    "he": Kind("Kaiming normal (fan_in): N(0, 2/fan_in), for ReLU"),
    "lecun": Kind("LeCun normal: N(0, 1/fan_in), for SELU"),
    "orthogonal": Kind("a (semi-)orthogonal matrix: all singular values 1"),
    "normal": Kind(
        "N(0, std^2), std 1 by default (normal:0.01 is the classic 'small random')",
        default=1.0,
        param_name="std",
        param_range=Range(0, 100, low_open=True),
    ),
    "uniform": Kind(
        "U[-a, a], a 1 by default",
        default=1.0,
        param_name="a",
        param_range=Range(0, 100, low_open=True),
    ),
    "xavier_uniform": Kind("Glorot uniform: U[-a, a], a = sqrt(6/(fan_in+fan_out))"),
    "he_uniform": Kind("Kaiming uniform (fan_in): U[-a, a], a = sqrt(6/fan_in)"),
    "zeros": Kind("all weights 0: every unit of a layer stays identical (symmetry never breaks)"),
    "ones": Kind("all weights 1: symmetric and exploding"),
    "constant": Kind(
        "all weights = value (0.1 by default)",
        default=0.1,
        param_name="value",
        param_range=Range(-100, 100),
    ),
    "default": Kind("PyTorch's Linear init: U[-1/sqrt(fan_in), 1/sqrt(fan_in)] weights and biases"),
}
NAMES = list(KINDS)  # in teaching order
# What the dashboard's `i` key cycles through: every initializer, and the classic small N(0, 0.01).
CYCLE = [spec for name in NAMES for spec in ([name, "normal:0.01"] if name == "normal" else [name])]


@dataclass(frozen=True)
class Initializer:
    """A parsed initializer spec; `vgtui.trainer.factories.initialize` applies it to a layer."""

    name: str
    param: float | None
    kind: Kind


def parse_initializer(spec: str) -> Initializer:
    """``"normal:0.01"`` -> Initializer; raises ConfigError naming the valid choices."""
    name, param = split_spec("init", spec, NAMES)
    kind = KINDS[name]
    if param is not None and not kind.param_name:
        raise ConfigError("init", spec, f"{name} without a parameter")
    if param is None:
        param = kind.default
    elif kind.param_range is not None:
        param = check_param("init", spec, name, kind.param_name, param, kind.param_range)
    return Initializer(name, param, kind)
