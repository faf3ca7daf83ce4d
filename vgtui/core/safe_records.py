"""Records made safe to show: every string from data in them passed through `safe_text`.

A run log, a watched model or a trainer's captured output can hold any text: layer and parameter
names, event messages, config keys and values. The places where records enter a view (the
dashboard's reader, the report) pass them through `safe_record` once, so no widget or printer
ever holds raw data text. A record that needs nothing (the usual case) comes back as the same
object, at the cost of one scan of its names.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vgtui.core.records import End, Event, LayerInfo, LayerStats, Record, RunHeader, Snapshot
from vgtui.core.text import safe_text


def safe_value(value: Any, most: int | None = None) -> Any:
    """A value from data (a config, the user's scalars) with every string in it, keys included,
    made safe (`safe_text`, cut to ``most`` characters); the same object where nothing needed it."""
    if isinstance(value, str):
        return safe_text(value, most=most)
    if isinstance(value, list):
        out = [safe_value(v, most) for v in value]
        return value if all(a is b for a, b in zip(out, value, strict=True)) else out
    if isinstance(value, dict):
        pairs = [(safe_value(k, most), safe_value(v, most)) for k, v in value.items()]
        same = all(k is a and v is b for (k, v), (a, b) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    return value


def _all_safe(names: list[str], most: int | None) -> bool:
    """Whether none of ``names`` needs `safe_text` (one scan of them all)."""
    if most is not None and any(len(name) > most for name in names):
        return False
    joined = "".join(names)
    return safe_text(joined) is joined


def _safe_layer(layer: LayerInfo | LayerStats, most: int | None) -> Any:
    names = [layer.name, *(p.name for p in layer.params or ())]
    if isinstance(layer, LayerInfo):
        names.append(layer.kind)
    if _all_safe(names, most):
        return layer
    changes: dict[str, Any] = {"name": safe_text(layer.name, most=most)}
    if layer.params is not None:
        changes["params"] = [
            dataclasses.replace(p, name=safe_text(p.name, most=most)) for p in layer.params
        ]
    if isinstance(layer, LayerInfo):
        changes["kind"] = safe_text(layer.kind, most=most)
    return dataclasses.replace(layer, **changes)


def safe_record(record: Record, most: int | None = None) -> Record:
    """``record`` with every string from data in it (layer and parameter names, event messages,
    config keys and values) made safe to draw or print, each cut to ``most`` characters where
    given (`safe_text`); the same object where nothing needed it."""
    if isinstance(record, Snapshot):
        names = [x.name for x in record.layers]
        names += [p.name for x in record.layers if x.params for p in x.params]
        names += list(record.scalars or ())
        if _all_safe(names, most):
            return record
        return dataclasses.replace(
            record,
            layers=[_safe_layer(x, most) for x in record.layers],
            scalars=safe_value(record.scalars, most),
        )
    if isinstance(record, RunHeader):
        layers = [_safe_layer(x, most) for x in record.layers]
        config = safe_value(record.config, most)
        started = safe_text(record.started, most=most)
        same = all(a is b for a, b in zip(layers, record.layers, strict=True))
        if same and config is record.config and started is record.started:
            return record
        return dataclasses.replace(record, config=config, layers=layers, started=started)
    if isinstance(record, Event):
        kind = safe_text(record.kind, most=most)
        message = safe_text(record.message, newlines=True, most=most)
        if kind is record.kind and message is record.message:
            return record
        return Event(record.step, kind, message)
    if isinstance(record, End):
        reason = safe_text(record.reason, most=most)
        return record if reason is record.reason else End(record.step, reason)
    return record


class SafeRecords:
    """`safe_record` for a stream of records, as a reader calls it: a header seen again comes out
    as the same safe object (a replay that moves back sends its run's header again, and the views
    know the run by that object)."""

    KEEP = 64  # headers remembered: more runs than a run log usually holds

    def __init__(self, most: int | None = None) -> None:
        self.most = most
        self._headers: dict[int, tuple[RunHeader, Record]] = {}

    def __call__(self, record: Record) -> Record:
        if not isinstance(record, RunHeader):
            return safe_record(record, self.most)
        raw, safe = self._headers.get(id(record), (None, record))
        if raw is not record:
            safe = safe_record(record, self.most)
            self._headers[id(record)] = (record, safe)
            while len(self._headers) > self.KEEP:
                del self._headers[next(iter(self._headers))]
        return safe
