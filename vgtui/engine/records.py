"""The records every view consumes: one representation from the trainer to the run log and the UI.

They mirror the run log v1 (`docs/run-log.md`) record for record and field for field. They are
plain data (picklable, so they cross a process pipe as they are); `to_dict`/`from_dict` give the
log's JSON shape, with non-finite numbers still as floats (the run log turns them into strings).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Hist:
    """Equal-width bins over [lo, hi]; counts + below + above + nonfinite = number of values."""

    lo: float
    hi: float
    counts: list[int]
    below: int = 0
    above: int = 0
    nonfinite: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts) + self.below + self.above + self.nonfinite


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of one tensor's values: mean, std (population), min, max over finite values."""

    mean: float
    std: float
    min: float
    max: float
    hist: Hist


@dataclass(frozen=True, slots=True)
class LayerInfo:
    name: str
    kind: str
    fan_in: int
    fan_out: int


@dataclass(frozen=True, slots=True)
class LayerStats:
    """One watched layer at one snapshot."""

    name: str
    act: Stats
    grad_norm: float | None
    weight_norm: float | None
    dead_frac: float | None = None
    sat_frac: float | None = None
    preact: Stats | None = None
    update_ratio: float | None = None
    grad: Hist | None = None


@dataclass(frozen=True, slots=True)
class RunHeader:
    config: dict[str, Any]
    layers: list[LayerInfo]
    started: str
    version: int = 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    step: int
    loss: float | None
    accuracy: float | None
    lr: float
    elapsed_s: float
    layers: list[LayerStats]
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass(frozen=True, slots=True)
class Event:
    step: int
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class End:
    step: int
    reason: str  # done | diverged | stopped | error


Record = RunHeader | Snapshot | Event | End

RECORD_TYPES: dict[str, type] = {"run": RunHeader, "snapshot": Snapshot, "event": Event, "end": End}
_TYPE_NAMES = {cls: name for name, cls in RECORD_TYPES.items()}


def to_dict(record: Record) -> dict[str, Any]:
    """The run log's JSON object for a record; optional fields are left out when None."""
    body = dataclasses.asdict(record)
    if isinstance(record, Snapshot):
        for layer in body["layers"]:
            for key in ("preact", "update_ratio", "grad"):
                if layer[key] is None:
                    del layer[key]
    return {"type": _TYPE_NAMES[type(record)], **body}


def _hist(d: dict[str, Any]) -> Hist:
    return Hist(
        lo=d["lo"],
        hi=d["hi"],
        counts=list(d["counts"]),
        below=d.get("below", 0),
        above=d.get("above", 0),
        nonfinite=d.get("nonfinite", 0),
    )


def _stats(d: dict[str, Any] | None) -> Stats | None:
    if d is None:
        return None
    return Stats(mean=d["mean"], std=d["std"], min=d["min"], max=d["max"], hist=_hist(d["hist"]))


def _layer(d: dict[str, Any]) -> LayerStats:
    return LayerStats(
        name=d["name"],
        act=_stats(d["act"]),
        grad_norm=d.get("grad_norm"),
        weight_norm=d.get("weight_norm"),
        dead_frac=d.get("dead_frac"),
        sat_frac=d.get("sat_frac"),
        preact=_stats(d.get("preact")),
        update_ratio=d.get("update_ratio"),
        grad=_hist(d["grad"]) if d.get("grad") else None,
    )


def from_dict(d: dict[str, Any]) -> Record:
    """Inverse of `to_dict`; unknown fields are ignored (the format may grow within a version).

    Raises KeyError or TypeError on a malformed object.
    """
    kind = d["type"]
    if kind == "run":
        return RunHeader(
            config=dict(d["config"]),
            layers=[
                LayerInfo(**{k: x[k] for k in ("name", "kind", "fan_in", "fan_out")})
                for x in d["layers"]
            ],
            started=d["started"],
            version=d.get("version", 1),
        )
    if kind == "snapshot":
        return Snapshot(
            step=d["step"],
            loss=d.get("loss"),
            accuracy=d.get("accuracy"),
            lr=d["lr"],
            elapsed_s=d["elapsed_s"],
            layers=[_layer(x) for x in d["layers"]],
            val_loss=d.get("val_loss"),
            val_accuracy=d.get("val_accuracy"),
        )
    if kind == "event":
        return Event(step=d["step"], kind=d["kind"], message=d["message"])
    if kind == "end":
        return End(step=d["step"], reason=d["reason"])
    raise KeyError(f"unknown record type {kind!r}")


__all__ = [
    "RECORD_TYPES",
    "End",
    "Event",
    "Hist",
    "LayerInfo",
    "LayerStats",
    "Record",
    "RunHeader",
    "Snapshot",
    "Stats",
    "from_dict",
    "to_dict",
]
