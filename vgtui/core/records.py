"""The records every view consumes: one representation from the trainer to the run log and the UI.

They mirror the run log (`docs/run-log.md`, versions 1 and 2) record for record and field for
field. They are plain data (picklable, so they cross a process pipe as they are); `to_dict` /
`from_dict` give the log's JSON shape, with non-finite numbers still as floats (the run log turns
them into strings). The version 2 fields (`LayerInfo.params`, `LayerStats.params`, a null
`LayerStats.act`, `Snapshot.scalars`) are left out of the JSON while unused, so a version 1
producer writes exactly what it wrote before; `uses_v2` tells whether a record needs version 2.
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
class ParamInfo:
    """One trainable parameter of a watched module (v2): its qualified name and shape."""

    name: str
    shape: list[int]


@dataclass(frozen=True, slots=True)
class LayerInfo:
    name: str
    kind: str
    fan_in: int
    fan_out: int
    params: list[ParamInfo] | None = None  # v2: the module's own trainable parameters


@dataclass(frozen=True, slots=True)
class ParamStats:
    """One parameter (or one slice of a packed one, ``name[q]``) at one snapshot (v2)."""

    name: str
    grad_norm: float | None
    weight_norm: float | None
    update_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class LayerStats:
    """One watched layer at one snapshot; ``act`` is None where no activation was seen (v2)."""

    name: str
    act: Stats | None
    grad_norm: float | None
    weight_norm: float | None
    dead_frac: float | None = None
    sat_frac: float | None = None
    preact: Stats | None = None
    update_ratio: float | None = None
    grad: Hist | None = None
    params: list[ParamStats] | None = None  # v2


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
    scalars: dict[str, float] | None = None  # v2: the user's own numbers at this step


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
RECORD_CLASSES = (RunHeader, Snapshot, Event, End)

_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls))
    for cls in (Hist, Stats, ParamInfo, LayerInfo, ParamStats, LayerStats, *RECORD_CLASSES)
}

RECORD_TYPES: dict[str, type] = {"run": RunHeader, "snapshot": Snapshot, "event": Event, "end": End}
_TYPE_NAMES = {cls: name for name, cls in RECORD_TYPES.items()}


def uses_v2(record: Record) -> bool:
    """Whether `record` holds a field that only the run log version 2 has."""
    if isinstance(record, RunHeader):
        return any(x.params is not None for x in record.layers)
    if isinstance(record, Snapshot):
        return record.scalars is not None or any(
            x.act is None or x.params is not None for x in record.layers
        )
    return False


def _drop_none(d: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if d[key] is None:
            del d[key]


def _plain(obj: Any) -> Any:
    """`dataclasses.asdict` for these records, without its per-value deep copies (a snapshot holds
    thousands of numbers): records become dicts in field order, lists and dicts are copied."""
    fields = _FIELDS.get(type(obj))
    if fields is not None:
        return {name: _plain(getattr(obj, name)) for name in fields}
    if isinstance(obj, list):
        return [_plain(v) for v in obj] if obj and type(obj[0]) in _FIELDS else list(obj)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def to_dict(record: Record) -> dict[str, Any]:
    """The run log's JSON object for a record; optional fields are left out when None."""
    body = _plain(record)
    if isinstance(record, Snapshot):
        _drop_none(body, ("scalars",))
        for layer in body["layers"]:
            _drop_none(layer, ("preact", "update_ratio", "grad", "params"))
    elif isinstance(record, RunHeader):
        for layer in body["layers"]:
            _drop_none(layer, ("params",))
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


def _param(d: dict[str, Any]) -> ParamStats:
    return ParamStats(
        name=d["name"],
        grad_norm=d.get("grad_norm"),
        weight_norm=d.get("weight_norm"),
        update_ratio=d.get("update_ratio"),
    )


def _layer_info(d: dict[str, Any]) -> LayerInfo:
    params = d.get("params")
    return LayerInfo(
        **{k: d[k] for k in ("name", "kind", "fan_in", "fan_out")},
        params=None if params is None else [ParamInfo(x["name"], list(x["shape"])) for x in params],
    )


def _layer(d: dict[str, Any]) -> LayerStats:
    params = d.get("params")
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
        params=None if params is None else [_param(x) for x in params],
    )


def from_dict(d: dict[str, Any]) -> Record:
    """Inverse of `to_dict`; unknown fields are ignored (the format may grow within a version).

    Raises KeyError or TypeError on a malformed object.
    """
    kind = d["type"]
    if kind == "run":
        return RunHeader(
            config=dict(d["config"]),
            layers=[_layer_info(x) for x in d["layers"]],
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
            scalars=None if d.get("scalars") is None else dict(d["scalars"]),
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
    "ParamInfo",
    "ParamStats",
    "Record",
    "RunHeader",
    "Snapshot",
    "Stats",
    "from_dict",
    "to_dict",
    "uses_v2",
]
