"""Per-layer statistics of any ``nn.Module``, gathered by hooks on snapshot steps only.

Use it in three calls around a training step::

    probe.arm()                 # before forward: hooks summarise activations on the device
    loss.backward()
    probe.read_grads()          # after backward, before the gradients are zeroed or clipped
    optimizer.step()
    layers = probe.collect()    # after the step: update ratios; the one transfer to the host

Between snapshots no hook is registered, so the probe costs nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vgtui.engine.activations import KINDS, Activation, parse_activation
from vgtui.engine.records import LayerInfo, LayerStats, Stats
from vgtui.engine.stats import N_FLOATS, summarize, unpack

# Activation modules that the probe recognises in a user's model, by type.
_MODULE_ACTIVATIONS: dict[type[nn.Module], str] = {
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
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass
class Watch:
    """One watched layer: the module holding the weight, and where its activation is read.

    ``act_module``'s forward output is the layer's activation and its input the pre-activation;
    when ``act_module`` is the weighted layer itself, its output is the activation and there is no
    separate pre-activation.
    """

    name: str
    layer: nn.Module
    act_module: nn.Module
    activation: Activation | None = None
    kind: str = "linear"

    @property
    def has_preact(self) -> bool:
        return self.act_module is not self.layer

    def info(self) -> LayerInfo:
        w = self.layer.weight
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
        return LayerInfo(name=self.name, kind=self.kind, fan_in=fan_in, fan_out=fan_out)


def activation_of(module: nn.Module) -> Activation | None:
    """The registry's view of a torch activation module, or None for an unknown one."""
    name = _MODULE_ACTIVATIONS.get(type(module))
    if name is None:
        return None
    param = getattr(module, "negative_slope", None) or getattr(module, "alpha", None)
    return parse_activation(
        f"{name}:{param}" if param is not None and KINDS[name].param_name else name
    )


def discover(model: nn.Module) -> list[Watch]:
    """Watches for a model we did not build: every Linear/Conv layer, in registration order.

    Each is paired with the first recognised activation module registered after it and before the
    next weighted layer; a layer with none is watched at its own output.
    """
    watches: list[Watch] = []
    for name, module in model.named_modules():
        if isinstance(module, _WEIGHTED):
            kind = "linear" if isinstance(module, nn.Linear) else "conv"
            watches.append(Watch(name or "model", module, module, None, kind))
        elif watches and watches[-1].act_module is watches[-1].layer:
            act = activation_of(module)
            if act is not None:
                watches[-1].act_module = module
                watches[-1].activation = act
    return watches


def _rule_fractions(y: torch.Tensor, act: Activation | None) -> tuple[torch.Tensor, str]:
    """Per row of ``y`` (layers, batch, units...): the dead or saturated fraction, and which."""
    if act is None or act.rule is None:
        return torch.full(y.shape[:1], math.nan, device=y.device), ""
    if act.rule == "dead":  # a unit is dead when it is zero for every sample of the batch
        units = y.transpose(1, 2).reshape(y.shape[0], y.shape[2], -1) if y.dim() > 2 else y
        if y.dim() == 2:
            units = y[:, :, None]
        return (units == 0).all(dim=2).float().mean(dim=1), "dead"
    sat = (y < 0.01) | (y > 0.99) if act.name == "sigmoid" else y.abs() > 0.99
    return sat.reshape(y.shape[0], -1).float().mean(dim=1), "saturated"


class Probe:
    """Hooks on a model's watched layers; see the module docstring for the protocol."""

    def __init__(self, watches: list[Watch], bins: int = 40, preact: bool = True) -> None:
        self.watches = watches
        self.bins = bins
        self.preact = preact
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._acts: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._grads: dict[int, torch.Tensor] = {}
        self._before: dict[int, torch.Tensor] = {}

    @classmethod
    def for_model(cls, model: nn.Module, bins: int = 40) -> Probe:
        return cls(discover(model), bins)

    @property
    def armed(self) -> bool:
        return bool(self._handles)

    def layer_infos(self) -> list[LayerInfo]:
        return [w.info() for w in self.watches]

    def arm(self) -> None:
        """Register the hooks for the next forward pass."""
        self.disarm()
        self._acts.clear()
        self._grads.clear()
        self._before.clear()
        for i, w in enumerate(self.watches):
            self._handles.append(w.act_module.register_forward_hook(self._hook(i, w)))

    def disarm(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, i: int, w: Watch):
        keep_pre = self.preact and w.has_preact

        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if i in self._acts or not isinstance(output, torch.Tensor):
                return  # a module called twice per forward: keep the first call
            pre = inputs[0].detach() if keep_pre and inputs and torch.is_tensor(inputs[0]) else None
            self._acts[i] = (output.detach(), pre)

        return hook

    def read_grads(self) -> None:
        """After backward: weight gradient norms, and a copy of each weight for the update ratio."""
        with_grad = [i for i, w in enumerate(self.watches) if w.layer.weight.grad is not None]
        norms = torch._foreach_norm([self.watches[i].layer.weight.grad for i in with_grad])
        self._grads = dict(zip(with_grad, norms, strict=True))
        self._before = {i: w.layer.weight.detach().clone() for i, w in enumerate(self.watches)}

    def collect(self) -> list[LayerStats]:
        """Finish the snapshot (after the optimizer step) and move its numbers to the host.

        Layers whose values have the same shape and rule are summarised together; everything
        crosses to the host in one transfer of floats and one of counts.
        """
        self.disarm()
        weights = [w.layer.weight.detach() for w in self.watches]
        w_norms = torch._foreach_norm(weights)
        ratios = {
            i: (weights[i] - before).norm() / w_norms[i] for i, before in self._before.items()
        }
        acts = {i: self._acts[i][0] for i in self._acts}
        pres = {i: p for i, (_, p) in self._acts.items() if p is not None}
        act_rows = self._summarize(acts, with_rules=True)
        pre_rows = self._summarize(pres, with_rules=False)
        nan = torch.full((), math.nan, device=weights[0].device) if weights else None
        scalars = (
            torch.stack(
                [
                    torch.stack([self._grads.get(i, nan), w_norms[i], ratios.get(i, nan)])
                    .float()
                    .cpu()
                    for i in range(len(self.watches))
                ]
            )
            if weights
            else None
        )
        host = {
            key: (f.cpu().tolist(), c.cpu().tolist())
            for key, (f, c) in {
                **{("act", k): v for k, v in act_rows.items()},
                **{("pre", k): v for k, v in pre_rows.items()},
            }.items()
        }
        scalar_rows = scalars.tolist() if scalars is not None else []
        out = []
        for i, w in enumerate(self.watches):
            grad, w_norm, ratio = scalar_rows[i]
            act = self._row(host.get(("act", i)))
            dead = sat = None
            if ("act", i) in host:
                frac, rule = host[("act", i)][0][N_FLOATS], self._rule_names.get(i, "")
                dead = frac if rule == "dead" else None
                sat = frac if rule == "saturated" else None
            out.append(
                LayerStats(
                    name=w.name,
                    act=act if act is not None else self._blank_stats(),
                    preact=self._row(host.get(("pre", i))),
                    grad_norm=grad if i in self._grads else None,
                    weight_norm=w_norm,
                    update_ratio=ratio if i in ratios else None,
                    dead_frac=dead,
                    sat_frac=sat,
                )
            )
        self._acts.clear()
        self._grads.clear()
        self._before.clear()
        return out

    def _summarize(
        self, tensors: dict[int, torch.Tensor], with_rules: bool
    ) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """Row per layer: floats (+ the rule fraction when ``with_rules``) and counts."""
        groups: dict[tuple, list[int]] = {}
        for i, t in tensors.items():
            act = self.watches[i].activation if with_rules else None
            lo, hi = (act.lo, act.hi) if act is not None else (-math.inf, math.inf)
            key = (tuple(t.shape), t.device, lo, hi, act.name if act is not None else None)
            groups.setdefault(key, []).append(i)
        if with_rules:
            self._rule_names = {}
        out = {}
        for (_shape, _dev, lo, hi, _name), members in groups.items():
            stacked = torch.stack([tensors[i] for i in members])
            floats, counts = summarize(stacked.reshape(len(members), -1), lo, hi, self.bins)
            if with_rules:
                frac, rule = _rule_fractions(stacked.float(), self.watches[members[0]].activation)
                floats = torch.cat([floats, frac[:, None]], dim=1)
                self._rule_names.update(dict.fromkeys(members, rule))
            for row, i in enumerate(members):
                out[i] = (floats[row], counts[row])
        return out

    @staticmethod
    def _row(pair: tuple[list[float], list[int]] | None) -> Stats | None:
        return None if pair is None else unpack(pair[0][:N_FLOATS], pair[1])

    def _blank_stats(self) -> Stats:
        """A layer the forward pass did not reach."""
        return unpack([math.nan] * N_FLOATS, [0] * (self.bins + 3))
