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
from vgtui.engine.records import LayerInfo, LayerStats
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


class Probe:
    """Hooks on a model's watched layers; see the module docstring for the protocol."""

    def __init__(self, watches: list[Watch], bins: int = 40, preact: bool = True) -> None:
        self.watches = watches
        self.bins = bins
        self.preact = preact
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._acts: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]] = {}
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
        act = w.activation
        lo, hi = (act.lo, act.hi) if act is not None else (-math.inf, math.inf)

        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if i in self._acts:  # a module called twice per forward: keep the first call
                return
            y = output.detach()
            floats, counts = summarize(y, lo, hi, self.bins)
            rule = torch.full((2,), math.nan, device=y.device)
            if act is not None and act.rule == "dead":
                units = y.transpose(0, 1).reshape(y.shape[1], -1) if y.dim() > 1 else y[None]
                rule[0] = (units == 0).all(dim=1).float().mean()
            elif act is not None and act.rule == "saturated":
                sat = (y < 0.01) | (y > 0.99) if act.name == "sigmoid" else y.abs() > 0.99
                rule[1] = sat.float().mean()
            pre = None
            if self.preact and w.has_preact and inputs and isinstance(inputs[0], torch.Tensor):
                pf, pc = summarize(inputs[0], -math.inf, math.inf, self.bins)
                pre = (pf, pc)
            self._acts[i] = (torch.cat([floats, rule]), counts, pre)

        return hook

    def read_grads(self) -> None:
        """After backward: weight gradient and weight norms, and a copy for the update ratio."""
        for i, w in enumerate(self.watches):
            weight = w.layer.weight.detach()
            grad = w.layer.weight.grad
            if grad is not None:
                self._grads[i] = grad.detach().norm().float()
            self._before[i] = weight.clone()

    def collect(self) -> list[LayerStats]:
        """Finish the snapshot (after the optimizer step) and move its numbers to the host.

        One block of floats and one of counts per layer, concatenated: two transfers in all.
        """
        self.disarm()
        floats: list[torch.Tensor] = []
        counts: list[torch.Tensor] = []
        for i, w in enumerate(self.watches):
            weight = w.layer.weight.detach()
            dev = weight.device
            act_f, act_c, pre = self._acts.get(i) or self._blank(dev)
            pre_f, pre_c = pre if pre is not None else self._blank(dev)[:2]
            nan = torch.full((), math.nan, device=dev)
            w_norm = weight.norm().float()
            ratio = (weight - self._before[i]).norm() / w_norm if i in self._before else nan
            grad = self._grads.get(i, nan)
            floats.append(torch.cat([act_f, pre_f[:N_FLOATS], torch.stack([grad, w_norm, ratio])]))
            counts.append(torch.cat([act_c, pre_c]))
        flat = torch.cat([f.float().cpu() for f in floats]).tolist() if floats else []
        ints = torch.cat([c.cpu() for c in counts]).tolist() if counts else []
        layers = self._assemble(flat, ints)
        self._acts.clear()
        self._grads.clear()
        self._before.clear()
        return layers

    def _blank(self, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Stand-in for a layer the forward pass did not reach."""
        floats = torch.full((N_FLOATS + 2,), math.nan, device=dev)
        return floats, torch.zeros(self.bins + 3, dtype=torch.long, device=dev), None

    def _assemble(self, flat: list[float], ints: list[int]) -> list[LayerStats]:
        nf, nc = 2 * N_FLOATS + 5, 2 * (self.bins + 3)
        out = []
        for i, w in enumerate(self.watches):
            f, c = flat[i * nf : (i + 1) * nf], ints[i * nc : (i + 1) * nc]
            act_f, (dead, sat), pre_f = f[:N_FLOATS], f[N_FLOATS : N_FLOATS + 2], f[8:14]
            grad, w_norm, ratio = f[14:17]
            pre = self._acts.get(i, (None, None, None))[2]
            out.append(
                LayerStats(
                    name=w.name,
                    act=unpack(act_f, c[: nc // 2]),
                    preact=unpack(pre_f, c[nc // 2 :]) if pre is not None else None,
                    grad_norm=grad if i in self._grads else None,
                    weight_norm=w_norm,
                    update_ratio=ratio if i in self._before else None,
                    dead_frac=None if math.isnan(dead) else dead,
                    sat_frac=None if math.isnan(sat) else sat,
                )
            )
        return out
