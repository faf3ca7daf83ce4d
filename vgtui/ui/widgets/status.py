"""The one-line status: what is training, how fast, and in which state."""

from __future__ import annotations

from rich.cells import cell_len

from vgtui.engine.config import RunConfig
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
) -> Line:
    """State and progress first (they must survive a narrow terminal), then the config, what the
    keys change most first."""
    style = STATE_STYLES.get(state.split()[0], "bold red")
    segs: list[Seg] = [(f"● {state}", style), (f"  step {step:,}", "")]
    if rate is not None:
        segs.append((f" · {fmt_rate(rate)} steps/s", "dim"))
    if note:
        segs.append((f" · {note}", "dim"))
    segs.append(("  ", ""))
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
    for i, value in enumerate(parts):
        if i:
            segs.append((" · ", "dim"))
        segs.append((value, "bold"))
    return tuple(segs)


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
