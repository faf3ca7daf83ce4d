"""The dashboard's process holds no torch: the config data and the app import without it."""

import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "sigmoid_xavier_spiral.jsonl"

OPEN_APP = f"""
import asyncio, sys
from vgtui.core.config import RunConfig
from vgtui.runlog.codec import LogReader
from vgtui.ui.app import VgtuiApp
from vgtui.ui.sources.trainer import ReplaySource

records = list(LogReader().records(open({str(FIXTURE)!r}, "rb")))

async def main():
    app = VgtuiApp(RunConfig(), source_factory=lambda c: ReplaySource(records))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            if app.snapshots_shown:
                break
            await pilot.pause(0.05)
        assert app.snapshots_shown, "no snapshot was drawn"
        await pilot.press("a", "p", "question_mark")
        await pilot.pause()

asyncio.run(main())
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")))
"""


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


DIAGNOSE_AND_FOLLOW = f"""
import sys
from vgtui.core.diagnosis import diagnose, render
from vgtui.runlog.follow import Follower
from vgtui.runlog.tail import read_tail
from vgtui.core.records import Snapshot
from vgtui.runlog.codec import LogReader

records = list(LogReader().records(open({str(FIXTURE)!r}, "rb")))
snapshots = [r for r in records if isinstance(r, Snapshot)]
assert render(diagnose(records[0], snapshots), 80)
follower = Follower({str(FIXTURE)!r})
assert follower.poll().snapshots == len(snapshots) and read_tail({str(FIXTURE)!r}).snapshots
print('torch' in sys.modules)
"""


def test_the_diagnosis_and_the_follower_run_without_importing_torch():
    assert run_python(DIAGNOSE_AND_FOLLOW) == "False"


def test_config_data_imports_without_torch():
    code = (
        "import sys; from vgtui.core.config import RunConfig; "
        "from vgtui.core import activations, initializers, records, pacing; "
        "from vgtui.runlog import codec; from vgtui.trainer import worker; "
        "RunConfig(activation='leaky_relu:0.2', init='normal:0.01', every='auto'); "
        "print('torch' in sys.modules)"
    )
    assert run_python(code) == "False"


def test_the_app_runs_without_importing_torch():
    assert run_python(OPEN_APP) == "[]"
