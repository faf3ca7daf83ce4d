"""A snapshot's per-layer statistics of any ``nn.Module``, gathered on snapshot steps only.

Use it in three calls around a training step::

    probe.arm()                 # before forward: hooks capture activations (no copy, no sync)
    loss.backward()
    probe.read_grads()          # where the gradients are final (before zeroing or clipping)
    optimizer.step()
    layers = probe.collect()    # after the step: summaries on the device, then one host transfer

Between snapshots no hook is registered, so the probe costs nothing. Which layers are watched is
`vgtui.probe.discover`'s; how their activations are captured, `vgtui.probe.hooks`'. This module
adds the norms (gradients, weights, the last update's, all fused: one pass each over every tensor),
summarises the captured activations (`vgtui.probe.stats`) and moves every number to the host in
one transfer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from vgtui.core.records import LayerInfo, LayerStats, ParamStats
from vgtui.probe.discover import WatchedLayer, activation_modules, discover, param_parts
from vgtui.probe.hooks import ActivationHooks, OutputTensor, first_tensor
from vgtui.probe.stats import DEAD, SAT, Segment, Summarize, summarize_chunked, unpack

Row = tuple[list[float], list[int]]
Reducer = Callable[
    [list[tuple[str, int]], list[torch.Tensor], list[Segment], int, list[float]], dict
]


class Probe:
    """Hooks on a model's watched layers; see the module docstring for the protocol.

    ``on_error``: where a failure inside a hook goes (the probe disarms itself); None raises it.
    ``summarize``: how the captured tensors are summarised in this process (`summarize_chunked`).
    ``output_tensor``: which tensor of a module's output is its activation (`first_tensor`).
    ``reducer``: combines the activation summaries across processes (`vgtui.probe.distributed`);
    it replaces ``summarize`` where set. ``summarize`` and ``reducer`` are read at every snapshot,
    ``hooks.output_tensor`` at every hook call: each may be replaced at any time.
    """

    def __init__(
        self,
        layers: list[WatchedLayer],
        bins: int = 40,
        preact: bool = True,
        activation_modules: Sequence[nn.Module] | None = None,
        resident: bool = False,
        on_error: Callable[[BaseException], None] | None = None,
        summarize: Summarize = summarize_chunked,
        output_tensor: OutputTensor = first_tensor,
    ) -> None:
        self.layers = layers
        self.bins = bins
        self.on_error = on_error
        self.summarize = summarize
        self.reducer: Reducer | None = None
        if activation_modules is None:
            activation_modules = [w.act_module for w in layers if w.fold and w.has_preact]
        self.failed = False
        self.hooks = ActivationHooks(
            layers, preact, activation_modules, resident, self.fail, output_tensor
        )
        self._parts = param_parts(layers)
        self._mine: list[list[int]] = [[] for _ in layers]
        for k, part in enumerate(self._parts):
            self._mine[part.layer].append(k)
        self._grads: dict[int, torch.Tensor] = {}
        self._before: dict[int, torch.Tensor] = {}
        # The weight copies' storage on a CPU, reused from snapshot to snapshot: there a fresh
        # copy of a large model costs more in allocation (page faults) than in copying. On an
        # accelerator the caching allocator makes a fresh copy cheap, and holding one between
        # snapshots would take memory from training.
        self._spare: dict[int, torch.Tensor] = {}
        # Every distinct parameter by id (the parts are fixed for the probe's life).
        self._by_id = {id(part.param): part.param for part in self._parts}

    @classmethod
    def for_model(cls, model: nn.Module, bins: int = 40, **kwargs) -> Probe:
        return cls(discover(model), bins, activation_modules=activation_modules(model), **kwargs)

    @property
    def preact(self) -> bool:
        """Whether the pre-activations are summarised too (from the next `arm`)."""
        return self.hooks.preact

    @preact.setter
    def preact(self, on: bool) -> None:
        self.hooks.preact = on

    @property
    def resident(self) -> bool:
        return self.hooks.resident

    def layer_infos(self) -> list[LayerInfo]:
        return [w.info() for w in self.layers]

    @property
    def params(self) -> list[nn.Parameter]:
        """Every distinct parameter whose norms the probe reports."""
        return list(self._by_id.values())

    # -- arming ----------------------------------------------------------------------------------

    def arm(self) -> None:
        """Capture the next forward pass (nothing, once the probe has failed)."""
        self.hooks.clear()
        self._grads.clear()
        self._before.clear()
        if not self.failed:
            self.hooks.arm()

    def disarm(self) -> None:
        self.hooks.disarm()

    def close(self) -> None:
        """Remove every hook (resident ones too), and free the weight copies."""
        self.hooks.close()
        self._before.clear()
        self._spare.clear()

    def fail(self, err: BaseException) -> None:
        """A failure in the probe's own work: disarm for good, and report it (or raise it)."""
        self.failed = True
        self.close()
        self.hooks.clear()
        if self.on_error is None:
            raise err
        self.on_error(err)

    @property
    def captured(self) -> bool:
        """Whether a forward pass has been captured since `arm`."""
        return self.hooks.captured

    # -- gradients and weights ---------------------------------------------------------------

    def read_grads(
        self,
        only: set[int] | None = None,
        keep_weights: bool = True,
        scale: torch.Tensor | None = None,
    ) -> None:
        """Read the gradient norms now (on the device, no sync), where they are final.

        ``only``: ids of the parameters to read (those an optimizer is about to step on); the
        rest keep what an earlier call read. ``keep_weights``: copy those weights, so that
        `collect` (after the step) can report the update ratio. ``scale``: the gradients are
        still multiplied by it (a GradScaler's fused optimizer); the norms are divided by it.
        """
        chosen = [
            k
            for k, part in enumerate(self._parts)
            if part.param.grad is not None and (only is None or id(part.param) in only)
        ]
        grads = [self._parts[k].view(self._parts[k].param.grad) for k in chosen]
        norms = torch._foreach_norm(grads, 2, dtype=torch.float32) if grads else []
        if scale is not None and norms:
            norms = torch._foreach_div(norms, scale.float())
        self._grads.update(zip(chosen, norms, strict=True))
        if keep_weights:
            params = {k: p for k, p in self._by_id.items() if only is None or k in only}
            self._keep_weights(params)

    def _keep_weights(self, params: dict[int, nn.Parameter]) -> None:
        """Copy ``params`` (id -> parameter) into their reused buffers, as ``_before``."""
        for key, p in params.items():
            spare = self._spare.get(key)
            if spare is None or (spare.shape, spare.dtype, spare.device) != (
                p.shape,
                p.dtype,
                p.device,
            ):
                spare = torch.empty_like(p, memory_format=torch.contiguous_format)
                if p.device.type == "cpu":
                    self._spare[key] = spare
            self._before[key] = spare
        if params:
            torch._foreach_copy_(
                [self._before[key] for key in params], [p.detach() for p in params.values()]
            )

    # -- the snapshot ----------------------------------------------------------------------------

    def collect(self) -> list[LayerStats]:
        """Finish the snapshot (after the optimizer step) and move its numbers to the host."""
        return self.finish()[0]

    def finish(
        self, extra: Sequence[torch.Tensor | float] = ()
    ) -> tuple[list[LayerStats], list[float]]:
        """`collect`, and the host values of ``extra`` (scalar tensors, or numbers that are passed
        through) from the same transfer.

        Every layer's activations and pre-activations are summarised together (``summarize``);
        the norms (gradients, weights, the last update's) and ``extra`` cross to the host in one
        transfer.
        """
        self.disarm()
        parts = self._parts
        moved = [k for k, part in enumerate(parts) if id(part.param) in self._before]
        weights = [part.view(part.param.detach()) for part in parts]
        deltas = []
        if moved:  # the copies become the update (before - after) in place: no new storage
            torch._foreach_sub_(
                list(self._before.values()), [self._by_id[key].detach() for key in self._before]
            )
            before = [parts[k].view(self._before[id(parts[k].param)]) for k in moved]
            deltas = torch._foreach_norm(before, 2, dtype=torch.float32)
        w_norms = torch._foreach_norm(weights, 2, dtype=torch.float32) if weights else []
        on_device = [x for x in extra if isinstance(x, torch.Tensor)]
        tensors = [*self._grads.values(), *w_norms, *deltas, *on_device]
        values: list[float] = []
        if tensors:
            device = tensors[0].device
            values = torch.stack([t.float().reshape(()).to(device) for t in tensors]).tolist()
        n_g, n_w = len(self._grads), len(weights)
        grad = dict(zip(self._grads, values[:n_g], strict=True))
        weight = values[n_g : n_g + n_w]
        delta = dict(zip(moved, values[n_g + n_w : n_g + n_w + len(moved)], strict=True))
        moved_back = iter(values[n_g + n_w + len(moved) :])
        extra_values = [
            next(moved_back) if isinstance(x, torch.Tensor) else float(x) for x in extra
        ]
        rows = self._summaries(extra_values)
        layers = [
            self._layer_stats(i, w, rows, grad, weight, delta) for i, w in enumerate(self.layers)
        ]
        self.hooks.clear()
        self._grads.clear()
        self._before.clear()
        return layers, extra_values

    def _layer_stats(
        self,
        i: int,
        w: WatchedLayer,
        rows: dict[tuple[str, int], Row],
        grad: dict[int, float],
        weight: list[float],
        delta: dict[int, float],
    ) -> LayerStats:
        mine = self._mine[i]
        main = [k for k in mine if self._parts[k].main]
        act = rows.get(("act", i))
        capture = self.hooks.captures.get(i)
        activation = capture.activation if capture is not None else None
        rule = activation.rule if activation is not None else None
        w_norm = _combined([weight[k] for k in main])
        g = [grad[k] for k in main if k in grad]
        d = [delta[k] for k in main if k in delta]
        params = None
        if w.params is not None:
            params = [
                ParamStats(
                    self._parts[k].name or "",
                    grad.get(k),
                    weight[k],
                    delta[k] / weight[k] if k in delta and weight[k] else None,
                )
                for k in mine
                if self._parts[k].name is not None
            ]
        update = _combined(d) if d else None
        return LayerStats(
            name=w.name,
            act=unpack(*act) if act else None,
            preact=unpack(*rows[("pre", i)]) if ("pre", i) in rows else None,
            grad_norm=_combined(g) if g else None,
            weight_norm=w_norm,
            update_ratio=update / w_norm if update is not None and w_norm else None,
            dead_frac=act[0][DEAD] if act and rule == "dead" else None,
            sat_frac=act[0][SAT] if act and rule == "saturated" else None,
            params=params,
        )

    def _summaries(self, extra: list[float] | None = None) -> dict[tuple[str, int], Row]:
        """(kind, layer) -> host (floats, counts) rows for every captured tensor; ``extra``
        travels with them to the ``reducer``."""
        keys: list[tuple[str, int]] = []
        tensors: list[torch.Tensor] = []
        segments: list[Segment] = []
        for i, capture in self.hooks.captures.items():
            a = capture.activation
            lo, hi = (a.lo, a.hi) if a is not None else (-math.inf, math.inf)
            sat_lo, sat_hi = a.saturation if a is not None else (-math.inf, math.inf)
            dead = a is not None and a.rule == "dead"
            if capture.fresh("act"):
                keys.append(("act", i))
                tensors.append(
                    units_first(capture.act, self.layers[i].kind) if dead else capture.act
                )
                segments.append(Segment(lo, hi, sat_lo, sat_hi, dead=dead))
            if capture.pre is not None and capture.fresh("pre"):
                keys.append(("pre", i))
                tensors.append(capture.pre)
                segments.append(Segment())
        if self.reducer is not None:
            return self.reducer(keys, tensors, segments, self.bins, extra or [])
        floats, counts = self.summarize(tensors, segments, self.bins)
        return dict(zip(keys, zip(floats, counts, strict=True), strict=True))


def units_first(t: torch.Tensor, kind: str) -> torch.Tensor:
    """``t`` with its units (features, or channels for a conv) on dimension 1, as the dead-unit
    rule reads them: (N, C, ...) for a conv, (samples, features) otherwise."""
    if kind == "conv" or t.dim() <= 2:
        return t
    return t.reshape(-1, t.shape[-1])


def _combined(norms: list[float]) -> float | None:
    """The norm of several tensors together, from their norms."""
    if not norms:
        return None
    if len(norms) == 1:
        return norms[0]
    return math.sqrt(math.fsum(n * n for n in norms))


__all__ = ["Probe", "units_first"]
