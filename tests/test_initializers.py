"""Each initializer's empirical std against its formula, on a 512x512 layer."""

import math

import pytest
import torch
from torch import nn

from vgtui.core.initializers import KINDS, NAMES, parse_initializer
from vgtui.trainer.factories import INIT_FILLS, initialize

FAN = 512
FORMULAS = {  # written out independently of the implementation
    "normal": 1.0,
    "normal:0.01": 0.01,
    "uniform": 1 / math.sqrt(3),
    "uniform:0.5": 0.5 / math.sqrt(3),
    "xavier": math.sqrt(2 / (FAN + FAN)),
    "xavier_uniform": math.sqrt(6 / (FAN + FAN)) / math.sqrt(3),
    "he": math.sqrt(2 / FAN),
    "he_uniform": math.sqrt(6 / FAN) / math.sqrt(3),
    "lecun": math.sqrt(1 / FAN),
    "orthogonal": math.sqrt(1 / FAN),
    "default": (1 / math.sqrt(FAN)) / math.sqrt(3),
}


@pytest.mark.parametrize(("spec", "std"), FORMULAS.items())
def test_empirical_std_within_5_percent_of_formula(spec, std):
    torch.manual_seed(0)
    layer = nn.Linear(FAN, FAN)
    init = parse_initializer(spec)
    initialize(init, layer)
    assert layer.weight.std().item() == pytest.approx(std, rel=0.05)
    assert abs(layer.weight.mean().item()) < 0.05 * std + 1e-6


@pytest.mark.parametrize(
    ("spec", "value"), [("zeros", 0.0), ("ones", 1.0), ("constant", 0.1), ("constant:0.3", 0.3)]
)
def test_constant_initializers(spec, value):
    layer = nn.Linear(8, 4)
    initialize(parse_initializer(spec), layer)
    assert torch.all(layer.weight == value)
    assert torch.all(layer.bias == 0)


def test_biases_start_at_zero_except_default():
    for name in NAMES:
        layer = nn.Linear(16, 16)
        nn.init.constant_(layer.bias, 5.0)
        initialize(parse_initializer(name), layer)
        assert torch.all(layer.bias == 0) == (name != "default"), name


def test_orthogonal_is_orthogonal():
    layer = nn.Linear(64, 64)
    initialize(parse_initializer("orthogonal"), layer)
    w = layer.weight.detach()
    assert torch.allclose(w @ w.T, torch.eye(64), atol=1e-5)


def test_every_initializer_name_has_a_fill_function():
    assert sorted(INIT_FILLS) == sorted(KINDS)
