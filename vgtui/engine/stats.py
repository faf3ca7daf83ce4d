"""Tensor statistics computed on the tensor's own device, without a host sync.

`summarize` works on rows: each row of a 2-D tensor is one layer's values, so layers of the same
shape are summarised together in a handful of vectorised ops. It returns small device tensors;
`unpack` turns one row of them, once on the host, into a `Stats`. Only O(bins) numbers cross.
"""

from __future__ import annotations

import math

import torch

from vgtui.engine.records import Hist, Stats

N_FLOATS = 6  # mean, std, min, max, lo, hi
N_EXTRA = 3  # below, above, nonfinite follow the bin counts


def nice_ceil(x: torch.Tensor) -> torch.Tensor:
    """The smallest of 1, 2, 5 x 10^k that is >= x (1 where x is 0 or not finite)."""
    x = torch.where(torch.isfinite(x) & (x > 0), x, torch.ones_like(x))
    e = torch.floor(torch.log10(x))
    m = x / 10.0**e
    step = torch.where(m <= 1, 1.0, torch.where(m <= 2, 2.0, torch.where(m <= 5, 5.0, 10.0)))
    return step * 10.0**e


def summarize(
    x: torch.Tensor, lo: float, hi: float, bins: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Statistics of each row of ``x`` (a 1-D tensor is one row), histogram over [lo, hi].

    An infinite bound adapts per row: it becomes -/+ `nice_ceil` of the row's largest finite
    magnitude, so an unbounded activation gets a symmetric range (or [lo, R] when only ``lo`` is
    finite). Returns ``(floats, counts)`` with one row per input row: ``[mean, std, min, max, lo,
    hi]`` (std over the population) and ``[bin counts..., below, above, nonfinite]`` as int64.
    """
    x = x.detach().float()
    x = x.reshape(1, -1) if x.dim() != 2 else x
    rows, n_values = x.shape
    finite = torch.isfinite(x)
    n = finite.sum(dim=1)
    xf = torch.where(finite, x, 0.0)
    count = n.clamp(min=1).float()
    mean = xf.sum(dim=1) / count
    var = (torch.where(finite, x - mean[:, None], 0.0) ** 2).sum(dim=1) / count
    if n_values:
        vmin = torch.where(finite, x, math.inf).amin(dim=1)
        vmax = torch.where(finite, x, -math.inf).amax(dim=1)
    else:
        vmin = vmax = torch.full((rows,), math.inf, device=x.device)
    none = n == 0
    vmin = torch.where(none, math.nan, vmin)
    vmax = torch.where(none, math.nan, vmax)
    lo_t = torch.full((rows,), lo, device=x.device)
    hi_t = torch.full((rows,), hi, device=x.device)
    if math.isinf(lo) or math.isinf(hi):
        span = nice_ceil(torch.where(none, 0.0, torch.maximum(vmin.abs(), vmax.abs())))
        lo_t = -span if math.isinf(lo) else lo_t
        hi_t = span if math.isinf(hi) else torch.maximum(hi_t, lo_t + 1e-12)
    lo_c, hi_c = lo_t[:, None], hi_t[:, None]
    below = (finite & (x < lo_c)).sum(dim=1)
    above = (finite & (x > hi_c)).sum(dim=1)
    inside = finite & (x >= lo_c) & (x <= hi_c)
    idx = torch.floor((xf - lo_c) / (hi_c - lo_c) * bins).long().clamp(0, bins - 1)
    idx = torch.where(inside, idx, bins)  # out of range or non-finite: an overflow slot
    offset = torch.arange(rows, device=x.device)[:, None] * (bins + 1)
    counts = torch.bincount((idx + offset).reshape(-1), minlength=rows * (bins + 1))
    counts = counts.reshape(rows, bins + 1)[:, :bins]
    floats = torch.stack([mean, var.sqrt(), vmin, vmax, lo_t, hi_t], dim=1)
    extra = torch.stack([below, above, n_values - n], dim=1).to(counts.dtype)
    return floats, torch.cat([counts, extra], dim=1)


def unpack(floats: list[float], counts: list[int]) -> Stats:
    """Host-side inverse of `summarize`'s packing, for one row."""
    mean, std, vmin, vmax, lo, hi = floats
    *bins, below, above, nonfinite = counts
    hist = Hist(lo=lo, hi=hi, counts=bins, below=below, above=above, nonfinite=nonfinite)
    return Stats(mean=mean, std=std, min=vmin, max=vmax, hist=hist)
