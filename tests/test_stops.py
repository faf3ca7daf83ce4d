"""A run stopped at any moment still ends its log: a headless run on SIGHUP as on SIGTERM, also
while its log is opening or before its trainer exists, and a `vgtui.watch` script that never
closes its watcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vgtui.runlog.codec import read_log

SMALL = ["--depth", "2", "--width", "4", "--dataset", "xor", "--device", "cpu", "--every", "1"]
ENV = {**os.environ, "VGTUI_OFFLINE": "1"}


def test_sighup_stops_a_headless_run_and_its_log_ends(tmp_path):
    log = tmp_path / "run.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vgtui", "--headless", "--steps", "0", *SMALL, "--log", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout.readline().split()[0] == "step"  # the first row: the run is going
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=60) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    run = read_log(log)
    assert run.end is not None and run.end.reason == "stopped" and run.skipped == 0


# A SIGTERM delivered from inside the named function, before it does its work: at that exact
# moment of the run, every time.
SIGTERM_IN = """
import os, signal, sys
import {module} as target
real = target.{cls}.__init__
def init(self, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    real(self, *args, **kwargs)
target.{cls}.__init__ = init
from vgtui.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("module", "cls", "logged"),
    [
        ("vgtui.runlog.codec", "RunLogWriter", True),  # while the log is opening
        ("vgtui.trainer.trainer", "Trainer", False),  # before the trainer (and the log) exist
    ],
)
def test_sigterm_at_any_moment_of_a_headless_run_is_a_clean_stop(tmp_path, module, cls, logged):
    log = tmp_path / "run.jsonl"
    script = tmp_path / "run.py"
    script.write_text(SIGTERM_IN.format(module=module, cls=cls))
    argv = ["--headless", "--json", "--steps", "5", *SMALL, "--log", str(log)]
    done = subprocess.run(
        [sys.executable, str(script), *argv], capture_output=True, text=True, timeout=120, env=ENV
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["reason"] == "stopped"
    if logged:
        run = read_log(log)
        assert run.header is not None and run.end is not None and run.end.reason == "stopped"
        assert run.skipped == 0
    else:
        assert not log.exists()


WATCH_WITHOUT_CLOSE = """
import sys, torch, vgtui
model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
probe = vgtui.watch(model, log=sys.argv[1], every=1)
for _ in range(3):
    loss = model(torch.randn(4, 2)).pow(2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    probe.step(loss)
if sys.argv[2] == "raise":
    raise RuntimeError("the script fails")
"""


@pytest.mark.parametrize(("ending", "reason"), [("return", "done"), ("raise", "error")])
def test_a_watcher_never_closed_ends_its_log_at_exit(tmp_path, ending, reason):
    log = tmp_path / "run.jsonl"
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(WATCH_WITHOUT_CLOSE))
    done = subprocess.run(
        [sys.executable, str(script), str(log), ending], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == (0 if ending == "return" else 1), done.stderr
    run = read_log(log)
    assert [s.step for s in run.snapshots] == [1, 2, 3] and run.skipped == 0
    assert run.end is not None and (run.end.step, run.end.reason) == (3, reason)
