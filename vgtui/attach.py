"""`vgtui attach PATH`: the dashboard following a run log that another process writes."""

from __future__ import annotations

from vgtui.logview import main as _main


def main(argv: list[str]) -> int:
    return _main(argv, "attach")
