"""Activation statistics over every rank's batch: the probe's summaries, reduced exactly.

Under ``torch.distributed`` each rank sees its own slice of the batch. `RankReducer` replaces the
probe's local summaries with statistics of the whole batch, in two small collectives per
snapshot (``all_gather_object`` on the job's own process group):

1. every rank's finite extremes of each captured tensor (and, for a dead-unit rule, which units
   were non-zero): the global min and max, hence one histogram range that every rank shares;
2. every rank's summary over that range: counts are summed (bins, below, above, non-finite,
   saturated), means and variances combined exactly (Chan et al.'s parallel formula), a unit is
   dead when it is zero on every rank.

Each phase also carries a failure flag, so that a failure on one rank ends the probe on every rank
at the same collective instead of leaving the others waiting in it.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist

from vgtui.probe.stats import DEAD, SAT, Segment, summarize_chunked, value_range

Key = tuple[str, int]


class RankFailure(RuntimeError):
    """The probe failed on some rank; every rank stops probing."""


def world() -> tuple[int, int]:
    """(rank, world size) of the default process group; (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _extremes(tensors: list[torch.Tensor]) -> list[tuple[float, float]]:
    """Each tensor's finite min and max (inf, -inf where none is finite), in one transfer."""
    if not tensors:
        return []
    pairs = []
    for t in tensors:
        x = t.detach().float().reshape(-1)
        finite = torch.isfinite(x)
        pairs.append(torch.where(finite, x, math.inf).amin())
        pairs.append(torch.where(finite, x, -math.inf).amax())
    values = torch.stack([p.to(pairs[0].device) for p in pairs]).tolist()
    return list(zip(values[::2], values[1::2], strict=True))


def _alive(t: torch.Tensor) -> list[bool]:
    """Per unit (dimension 1), whether any sample is non-zero (NaN counts as non-zero)."""
    x = t.detach().float()
    x = x.reshape(x.shape[0], x.shape[1], -1)
    return (torch.nan_to_num(x, nan=1.0).abs().amax(dim=(0, 2)) > 0).tolist()


def combine(parts: list[tuple[int, list[float], list[int]]]) -> tuple[list[float], list[int]]:
    """One row from several ranks' rows over the same range: ``(size, floats, counts)`` each.

    Counts add up; mean and (population) variance over the finite values combine exactly; the
    saturated fraction is weighted by size. Extremes and the dead fraction are set by the caller.
    """
    counts = [sum(c) for c in zip(*(p[2] for p in parts), strict=True)]
    finite = [(size - p_counts[-1], f) for size, f, p_counts in parts if size - p_counts[-1] > 0]
    n = sum(k for k, _ in finite)
    if n:
        mean = math.fsum(k * f[0] for k, f in finite) / n
        var = math.fsum(k * (f[1] ** 2 + (f[0] - mean) ** 2) for k, f in finite) / n
        std = math.sqrt(max(var, 0.0))
    else:
        mean = std = math.nan
    size = sum(p[0] for p in parts)
    sats = [p[1][SAT] * p[0] for p in parts]
    sat = math.fsum(sats) / size if size and not any(map(math.isnan, sats)) else math.nan
    lo, hi = parts[0][1][4], parts[0][1][5]
    return [mean, std, math.nan, math.nan, lo, hi, sat, math.nan], counts


@dataclass
class RankReducer:
    """The probe's ``reducer``: call it with the captured tensors, get whole-batch rows back.

    ``extra`` values given to a call travel with phase 1; ``extras`` holds every rank's afterwards
    (the watch uses them for the mean loss and the pacing). ``phase`` tells a caller that failed
    whether the other ranks still wait for it in this snapshot's first collective (0, set by
    `begin`), or have passed both (2).
    """

    group: Any = None
    extras: list[list[float]] = field(default_factory=list)
    phase: int = 0

    def begin(self) -> None:
        self.phase = 0

    def _gather(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[Any] = [None] * dist.get_world_size(self.group)
        dist.all_gather_object(out, payload, group=self.group)
        failed = [(r, p["error"]) for r, p in enumerate(out) if p["error"]]
        if failed:
            raise RankFailure("; ".join(f"rank {r}: {e}" for r, e in failed))
        return out

    def abort(self, error: BaseException) -> None:
        """Join this snapshot's pending collective with a failure, so that every rank stops."""
        payload = {"error": f"{type(error).__name__}: {error}", "extremes": {}, "extra": []}
        self.phase = 2
        with contextlib.suppress(RankFailure):  # it is this rank's own failure
            self._gather(payload)

    def __call__(
        self,
        keys: list[Key],
        tensors: list[torch.Tensor],
        segments: list[Segment],
        bins: int,
        extra: list[float] | None = None,
    ) -> dict[Key, tuple[list[float], list[int]]]:
        payload: dict[str, Any] = {"error": None, "extremes": {}, "extra": list(extra or [])}
        try:
            ext = _extremes(tensors)
            payload["extremes"] = {
                key: (lo, hi, t.numel(), _alive(t) if seg.dead and t.dim() >= 2 else None)
                for key, t, seg, (lo, hi) in zip(keys, tensors, segments, ext, strict=True)
            }
        except Exception as err:
            payload["error"] = f"{type(err).__name__}: {err}"
        self.phase = 1
        first = self._gather(payload)
        self.extras = [p["extra"] for p in first]
        order: dict[Key, None] = {}
        for p in first:
            order.update(dict.fromkeys(p["extremes"]))
        bounds: dict[Key, tuple[float, float]] = {}
        alive: dict[Key, list[bool]] = {}
        for key in order:
            seen = [p["extremes"][key] for p in first if key in p["extremes"]]
            bounds[key] = (min(s[0] for s in seen), max(s[1] for s in seen))
            masks = [s[3] for s in seen if s[3] is not None]
            if masks:
                alive[key] = [any(units) for units in zip(*masks, strict=True)]
        payload = {"error": None, "rows": {}}
        try:
            shared = []
            for key, seg in zip(keys, segments, strict=True):
                lo, hi = value_range(seg, *bounds[key])  # what one process would pick
                shared.append(Segment(lo, hi, seg.sat_lo, seg.sat_hi))
            floats, counts = summarize_chunked(tensors, shared, bins)
            payload["rows"] = {
                key: (t.numel(), f, c)
                for key, t, f, c in zip(keys, tensors, floats, counts, strict=True)
            }
        except Exception as err:
            payload["error"] = f"{type(err).__name__}: {err}"
        second = self._gather(payload)
        self.phase = 2
        rows: dict[Key, tuple[list[float], list[int]]] = {}
        for key in order:
            parts = [p["rows"][key] for p in second if key in p["rows"]]
            floats_row, counts_row = combine(parts)
            vmin, vmax = bounds[key]
            finite = math.isfinite(vmin)
            floats_row[2], floats_row[3] = (vmin, vmax) if finite else (math.nan, math.nan)
            if key in alive:
                units = alive[key]
                floats_row[DEAD] = sum(not u for u in units) / len(units) if units else math.nan
            rows[key] = (floats_row, counts_row)
        return rows


__all__ = ["RankFailure", "RankReducer", "combine", "world"]
