"""A diagnosis in words: what is wrong with a run, where, why, and what to try.

`diagnose` is a pure function of the run header and the run's latest snapshots; `render` lays the
findings out as a few lines of text. Torch-free: the dashboard's process calls it on every frame,
and the headless mode prints it when a run ends.

The rules read the last `WINDOW` snapshots, through medians, so that one noisy batch decides
nothing:

- **exploding**: a non-finite loss, gradient, weight or activation in the current snapshot; or
  the total gradient norm of the last `RISE_SPAN` snapshots all at least `RISE` x the median of
  the earlier ones; or activations growing `GROWTH` x from the first hidden layer to the last
  (weights too large for their fan-in);
- **vanishing**: layers whose gradient norm is under `VANISHING` of the output layer's, or every
  gradient exactly 0 (a layer of dead units blocks the backward pass);
- **saturated**: layers with more than `MOST` of their outputs in the activation's saturated zone
  (`Activation.saturation`: where its derivative is ~5% of its peak or less);
- **dead**: layers with more than `MOST` of their units zero for every sample in every snapshot of
  the window (a unit alive in one batch is not dead: the smallest fraction counts);
- **update ratio** (CS231n's rule of thumb: an update is ~1e-3 of the weight): layers above
  `UPDATE_HIGH` (the learning rate is too high for them); layers below `UPDATE_LOW` when the
  learning rate is low for the network as a whole (the median layer too; a layer whose update is
  small because its gradient vanishes is the vanishing rule's, not this one's);
- **healthy** when none of them fires.
"""

from __future__ import annotations

import math
import statistics
import textwrap
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from vgtui.core.activations import NAMES as ACTIVATIONS
from vgtui.core.activations import Activation, parse_activation
from vgtui.core.errors import ConfigError
from vgtui.core.initializers import CYCLE as INITIALIZERS
from vgtui.core.initializers import Initializer, parse_initializer
from vgtui.core.records import LayerStats, RunHeader, Snapshot

WINDOW = 8  # snapshots the rules read: the current one and the seven before it
VANISHING = 1e-3  # a layer's gradient norm over the output layer's, below which it vanishes
RISE = 10.0  # the total gradient norm's rise within the window that counts as exploding
RISE_SPAN = 3  # ... held by this many snapshots in a row (a loss spike of one or two is noise)
GROWTH = 1e3  # activation std, last hidden layer over the first, that counts as exploding
MOST = 0.5  # the saturated or dead fraction of a layer above which the layer is flagged
UPDATE_TARGET = 1e-3  # CS231n: an update's norm is about 1e-3 of the weight's
UPDATE_LOW, UPDATE_HIGH = UPDATE_TARGET / 100, UPDATE_TARGET * 100

# The dashboard's keys for the actions a hint may name. Pass them to `diagnose` when the run is the
# dashboard's own (its keys apply); pass None for a run another process owns, or a headless one.
DASHBOARD_KEYS: Mapping[str, str] = {
    "activation": "a",  # next activation, in `activations.NAMES` order
    "activation_prev": "A",
    "init": "i",  # next initializer, in `initializers.CYCLE` order
    "init_prev": "I",
    "norm": "b",  # batch norm on/off
    "residual": "s",  # residual connections on/off
    "lr_down": "L",  # halve the learning rate
    "lr_up": "l",  # double the learning rate
}


class Severity(IntEnum):
    """How bad a finding is; findings come sorted worst first."""

    OK = 0  # healthy
    NOTE = 1  # worth a look: training works, slower than it could
    WARN = 2  # training is impaired: vanishing, saturated, dead, updates too large
    BAD = 3  # the run is breaking: exploding, non-finite


@dataclass(frozen=True)
class Finding:
    """One thing the diagnosis says: `text` (what, where, why) and `hint` (what to try)."""

    rule: str  # exploding | vanishing | saturated | dead | update_high | update_low | healthy
    severity: Severity
    layers: tuple[int, ...]  # 0-based positions in the run's layer list (input side first)
    text: str
    hint: str = ""

    @property
    def line(self) -> str:
        """The finding as one sentence: the text, then the hint."""
        return f"{self.text}: {self.hint}" if self.hint else self.text


# ---- the public calls --------------------------------------------------------------------------


def diagnose(
    header: RunHeader | None,
    snapshots: Sequence[Snapshot] | Iterable[Snapshot],
    keys: Mapping[str, str] | None = None,
) -> list[Finding]:
    """The findings on a run, worst first; a single ``healthy`` one when no rule fires; none
    before the first snapshot.

    ``snapshots`` are one run's (after a new header, only the new run's), oldest first; only the
    last `WINDOW` are read (a list or tuple is sliced; a deque or iterator is consumed). ``keys``
    (`DASHBOARD_KEYS`) makes the hints name the keys that change the run; without it they name
    the remedies in words.
    """
    recent = _tail(snapshots)
    if not recent:
        return []
    recent = [s for s in recent if len(s.layers) == len(recent[-1].layers)]
    run = _Run(header, recent, keys)
    found = [
        finding
        for rule in (_exploding, _vanishing, _saturated, _dead, _update_ratio)
        for finding in rule(run)
    ]
    if not found:
        found = [_healthy(run)]
    return sorted(found, key=lambda f: -f.severity)  # stable: the rules' order within a severity


def render(findings: Sequence[Finding], width: int, lines: int = 2) -> list[str]:
    """The top findings as at most ``lines`` lines of at most ``width`` characters each.

    Each finding takes its whole sentence where it fits, else its text without the hint, else (the
    first only) as much as fits, ending in "…". Findings left without room are counted on the
    last line ("(+2 more)") where it has the space.
    """
    width = max(width, 2)
    out: list[str] = []
    shown = 0
    for finding in findings:
        room = lines - len(out)
        if room <= 0:
            break
        for sentence in (finding.line, finding.text):
            wrapped = _wrap(sentence, width)
            if len(wrapped) <= room:
                break
        else:
            if out:
                break
            wrapped = _clip(wrapped, room, width)
        out += wrapped
        shown += 1
    left = len(findings) - shown
    more = f" (+{left} more)"
    if left and out and len(out[-1]) + len(more) <= width:
        out[-1] += more
    return out


def layer_ranges(positions: Iterable[int], names: Sequence[str] = ()) -> str:
    """``layers 1-6, 9`` for 0-based positions (shown 1-based, input side first); a single layer
    is named too where its name is not ``layerN``: ``layer 11 (output)``."""
    ps = sorted(set(positions))
    if not ps:
        return "no layer"
    if len(ps) == 1:
        p = ps[0]
        name = names[p] if p < len(names) else f"layer{p + 1}"
        return f"layer {p + 1}" + ("" if name == f"layer{p + 1}" else f" ({name})")
    spans: list[list[int]] = []
    for p in ps:
        if spans and p == spans[-1][1] + 1:
            spans[-1][1] = p
        else:
            spans.append([p, p])
    return "layers " + ", ".join(f"{a + 1}" if a == b else f"{a + 1}-{b + 1}" for a, b in spans)


# ---- what the rules read -----------------------------------------------------------------------


class _Run:
    """The window and the run's configuration, parsed once for all the rules."""

    def __init__(
        self, header: RunHeader | None, recent: list[Snapshot], keys: Mapping[str, str] | None
    ) -> None:
        self.recent = recent
        self.now = recent[-1]
        self.size = len(self.now.layers)
        self.keys = keys or {}
        self.config = header.config if header is not None else {}
        self.names = [x.name for x in self.now.layers]
        self.activation: Activation | None = _parsed(
            parse_activation, self.config.get("activation")
        )
        self.init: Initializer | None = _parsed(parse_initializer, self.config.get("init"))
        self.vanishing: set[int] = set()  # the vanishing rule's layers, read by the update rule

    def median(self, i: int, value: Callable[[LayerStats], float | None]) -> float | None:
        """The median over the window of a layer's finite values (None where there are none)."""
        finite = [v for s in self.recent if _finite(v := value(s.layers[i]))]
        return statistics.median(finite) if finite else None

    def where(self, positions: Iterable[int], verb: str = "") -> str:
        """``layers 1-6 have`` / ``layer 9 has`` (the verb agreeing)."""
        positions = list(positions)
        text = layer_ranges(positions, self.names)
        if not verb:
            return text
        plural = len(set(positions)) > 1
        return f"{text} {verb if plural else {'have': 'has', 'get': 'gets'}[verb]}"


def _tail(snapshots: Sequence[Snapshot] | Iterable[Snapshot]) -> list[Snapshot]:
    if isinstance(snapshots, (list, tuple)):  # sliced: a long history costs nothing
        return list(snapshots[-WINDOW:])
    return list(deque(snapshots, maxlen=WINDOW))  # a deque (`FollowedRun.recent`), an iterator


def _parsed(parse: Callable, spec: object):
    """A config spec parsed, or None where it is missing or unknown (a log from elsewhere)."""
    if not isinstance(spec, str):
        return None
    try:
        return parse(spec)
    except ConfigError:
        return None


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _num(x: float) -> str:
    """``4e-7`` for the far-off ratios the rules report, ``0.12`` or ``35`` for the near ones."""
    if x == 0 or 1e-2 <= abs(x) < 1e3:
        return f"{x:.2g}"
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


# ---- the hints -----------------------------------------------------------------------------------


def _press(run: _Run, action: str, cycle: list[str], current: str | None, target: str) -> str:
    """The fewest presses that take the action's cycle from ``current`` to ``target``: ``a``,
    ``A x2``; the key alone where the position is unknown; "" without keys."""
    forward, backward = run.keys.get(action), run.keys.get(f"{action}_prev")
    if forward is None:
        return ""
    if current not in cycle or target not in cycle:
        return f"`{forward}`"
    ahead = (cycle.index(target) - cycle.index(current)) % len(cycle)
    key, presses = (forward, ahead)
    if backward is not None and len(cycle) - ahead < ahead:
        key, presses = backward, len(cycle) - ahead
    return f"`{key}`" + (f" x{presses}" if presses > 1 else "")


def _activation(run: _Run, target: str, label: str) -> str:
    """``a (ReLU)`` / ``ReLU``; "" where the run already uses it."""
    current = run.activation.name if run.activation is not None else None
    if current == target:
        return ""
    key = _press(run, "activation", ACTIVATIONS, current, target)
    return f"{key} ({label})" if key else label


def _init(run: _Run, target: str, label: str) -> str:
    """``i (He)`` / ``He init``; "" where the run already uses it."""
    if run.init is not None and run.init.name == target:
        return ""
    current = next((c for c in INITIALIZERS if _parsed(parse_initializer, c) == run.init), None)
    key = _press(run, "init", INITIALIZERS, current, target)
    return f"{key} ({label})" if key else f"{label} init"


def _toggle(run: _Run, action: str, label: str, on: bool) -> str:
    """``b (batch norm)`` / ``batch norm``; "" where it is already on."""
    if on:
        return ""
    key = run.keys.get(action)
    return f"`{key}` ({label})" if key else label


def _batch_norm(run: _Run) -> str:
    return _toggle(run, "norm", "batch norm", run.config.get("norm") == "batch")


def _lr(run: _Run, lower: bool) -> str:
    key = run.keys.get("lr_down" if lower else "lr_up")
    if key:
        return f"`{key}` ({'halve' if lower else 'double'} the learning rate)"
    return f"a {'lower' if lower else 'higher'} learning rate"


def _try(*options: str) -> str:
    """``try a, b or c`` over the non-empty options; "" where none is left."""
    kept = [o for o in options if o]
    if not kept:
        return ""
    return "try " + (", ".join(kept[:-1]) + " or " if len(kept) > 1 else "") + kept[-1]


# ---- the rules -----------------------------------------------------------------------------------


def _exploding(run: _Run) -> list[Finding]:
    now = run.now
    hint = _try(_lr(run, lower=True), "gradient clipping")
    bad = [
        i
        for i, x in enumerate(now.layers)
        if not all(_finite(v) for v in (x.grad_norm, x.weight_norm) if v is not None)
        or (x.act is not None and x.act.hist.nonfinite > 0)
    ]
    loss_bad = now.loss is not None and not math.isfinite(now.loss)
    if bad or loss_bad:
        what = ([f"the loss is {now.loss}"] if loss_bad else []) + (
            [f"non-finite values in {run.where(bad)}"] if bad else []
        )
        text = f"exploding: {', '.join(what)}; the run diverged"
        return [Finding("exploding", Severity.BAD, tuple(bad), text, hint)]
    rise = _rise([_total_grad(s) for s in run.recent])
    if rise >= RISE:
        rising = [
            i for i in range(run.size) if _rise([s.layers[i].grad_norm for s in run.recent]) >= RISE
        ]
        steps = now.step - run.recent[0].step
        text = (
            f"exploding: the gradient norm rose {_num(rise)}x within {steps} steps"
            f" ({run.where(rising or range(run.size))})"
        )
        return [Finding("exploding", Severity.BAD, tuple(rising), text, hint)]
    return _growing(run)


def _growing(run: _Run) -> list[Finding]:
    """Activations growing layer by layer: weights too large for their fan-in."""
    hidden = run.size - 1
    if hidden < 2:
        return []
    first = run.median(0, lambda x: x.act.std if x.act is not None else None)
    last = run.median(hidden - 1, lambda x: x.act.std if x.act is not None else None)
    if not first or last is None or last / first < GROWTH:
        return []
    text = (
        f"exploding: activations grow {_num(last / first)}x from layer 1 to layer {hidden}; "
        "the initial weights are too large for their fan-in"
    )
    init = _init(run, "he", "He") if run.activation and run.activation.rule == "dead" else ""
    hint = _try(init or _init(run, "xavier", "Xavier"), _batch_norm(run))
    return [Finding("exploding", Severity.BAD, tuple(range(hidden)), text, hint)]


def _total_grad(snapshot: Snapshot) -> float | None:
    norms = [x.grad_norm for x in snapshot.layers if x.grad_norm is not None]
    return math.sqrt(sum(v * v for v in norms)) if norms else None


def _rise(norms: list[float | None]) -> float:
    """The smallest of the last `RISE_SPAN` values over the median of the earlier ones (0 where
    unknown): a sustained rise, not one noisy batch."""
    if len(norms) <= RISE_SPAN or not all(_finite(v) for v in norms):
        return 0.0
    before = statistics.median(norms[:-RISE_SPAN])
    return min(norms[-RISE_SPAN:]) / before if before > 0 else 0.0


def _vanishing(run: _Run) -> list[Finding]:
    out = run.size - 1
    norms = [x.grad_norm for x in run.now.layers]
    if norms and all(v == 0 for v in norms):
        run.vanishing = set(range(run.size))
        text = "vanishing: every layer's gradient is 0, nothing learns"
        hint = ""
        if run.activation is not None and run.activation.rule == "dead":
            text += "; a layer whose units are all dead blocks the backward pass"
            hint = _try(_activation(run, "leaky_relu", "leaky_relu"), _lr(run, lower=True))
        return [Finding("vanishing", Severity.WARN, tuple(range(run.size)), text, hint)]

    def ratio(s: Snapshot, i: int) -> float | None:
        g, ref = s.layers[i].grad_norm, s.layers[out].grad_norm
        return g / ref if _finite(g) and _finite(ref) and ref > 0 else None

    ratios = {}
    for i in range(out):
        values = [r for s in run.recent if (r := ratio(s, i)) is not None]
        if values:
            ratios[i] = statistics.median(values)
    low = sorted(i for i, r in ratios.items() if r < VANISHING)
    if not low:
        return []
    run.vanishing = set(low)
    worst = min(low, key=ratios.__getitem__)
    text = (
        f"vanishing: {run.where(low, 'get')} under {_num(VANISHING)} of the output layer's "
        f"gradient ({layer_ranges([worst], run.names)}: {_num(ratios[worst])})"
    )
    act = run.activation
    if act is not None and act.rule == "saturated":
        if act.name == "sigmoid":
            text += "; sigmoid's derivative is at most 1/4 per layer"
        else:
            text += f"; {act.name}'s derivative falls toward 0 as it saturates"
        relu, he = _activation(run, "relu", "ReLU"), _init(run, "he", "He")
        first = f"{relu} then {he}" if relu and he else relu or he
        bn = _batch_norm(run)
        hint = f"try {first}, or {bn}" if bn else f"try {first}"
    else:
        residual = _toggle(run, "residual", "residual", bool(run.config.get("residual")))
        hint = _try(_init(run, "he", "He"), _batch_norm(run), residual)
    return [Finding("vanishing", Severity.WARN, tuple(low), text, hint)]


def _saturated(run: _Run) -> list[Finding]:
    fractions = {i: run.median(i, lambda x: x.sat_frac) for i in range(run.size)}
    hit = sorted(i for i, f in fractions.items() if f is not None and f > MOST)
    if not hit:
        return []
    worst = max(hit, key=lambda i: fractions[i])
    zone = "in the saturated zone"
    act = run.activation
    if act is not None and act.rule == "saturated":
        lo, hi = act.saturation
        zone = (f"at |y| > {hi:g}" if lo == -hi else f"outside [{lo:g}, {hi:g}]") + f" ({act.name})"
    text = (
        f"saturated: {run.where(hit, 'have')} over {MOST:.0%} of outputs {zone}, where the "
        f"gradient nearly stops ({layer_ranges([worst], run.names)}: {fractions[worst]:.0%})"
    )
    hint = _try(_init(run, "xavier", "Xavier"), _batch_norm(run), _activation(run, "relu", "ReLU"))
    return [Finding("saturated", Severity.WARN, tuple(hit), text, hint)]


def _dead(run: _Run) -> list[Finding]:
    fractions = {}
    for i in range(run.size):
        values = [s.layers[i].dead_frac for s in run.recent]
        if all(_finite(v) for v in values):
            fractions[i] = min(values)
    hit = sorted(i for i, f in fractions.items() if f > MOST)
    if not hit:
        return []
    worst = max(hit, key=lambda i: fractions[i])
    text = (
        f"dead units: {run.where(hit, 'have')} over {MOST:.0%} of units at zero for every sample "
        f"({layer_ranges([worst], run.names)}: {fractions[worst]:.0%}); learning rate too high, "
        "or a bad bias"
    )
    hint = _try(_activation(run, "leaky_relu", "leaky_relu"), _lr(run, lower=True))
    return [Finding("dead", Severity.WARN, tuple(hit), text, hint)]


def _update_ratio(run: _Run) -> list[Finding]:
    ratios = {
        i: r for i in range(run.size) if (r := run.median(i, lambda x: x.update_ratio)) is not None
    }
    found = []
    thumb = f"(rule of thumb: ~{_num(UPDATE_TARGET)})"
    high = sorted(i for i, r in ratios.items() if r > UPDATE_HIGH)
    if high:
        text = (
            f"update/weight ratio over {_num(UPDATE_HIGH)} in {run.where(high)} {thumb}: "
            "learning rate too high for them"
        )
        found.append(
            Finding("update_high", Severity.WARN, tuple(high), text, _try(_lr(run, lower=True)))
        )
    # A small update from a small gradient is not the learning rate's doing.
    learning = {
        i: r
        for i, r in ratios.items()
        if i not in run.vanishing and (run.median(i, lambda x: x.grad_norm) or 0) > 0
    }
    low = sorted(i for i, r in learning.items() if r < UPDATE_LOW)
    if low and statistics.median(learning.values()) < UPDATE_LOW:
        text = (
            f"update/weight ratio under {_num(UPDATE_LOW)} in {run.where(low)} {thumb}: "
            "learning rate too low"
        )
        found.append(
            Finding("update_low", Severity.NOTE, tuple(low), text, _try(_lr(run, lower=False)))
        )
    return found


def _healthy(run: _Run) -> Finding:
    """Says which checks passed (a forward-only run has no gradients to check)."""
    layers = run.now.layers
    checked = []
    if any(x.grad_norm is not None for x in layers):
        checked.append(f"gradients reach every layer (over {_num(VANISHING)} of the output's)")
    if any(x.sat_frac is not None or x.dead_frac is not None for x in layers):
        checked.append("no saturated or dead layer")
    if any(x.update_ratio is not None for x in layers):
        checked.append(f"update ratios near {_num(UPDATE_TARGET)}")
    return Finding(
        "healthy", Severity.OK, (), "healthy" + (": " if checked else "") + ", ".join(checked)
    )


# ---- text layout ---------------------------------------------------------------------------------


def _wrap(sentence: str, width: int) -> list[str]:
    indent = "  " if width > 20 else ""
    return textwrap.wrap(sentence, width, subsequent_indent=indent, break_on_hyphens=False) or [""]


def _clip(wrapped: list[str], room: int, width: int) -> list[str]:
    kept = wrapped[:room]
    kept[-1] = kept[-1][: width - 1] + "…"
    return kept


__all__ = [
    "DASHBOARD_KEYS",
    "GROWTH",
    "MOST",
    "RISE",
    "UPDATE_HIGH",
    "UPDATE_LOW",
    "VANISHING",
    "WINDOW",
    "Finding",
    "Severity",
    "diagnose",
    "layer_ranges",
    "render",
]
