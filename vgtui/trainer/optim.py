"""The optimizers a run config names, built for the model's parameters."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from vgtui.core.config import RunConfig

# What ``vgtui --list`` says of each optimizer name (`vgtui.core.config.OPTIMIZERS`).
OPTIMIZER_DESCRIPTIONS = {
    "sgd": "plain stochastic gradient descent: the update is lr x gradient",
    "momentum": "SGD with momentum (--momentum, 0.9 by default)",
    "nesterov": "SGD with Nesterov momentum",
    "adam": "Adam: per-weight step sizes from running gradient moments (hides vanishing)",
    "adamw": "Adam with decoupled weight decay",
    "rmsprop": "RMSprop: divides by a running RMS of the gradient",
    "adagrad": "Adagrad: divides by the root of the summed squared gradients",
}


def make_optimizer(config: RunConfig, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``params``, with the config's rate, weight decay and momentum."""
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
