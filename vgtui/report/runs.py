"""The runs a report is about: each log with the name it is shown under, and its series."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vgtui.core.records import LayerStats
from vgtui.core.safe_records import safe_record
from vgtui.core.text import safe_text
from vgtui.runlog.codec import RunLog
from vgtui.runlog.files import open_log


@dataclass(frozen=True)
class Run:
    """One run log to report on, with the name it is shown under."""

    name: str
    source: str
    log: RunLog

    @property
    def layers(self) -> list[str]:
        """Layer names, input side first: the header's, else the first snapshot's."""
        if self.log.header is not None and self.log.header.layers:
            return [x.name for x in self.log.header.layers]
        return [x.name for x in self.log.snapshots[0].layers] if self.log.snapshots else []

    @property
    def config(self) -> dict[str, Any]:
        return self.log.header.config if self.log.header is not None else {}


_BARE_KEYS = ("activation", "init")  # shown as bare values ("relu/he"); others as key=value
_NOISE_KEYS = frozenset({"device", "data_dir", "steps", "every"})


def run_names(configs: Sequence[dict[str, Any]], sources: Sequence[str]) -> list[str]:
    """Names that tell the runs apart by their configs: "sigmoid/xavier" vs "relu/he", else the
    differing keys ("lr=0.1"); the file names where the configs do not tell them apart."""
    stems = [Path(s).stem for s in sources]
    if len(configs) == 1:
        config = configs[0]
        bare = [str(config[k]) for k in _BARE_KEYS if k in config]
        return ["/".join(bare) if bare else stems[0]]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differing = [
        k for k in keys if k not in _NOISE_KEYS and len({repr(c.get(k)) for c in configs}) > 1
    ]
    differing.sort(
        key=lambda k: (k not in _BARE_KEYS, _BARE_KEYS.index(k) if k in _BARE_KEYS else 0)
    )

    def name(config: dict[str, Any]) -> str:
        bare = "/".join(str(config.get(k)) for k in differing if k in _BARE_KEYS)
        rest = [f"{k}={config.get(k)}" for k in differing if k not in _BARE_KEYS][:3]
        return " ".join([bare, *rest] if bare else rest)

    names = [name(c) for c in configs]
    if not differing or len(set(names)) < len(names):
        names = stems
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    return names


def safe_run(run: Run, most: int) -> Run:
    """``run`` with every string from data in it (its name and path, layer names, config values,
    event messages) made safe to print and cut to ``most`` characters (`safe_record`): a report
    costs what its numbers cost, whatever the strings hold. The same object where nothing needed
    it."""
    log = run.log
    header = None if log.header is None else safe_record(log.header, most)
    snapshots = [safe_record(s, most) for s in log.snapshots]
    events = [safe_record(e, most) for e in log.events]
    end = None if log.end is None else safe_record(log.end, most)
    name, source = safe_text(run.name, most=most), safe_text(run.source, most=most)
    same = (
        header is log.header
        and end is log.end
        and all(a is b for a, b in zip(snapshots, log.snapshots, strict=True))
        and all(a is b for a, b in zip(events, log.events, strict=True))
    )
    if same and name is run.name and source is run.source:
        return run
    if not same:
        log = dataclasses.replace(log, header=header, snapshots=snapshots, events=events, end=end)
    return Run(name, source, log)


def load_runs(paths: Sequence[str]) -> list[Run]:
    """The runs at `paths`, named; LogFileError (one line) for a log that cannot be read."""
    logs = [open_log(p) for p in paths]
    names = run_names([log.header.config if log.header else {} for log in logs], paths)
    return [Run(n, str(p), log) for n, p, log in zip(names, paths, logs, strict=True)]


# -- what one series is --------------------------------------------------------------------------


def steps_of(run: Run) -> np.ndarray:
    return np.array([s.step for s in run.log.snapshots], dtype=float)


def _as_float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_series(run: Run, field: str) -> np.ndarray:
    """A snapshot field (loss, accuracy, val_loss, val_accuracy) per snapshot; NaN where None."""
    return np.array([_as_float(getattr(s, field)) for s in run.log.snapshots], dtype=float)


def layer_series(
    run: Run, value: Callable[[LayerStats], float | None]
) -> dict[str, list[float | None]]:
    """`value` of every layer per snapshot, by layer name; None where a snapshot lacks it."""
    out: dict[str, list[float | None]] = {
        name: [None] * len(run.log.snapshots) for name in run.layers
    }
    for i, snap in enumerate(run.log.snapshots):
        for layer in snap.layers:
            if layer.name in out:
                out[layer.name][i] = value(layer)
    return out


def as_array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([_as_float(v) for v in values], dtype=float)


def undrawn(by_layer: dict[str, list[float | None]]) -> list[str]:
    """Why points of some layers are missing from a log-y chart: one phrase per reason, naming
    the layers."""

    def none(vs: list[float | None]) -> bool:
        return all(v is None for v in vs)

    reasons: dict[str, Callable[[list[float | None]], bool]] = {
        "no value at any snapshot": none,
        "no value at some snapshots (a gap)": lambda vs: None in vs and not none(vs),
        "not finite at some snapshots": lambda vs: any(
            v is not None and not math.isfinite(v) for v in vs
        ),
        "zero at some snapshots (no place on a log axis)": lambda vs: any(
            v is not None and v <= 0 for v in vs
        ),
    }
    out = []
    for why, test in reasons.items():
        names = [n for n, vs in by_layer.items() if test(vs)]
        if names:
            out.append(f"{why}: {'every layer' if names == list(by_layer) else ', '.join(names)}")
    return out


def grad_norm(layer: LayerStats) -> float | None:
    return layer.grad_norm


def act_std(layer: LayerStats) -> float | None:
    """None where the layer's forward did not run as a module call (run log v2: ``act`` null)."""
    return layer.act.std if layer.act is not None else None


def pick(n: int, k: int) -> list[int]:
    """`k` indices out of `n`, evenly spaced, the first and the last among them (all if n <= k)."""
    if n <= k:
        return list(range(n))
    if k <= 1:
        return [n - 1]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})
