"""The diagnosis in one or two lines, coloured by how bad each finding is."""

from __future__ import annotations

from collections.abc import Sequence

from vgtui.core.diagnosis import Finding, Severity, render
from vgtui.ui.widgets.lines import Line, LineView

STYLES = {
    Severity.OK: "green",
    Severity.NOTE: "cyan",
    Severity.WARN: "yellow",
    Severity.BAD: "bold red",
}


def diagnosis_lines(findings: Sequence[Finding], width: int, lines: int = 2) -> list[Line]:
    """`diagnosis.render`'s lines, each in the colour of the finding it belongs to.

    `render` wraps a finding's sentence with an indent on its continuation lines, so a line that
    does not start with blanks begins the next finding.
    """
    if not findings:
        return [(("diagnosis: waiting for a snapshot…", "dim"),)]
    out: list[Line] = []
    k = -1
    for text in render(findings, width, lines):
        if not text.startswith(" ") or k < 0:
            k = min(k + 1, len(findings) - 1)
        out.append(((text, STYLES[findings[k].severity]),))
    return out


class DiagnosisPanel(LineView):
    """Two lines: what the diagnosis of the last snapshots says (`show` gives the findings)."""

    DEFAULT_CSS = """
    DiagnosisPanel { height: 2; background: $boost; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.findings: tuple[Finding, ...] = ()

    def version(self) -> object:
        return self.findings

    def show(self, findings: Sequence[Finding]) -> int:
        self.findings = tuple(findings)
        return self.redraw()

    def build(self, width: int, height: int) -> list[Line]:
        return diagnosis_lines(self.findings, width, 2)
