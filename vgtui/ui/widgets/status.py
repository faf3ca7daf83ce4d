"""The one-line status: what is training, how fast, and in which state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from vgtui.engine.config import RunConfig
from vgtui.format import fmt_num

STATE_STYLES = {
    "running": "green",
    "paused": "yellow",
    "starting": "cyan",
    "done": "blue",
    "replay": "blue",
    "downloading": "cyan",
}


def status_text(config: RunConfig, device: str, step: int, rate: float | None, state: str) -> Text:
    """State and progress first (they must survive a narrow terminal), then the config."""
    text = Text(no_wrap=True, overflow="ellipsis")
    style = STATE_STYLES.get(state.split()[0], "bold red")
    text.append(f"● {state}", style=style)
    text.append(f"  step {step:,}", style="")
    if rate is not None:
        text.append(f" · {fmt_num(rate)} steps/s", style="dim")
    text.append("  ")
    parts = [
        ("", f"{config.activation} · {config.init}"),
        (" · ", f"{config.depth}x{config.width}"),
        (" · ", f"{config.optimizer} lr {config.lr:g}"),
        (" · ", config.dataset),
        (" · ", device),
    ]
    if config.norm != "none":
        parts.append((" · ", f"{config.norm} norm"))
    if config.residual:
        parts.append((" · ", "residual"))
    if config.dropout:
        parts.append((" · ", f"dropout {config.dropout:g}"))
    for sep, value in parts:
        text.append(sep, style="dim")
        text.append(value, style="bold")
    return text


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $boost; }
    """
