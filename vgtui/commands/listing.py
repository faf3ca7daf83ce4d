"""`vgtui --list`: every activation, initializer, dataset and optimizer, one line each."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from vgtui.core import activations, initializers


def _param(name: str, param_name: str) -> str:
    return f"{name}[:{param_name}]" if param_name else name


def print_list(console: Console | None = None) -> None:
    # The datasets' and optimizers' descriptions still live beside their torch code: --list
    # imports torch until they move to a torch-free registry (issue 17, stream B-core).
    from vgtui.trainer.data import DESCRIPTIONS as DATASETS
    from vgtui.trainer.optim import OPTIMIZER_DESCRIPTIONS

    console = console or Console(highlight=False)
    sections = [
        (
            "activation (--activation)",
            {_param(n, k.param_name): k.description for n, k in activations.KINDS.items()},
        ),
        (
            "initializer (--init)",
            {_param(n, k.param_name): k.formula for n, k in initializers.KINDS.items()},
        ),
        ("dataset (--dataset)", DATASETS),
        ("optimizer (--optimizer)", OPTIMIZER_DESCRIPTIONS),
    ]
    for title, rows in sections:
        table = Table(
            title=title, title_justify="left", show_header=False, box=None, title_style="bold"
        )
        table.add_column(style="cyan", no_wrap=True)
        table.add_column()
        for name, text in rows.items():
            table.add_row(name, text)
        console.print(table)
        console.print()
