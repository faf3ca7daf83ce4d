"""`vgtui.watch()`: the probe around a user's own training loop, writing the run log (version 2).

    with vgtui.watch(model, log="runs/exp1.jsonl") as probe:
        for x, y in loader:
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            probe.step(loss)          # counts the step; records the loss and any other scalars

What a snapshot at step k holds, and where each number is read:

- Activations: the first forward pass after the previous ``probe.step()`` (with gradient
  accumulation, the first micro-batch); a forward with autograd on replaces one without, so an
  evaluation pass run after ``probe.step()`` does not count.
- Gradient norms: just before the optimizer steps (a global optimizer step pre-hook), so they are
  what the optimizer steps on: accumulated, synchronised by DDP, clipped if the loop clips,
  unscaled by a ``GradScaler``. The order of ``zero_grad()`` and ``probe.step()`` does not matter.
  Where no optimizer steps (a hand-written update, a skipped GradScaler step), they are read at
  ``probe.step()``: call it before ``zero_grad()`` then.
- Update ratios (the update's norm over the weight's): only with ``optimizer=``; the weights are
  copied just before that optimizer steps, on snapshot steps only.

Between snapshots no hook is registered and nothing is read from the device: ``probe.step()`` counts
and asks the pacer. A snapshot makes one host transfer for its norms and scalars (the activation
summaries add their own few). Under DDP every rank must call ``probe.step()`` each step; statistics
cover every rank's batch, the loss is the ranks' mean, and only rank 0 writes (each rank its own
file, with its own batch's statistics, when the path holds ``{rank}``).

``torch.compile``: pass the compiled model (or its original module, compiled in place) to
``watch()`` before its first compiled call. Its hooks then stay registered and switch on a flag,
so dynamo compiles two variants of the forward graph (armed, disarmed) and never recompiles after;
hooks added to a graph already traced are not run (dynamo does not notice them): such a run gets
a ``warning`` event and null activations, its gradient norms still right.

A `Watcher` is the probe (`vgtui.probe.probe`), the pacing policy (`vgtui.core.pacing`) and a
record sink (`vgtui.probe.sink`: the run log, or nothing).
"""

from __future__ import annotations

import atexit
import contextlib
import fnmatch
import math
import numbers
import sys
import time
from datetime import datetime, timezone
from typing import Any

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from vgtui.core.pacing import AUTO, Pacer
from vgtui.core.records import End, Event, Record, RunHeader, Snapshot
from vgtui.probe.discover import WatchedLayer, activation_modules, discover
from vgtui.probe.distributed import RankFailure, RankReducer, world
from vgtui.probe.probe import Probe
from vgtui.probe.sink import LogArg, open_sink, per_rank

FIELDS = ("accuracy", "lr", "val_loss", "val_accuracy")  # scalars with a field of their own
MAX_NAMES = 12  # names listed in the error for a `layers=` pattern that matches nothing


def unwrap(model: nn.Module) -> tuple[nn.Module, bool]:
    """The module to hook under DDP/DataParallel and ``torch.compile`` wrappers, and whether it
    runs compiled (hooks must then stay registered: see `vgtui.probe.hooks`)."""
    compiled = False
    while True:
        inner = getattr(model, "_orig_mod", None)  # torch.compile's OptimizedModule
        if isinstance(inner, nn.Module):
            model, compiled = inner, True
        elif isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        else:
            break
    return model, compiled or getattr(model, "_compiled_call_impl", None) is not None


def select(found: list[WatchedLayer], layers: str | list[str] | None) -> list[WatchedLayer]:
    """The layers whose names match any of ``layers`` (names or glob patterns)."""
    if layers is None:
        return found
    patterns = [layers] if isinstance(layers, str) else list(layers)
    if not patterns or not all(isinstance(p, str) for p in patterns):
        raise TypeError(f"layers= takes a name or glob pattern, or a list of them; got {layers!r}")
    names = [w.name for w in found]
    for pattern in patterns:
        if not fnmatch.filter(names, pattern):
            shown = ", ".join(names[:MAX_NAMES])
            more = f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else ""
            raise ValueError(f"layers={pattern!r} matches no layer; the layers are: {shown}{more}")
    return [w for w in found if any(fnmatch.fnmatchcase(w.name, p) for p in patterns)]


def _check_every(every: int | str) -> int | str:
    if every == AUTO or (isinstance(every, int) and not isinstance(every, bool) and every > 0):
        return every
    raise ValueError(f"every= takes a number of steps >= 1 or 'auto'; got {every!r}")


def _check_number(name: str, value: object) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok or (isinstance(value, torch.Tensor) and value.numel() == 1)
    if not ok:
        raise TypeError(f"probe.step(): {name} must be a number or a one-element tensor")


class Watcher:
    """What `watch` returns: call `step` once per optimizer step, then `close` (or use ``with``)."""

    def __init__(
        self,
        model: nn.Module,
        log: LogArg = None,
        every: int | str = AUTO,
        layers: str | list[str] | None = None,
        bins: int = 40,
        optimizer: torch.optim.Optimizer | None = None,
        preact: bool = False,
        overwrite: bool = False,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"vgtui.watch() needs a torch.nn.Module; got {type(model).__name__}")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer= takes a torch.optim.Optimizer; got {optimizer!r}")
        if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 10_000:
            raise ValueError(f"bins= takes a number of histogram bins in 1..10000; got {bins!r}")
        self.every = _check_every(every)
        self.model, compiled = unwrap(model)
        found = discover(self.model)
        if not found:
            raise ValueError(
                f"{type(self.model).__name__} has no trainable parameters to watch "
                "(none with requires_grad=True)"
            )
        chosen = select(found, layers)
        self.optimizer = optimizer
        self.rank, self.world_size = world()
        self.reducer = RankReducer() if self.world_size > 1 and not per_rank(log) else None
        self.sink = open_sink(log, self.rank, self.world_size, overwrite)  # before any hook
        self.probe = Probe(
            chosen,
            bins=bins,
            preact=preact,
            activation_modules=activation_modules(self.model),
            resident=compiled,
            on_error=self._hook_failed,
        )
        self.probe.reducer = self.reducer
        self._param_ids = {id(p) for p in self.probe.params}
        self.step_count = 0
        self.latest: Snapshot | None = None
        self.header = RunHeader(
            config=self._config(model, compiled),
            layers=self.probe.layer_infos(),
            started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            version=2,
        )
        self._write(self.header)
        self._started = time.perf_counter()
        self.pacer = Pacer(self.every)
        self._next_step = 1  # under DDP with "auto": the agreed next snapshot step
        self._last_snapshot = (0, self._started)
        self._spent = 0.0  # seconds spent on this snapshot before `_snapshot`
        self._handle: Any = None
        self._read = False  # the gradients of this step were read by the optimizer hook
        self._seen_optimizer: torch.optim.Optimizer | None = None
        self._abort_pending: BaseException | None = None
        self._diverged = False
        self._warned: set[str] = set()
        self._closed = False
        self._armed_step = self._due(1)
        if self._armed_step:
            self._arm()
        atexit.register(self._at_exit)  # a script that never closes still ends its log

    # -- set-up ----------------------------------------------------------------------------------

    def _config(self, model: nn.Module, compiled: bool) -> dict[str, Any]:
        first = next(iter(self.probe.params), None)
        opt = self.optimizer
        return {
            "source": "watch",
            "model": type(self.model).__name__,
            "parameters": sum(p.numel() for p in self.probe.params),
            "optimizer": type(opt).__name__ if opt is not None else None,
            "lr": _lr(opt),
            "every": self.every,
            "bins": self.probe.bins,
            "preact": self.probe.preact,
            "device": str(first.device) if first is not None else "cpu",
            "dtype": str(first.dtype).removeprefix("torch.") if first is not None else None,
            "world_size": self.world_size,
            "compiled": compiled,
            "wrapper": type(model).__name__ if model is not self.model else None,
        }

    # -- the step --------------------------------------------------------------------------------

    def step(self, loss: torch.Tensor | float | None = None, **scalars: Any) -> Snapshot | None:
        """Count one optimizer step; on a snapshot step, record it (and return the snapshot).

        ``loss`` and ``scalars`` (``accuracy=``, ``lr=``, ``val_loss=``, ``val_accuracy=`` have
        fields of their own; any other name goes to the snapshot's ``scalars``) are numbers or
        one-element tensors; they are read only on snapshot steps.
        """
        if self._closed:
            raise RuntimeError("vgtui.watch: step() after close()")
        self.step_count += 1
        snapshot = None
        if self._armed_step:
            if loss is not None:
                _check_number("loss", loss)
            for name, value in scalars.items():
                _check_number(name, value)
            snapshot = self._snapshot(loss, scalars)
        elif self._abort_pending is not None and self._due_ddp(self.step_count):
            self._abort()
        self._armed_step = not self.probe.failed and self._due(self.step_count + 1)
        if self._armed_step:
            self._arm()
        return snapshot

    def _due(self, step: int) -> bool:
        if self.reducer is not None and self.every == AUTO:
            return self._due_ddp(step)
        return self.pacer.due(step)

    def _due_ddp(self, step: int) -> bool:
        """Under DDP every rank must agree without talking: "auto" snapshots at the step agreed at
        the last snapshot (from the slowest rank's step time), a fixed ``every`` by its count."""
        if self.every == AUTO:
            return step == self._next_step
        return step == 1 or step % int(self.every) == 0

    def _arm(self) -> None:
        started = time.perf_counter()
        self._read = False
        self._seen_optimizer = None
        self.probe.arm()
        if self._handle is None:
            self._handle = register_optimizer_step_pre_hook(self._before_optimizer_step)
        self._spent = time.perf_counter() - started

    def _disarm(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _before_optimizer_step(self, optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        """Read the gradients that ``optimizer`` is about to step on (ours among them)."""
        started = time.perf_counter()
        try:
            if self.optimizer is not None and optimizer is not self.optimizer:
                return
            if not self.probe.captured and not self.probe.resident:
                return  # an optimizer step before this step's forward pass
            ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
            mine = ids & self._param_ids
            if not mine:
                return
            scale = getattr(optimizer, "grad_scale", None)  # GradScaler + a fused optimizer
            self.probe.read_grads(
                only=mine,
                keep_weights=optimizer is self.optimizer,
                scale=scale if isinstance(scale, torch.Tensor) else None,
            )
            self._read = True
            self._seen_optimizer = optimizer
            self._spent += time.perf_counter() - started
        except Exception as err:  # never break the user's training
            self.probe.fail(err)

    def _snapshot(
        self, loss: torch.Tensor | float | None, scalars: dict[str, Any]
    ) -> Snapshot | None:
        self._disarm()
        if self.probe.failed:  # in a hook during this step: the other ranks wait in phase 1
            self._abort()
            return None
        now = time.perf_counter()
        steps = self.step_count - self._last_snapshot[0]
        seconds_per_step = (now - self._last_snapshot[1]) / max(steps, 1)
        cost = self.pacer.cost or 0.0
        try:
            if self.reducer is not None:
                self.reducer.begin()
            if not self._read:  # no optimizer stepped: the gradients as they are now
                self.probe.read_grads(keep_weights=False)
            names = [n for n in scalars if n not in FIELDS]
            extra = [
                _detached(loss if loss is not None else math.nan),
                *(_detached(scalars[n]) for n in (*FIELDS, *names) if n in scalars),
                seconds_per_step,
                cost,
            ]
            captured = self.probe.captured
            layers, values = self.probe.finish(extra)
            if self.probe.resident and not captured:
                self._warn_once(
                    "no activation seen: the compiled graph was traced before vgtui.watch() added "
                    "its hooks; call vgtui.watch() before the model's first compiled call"
                )
            given = dict(
                zip((n for n in (*FIELDS, *names) if n in scalars), values[1:-2], strict=True)
            )
            loss_value = values[0] if loss is not None else None
            if self.reducer is not None:
                loss_value = self._agree(loss_value)
            snapshot = Snapshot(
                step=self.step_count,
                loss=loss_value,
                accuracy=given.get("accuracy"),
                lr=given.get("lr", _lr(self.optimizer or self._seen_optimizer)),
                elapsed_s=time.perf_counter() - self._started,
                layers=layers,
                val_loss=given.get("val_loss"),
                val_accuracy=given.get("val_accuracy"),
                scalars={n: given[n] for n in names} or None,
            )
            self.latest = snapshot
            self._write(snapshot)
            self._check_diverged(snapshot)
            self._paced(now)
            return snapshot
        except Exception as err:  # never break the user's training
            self.probe.fail(err)
            if self.reducer is not None and self.reducer.phase == 0:
                self._abort()  # before this snapshot's first collective: join it now
            return None

    def _paced(self, started: float) -> None:
        """The pacer observes this snapshot's cost: arming the hooks, reading the gradients and
        the snapshot itself (not the first snapshot's, which pays one-time costs)."""
        done = time.perf_counter()
        if self._last_snapshot[0] > 0:
            self.pacer.observe(done - started + self._spent)
        self._last_snapshot = (self.step_count, done)

    def _agree(self, loss: float | None) -> float | None:
        """After the reduction: the ranks' mean loss, and the next "auto" snapshot step (the
        pacer's, from the slowest rank's step time and the costliest snapshot, so that every rank
        computes the same)."""
        extras = self.reducer.extras
        slowest = max(e[-2] for e in extras)
        self._next_step = self.step_count + self.pacer.steps_apart(
            slowest, max(e[-1] for e in extras)
        )
        if loss is None:
            return None
        return math.fsum(e[0] for e in extras) / len(extras)

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self._event("warning", message)

    def _check_diverged(self, snapshot: Snapshot) -> None:
        if self._diverged or snapshot.loss is None or math.isfinite(snapshot.loss):
            return
        self._diverged = True
        where = next(
            (x.name for x in snapshot.layers if x.act is not None and x.act.hist.nonfinite),
            "the loss",
        )
        self._event(
            "diverged",
            f"loss became {snapshot.loss} at step {snapshot.step}; "
            f"first non-finite values in {where}",
        )

    # -- failures --------------------------------------------------------------------------------

    def _hook_failed(self, err: BaseException) -> None:
        """The probe failed (in a hook, or computing a snapshot): one `error` event, and the
        probe stays disarmed. Under DDP the other ranks are told at the next collective."""
        self._disarm()
        message = str(err) if isinstance(err, RankFailure) else f"{type(err).__name__}: {err}"
        self._event("error", f"vgtui probe stopped: {message}")
        if self.reducer is not None and not isinstance(err, RankFailure):
            self._abort_pending = err  # joined at this or the next snapshot's first collective

    def _abort(self) -> None:
        if self._abort_pending is not None and self.reducer is not None:
            self.reducer.abort(self._abort_pending)
        self._abort_pending = None

    def _event(self, kind: str, message: str) -> None:
        with contextlib.suppress(Exception):  # a log that cannot take the event takes no more
            self._write(Event(self.step_count, kind, message))

    def _write(self, record: Record) -> None:
        self.sink.write(record)

    # -- the end ---------------------------------------------------------------------------------

    def close(self, reason: str = "done") -> None:
        """Remove every hook and end the log with an `end` record. Calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._at_exit)
        self._disarm()
        self.probe.close()
        self._write(End(self.step_count, reason))
        self.sink.close()

    def _at_exit(self) -> None:
        """At interpreter exit, a watcher never closed ends its log as the script ended: "error"
        after an uncaught exception, "stopped" after Ctrl-C, else "done"."""
        died = getattr(sys, "last_type", None)
        reason = "done" if died is None else "stopped" if died is KeyboardInterrupt else "error"
        with contextlib.suppress(Exception):
            self.close(reason)

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        stopped = kind is not None and issubclass(kind, KeyboardInterrupt)
        self.close("done" if kind is None else "stopped" if stopped else "error")


def _detached(x: torch.Tensor | float) -> torch.Tensor | float:
    return x.detach() if isinstance(x, torch.Tensor) else float(x)


def _lr(optimizer: torch.optim.Optimizer | None) -> float:
    if optimizer is None or not optimizer.param_groups:
        return math.nan
    lr = optimizer.param_groups[0].get("lr", math.nan)
    return float(lr.item() if isinstance(lr, torch.Tensor) else lr)


def watch(
    model: nn.Module,
    log: LogArg = None,
    every: int | str = AUTO,
    layers: str | list[str] | None = None,
    bins: int = 40,
    optimizer: torch.optim.Optimizer | None = None,
    preact: bool = False,
    overwrite: bool = False,
) -> Watcher:
    """Watch ``model`` in your own training loop; see the module docstring for what is read where.

    ``log``: the run log path (``{rank}`` in it: one file per rank), an open text file, or None
    (keep only ``.latest``). ``every``: ``"auto"`` (paced for a live view: at most about 12
    snapshots a second, fewer where they would take more than `AUTO_SHARE` of the time:
    `vgtui.core.pacing`) or a fixed number of steps. ``layers``: names or glob patterns of the
    modules to watch (default: every module that owns trainable parameters). ``optimizer``: also
    report its learning rate and each parameter's update-to-weight ratio. ``preact``: also
    summarise the input of each folded activation. ``overwrite``: replace an earlier run's log at
    ``log``, instead of writing beside it (``exp.2.jsonl``, said in a `UserWarning`). A watcher
    never closed is closed when the interpreter exits.
    """
    return Watcher(model, log, every, layers, bins, optimizer, preact, overwrite)


__all__ = ["Watcher", "select", "unwrap", "watch"]
