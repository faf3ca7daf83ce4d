"""The MLP that the lessons train: depth x [Linear -> norm? -> activation -> dropout?] -> Linear."""

from __future__ import annotations

import torch
from torch import nn

from vgtui.core.activations import Activation, parse_activation
from vgtui.core.config import RunConfig
from vgtui.core.initializers import parse_initializer
from vgtui.trainer.factories import initialize, make_activation


class Block(nn.Module):
    """One hidden layer. With ``residual`` (and matching sizes) it returns ``x + block(x)``."""

    def __init__(
        self, fan_in: int, width: int, act: Activation, norm: str, dropout: float, residual: bool
    ) -> None:
        super().__init__()
        units = width * act.pieces
        self.linear = nn.Linear(fan_in, units)
        self.norm: nn.Module = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}.get(
            norm, lambda n: nn.Identity()
        )(units)
        self.act = make_activation(act)
        self.drop: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.residual = residual and fan_in == width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(self.act(self.norm(self.linear(x))))
        return x + h if self.residual else h


class MLP(nn.Module):
    """``blocks`` (the hidden layers, input side first) and ``head`` (the logits)."""

    def __init__(self, input_dim: int, n_outputs: int, config: RunConfig) -> None:
        super().__init__()
        act = parse_activation(config.activation)
        sizes = [input_dim] + [config.width] * config.depth
        self.blocks = nn.ModuleList(
            Block(sizes[i], config.width, act, config.norm, config.dropout, config.residual)
            for i in range(config.depth)
        )
        self.head = nn.Linear(config.width, n_outputs)
        self.activation = act
        init = parse_initializer(config.init)
        for layer in self.linears():
            initialize(init, layer)

    def linears(self) -> list[nn.Linear]:
        """Every Linear layer, input side first, the output layer last."""
        return [b.linear for b in self.blocks] + [self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def build_model(config: RunConfig, input_dim: int, n_classes: int) -> MLP:
    """One logit for two classes (binary cross-entropy), k logits otherwise."""
    return MLP(input_dim, 1 if n_classes <= 2 else n_classes, config)
