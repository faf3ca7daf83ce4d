"""`vgtui bench` (`make bench`): the figures every change is held to, measured side by side.

Each figure carries its budget and whether it met it; the table is printed with Rich and the
figures are written to ``bench.json``. Ratios are used wherever this machine's noise would make
an absolute time meaningless. ``--quick`` shrinks every measurement (for the smoke test).

`harness` holds the figures, the plan and the table; each section has its own module: `probe`
(the probe's, watch()'s and the peers' overhead, torch.compile), `ui` (event-loop lag, trainer
throughput, key to effect, memory), `frame` (render cost, the views' frames), `logs` (opening,
following and attaching to logs) and `pty` (bytes to a terminal).
"""

from vgtui.bench.harness import SECTIONS, Figure, Plan, main

__all__ = ["SECTIONS", "Figure", "Plan", "main"]
