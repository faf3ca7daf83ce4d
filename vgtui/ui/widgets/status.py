"""The one-line status: what is training, how fast, and in which state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len

from vgtui.core.config import RunConfig
from vgtui.core.text import fmt_steps, safe_text
from vgtui.ui.widgets.lines import Line, LineView, Seg, fit

STATE_STYLES = {
    "running": "green",
    "paused": "yellow",
    "starting": "cyan",
    "done": "blue",
    "replay": "blue",
    "attach": "cyan",
    "downloading": "cyan",
}


def fmt_rate(rate: float) -> str:
    """Steps per second to two significant digits: a rate that only jitters keeps its text."""
    return f"{rate:.2g}" if rate < 100 else f"{float(f'{rate:.2g}'):,.0f}"


def status_line(
    config: RunConfig,
    device: str,
    step: int,
    rate: float | None,
    state: str,
    note: str = "",
    described: Sequence[str] | None = None,
) -> Line:
    """State and progress first (they must survive a narrow terminal), then the config, what the
    keys change most first; ``described`` replaces the config for a run that is not ours (see
    `describe_run`); an empty one (a log not written yet) shows no step either: nothing is known
    of the run but what ``note`` says. Text from data (a path in the note, a run log's config) is
    made safe."""
    style = STATE_STYLES.get(state.split()[0], "bold red")
    segs: list[Seg] = [(f"● {state}", style)]
    if described is None or described:
        segs.append((f"  step {step:,}", ""))
    if rate is not None:
        segs.append((f" · {fmt_rate(rate)} steps/s", "dim"))
    if note:
        segs.append((f" · {note}", "dim"))
    segs.append(("  ", ""))
    parts = list(described) if described is not None else config_parts(config, device)
    for i, value in enumerate(parts):
        if i:
            segs.append((" · ", "dim"))
        segs.append((value, "bold"))
    return tuple((safe_text(text), style) for text, style in segs)  # a note names a path


def config_parts(config: RunConfig, device: str) -> list[str]:
    """The built-in trainer's run in words, what the keys change most first."""
    training = "forward only" if config.forward_only else f"{config.optimizer} lr {config.lr:g}"
    parts = [
        f"{config.activation} · {config.init}",
        f"{config.depth}x{config.width}",
        config.dataset,
        training,
        device,
    ]
    if config.norm != "none":
        parts.append(f"{config.norm} norm")
    if config.residual:
        parts.append("residual")
    if config.dropout:
        parts.append(f"dropout {config.dropout:g}")
    return parts


def describe_run(header: dict[str, Any], layers: int) -> list[str] | None:
    """A run log's header config in words when another program wrote it (``watch()``): the
    model, its size, the optimizer, where it runs. None for the built-in trainer's runs, whose
    header is a `RunConfig`."""
    if header.get("source") != "watch":
        return None
    parts = [str(header.get("model") or "model"), f"{layers} layers"]
    if isinstance(header.get("parameters"), int):
        parts.append(f"{fmt_steps(header['parameters'])} parameters")
    if header.get("optimizer"):
        lr = header.get("lr")
        parts.append(
            f"{header['optimizer']} lr {lr:g}" if isinstance(lr, float) else header["optimizer"]
        )
    world = header.get("world_size")
    if isinstance(world, int) and world > 1:
        parts.append(f"{world} ranks")
    if header.get("compiled"):
        parts.append("compiled")
    if header.get("device"):
        parts.append(str(header["device"]))
    return parts


class StatusLine(LineView):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $boost; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.line: Line = ()

    def show(self, line: Line) -> int:
        self.line = line
        return self.redraw()

    def build(self, width: int, height: int) -> list[Line]:
        if sum(cell_len(text) for text, _ in self.line) <= width:
            return [self.line]
        return [(*fit(self.line, width - 1), ("…", "dim"))]
