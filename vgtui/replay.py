"""`vgtui replay PATH`: the dashboard playing a finished run log."""

from __future__ import annotations

from vgtui.logview import main as _main


def main(argv: list[str]) -> int:
    return _main(argv, "replay")
