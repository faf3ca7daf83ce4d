"""Which layers the per-layer views show: a name filter (``/``) and groups that fold (``z``).

A filter is a substring of the layer's name, or a glob over the whole name where it holds
``*``, ``?`` or ``[`` (``*attn.[qk]``). Layers group by module prefix (``encoder.layers.3`` holds
``encoder.layers.3.self_attn.out_proj`` and ``encoder.layers.3.linear1``); a folded group is one
row, which a view draws from its layers together. `fold_to` folds at the finest level of prefixes
whose rows fit a height: 100 layers of a 12-block model become the 12 blocks and the rest.
Names without a dot (vgtui's own MLP: ``layer1`` ... ``output``) are in no group.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """One row of a per-layer view: a layer, or a folded group of layers."""

    label: str
    layers: tuple[int, ...]  # positions in the run's layer list, input side first
    folded: bool = False


def prefix(name: str, depth: int) -> str:
    """The module prefix of ``depth`` dotted parts ("" where the name has no more parts)."""
    parts = name.split(".")
    return ".".join(parts[:depth]) if len(parts) > depth else ""


@dataclass
class LayerFilter:
    """The filter and the folded groups; `rows` applies them to a run's layer names."""

    pattern: str = ""
    folded: set[str] = field(default_factory=set)

    @property
    def is_glob(self) -> bool:
        return any(c in self.pattern for c in "*?[")

    def matches(self, name: str) -> bool:
        if not self.pattern:
            return True
        if self.is_glob:
            return fnmatch.fnmatchcase(name, self.pattern)
        return self.pattern.lower() in name.lower()

    def group(self, name: str) -> str:
        """The folded group ``name`` is drawn in ("" where none)."""
        for depth in range(1, name.count(".") + 1):
            if (p := prefix(name, depth)) in self.folded:
                return p
        return ""

    def toggle(self, group: str) -> None:
        self.folded ^= {group}

    def rows(self, names: Sequence[str]) -> list[Row]:
        """The rows to draw: matching layers in order, each folded group as one row where its
        first matching layer stands."""
        rows: list[Row] = []
        at: dict[str, int] = {}
        for i, name in enumerate(names):
            if not self.matches(name):
                continue
            group = self.group(name) if self.folded else ""
            if not group:
                rows.append(Row(name, (i,)))
            elif group in at:
                row = rows[at[group]]
                rows[at[group]] = Row(row.label, (*row.layers, i), True)
            else:
                at[group] = len(rows)
                rows.append(Row(f"{group}.*", (i,), True))
        return rows

    def fold_to(self, names: Sequence[str], height: int) -> None:
        """Fold every group of the finest level whose rows fit ``height`` (the coarsest level
        where none fits); unfold all where anything is folded already."""
        if self.folded:
            self.folded = set()
            return
        best: set[str] = set()
        for depth in range(1, max((n.count(".") for n in names), default=0) + 1):
            counts: dict[str, int] = {}
            for name in names:
                if p := prefix(name, depth):
                    counts[p] = counts.get(p, 0) + 1
            groups = {p for p, n in counts.items() if n > 1}
            if not groups:
                continue
            self.folded = groups
            fits = len(self.rows(names)) <= height
            if fits or not best:
                best = groups
            if not fits:
                break
        self.folded = best

    def describe(self, names: Sequence[str]) -> str:
        """``12/100 layers match 'attn'`` for the status, "" without a filter or folds."""
        if not self.pattern and not self.folded:
            return ""
        shown = sum(len(r.layers) for r in self.rows(names))
        text = f"{shown}/{len(names)} layers"
        if self.pattern:
            text += f" match {self.pattern!r}"
        if self.folded:
            text += f" · {len(self.folded)} group{'s' * (len(self.folded) != 1)} folded"
        return text
