"""Tensor statistics computed on the tensor's own device, without a host sync.

`summarize` packs a tensor's mean, std, min, max and histogram into two small device tensors;
`unpack` turns them, once they are on the host, into a `Stats`. Only O(bins) numbers ever cross.
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
    """Statistics of ``x``'s values with a histogram over [lo, hi].

    An infinite bound adapts: it becomes -/+ `nice_ceil` of the largest finite magnitude, so an
    unbounded activation gets a symmetric range (or [lo, R] when only ``lo`` is finite).
    Returns ``(floats, counts)``: ``[mean, std, min, max, lo, hi]`` (std over the population) and
    ``[bin counts..., below, above, nonfinite]`` as int64.
    """
    x = x.detach().reshape(-1).float()
    finite = torch.isfinite(x)
    n = finite.sum()
    zero = torch.zeros((), device=x.device)
    xf = torch.where(finite, x, zero)
    count = n.clamp(min=1).float()
    mean = xf.sum() / count
    var = (torch.where(finite, x - mean, zero) ** 2).sum() / count
    nan = torch.full((), math.nan, device=x.device)
    vmin = torch.where(n > 0, torch.where(finite, x, math.inf).min(), nan) if x.numel() else nan
    vmax = torch.where(n > 0, torch.where(finite, x, -math.inf).max(), nan) if x.numel() else nan
    if math.isinf(lo) or math.isinf(hi):
        span = nice_ceil(torch.where(n > 0, torch.maximum(vmin.abs(), vmax.abs()), zero))
        lo_t = -span if math.isinf(lo) else torch.full((), lo, device=x.device)
        hi_t = span if math.isinf(hi) else torch.full((), hi, device=x.device)
        hi_t = torch.maximum(hi_t, lo_t + 1e-12)
    else:
        lo_t = torch.full((), lo, device=x.device)
        hi_t = torch.full((), hi, device=x.device)
    below = (finite & (x < lo_t)).sum()
    above = (finite & (x > hi_t)).sum()
    inside = finite & (x >= lo_t) & (x <= hi_t)
    idx = torch.floor((xf - lo_t) / (hi_t - lo_t) * bins).long().clamp(0, bins - 1)
    idx = torch.where(inside, idx, torch.full_like(idx, bins))
    counts = torch.bincount(idx, minlength=bins + 1)[:bins]
    floats = torch.stack([mean, var.sqrt(), vmin, vmax, lo_t, hi_t])
    extra = torch.stack([below, above, x.numel() - n]).to(counts.dtype)
    return floats, torch.cat([counts, extra])


def unpack(floats: list[float], counts: list[int]) -> Stats:
    """Host-side inverse of `summarize`'s packing."""
    mean, std, vmin, vmax, lo, hi = floats
    *bins, below, above, nonfinite = counts
    hist = Hist(lo=lo, hi=hi, counts=bins, below=below, above=above, nonfinite=nonfinite)
    return Stats(mean=mean, std=std, min=vmin, max=vmax, hist=hist)
