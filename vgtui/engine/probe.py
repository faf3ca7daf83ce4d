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

from vgtui.engine.activations import Activation
from vgtui.engine.factories import activation_of
from vgtui.engine.records import LayerInfo, LayerStats, Stats
from vgtui.engine.stats import DEAD, N_EXTRA, N_FLOATS, SAT, Segment, summarize_many, unpack

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
CHUNK = 1 << 22  # values summarised per pass: bounds the temporaries for big layers


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
        weights = [w.layer.weight.detach() for w in self.watches]
        self._before = dict(enumerate(torch._foreach_mul(weights, 1.0)))  # copies, in one call

    def collect(self) -> list[LayerStats]:
        """Finish the snapshot (after the optimizer step) and move its numbers to the host.

        Every layer's activations and pre-activations are summarised together (`summarize_many`),
        in chunks of at most `CHUNK` values; the results cross to the host in one transfer per
        chunk plus one for the per-layer norms.
        """
        self.disarm()
        weights = [w.layer.weight.detach() for w in self.watches]
        if not weights:
            return []
        # Every norm in one host transfer: gradients, weights, and the last update's.
        moved = list(self._before)
        deltas = (
            torch._foreach_norm(
                torch._foreach_sub([weights[i] for i in moved], list(self._before.values()))
            )
            if moved
            else []
        )
        norms = torch.stack([*self._grads.values(), *torch._foreach_norm(weights), *deltas])
        values = norms.float().tolist()
        grad_norm = dict(zip(self._grads, values[: len(self._grads)], strict=True))
        w_norms = values[len(self._grads) : len(self._grads) + len(weights)]
        update = dict(zip(moved, values[len(self._grads) + len(weights) :], strict=True))
        rows = self._summaries()
        out = []
        for i, w in enumerate(self.watches):
            act = rows.get(("act", i))
            rule = w.activation.rule if w.activation is not None else None
            out.append(
                LayerStats(
                    name=w.name,
                    act=unpack(*act) if act else self._blank_stats(),
                    preact=unpack(*rows[("pre", i)]) if ("pre", i) in rows else None,
                    grad_norm=grad_norm.get(i),
                    weight_norm=w_norms[i],
                    update_ratio=update[i] / w_norms[i] if i in update and w_norms[i] else None,
                    dead_frac=act[0][DEAD] if act and rule == "dead" else None,
                    sat_frac=act[0][SAT] if act and rule == "saturated" else None,
                )
            )
        self._acts.clear()
        self._grads.clear()
        self._before.clear()
        return out

    def _summaries(self) -> dict[tuple[str, int], tuple[list[float], list[int]]]:
        """(kind, layer) -> host (floats, counts) rows for every captured tensor."""
        keys: list[tuple[str, int]] = []
        tensors: list[torch.Tensor] = []
        segments: list[Segment] = []
        for i, (act, pre) in self._acts.items():
            a = self.watches[i].activation
            lo, hi = (a.lo, a.hi) if a is not None else (-math.inf, math.inf)
            sat_lo, sat_hi = a.saturation if a is not None else (-math.inf, math.inf)
            keys.append(("act", i))
            tensors.append(act)
            segments.append(
                Segment(lo, hi, sat_lo, sat_hi, dead=a is not None and a.rule == "dead")
            )
            if pre is not None:
                keys.append(("pre", i))
                tensors.append(pre)
                segments.append(Segment())
        rows: dict[tuple[str, int], tuple[list[float], list[int]]] = {}
        start = 0
        while start < len(tensors):  # chunks bound the temporary memory for big layers
            end, size = start, 0
            while end < len(tensors) and (end == start or size + tensors[end].numel() <= CHUNK):
                size += tensors[end].numel()
                end += 1
            floats, counts = summarize_many(tensors[start:end], segments[start:end], self.bins)
            rows.update(zip(keys[start:end], zip(floats, counts, strict=True), strict=True))
            start = end
        return rows

    def _blank_stats(self) -> Stats:
        """A layer the forward pass did not reach."""
        return unpack([math.nan] * N_FLOATS, [0] * (self.bins + N_EXTRA))
