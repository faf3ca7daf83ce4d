"""Tensor statistics computed on the tensors' own device, many tensors in one pass.

`summarize_many` stacks the tensors that share a shape and a `Segment` and reduces them row-wise
together, so a snapshot of any number of layers costs a fixed couple of dozen kernel launches
per group rather than a dozen per layer. Everything a row needs, its histogram range included,
is computed on the device, and all groups cross to the host in **one** transfer of
O(layers x bins) numbers: no host synchronisation inside a snapshot but the last one. The
device part stays eager: `torch.compile` of it costs a first call per process and model shape that
a run restarted with each new config never earns back (`vgtui bench --only compile` measures it).

Rows that the device path cannot place, those with NaN or infinite values (a diverging run) or
with values above a fixed ``hi`` (never an activation's: its range bounds its values), are
summarised again by a slower exact path, three transfers more, only in those cases.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

import torch

from vgtui.core.records import Hist, Stats

INF = math.inf
N_FLOATS = 6  # mean, std, min, max, lo, hi: what `unpack` reads
SAT, DEAD = 6, 7  # the two rule columns that follow them
N_EXTRA = 3  # below, above, nonfinite follow the bin counts
CHUNK = 1 << 22  # values summarised per pass by `summarize_chunked`: bounds the temporaries


class Segment(NamedTuple):
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

    @property
    def adaptive(self) -> bool:
        return math.isinf(self.lo) or math.isinf(self.hi)

    @property
    def sat_rule(self) -> bool:
        return self.sat_lo > -INF or self.sat_hi < INF


BIG = torch.finfo(torch.float32).max  # stands in for non-finite values while reducing

# 1, 2 and 5 x 10^k over the whole float32 range, ascending: the "nice" histogram bounds.
NICE = [m * 10.0**k for k in range(-46, 39) for m in (1.0, 2.0, 5.0)]


def nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= x (1 where x is 0 or not finite)."""
    if not math.isfinite(x) or x <= 0:
        return 1.0
    return NICE[min(bisect_left(NICE, x), len(NICE) - 1)]


def _range(segment: Segment, span: float) -> tuple[float, float]:
    """The histogram range of a row whose largest finite magnitude rounds up to ``span``."""
    lo = -span if math.isinf(segment.lo) else segment.lo
    hi = span if math.isinf(segment.hi) else max(segment.hi, lo + 1e-12)
    return lo, hi


def value_range(segment: Segment, vmin: float, vmax: float) -> tuple[float, float]:
    """The histogram range `summarize_many` picks for finite values in [vmin, vmax] (``vmin``
    not finite: no finite value)."""
    return _range(segment, nice_ceil(max(abs(vmin), abs(vmax)) if math.isfinite(vmin) else 0.0))


Rows = tuple[list[list[float]], list[list[int]]]
Summarize = Callable[[list[torch.Tensor], list[Segment], int], Rows]  # `summarize_chunked`


def summarize_many(tensors: list[torch.Tensor], segments: list[Segment], bins: int) -> Rows:
    """Statistics of each tensor (all on one device), as host lists, one row per tensor.

    ``floats`` rows are ``[mean, std, min, max, lo, hi, sat_frac, dead_frac]`` (std over the
    population; mean, std, min and max over the finite values; NaN where they do not apply) and
    ``counts`` rows are ``[bin counts..., below, above, nonfinite]``, which add up to the
    tensor's size. An infinite ``lo``/``hi`` becomes -/+ `nice_ceil` of the largest finite
    magnitude, so an unbounded activation gets a symmetric range (or [lo, R] when only ``lo`` is
    finite). Values equal to ``hi`` fall in the last bin.
    """
    groups: dict[tuple, list[int]] = {}
    for i, (t, segment) in enumerate(zip(tensors, segments, strict=True)):
        groups.setdefault((tuple(t.shape), segment), []).append(i)
    floats: list[list[float]] = [[] for _ in tensors]
    counts: list[list[int]] = [[] for _ in tensors]
    with torch.no_grad():
        work = []
        for (shape, segment), members in groups.items():
            x = (
                tensors[members[0]][None]
                if len(members) == 1
                else torch.stack([tensors[i] for i in members])
            ).float()
            plan = _plan(shape, segment, bins)
            work.append((plan, members, x, _device_rows(x, plan, *_constants(plan, x))))
        flat = [rows.reshape(-1) for *_, rows in work]
        packed = (flat[0] if len(flat) == 1 else torch.cat(flat)).tolist()  # the one transfer
        start = 0
        for plan, members, x, _ in work:
            redo = []
            for r, i in enumerate(members):
                row = packed[start : start + plan.width]
                start += plan.width
                if plan.readable(row):
                    floats[i], counts[i] = plan.read(row)
                else:
                    redo.append(r)
            if redo:  # values the device path does not place: non-finite, or above a finite hi
                exact = _summarize_exact(x[redo], plan.segment, bins)
                for r, f, c in zip(redo, *exact, strict=True):
                    floats[members[r]], counts[members[r]] = f, c
    return floats, counts


class _Plan(NamedTuple):
    """How a group of same-shaped tensors is reduced on the device and read back on the host.

    A device row is ``[min, max, sum, squared deviations, <saturated>, <alive units>, <span>,
    below, bins...]``: the saturated count only with a saturation rule, the units that are
    non-zero in some sample only with the dead rule, the nice span only with an adaptive range.
    """

    segment: Segment
    bins: int
    size: int  # values per tensor
    units: int  # units per tensor under the dead rule, else 0
    lo: float  # the fixed range (unused when adaptive)
    hi: float
    width: int  # numbers per device row

    def readable(self, row: list[float]) -> bool:
        """Whether the device row is the whole truth: finite values, none above a fixed hi."""
        return math.isfinite(row[0] + row[1] + row[2]) and row[1] <= self.segment.hi

    def read(self, row: list[float]) -> tuple[list[float], list[int]]:
        vmin, vmax, total, squares = row[:4]
        at = 4
        sat = dead = math.nan
        if self.segment.sat_rule:
            sat, at = row[at] / self.size, at + 1
        if self.units:
            dead, at = (self.units - row[at]) / self.units, at + 1
        lo, hi = self.lo, self.hi
        if self.segment.adaptive:
            lo, hi = _range(self.segment, row[at])
            at += 1
        below, *bins_row = map(int, row[at:])
        mean, std = total / self.size, math.sqrt(squares / self.size)
        return [mean, std, vmin, vmax, lo, hi, sat, dead], [*bins_row, below, 0, 0]


@lru_cache(maxsize=256)
def _plan(shape: tuple, segment: Segment, bins: int) -> _Plan:
    units = shape[1] if segment.dead and len(shape) > 1 else 0
    width = 4 + segment.sat_rule + bool(units) + segment.adaptive + 1 + bins
    lo, hi = _range(segment, 1.0)
    return _Plan(segment, bins, math.prod(shape), units, lo, hi, width)


def _constants(plan: _Plan, x: torch.Tensor) -> tuple:
    """The device constants `_device_rows` needs for ``x``: slot offsets, and the span table for
    an adaptive range (looked up here, outside the function, which `torch.compile` can take)."""
    table = _span_table(plan.bins, plan.segment, x.device) if plan.segment.adaptive else ()
    return (_offsets(x.shape[0], plan.bins, x.device), *table)


@lru_cache(maxsize=64)
def _offsets(rows: int, bins: int, device: torch.device) -> torch.Tensor:
    """Row r's histogram slots start at r * (bins + 1); slot 0 of each row holds "below"."""
    return torch.arange(rows, device=device, dtype=torch.int32)[:, None] * (bins + 1) + 1


@lru_cache(maxsize=64)
def _span_table(bins: int, segment: Segment, device: torch.device):
    """For an adaptive range, indexed by `torch.bucketize` of a row's largest magnitude against
    the bounds: each row's ``[lo, bins / (hi - lo)]`` (float32, to bin with) and its span
    (float64, to read back). Index 0 (all zeros) takes a span of 1; the two past the nice numbers
    (infinite or NaN magnitudes: rows that are redone) take 1 too."""
    spans = [1.0, *NICE, 1.0, 1.0]
    ranges = [_range(segment, span) for span in spans]
    lo_scale = torch.tensor([[[lo], [bins / (hi - lo)]] for lo, hi in ranges], device=device)
    span = torch.tensor(spans, dtype=torch.float64, device=device)[:, None]
    bounds = torch.tensor([0.0, *NICE, INF], dtype=torch.float64, device=device)
    return bounds, lo_scale, span


def _device_rows(
    x: torch.Tensor,
    plan: _Plan,
    offsets: torch.Tensor,
    bounds: torch.Tensor | None = None,
    lo_scale: torch.Tensor | None = None,
    span: torch.Tensor | None = None,
) -> torch.Tensor:
    """`_Plan`'s rows for the stacked tensors ``x`` (rows, *shape), computed on their device,
    with the `_constants` for them."""
    segment, bins = plan.segment, plan.bins
    rows = x.shape[0]
    flat = x.reshape(rows, -1)
    mins, maxs, sums = flat.amin(dim=1), flat.amax(dim=1), flat.sum(dim=1)
    squares = torch.sub(flat, sums[:, None], alpha=1 / plan.size).square_().sum(dim=1)
    cols = [mins, maxs, sums, squares]
    # Counts as sums of signs: much faster on CPU than comparisons and boolean sums, and exact
    # for rows of up to 2^24 values (float32 sums; a larger row's count is rounded like a float).
    if segment.sat_rule:  # saturated: moved by clamping to [sat_lo, sat_hi]
        inside = flat.clamp(segment.sat_lo, segment.sat_hi)
        cols.append(inside.sub_(flat).abs_().sign_().sum(dim=1))
    if plan.units:  # alive: non-zero in some sample
        alive = x.reshape(rows, x.shape[1], plan.units, -1).abs().amax(dim=(1, 3))
        cols.append(alive.sign_().sum(dim=1))
    parts = [torch.stack(cols, dim=1).double()]
    if segment.adaptive:
        chosen = torch.bucketize(torch.maximum(maxs, mins.neg()).double(), bounds)
        lo, scale = lo_scale[chosen].unbind(1)
        parts.append(span[chosen])
    else:
        lo, scale = plan.lo, bins / (plan.hi - plan.lo)
    # slot 0: below lo; 1..bins: the bins, hi itself in the last one. The clamp after the cast
    # keeps a NaN (whose row is redone) inside its own row.
    slot = (flat - lo).mul_(scale).clamp_(-1, bins - 0.5).floor_().int().clamp_(min=-1)
    slot += offsets
    hist = count_slots(slot.reshape(-1), rows * (bins + 1), sync_free=x.device.type != "cpu")
    parts.append(hist.view(rows, -1))
    return torch.cat(parts, dim=1)  # float64: exact counts, whatever the tensor's size


def count_slots(slot: torch.Tensor, size: int, sync_free: bool) -> torch.Tensor:
    """How many of ``slot`` (integers in [0, size)) fall in each slot. `torch.bincount` is faster
    on the CPU, but on a GPU it reads the slots' extremes back to the host (to size its output):
    there, accumulate into a fixed-size tensor instead."""
    if not sync_free:
        return torch.bincount(slot, minlength=size)
    ones = torch.ones((), dtype=torch.float64, device=slot.device).expand(slot.numel())
    return torch.zeros(size, dtype=torch.float64, device=slot.device).index_add_(0, slot, ones)


def _count_above(x: torch.Tensor, threshold: torch.Tensor | float) -> torch.Tensor:
    """Per row, how many values exceed ``threshold`` (relu/sign/sum: much faster on CPU than a
    comparison and a boolean sum; exact for rows of up to 2^24 values, as in `_device_rows`)."""
    return (x - threshold).relu_().sign_().sum(dim=1)


def _summarize_exact(x: torch.Tensor, segment: Segment, bins: int) -> Rows:
    """`summarize_many` for rows of ``x`` (rows, *shape) that the device path cannot place: values
    that are NaN or infinite (a diverging run), or above a fixed ``hi``.

    Non-finite values are replaced by -/+BIG with `nan_to_num` and taken back out of the sums,
    extremes and counts they fell into. The extremes are read first (they fix each row's range),
    then the rest: three transfers instead of one, and no activation's rows ever come here but in a
    diverging run.
    """
    rows, device = x.shape[0], x.device
    full = x
    x = full.reshape(rows, -1)
    size = x.shape[1]
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
    ranges = [value_range(segment, vmin, vmax) for vmin, vmax in zip(mins, maxs, strict=True)]
    los = [lo for lo, _ in ranges]
    his = [hi for _, hi in ranges]
    lo_t, hi_t, scale_t, mean_t = torch.tensor(
        [los, his, [bins / (h - lo) for lo, h in ranges], means], device=device
    )[:, :, None]
    centred = zeroed - mean_t
    wanted = {"squares": (centred * centred).sum(dim=1)}
    # slot 0: below (non-finite values too, at -BIG); 1..bins: the bins, values past hi included.
    slot = ((low - lo_t) * scale_t).clamp_(-1, bins - 0.5).floor_().int()
    slot += _offsets(rows, bins, device)
    hist = torch.bincount(slot.reshape(-1), minlength=rows * (bins + 1))
    wanted["above"] = _count_above(low, hi_t)  # exactly x > hi; all of them are in the last bin
    wanted["sat_hi"] = _count_above(low, segment.sat_hi)
    wanted["sat_lo"] = _count_above(-high, -segment.sat_lo)
    if segment.dead and full.dim() > 2:  # dead: zero for every sample (not NaN)
        per_unit = torch.nan_to_num(full.reshape(rows, full.shape[1], full.shape[2], -1), nan=1.0)
        wanted["dead"] = (per_unit.abs().amax(dim=(1, 3)) == 0).float().mean(dim=1)
    got = dict(zip(wanted, torch.stack(list(wanted.values())).tolist(), strict=True))
    dead_rule = segment.dead and full.dim() > 2
    floats, counts = [], []
    for r, row in enumerate(hist.reshape(rows, bins + 1).tolist()):
        k = nonfinite[r]
        var = (got["squares"][r] - k * means[r] ** 2) / n[r]
        sat = (got["sat_hi"][r] + got["sat_lo"][r]) / size
        floats.append(
            [
                means[r] if k < size else math.nan,
                math.sqrt(max(var, 0.0)) if k < size else math.nan,
                mins[r],
                maxs[r],
                los[r],
                his[r],
                sat if segment.sat_rule else math.nan,
                got["dead"][r] if dead_rule else math.nan,
            ]
        )
        above = int(got["above"][r])
        bins_row = row[1:]
        bins_row[-1] -= above
        counts.append([*bins_row, row[0] - k, above, k])
    return floats, counts


def summarize_chunked(tensors: list[torch.Tensor], segments: list[Segment], bins: int) -> Rows:
    """`summarize_many` in chunks of at most `CHUNK` values (bounds the temporary memory); a
    tensor larger than that is a chunk of its own."""
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


def summarize(x: torch.Tensor, lo: float, hi: float, bins: int) -> Rows:
    """`summarize_many` over the rows of a 2-D ``x`` (any other shape is one row), all with one
    range."""
    x = x.reshape(1, -1) if x.dim() != 2 else x
    return summarize_many(list(x), [Segment(lo, hi)] * x.shape[0], bins)


def unpack(floats: list[float], counts: list[int]) -> Stats:
    """Host-side inverse of `summarize_many`'s packing, for one row."""
    mean, std, vmin, vmax, lo, hi = floats[:N_FLOATS]
    *bins, below, above, nonfinite = counts
    hist = Hist(lo=lo, hi=hi, counts=bins, below=below, above=above, nonfinite=nonfinite)
    return Stats(mean=mean, std=std, min=vmin, max=vmax, hist=hist)
