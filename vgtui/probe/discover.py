"""Which modules of an ``nn.Module`` are watched, what kind each is, and which tensors it reports.

A watched layer is a module that owns trainable parameters. `discover` lists one `WatchedLayer`
per such module, in registration order, with the activation module registered after it as a
first guess of where its activation is read (the probe pairs them at run time, by tensor
identity: see `vgtui.probe.hooks`). `param_parts` expands the layers into the tensors whose norms
a snapshot reports: each parameter, and each standard slice of a packed one (attention's Q/K/V,
a recurrent layer's gates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from vgtui.core.activations import KINDS as ACTIVATION_KINDS
from vgtui.core.activations import Activation, parse_activation
from vgtui.core.records import LayerInfo, ParamInfo

_CONV = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
_NORM = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)
# (types, kind); the first match names a module's kind in the run log header.
MODULE_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (nn.Linear, "linear"),
    (_CONV, "conv"),
    ((nn.Embedding, nn.EmbeddingBag), "embedding"),
    ((nn.LSTM, nn.LSTMCell), "lstm"),
    ((nn.GRU, nn.GRUCell), "gru"),
    ((nn.RNN, nn.RNNCell), "rnn"),
    (nn.MultiheadAttention, "attention"),
    (_NORM, "norm"),
)
# Packed parameters with a standard slicing along dim 0: attention's Q/K/V, recurrent gates.
_GATED = re.compile(r"weight_(ih|hh)(_l\d+)?(_reverse)?$")
SLICES: tuple[tuple[type | tuple[type, ...], re.Pattern[str], tuple[str, ...]], ...] = (
    (nn.MultiheadAttention, re.compile(r"in_proj_weight$"), ("q", "k", "v")),
    ((nn.LSTM, nn.LSTMCell), _GATED, ("i", "f", "g", "o")),
    ((nn.GRU, nn.GRUCell), _GATED, ("r", "z", "n")),
)

# Activation modules that the probe recognises in a user's model, by type (registry names).
MODULE_ACTIVATIONS: dict[type[nn.Module], str] = {
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.ReLU: "relu",
    nn.ReLU6: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.ELU: "elu",
    nn.SELU: "selu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Softsign: "softsign",
}


def activation_of(module: nn.Module) -> Activation | None:
    """The registry's view of a torch activation module, or None for an unknown one."""
    name = MODULE_ACTIVATIONS.get(type(module))
    if name is None:
        return None
    param = getattr(module, "negative_slope", None) or getattr(module, "alpha", None)
    has_param = param is not None and ACTIVATION_KINDS[name].param_name
    return parse_activation(f"{name}:{param}" if has_param else name)


def kind_of(module: nn.Module) -> str:
    """The module's kind in the run log header (`MODULE_KINDS`), else its class name."""
    return next(
        (k for t, k in MODULE_KINDS if isinstance(module, t)), type(module).__name__.lower()
    )


def slices_of(module: nn.Module, local_name: str) -> tuple[str, ...]:
    """Labels of the standard slices of a packed parameter (``("q", "k", "v")``), else ()."""
    for types, pattern, labels in SLICES:
        if isinstance(module, types) and pattern.match(local_name):
            return labels
    return ()


def _fans(t: torch.Tensor) -> tuple[int, int]:
    if t.dim() < 2:
        return t.numel(), t.numel()
    return nn.init._calculate_fan_in_and_fan_out(t)


@dataclass
class WatchedLayer:
    """One watched layer: the module holding the parameters, and where its activation is read.

    ``act_module``'s forward output is the layer's activation and its input the pre-activation;
    when ``act_module`` is the layer itself, its output is the activation and there is no separate
    pre-activation. With ``fold``, ``act_module`` is only a guess from registration order: the
    probe pairs the layer with its activation at run time (`vgtui.probe.hooks`).
    ``params`` lists the layer's own trainable parameters by qualified name (run log v2); None
    reports the weight alone, as version 1 does.
    """

    name: str
    layer: nn.Module
    act_module: nn.Module
    activation: Activation | None = None
    kind: str = "linear"
    params: list[tuple[str, nn.Parameter]] | None = None
    fold: bool = False

    @property
    def has_preact(self) -> bool:
        return self.act_module is not self.layer

    @property
    def weight(self) -> torch.Tensor | None:
        """The main weight (``layer.weight`` where it is a trainable parameter)."""
        w = getattr(self.layer, "weight", None)
        return w if isinstance(w, nn.Parameter) and w.requires_grad else None

    def info(self) -> LayerInfo:
        main = self.weight
        if main is None:
            tensors = [p for _, p in self.params or []]
            main = next((p for p in tensors if p.dim() >= 2), tensors[0] if tensors else None)
        fan_in, fan_out = _fans(main) if main is not None else (0, 0)
        params = None
        if self.params is not None:
            params = [ParamInfo(name, list(p.shape)) for name, p in self.params]
        return LayerInfo(self.name, self.kind, fan_in, fan_out, params)


def activation_modules(model: nn.Module) -> list[nn.Module]:
    """The model's recognised activation modules (candidates for folding into a layer)."""
    return [m for m in model.modules() if activation_of(m) is not None]


def discover(model: nn.Module) -> list[WatchedLayer]:
    """A watched layer for every module that owns trainable parameters, in registration order.

    Each lists its own trainable parameters by qualified name; a parameter shared by several
    modules is listed under the first. ``act_module`` starts as the first recognised activation
    module registered after the layer and before the next one (the run-time pairing decides).
    """
    layers: list[WatchedLayer] = []
    listed: set[int] = set()
    for name, module in model.named_modules():
        own = [
            (f"{name}.{local}" if name else local, p)
            for local, p in module._parameters.items()
            if p is not None and p.requires_grad
        ]
        if own:
            params = [(n, p) for n, p in own if id(p) not in listed]
            listed.update(id(p) for _, p in own)
            kind = kind_of(module)
            layers.append(WatchedLayer(name or "model", module, module, None, kind, params, True))
        elif layers and layers[-1].act_module is layers[-1].layer:
            act = activation_of(module)
            if act is not None:
                layers[-1].act_module = module
                layers[-1].activation = act
    return layers


@dataclass(frozen=True)
class ParamPart:
    """A tensor whose norms are reported: a parameter, or one slice of a packed one."""

    layer: int  # index of its `WatchedLayer`
    name: str | None  # qualified name (with a ``[label]`` suffix for a slice); None: not listed
    param: nn.Parameter
    part: int = 0
    parts: int = 1
    main: bool = True  # counts towards the layer's own grad_norm / weight_norm / update_ratio

    def view(self, t: torch.Tensor) -> torch.Tensor:
        """This part of ``t`` (the parameter, its gradient or a copy of it)."""
        return t if self.parts == 1 else t.chunk(self.parts)[self.part]


def param_parts(layers: list[WatchedLayer]) -> list[ParamPart]:
    """Every tensor whose norms the layers report, layer by layer."""
    parts: list[ParamPart] = []
    for i, w in enumerate(layers):
        main = w.weight
        if w.params is None:
            parts.append(ParamPart(i, None, w.layer.weight))
            continue
        named = {id(p) for _, p in w.params}
        if main is not None and id(main) not in named:  # a weight listed under another module
            parts.append(ParamPart(i, None, main))
        for name, p in w.params:
            parts.append(ParamPart(i, name, p, main=main is None or p is main))
            labels = slices_of(w.layer, name.rsplit(".", 1)[-1])
            for part, label in enumerate(labels):
                parts.append(ParamPart(i, f"{name}[{label}]", p, part, len(labels), main=False))
    return parts


__all__ = [
    "MODULE_ACTIVATIONS",
    "MODULE_KINDS",
    "SLICES",
    "ParamPart",
    "WatchedLayer",
    "activation_modules",
    "activation_of",
    "discover",
    "kind_of",
    "param_parts",
    "slices_of",
]
