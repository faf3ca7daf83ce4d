"""The help screen: every key, generated from the app's bindings, and what to look at."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

WHAT_TO_LOOK_AT = (
    "[b]What to look at[/b]\n"
    "• [b]Gradient bars[/b] (log scale): in a deep sigmoid net they fall off toward the input by "
    "orders of magnitude: each sigmoid layer multiplies the gradient by at most 1/4, so layer 1 "
    "barely learns.\n"
    "• [b]Histograms[/b]: a sigmoid pressed against 0 and 1 is saturated (its derivative is ~0); "
    "a ReLU layer with a tall bar at 0 has dead units; a histogram that shrinks layer by layer "
    "means vanishing signal (try init N(0,0.01)); one that widens, exploding (try N(0,1) with "
    "tanh, or a big lr).\n"
    "• [b]The fix[/b]: press [b]a[/b] for ReLU, then [b]i[/b] for He init; or keep sigmoid and "
    "press [b]b[/b] (batch norm) or [b]s[/b] (residual connections). The previous run's curve "
    "stays, dimmed.\n"
    "• When the layers do not fit, [b]up[/b]/[b]down[/b] and [b]pgup[/b]/[b]pgdn[/b] scroll the "
    "histograms."
)


def _key_label(binding: Binding) -> str:
    return binding.key_display or {
        "space": "space",
        "plus": "+",
        "minus": "-",
        "greater_than_sign": ">",
        "less_than_sign": "<",
        "question_mark": "?",
        "ctrl+c": "ctrl+c",
    }.get(binding.key, binding.key)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 90%; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close help")]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.app_bindings = bindings

    def compose(self) -> ComposeResult:
        table = Table(title="vgtui keys", show_header=False, box=None, title_style="bold")
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for binding in self.app_bindings:
            table.add_row(_key_label(binding), binding.tooltip or binding.description)
        with VerticalScroll():
            yield Static(table)
            yield Static(Text.from_markup(WHAT_TO_LOOK_AT))
            yield Static(
                Text(
                    "Every action is also in the command palette (ctrl+p). Esc closes this help.",
                    style="dim",
                )
            )
