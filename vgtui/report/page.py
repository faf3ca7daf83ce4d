"""The page a report is printed on: its size, colour or not, and how rich text becomes lines."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, RenderableType
from rich.rule import Rule
from rich.text import Text

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Page:
    """Where the report is printed: its width, one chart's height, and whether it has colour."""

    width: int = 80
    height: int = 20
    color: bool = False

    def rich(self, *renderables: RenderableType) -> str:
        """Rich renderables as text of this page's width (ANSI codes only with colour)."""
        out = io.StringIO()
        console = Console(
            file=out,
            width=self.width,
            color_system="256" if self.color else None,
            force_terminal=self.color,
            no_color=not self.color,
            highlight=False,
            emoji=False,
        )
        for renderable in renderables:
            console.print(renderable)
        return self.tidy(out.getvalue())

    def tidy(self, text: str) -> str:
        """No trailing blank lines; without colour, no trailing spaces either."""
        text = text.rstrip("\n")
        return text if self.color else "\n".join(line.rstrip() for line in text.split("\n"))

    def heading(self, title: str) -> str:
        return self.rich(Rule(Text(title, style="bold"), align="left"))

    @property
    def screenful(self) -> int:
        """The most characters of one string from data a report shows: what a chart's rows of
        the page hold (an event message of megabytes is cut to that)."""
        return self.width * self.height

    def notes(self, lines: Sequence[str]) -> str:
        """Lines wrapped to the page, continuation lines indented."""
        return "\n".join(
            textwrap.fill(line, self.width, subsequent_indent="  ", break_on_hyphens=False)
            for line in lines
        )


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)
