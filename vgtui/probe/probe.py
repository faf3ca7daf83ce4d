"""Per-layer statistics of any ``nn.Module``, gathered by hooks on snapshot steps only.

Use it in three calls around a training step::

    probe.arm()                 # before forward: hooks capture activations (no copy, no sync)
    loss.backward()
    probe.read_grads()          # where the gradients are final (before zeroing or clipping)
    optimizer.step()
    layers = probe.collect()    # after the step: summaries on the device, then one host transfer

Between snapshots no hook is registered, so the probe costs nothing. (`resident=True`, for a
``torch.compile``d model, keeps the hooks registered and switches them with a flag instead:
registering hooks after compilation makes dynamo recompile, and re-registered hooks are silently
skipped by the cached graph.)

A watched layer is a module that owns trainable parameters. Its activation is its own output (the
first tensor of a tuple, so a recurrent layer reports its output sequence and an attention its
attended values), unless a recognised activation module (`factories.MODULE_ACTIVATIONS`) takes that
very tensor as its input in the same forward pass: then the activation's output is the layer's
``act`` and the layer's output its ``preact``. The pairing is found at run time by tensor identity,
so a shared ``nn.ReLU`` or an unusual registration order is paired right. A layer whose forward
did not run as a module call (attention's ``out_proj``, applied functionally), or whose output was
then changed in place (``x += skip``), has no activation (``act`` None, never NaN statistics).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vgtui.core.activations import Activation
from vgtui.core.records import LayerInfo, LayerStats, ParamInfo, ParamStats
from vgtui.probe.stats import DEAD, SAT, Rows, Segment, summarize_many, unpack
from vgtui.trainer.factories import activation_of

CHUNK = 1 << 22  # values summarised per pass: bounds the temporaries for big layers

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
KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
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


def kind_of(module: nn.Module) -> str:
    return next((k for t, k in KINDS if isinstance(module, t)), type(module).__name__.lower())


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
class Watch:
    """One watched layer: the module holding the parameters, and where its activation is read.

    ``act_module``'s forward output is the layer's activation and its input the pre-activation;
    when ``act_module`` is the layer itself, its output is the activation and there is no separate
    pre-activation. With ``fold``, ``act_module`` is only a guess from registration order: the
    probe pairs the layer with its activation at run time (see the module docstring).
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


def discover(model: nn.Module) -> list[Watch]:
    """A watch for every module that owns trainable parameters, in registration order.

    Each lists its own trainable parameters by qualified name; a parameter shared by several
    modules is listed under the first. ``act_module`` starts as the first recognised activation
    module registered after the layer and before the next one (the run-time pairing decides).
    """
    watches: list[Watch] = []
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
            watches.append(Watch(name or "model", module, module, None, kind, params, fold=True))
        elif watches and watches[-1].act_module is watches[-1].layer:
            act = activation_of(module)
            if act is not None:
                watches[-1].act_module = module
                watches[-1].activation = act
    return watches


@dataclass(frozen=True)
class _Item:
    """A tensor whose norms are reported: a parameter, or one slice of a packed one."""

    watch: int
    name: str | None  # qualified name (with a ``[label]`` suffix for a slice); None: not listed
    param: nn.Parameter
    part: int = 0
    parts: int = 1
    main: bool = True  # counts towards the layer's own grad_norm / weight_norm / update_ratio

    def view(self, t: torch.Tensor) -> torch.Tensor:
        return t if self.parts == 1 else t.chunk(self.parts)[self.part]


def _items(watches: list[Watch]) -> list[_Item]:
    items: list[_Item] = []
    for i, w in enumerate(watches):
        main = w.weight
        if w.params is None:
            items.append(_Item(i, None, w.layer.weight))
            continue
        named = {id(p) for _, p in w.params}
        if main is not None and id(main) not in named:  # a weight listed under another module
            items.append(_Item(i, None, main))
        for name, p in w.params:
            items.append(_Item(i, name, p, main=main is None or p is main))
            labels = slices_of(w.layer, name.rsplit(".", 1)[-1])
            for part, label in enumerate(labels):
                items.append(_Item(i, f"{name}[{label}]", p, part, len(labels), main=False))
    return items


def _first_tensor(x: object) -> torch.Tensor | None:
    """A module output's activation: the tensor itself, or the first element of a tuple/list
    (recurrent layers: the output sequence; a PackedSequence: its data)."""
    while isinstance(x, (tuple, list)) and x:
        x = x[0]
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return x
    return None


def _version(t: torch.Tensor) -> int:
    try:
        return t._version
    except RuntimeError:  # inference-mode tensors have no version counter
        return -1


def _key(t: torch.Tensor) -> tuple[int, tuple[int, ...]]:
    return t.data_ptr(), tuple(t.shape)


@dataclass
class _Capture:
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


Reducer = Callable[
    [list[tuple[str, int]], list[torch.Tensor], list[Segment], int, list[float]], dict
]


class Probe:
    """Hooks on a model's watched layers; see the module docstring for the protocol.

    ``on_error``: where a failure inside a hook goes (the probe disarms itself); None raises it.
    ``reducer``: combines the activation summaries across processes (`vgtui.probe.distributed`).
    """

    def __init__(
        self,
        watches: list[Watch],
        bins: int = 40,
        preact: bool = True,
        activation_modules: Sequence[nn.Module] | None = None,
        resident: bool = False,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.watches = watches
        self.bins = bins
        self.preact = preact
        self.resident = resident
        self.on_error = on_error
        self.reducer: Reducer | None = None
        if activation_modules is None:
            activation_modules = [w.act_module for w in watches if w.fold and w.has_preact]
        self._fold_modules = {
            id(m): (m, activation_of(m)) for m in activation_modules if activation_of(m)
        }
        self._items = _items(watches)
        self._mine: list[list[int]] = [[] for _ in watches]
        for k, it in enumerate(self._items):
            self._mine[it.watch].append(k)
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._armed = False
        self._acts: dict[int, _Capture] = {}
        self._outputs: dict[tuple[int, tuple[int, ...]], int] = {}
        self._grads: dict[int, torch.Tensor] = {}
        self._before: dict[int, torch.Tensor] = {}
        # The weight copies' storage on a CPU, reused from snapshot to snapshot: there a fresh
        # copy of a large model costs more in allocation (page faults) than in copying. On an
        # accelerator the caching allocator makes a fresh copy cheap, and holding one between
        # snapshots would take memory from training.
        self._spare: dict[int, torch.Tensor] = {}
        # Every distinct parameter by id (the items are fixed for the probe's life).
        self._by_id = {id(it.param): it.param for it in self._items}
        self.failed = False
        if resident:
            self._register()

    @classmethod
    def for_model(cls, model: nn.Module, bins: int = 40, **kwargs) -> Probe:
        return cls(discover(model), bins, activation_modules=activation_modules(model), **kwargs)

    def layer_infos(self) -> list[LayerInfo]:
        return [w.info() for w in self.watches]

    @property
    def params(self) -> list[nn.Parameter]:
        """Every distinct parameter whose norms the probe reports."""
        return list(self._by_id.values())

    # -- hooks ---------------------------------------------------------------------------------

    def arm(self) -> None:
        """Capture the next forward pass."""
        self._acts.clear()
        self._outputs.clear()
        self._grads.clear()
        self._before.clear()
        if self.failed:
            return
        if not self.resident:
            self.disarm()
            self._register()
        self._armed = True

    def disarm(self) -> None:
        self._armed = False
        if not self.resident:
            self._remove()

    def close(self) -> None:
        """Remove every hook (resident ones too), and free the weight copies."""
        self._armed = False
        self._remove()
        self._before.clear()
        self._spare.clear()

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _register(self) -> None:
        for i, w in enumerate(self.watches):
            if self.resident:
                hook = self._resident_hook(i, w)
            elif w.fold:
                hook = self._layer_hook(i)
            else:
                hook = self._act_hook(i, w)
            module = w.layer if w.fold and not self.resident else w.act_module
            self._handles.append(module.register_forward_hook(hook))
        if not self.resident and any(w.fold for w in self.watches):
            for module, activation in self._fold_modules.values():
                self._handles.append(module.register_forward_hook(self._fold_hook(activation)))

    def _guarded(self, body: Callable) -> Callable:
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            try:
                body(inputs, output)
            except Exception as err:  # never break the user's forward pass
                self.fail(err)

        return hook

    def fail(self, err: BaseException) -> None:
        """A failure in the probe's own work: disarm for good, and report it (or raise it)."""
        self.failed = True
        self.close()
        self._acts.clear()
        if self.on_error is None:
            raise err
        self.on_error(err)

    def _wanted(self, i: int) -> bool:
        """The first forward after arming counts, except that one with autograd on replaces one
        without (an evaluation pass run between the steps)."""
        have = self._acts.get(i)
        return have is None or (not have.grad and torch.is_grad_enabled())

    def _keep(self, i: int, capture: _Capture) -> None:
        self._acts[i] = capture

    def _act_hook(self, i: int, w: Watch) -> Callable:
        keep_pre = self.preact and w.has_preact

        def body(inputs: tuple, output: object) -> None:
            act = _first_tensor(output)
            if act is None or not self._wanted(i):
                return
            pre = inputs[0] if keep_pre and inputs and torch.is_tensor(inputs[0]) else None
            versions = (_version(act), _version(pre) if pre is not None else -1)
            pre = pre.detach() if pre is not None else None
            grad = torch.is_grad_enabled()
            self._keep(i, _Capture(act.detach(), pre, w.activation, grad, versions))

        return self._guarded(body)

    def _layer_hook(self, i: int) -> Callable:
        def body(inputs: tuple, output: object) -> None:
            out = _first_tensor(output)
            if out is None or not self._wanted(i):
                return
            self._outputs = {k: j for k, j in self._outputs.items() if j != i}
            self._outputs[_key(out)] = i
            grad = torch.is_grad_enabled()
            self._keep(i, _Capture(out.detach(), None, None, grad, (_version(out), -1)))

        return self._guarded(body)

    def _fold_hook(self, activation: Activation) -> Callable:
        def body(inputs: tuple, output: object) -> None:
            if not inputs or not torch.is_tensor(inputs[0]):
                return
            i = self._outputs.pop(_key(inputs[0]), None)
            act = _first_tensor(output)
            if i is None or act is None:
                return
            out = self._acts[i]
            pre, pre_version = (out.act, out.versions[0]) if self.preact else (None, -1)
            versions = (_version(act), pre_version)
            self._acts[i] = _Capture(act.detach(), pre, activation, out.grad, versions)

        return self._guarded(body)

    def _resident_hook(self, i: int, w: Watch) -> Callable:
        """Always registered; does nothing unless armed. Kept simple enough for dynamo to trace
        (the pairing is the registration-order guess, no in-place check)."""
        keep_pre = self.preact and w.has_preact

        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            if self._armed and i not in self._acts:
                act = _first_tensor(output)
                if act is not None:
                    pre = inputs[0].detach() if keep_pre and torch.is_tensor(inputs[0]) else None
                    grad = torch.is_grad_enabled()
                    self._acts[i] = _Capture(act.detach(), pre, w.activation, grad)

        return hook

    # -- gradients and the snapshot --------------------------------------------------------------

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
            for k, it in enumerate(self._items)
            if it.param.grad is not None and (only is None or id(it.param) in only)
        ]
        grads = [self._items[k].view(self._items[k].param.grad) for k in chosen]
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

    @property
    def captured(self) -> bool:
        """Whether a forward pass has been captured since `arm`."""
        return bool(self._acts)

    def collect(self) -> list[LayerStats]:
        """Finish the snapshot (after the optimizer step) and move its numbers to the host."""
        return self.finish()[0]

    def finish(
        self, extra: Sequence[torch.Tensor | float] = ()
    ) -> tuple[list[LayerStats], list[float]]:
        """`collect`, and the host values of ``extra`` (scalar tensors, or numbers that are passed
        through) from the same transfer.

        Every layer's activations and pre-activations are summarised together (`summarize_many`),
        in chunks of at most `CHUNK` values; the norms (gradients, weights, the last update's)
        and ``extra`` cross to the host in one transfer.
        """
        self.disarm()
        items = self._items
        moved = [k for k, it in enumerate(items) if id(it.param) in self._before]
        weights = [it.view(it.param.detach()) for it in items]
        deltas = []
        if moved:  # the copies become the update (before - after) in place: no new storage
            torch._foreach_sub_(
                list(self._before.values()), [self._by_id[key].detach() for key in self._before]
            )
            before = [items[k].view(self._before[id(items[k].param)]) for k in moved]
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
            self._layer_stats(i, w, rows, grad, weight, delta) for i, w in enumerate(self.watches)
        ]
        self._acts.clear()
        self._outputs.clear()
        self._grads.clear()
        self._before.clear()
        return layers, extra_values

    def _layer_stats(
        self,
        i: int,
        w: Watch,
        rows: dict[tuple[str, int], tuple[list[float], list[int]]],
        grad: dict[int, float],
        weight: list[float],
        delta: dict[int, float],
    ) -> LayerStats:
        mine = self._mine[i]
        main = [k for k in mine if self._items[k].main]
        act = rows.get(("act", i))
        capture = self._acts.get(i)
        activation = capture.activation if capture is not None else None
        rule = activation.rule if activation is not None else None
        w_norm = _combined([weight[k] for k in main])
        g = [grad[k] for k in main if k in grad]
        d = [delta[k] for k in main if k in delta]
        params = None
        if w.params is not None:
            params = [
                ParamStats(
                    self._items[k].name or "",
                    grad.get(k),
                    weight[k],
                    delta[k] / weight[k] if k in delta and weight[k] else None,
                )
                for k in mine
                if self._items[k].name is not None
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

    def _summaries(
        self, extra: list[float] | None = None
    ) -> dict[tuple[str, int], tuple[list[float], list[int]]]:
        """(kind, layer) -> host (floats, counts) rows for every captured tensor; ``extra``
        travels with them to the ``reducer``."""
        keys: list[tuple[str, int]] = []
        tensors: list[torch.Tensor] = []
        segments: list[Segment] = []
        for i, capture in self._acts.items():
            a = capture.activation
            lo, hi = (a.lo, a.hi) if a is not None else (-math.inf, math.inf)
            sat_lo, sat_hi = a.saturation if a is not None else (-math.inf, math.inf)
            dead = a is not None and a.rule == "dead"
            if capture.fresh("act"):
                keys.append(("act", i))
                tensors.append(
                    units_first(capture.act, self.watches[i].kind) if dead else capture.act
                )
                segments.append(Segment(lo, hi, sat_lo, sat_hi, dead=dead))
            if capture.pre is not None and capture.fresh("pre"):
                keys.append(("pre", i))
                tensors.append(capture.pre)
                segments.append(Segment())
        if self.reducer is not None:
            return self.reducer(keys, tensors, segments, self.bins, extra or [])
        floats, counts = summarize_chunked(tensors, segments, self.bins)
        return dict(zip(keys, zip(floats, counts, strict=True), strict=True))


def units_first(t: torch.Tensor, kind: str) -> torch.Tensor:
    """``t`` with its units (features, or channels for a conv) on dimension 1, as the dead-unit
    rule reads them: (N, C, ...) for a conv, (samples, features) otherwise."""
    if kind == "conv" or t.dim() <= 2:
        return t
    return t.reshape(-1, t.shape[-1])


def summarize_chunked(tensors: list[torch.Tensor], segments: list[Segment], bins: int) -> Rows:
    """`summarize_many` in chunks of at most `CHUNK` values (bounds the temporary memory)."""
    floats: list[list[float]] = []
    counts: list[list[int]] = []
    start = 0
    while start < len(tensors):
        end, size = start, 0
        while end < len(tensors) and (end == start or size + tensors[end].numel() <= CHUNK):
            size += tensors[end].numel()
            end += 1
        f, c = summarize_many(tensors[start:end], segments[start:end], bins)
        floats += f
        counts += c
        start = end
    return floats, counts


def _combined(norms: list[float]) -> float | None:
    """The norm of several tensors together, from their norms."""
    if not norms:
        return None
    if len(norms) == 1:
        return norms[0]
    return math.sqrt(math.fsum(n * n for n in norms))


__all__ = ["KINDS", "Probe", "Watch", "activation_modules", "discover", "kind_of", "slices_of"]
