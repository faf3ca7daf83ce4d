"""Capturing the watched layers' activations in forward hooks, on armed forward passes only.

A layer's activation is its own output (the first tensor of a tuple, so a recurrent layer reports
its output sequence and an attention its attended values), unless a recognised activation module
(`vgtui.probe.discover.MODULE_ACTIVATIONS`) takes that very tensor as its input in the same
forward pass: then the activation's output is the layer's ``act`` and the layer's output its
``preact`` (the activation is folded into the layer). The pairing is found at run time by tensor
identity, so a shared ``nn.ReLU`` or an unusual registration order is paired right. A layer whose
forward did not run as a module call (attention's ``out_proj``, applied functionally), or whose
output was then changed in place (``x += skip``), has no activation (never NaN statistics).

Hooks are registered by `ActivationHooks.arm` and removed by `disarm`, so a forward pass between
snapshots runs no hook at all. With ``resident`` (a ``torch.compile``d model) they stay registered
and switch on a flag instead: registering hooks after compilation makes dynamo recompile, and
re-registered hooks are silently skipped by the cached graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vgtui.core.activations import Activation
from vgtui.probe.discover import WatchedLayer, activation_of

OutputTensor = Callable[[object], torch.Tensor | None]


def first_tensor(output: object) -> torch.Tensor | None:
    """A module output's activation: the tensor itself, or the first element of a tuple/list
    (recurrent layers: the output sequence; a PackedSequence: its data); None when it is not a
    floating-point tensor."""
    while isinstance(output, (tuple, list)) and output:
        output = output[0]
    if isinstance(output, torch.Tensor) and output.is_floating_point():
        return output
    return None


def _version(t: torch.Tensor) -> int:
    try:
        return t._version
    except RuntimeError:  # inference-mode tensors have no version counter
        return -1


def _key(t: torch.Tensor) -> tuple[int, tuple[int, ...]]:
    return t.data_ptr(), tuple(t.shape)


@dataclass
class Capture:
    """One layer's tensors from the forward pass that counts."""

    act: torch.Tensor
    pre: torch.Tensor | None
    activation: Activation | None
    grad: bool  # captured with autograd on (a training forward)
    versions: tuple[int, int] = (-1, -1)

    def fresh(self, which: str) -> bool:
        """Whether the tensor still holds the captured values (not changed in place since)."""
        t = self.act if which == "act" else self.pre
        v = self.versions[0 if which == "act" else 1]
        return t is not None and (v == -1 or _version(t) == v)


class ActivationHooks:
    """The forward hooks of a probe's layers and what they captured since `arm`.

    ``on_error`` receives a failure inside a hook (the user's forward pass goes on).
    ``output_tensor`` picks the activation out of a module's output (`first_tensor`); it is read
    at every hook call, so it may be replaced at any time (a model whose modules return a custom
    structure, or a test that makes the hooks fail).
    """

    def __init__(
        self,
        layers: list[WatchedLayer],
        preact: bool,
        activation_modules: Sequence[nn.Module],
        resident: bool,
        on_error: Callable[[BaseException], None],
        output_tensor: OutputTensor = first_tensor,
    ) -> None:
        self.layers = layers
        self.preact = preact
        self.resident = resident
        self.on_error = on_error
        self.output_tensor = output_tensor
        self.captures: dict[int, Capture] = {}
        self._fold_modules = {
            id(m): (m, activation_of(m)) for m in activation_modules if activation_of(m)
        }
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._armed = False
        self._outputs: dict[tuple[int, tuple[int, ...]], int] = {}  # layer outputs to fold
        if resident:
            self._register()

    @property
    def captured(self) -> bool:
        """Whether a forward pass has been captured since `arm`."""
        return bool(self.captures)

    def arm(self) -> None:
        """Capture the next forward pass."""
        self.clear()
        if not self.resident:
            self.disarm()
            self._register()
        self._armed = True

    def disarm(self) -> None:
        """Stop capturing (the captures stay until `clear`)."""
        self._armed = False
        if not self.resident:
            self._remove()

    def close(self) -> None:
        """Remove every hook, resident ones too."""
        self._armed = False
        self._remove()

    def clear(self) -> None:
        self.captures.clear()
        self._outputs.clear()

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _register(self) -> None:
        for i, w in enumerate(self.layers):
            if self.resident:
                hook = self._resident_hook(i, w)
            elif w.fold:
                hook = self._layer_hook(i)
            else:
                hook = self._act_hook(i, w)
            module = w.layer if w.fold and not self.resident else w.act_module
            self._handles.append(module.register_forward_hook(hook))
        if not self.resident and any(w.fold for w in self.layers):
            for module, activation in self._fold_modules.values():
                self._handles.append(module.register_forward_hook(self._fold_hook(activation)))

    def _guarded(self, body: Callable) -> Callable:
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            try:
                body(inputs, output)
            except Exception as err:  # never break the user's forward pass
                self.on_error(err)

        return hook

    def _wanted(self, i: int) -> bool:
        """The first forward after arming counts, except that one with autograd on replaces one
        without (an evaluation pass run between the steps)."""
        have = self.captures.get(i)
        return have is None or (not have.grad and torch.is_grad_enabled())

    def _act_hook(self, i: int, w: WatchedLayer) -> Callable:
        """On the layer's activation module (its input is the pre-activation)."""
        keep_pre = self.preact and w.has_preact

        def body(inputs: tuple, output: object) -> None:
            act = self.output_tensor(output)
            if act is None or not self._wanted(i):
                return
            pre = inputs[0] if keep_pre and inputs and torch.is_tensor(inputs[0]) else None
            versions = (_version(act), _version(pre) if pre is not None else -1)
            pre = pre.detach() if pre is not None else None
            grad = torch.is_grad_enabled()
            self.captures[i] = Capture(act.detach(), pre, w.activation, grad, versions)

        return self._guarded(body)

    def _layer_hook(self, i: int) -> Callable:
        """On the layer itself: its output, until an activation module folds it (`_fold_hook`)."""

        def body(inputs: tuple, output: object) -> None:
            out = self.output_tensor(output)
            if out is None or not self._wanted(i):
                return
            self._outputs = {k: j for k, j in self._outputs.items() if j != i}
            self._outputs[_key(out)] = i
            grad = torch.is_grad_enabled()
            self.captures[i] = Capture(out.detach(), None, None, grad, (_version(out), -1))

        return self._guarded(body)

    def _fold_hook(self, activation: Activation) -> Callable:
        """On an activation module: when its input is a layer's output, it becomes that layer's
        activation (and the layer's output its pre-activation)."""

        def body(inputs: tuple, output: object) -> None:
            if not inputs or not torch.is_tensor(inputs[0]):
                return
            i = self._outputs.pop(_key(inputs[0]), None)
            act = self.output_tensor(output)
            if i is None or act is None:
                return
            out = self.captures[i]
            pre, pre_version = (out.act, out.versions[0]) if self.preact else (None, -1)
            versions = (_version(act), pre_version)
            self.captures[i] = Capture(act.detach(), pre, activation, out.grad, versions)

        return self._guarded(body)

    def _resident_hook(self, i: int, w: WatchedLayer) -> Callable:
        """Always registered; does nothing unless armed. Kept simple enough for dynamo to trace
        (the pairing is the registration-order guess, no in-place check)."""
        keep_pre = self.preact and w.has_preact

        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            if self._armed and i not in self.captures:
                act = self.output_tensor(output)
                if act is not None:
                    pre = inputs[0].detach() if keep_pre and torch.is_tensor(inputs[0]) else None
                    grad = torch.is_grad_enabled()
                    self.captures[i] = Capture(act.detach(), pre, w.activation, grad)

        return hook


__all__ = ["ActivationHooks", "Capture", "OutputTensor", "first_tensor"]
