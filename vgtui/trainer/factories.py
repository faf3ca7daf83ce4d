"""The torch side of the registries: activation modules and initializer fill functions.

`activations` and `initializers` hold the pure data (names, ranges, rules, formulas) that the
dashboard uses without torch; this module turns a parsed spec into torch objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from vgtui.core.activations import Activation
from vgtui.core.initializers import Initializer


class Maxout(nn.Module):
    """Max over ``k`` linear pieces: the input has ``k * units`` features, the output ``units``."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (-1, self.k)).amax(dim=-1)

    def extra_repr(self) -> str:
        return f"k={self.k}"


# name -> module factory, called with the spec's parameter (None where the activation has none).
ACTIVATION_MODULES: dict[str, Callable[[float | None], nn.Module]] = {
    "sigmoid": lambda p: nn.Sigmoid(),
    "tanh": lambda p: nn.Tanh(),
    "relu": lambda p: nn.ReLU(),
    "leaky_relu": lambda p: nn.LeakyReLU(p),
    "elu": lambda p: nn.ELU(p),
    "selu": lambda p: nn.SELU(),
    "gelu": lambda p: nn.GELU(),
    "silu": lambda p: nn.SiLU(),
    "softsign": lambda p: nn.Softsign(),
    "maxout": lambda p: Maxout(int(p)),
    "identity": lambda p: nn.Identity(),
}


def make_activation(act: Activation) -> nn.Module:
    return ACTIVATION_MODULES[act.name](act.param)


def _lecun(w: torch.Tensor, p: float | None) -> None:
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(w)
    nn.init.normal_(w, 0.0, math.sqrt(1.0 / fan_in))


# name -> fill(weight, param), in place; ``default`` is PyTorch's own reset (see `initialize`).
INIT_FILLS: dict[str, Callable[[torch.Tensor, float | None], object]] = {
    "normal": lambda w, p: nn.init.normal_(w, 0.0, p),
    "uniform": lambda w, p: nn.init.uniform_(w, -p, p),
    "xavier": lambda w, p: nn.init.xavier_normal_(w),
    "xavier_uniform": lambda w, p: nn.init.xavier_uniform_(w),
    "he": lambda w, p: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "he_uniform": lambda w, p: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "lecun": _lecun,
    "orthogonal": lambda w, p: nn.init.orthogonal_(w),
    "zeros": lambda w, p: nn.init.zeros_(w),
    "ones": lambda w, p: nn.init.ones_(w),
    "constant": lambda w, p: nn.init.constant_(w, p),
    "default": lambda w, p: None,
}


def initialize(init: Initializer, layer: nn.Linear) -> None:
    """Initialise ``layer``'s weight by ``init``, its bias to zero (``default``: torch's own)."""
    if init.name == "default":
        layer.reset_parameters()
        return
    with torch.no_grad():
        INIT_FILLS[init.name](layer.weight, init.param)
        if layer.bias is not None:
            layer.bias.zero_()
