"""Tensor statistics computed on the tensors' own device, many tensors in one pass.

`summarize_many` flattens a list of tensors into one and reduces each tensor (a *segment*) with
segmented ops (`bincount`, `scatter_reduce`), so a snapshot of any number of layers costs a fixed
few dozen kernel launches rather than a dozen per layer. It returns two small device tensors;
`unpack` turns one row of them, once on the host, into a `Stats`. Only O(layers x bins) numbers
cross to the host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from vgtui.engine.records import Hist, Stats

INF = math.inf
N_FLOATS = 6  # mean, std, min, max, lo, hi: what `unpack` reads
SAT, DEAD = 6, 7  # the two rule columns that follow them
N_EXTRA = 3  # below, above, nonfinite follow the bin counts


@dataclass(frozen=True)
class Segment:
    """How one tensor is summarised.

    ``lo``/``hi``: the histogram range; an infinite bound adapts to the values (see
    `summarize_many`). Values below ``sat_lo`` or above ``sat_hi`` count as saturated. With
    ``dead``, dimension 1 of the tensor is its units (features or channels) and the fraction of
    units that are zero for every sample is computed.
    """

    lo: float = -INF
    hi: float = INF
    sat_lo: float = -INF
    sat_hi: float = INF
    dead: bool = False


BIG = torch.finfo(torch.float32).max  # stands in for non-finite values while reducing


def nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= x (1 where x is 0 or not finite)."""
    if not math.isfinite(x) or x <= 0:
        return 1.0
    e = 10.0 ** math.floor(math.log10(x))
    m = x / e
    return (1.0 if m <= 1 else 2.0 if m <= 2 else 5.0 if m <= 5 else 10.0) * e


Rows = tuple[list[list[float]], list[list[int]]]


def summarize_many(tensors: list[torch.Tensor], segments: list[Segment], bins: int) -> Rows:
    """Statistics of each tensor (all on one device), as host lists, one row per tensor.

    ``floats`` rows are ``[mean, std, min, max, lo, hi, sat_frac, dead_frac]`` (std over the
    population; mean, std, min and max over the finite values; NaN where they do not apply) and
    ``counts`` rows are ``[bin counts..., below, above, nonfinite]``, which add up to the
    tensor's size. An infinite ``lo``/``hi`` becomes -/+ `nice_ceil` of the largest finite
    magnitude, so an unbounded activation gets a symmetric range (or [lo, R] when only ``lo`` is
    finite).

    Tensors of the same shape and segment are stacked and reduced row-wise together: a snapshot
    costs a couple of dozen kernels per group, whatever the number of layers.
    """
    groups: dict[tuple, list[int]] = {}
    for i, (t, segment) in enumerate(zip(tensors, segments, strict=True)):
        groups.setdefault((tuple(t.shape), segment), []).append(i)
    floats: list[list[float]] = [[] for _ in tensors]
    counts: list[list[int]] = [[] for _ in tensors]
    for (_shape, segment), members in groups.items():
        rows = _summarize_rows(torch.stack([tensors[i] for i in members]), segment, bins)
        for i, f, c in zip(members, *rows, strict=True):
            floats[i], counts[i] = f, c
    return floats, counts


def _count_above(x: torch.Tensor, threshold: torch.Tensor | float) -> torch.Tensor:
    """Per row, how many values exceed ``threshold`` (relu/sign/sum: much faster on CPU than a
    comparison and a boolean sum; exact, since the counts are far below 2^24)."""
    return (x - threshold).relu_().sign_().sum(dim=1)


@lru_cache(maxsize=32)
def _slot_offsets(rows: int, bins: int, device: torch.device) -> torch.Tensor:
    """Row r's histogram slots start at r * (bins + 1); slot 0 of each row holds "below"."""
    return torch.arange(rows, device=device, dtype=torch.int32)[:, None] * (bins + 1) + 1


def _summarize_rows(x: torch.Tensor, segment: Segment, bins: int) -> Rows:
    """`summarize_many` for the rows of ``x`` (rows, *shape), which share one segment.

    The extremes and sums are read to the host first (one small transfer): they fix each row's
    range, and they tell which counts can be non-zero, so that work is skipped. Non-finite values
    (a diverging run) are replaced by -/+BIG with `nan_to_num` and taken back out of the sums,
    extremes and counts they fell into.
    """
    rows, device = x.shape[0], x.device
    full = x.detach().float()
    x = full.reshape(rows, -1)
    size = x.shape[1]
    mins, maxs, sums = torch.stack([x.amin(dim=1), x.amax(dim=1), x.sum(dim=1)]).tolist()
    low = zeroed = high = x
    nonfinite = [0] * rows
    if not all(map(math.isfinite, sums)):
        low = torch.nan_to_num(x, nan=-BIG, posinf=-BIG, neginf=-BIG)  # non-finite at the bottom
        zeroed = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        high = torch.nan_to_num(x, nan=BIG, posinf=BIG, neginf=BIG)
        head = torch.stack(
            [high.amin(dim=1), low.amax(dim=1), zeroed.sum(dim=1), _count_above(-low, BIG / 2)]
        )
        mins, maxs, sums, nonfinite = head.tolist()
        nonfinite = [int(n) for n in nonfinite]
        mins = [math.nan if n == size else v for v, n in zip(mins, nonfinite, strict=True)]
        maxs = [math.nan if n == size else v for v, n in zip(maxs, nonfinite, strict=True)]
    n = [max(size - k, 1) for k in nonfinite]
    means = [s / k for s, k in zip(sums, n, strict=True)]
    los, his = [], []
    for vmin, vmax in zip(mins, maxs, strict=True):
        span = nice_ceil(max(abs(vmin), abs(vmax)) if math.isfinite(vmin) else 0.0)
        lo = -span if math.isinf(segment.lo) else segment.lo
        hi = span if math.isinf(segment.hi) else max(segment.hi, lo + 1e-12)
        los.append(lo)
        his.append(hi)
    lo_t, hi_t, scale_t, mean_t = torch.tensor(
        [los, his, [bins / (h - lo) for lo, h in zip(los, his, strict=True)], means],
        device=device,
    )[:, :, None]
    centred = zeroed - mean_t
    # Per-row numbers still wanted from the device, by name; only those that can be non-zero.
    wanted = {"squares": (centred * centred).sum(dim=1)}
    # slot 0: below (non-finite values too, at -BIG); 1..bins: the bins, values past hi included.
    slot = ((low - lo_t) * scale_t).clamp_(-1, bins - 0.5).floor_().int()
    slot += _slot_offsets(rows, bins, device)
    hist = torch.bincount(slot.reshape(-1), minlength=rows * (bins + 1))
    top = max((v for v in maxs if math.isfinite(v)), default=-INF)
    bottom = min((v for v in mins if math.isfinite(v)), default=INF)
    if any(v > h for v, h in zip(maxs, his, strict=True)):
        wanted["above"] = _count_above(low, hi_t)  # exactly x > hi; all of them are in the last bin
    if top > segment.sat_hi:
        wanted["sat_hi"] = _count_above(low, segment.sat_hi)
    if bottom < segment.sat_lo:
        wanted["sat_lo"] = _count_above(-high, -segment.sat_lo)
    if segment.dead and full.dim() > 2 and bottom <= 0:  # dead: zero for every sample (not NaN)
        per_unit = full.reshape(rows, full.shape[1], full.shape[2], -1)
        if low is not x:
            per_unit = torch.nan_to_num(per_unit, nan=1.0)
        wanted["dead"] = (per_unit.abs().amax(dim=(1, 3)) == 0).float().mean(dim=1)
    got = dict(zip(wanted, torch.stack(list(wanted.values())).tolist(), strict=True))
    zeros = [0.0] * rows
    above = [int(v) for v in got.get("above", zeros)]
    sat_rule = segment.sat_lo > -INF or segment.sat_hi < INF
    dead_rule = segment.dead and full.dim() > 2
    floats, counts = [], []
    for r, row in enumerate(hist.reshape(rows, bins + 1).tolist()):
        k = nonfinite[r]
        var = (got["squares"][r] - k * means[r] ** 2) / n[r]
        sat = (got.get("sat_hi", zeros)[r] + got.get("sat_lo", zeros)[r]) / size
        floats.append(
            [
                means[r] if k < size else math.nan,
                math.sqrt(max(var, 0.0)) if k < size else math.nan,
                mins[r],
                maxs[r],
                los[r],
                his[r],
                sat if sat_rule else math.nan,
                got.get("dead", zeros)[r] if dead_rule else math.nan,
            ]
        )
        below = row[0] - k
        bins_row = row[1:]
        bins_row[-1] -= above[r]
        counts.append([*bins_row, below, above[r], k])
    return floats, counts


def summarize(x: torch.Tensor, lo: float, hi: float, bins: int) -> Rows:
    """`summarize_many` over the rows of ``x`` (a 1-D tensor is one row), all with one range."""
    x = x.reshape(1, -1) if x.dim() != 2 else x
    return summarize_many(list(x), [Segment(lo, hi)] * x.shape[0], bins)


def unpack(floats: list[float], counts: list[int]) -> Stats:
    """Host-side inverse of `summarize_many`'s packing, for one row."""
    mean, std, vmin, vmax, lo, hi = floats[:N_FLOATS]
    *bins, below, above, nonfinite = counts
    hist = Hist(lo=lo, hi=hi, counts=bins, below=below, above=above, nonfinite=nonfinite)
    return Stats(mean=mean, std=std, min=vmin, max=vmax, hist=hist)
