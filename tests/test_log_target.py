"""Nothing of the user's is lost: a file that is not a run log is never written over, an earlier
run's log is kept (the new run goes to a numbered sibling) unless overwriting is asked for, and two
writers never share one log (the second is refused in one line, before it writes anything)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings

import pytest
import torch
from conftest import FIXTURES

from vgtui import cli, watch
from vgtui.core.config import RunConfig
from vgtui.core.records import End, Event, RunHeader
from vgtui.runlog.codec import RunLogWriter, read_log
from vgtui.runlog.target import LogLockedError, NotALogError, open_run_log
from vgtui.trainer.worker import Server
from vgtui.ui import app as app_module
from vgtui.ui.app import VgtuiApp
from vgtui.ui.sources.trainer import ReplaySource

SMALL = ["--depth", "2", "--width", "4", "--dataset", "xor", "--device", "cpu", "--every", "1"]
EARLIER = FIXTURES / "relu_he_spiral.jsonl"  # an earlier run's log, to be kept byte for byte
NOTES = "my notes\nsecond line\n"


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def earlier_log(tmp_path, name: str = "exp.jsonl"):
    path = tmp_path / name
    shutil.copyfile(EARLIER, path)
    return path


def header(tag: str) -> RunHeader:
    return RunHeader(config={"tag": tag}, layers=[], started="2024-05-01T12:00:00+00:00")


def model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))


# ---- a file that is not a run log ---------------------------------------------------------------


@pytest.mark.parametrize("extra", [["--headless"], ["--headless", "--overwrite"], []])
def test_a_file_that_is_not_a_run_log_is_refused_and_left_as_it_was(
    tmp_path, capsys, monkeypatch, extra
):
    monkeypatch.setattr(app_module, "run_app", lambda *a, **k: pytest.fail("the dashboard ran"))
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES)
    code, _, err = run_main([*extra, "--steps", "2", *SMALL, "--log", str(notes)], capsys)
    assert code == 2
    assert err.startswith(f"vgtui: error: --log: {notes}: line 1 is not a run log record")
    assert "never writes over it" in err and err.count("\n") == 1
    assert notes.read_text() == NOTES


def test_the_writer_and_watch_refuse_a_file_that_is_not_a_run_log(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES)
    for overwrite in (False, True):
        with pytest.raises(NotALogError, match="never writes over it"):
            RunLogWriter(notes, overwrite=overwrite)
        with pytest.raises(OSError, match=f"vgtui.watch: {notes}: line 1 is not a run log"):
            watch(model(), log=notes, overwrite=overwrite)
    assert notes.read_text() == NOTES


def test_an_empty_file_is_written(tmp_path):
    path = tmp_path / "exp.jsonl"
    path.write_text("\n\n")
    with RunLogWriter(path) as writer:
        writer.write(header("new"))
    assert read_log(path).header == header("new") and read_log(path).skipped == 0


# ---- an earlier run's log -----------------------------------------------------------------------


def test_an_earlier_run_log_is_kept_and_the_run_goes_to_the_next_numbered_name(tmp_path, capsys):
    path = earlier_log(tmp_path)
    argv = ["--headless", "--steps", "2", *SMALL, "--log", str(path)]
    for number in (2, 3):
        code, _, err = run_main(argv, capsys)
        sibling = tmp_path / f"exp.{number}.jsonl"
        assert code == 0
        assert err == (
            f"vgtui: {path} holds an earlier run's log; this run's log is {sibling} "
            "(--overwrite replaces it)\n"
        )
        assert read_log(sibling).end.reason == "done"
    assert path.read_bytes() == EARLIER.read_bytes()


def test_overwrite_replaces_an_earlier_run_log(tmp_path, capsys):
    path = earlier_log(tmp_path)
    argv = ["--headless", "--steps", "2", *SMALL, "--log", str(path), "--overwrite"]
    code, _, err = run_main(argv, capsys)
    assert code == 0 and err == ""
    run = read_log(path)
    assert run.header.config["dataset"] == "xor" and run.end.reason == "done"
    assert run.skipped == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["exp.jsonl"]


def test_watch_keeps_an_earlier_log_unless_asked_to_overwrite(tmp_path):
    path = earlier_log(tmp_path)
    with pytest.warns(UserWarning, match=r"this run's log is .*exp\.2\.jsonl \(watch\(\.\.\., ov"):
        watch(model(), log=path, every=1).close()
    assert read_log(tmp_path / "exp.2.jsonl").end.reason == "done"
    assert path.read_bytes() == EARLIER.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        watch(model(), log=path, every=1, overwrite=True).close()
    assert read_log(path).header.config["source"] == "watch"
    assert not (tmp_path / "exp.3.jsonl").exists()


class Conn:
    def __init__(self, commands: list) -> None:
        self.commands = commands
        self.sent: list = []

    def send(self, batch) -> None:
        self.sent.append(batch)

    def poll(self, timeout: float | None = 0.0) -> bool:
        return bool(self.commands)

    def recv(self):
        return self.commands.pop(0)


def test_the_dashboard_trainer_logs_beside_an_earlier_run_and_says_so_once(tmp_path):
    path = earlier_log(tmp_path)
    config = RunConfig(depth=2, width=4, dataset="xor", device="cpu", every=1)
    conn = Conn([("restart", config.replace(activation="relu").to_dict()), ("stop",)])
    server = Server(conn, str(path), 30.0)
    server.start(config)
    server.train_step()
    server.loop()
    notices = [
        r.message for b in conn.sent for r in b if isinstance(r, Event) and r.kind == "notice"
    ]
    assert notices == [
        f"{path} holds an earlier run's log; this run's log is {tmp_path / 'exp.2.jsonl'} "
        "(--overwrite replaces it)"
    ]
    first, second = read_log(tmp_path / "exp.2.jsonl"), read_log(tmp_path / "exp.3.jsonl")
    assert first.header.config["activation"] == "sigmoid" and first.end.reason == "stopped"
    assert second.header.config["activation"] == "relu" and second.end.reason == "stopped"
    assert path.read_bytes() == EARLIER.read_bytes()


async def test_the_dashboard_shows_the_notice(recorded, wait_until):
    notice = "exp.jsonl holds an earlier run's log; this run's log is exp.2.jsonl (--overwrite ...)"
    records = [Event(0, "notice", notice), *recorded("relu_he_spiral.jsonl")]
    app = VgtuiApp(RunConfig(device="cpu"), source_factory=lambda c: ReplaySource(records), fps=30)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        toasts = lambda: [t.render().plain for t in app.screen.query("Toast")]  # noqa: E731
        await wait_until(pilot, lambda: any(notice in t for t in toasts()), "the notice")


# ---- two writers --------------------------------------------------------------------------------


def test_a_second_writer_on_a_log_being_written_is_refused_before_writing(tmp_path):
    path = tmp_path / "exp.jsonl"
    with RunLogWriter(path) as first:
        first.write(header("first"))
        for overwrite in (False, True):
            with pytest.raises(LogLockedError, match=f"^{path} is being written by another run"):
                RunLogWriter(path, overwrite=overwrite)
            with pytest.raises(LogLockedError):
                open_run_log(path, overwrite)
        with pytest.raises(OSError, match=f"vgtui.watch: {path} is being written by another"):
            watch(model(), log=path)
        first.write(End(0, "done"))
    data = path.read_bytes()
    assert b"\0" not in data
    run = read_log(path)
    assert run.header == header("first") and run.end == End(0, "done") and run.skipped == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.jsonl"]


def test_a_second_headless_run_on_a_log_being_written_is_refused(tmp_path):
    path = tmp_path / "live.jsonl"
    command = [sys.executable, "-m", "vgtui", "--headless", *SMALL, "--log", str(path)]
    first = subprocess.Popen(
        [*command, "--steps", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout.readline().split()[0] == "step"  # its first row: the log is open
        for extra in ([], ["--overwrite"]):
            second = subprocess.run(
                [*command, "--steps", "3", *extra], capture_output=True, text=True, timeout=120
            )
            assert second.returncode == 2
            assert second.stderr == (
                f"vgtui: error: --log: {path} is being written by another run now; "
                "give another log path\n"
            )
        first.terminate()
        assert first.wait(timeout=60) == 0
    finally:
        first.kill()
        first.wait()
    data = path.read_bytes()
    assert b"\0" not in data
    run = read_log(path)
    assert run.skipped == 0 and run.end.reason == "stopped"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.jsonl"]
