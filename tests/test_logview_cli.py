"""`vgtui attach`, `vgtui replay`, `vgtui PATH.jsonl`: the mode picked from the log, and every bad
input as one line with exit code 2 before a screen opens."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from vgtui import cli
from vgtui.cli import looks_like_log
from vgtui.commands.attach import mode_of
from vgtui.runlog import files as logfile

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from deep_logs import write_deep_log


@pytest.fixture
def opened(monkeypatch):
    """The app is not started: the calls that would start it are recorded."""
    calls = []

    def run_log_app(path, mode, fps=None, speed=None):
        calls.append((str(path), mode, fps, speed))
        return 0

    monkeypatch.setattr("vgtui.ui.log_app.run_log_app", run_log_app)
    return calls


def error_of(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_a_path_alone_is_attach_until_the_log_has_its_end(tmp_path, opened):
    ended = write_deep_log(tmp_path / "ended.jsonl", snapshots=2)
    going = write_deep_log(tmp_path / "going.jsonl", snapshots=2, end=None)
    assert mode_of(str(ended)) == "replay" and mode_of(str(going)) == "attach"
    assert mode_of(str(tmp_path / "not_yet.jsonl")) == "attach"
    assert cli.main([str(ended)]) == 0 and cli.main([str(going)]) == 0
    assert [c[1] for c in opened] == ["replay", "attach"]
    assert looks_like_log(["runs/x.jsonl"]) and not looks_like_log(["--headless"])
    assert not looks_like_log(["bench"]) and not looks_like_log(["a.jsonl", "b.jsonl"])


def test_flags_reach_the_app(tmp_path, opened):
    log = write_deep_log(tmp_path / "run.jsonl", snapshots=2)
    assert cli.main(["replay", str(log), "--speed", "4", "--fps", "5"]) == 0
    assert cli.main(["attach", str(log)]) == 0
    assert opened == [(str(log), "replay", 5.0, 4.0), (str(log), "attach", None, None)]


def test_attach_waits_for_a_missing_log_replay_says_so(tmp_path, opened, capsys):
    missing = tmp_path / "runs" / "exp1.jsonl"
    assert cli.main(["attach", str(missing)]) == 0  # opens, and waits for it
    assert cli.main(["replay", str(missing)]) == 2
    assert error_of(capsys) == f"vgtui replay: error: {missing}: no such file"
    assert len(opened) == 1


def test_a_directory(tmp_path, opened, capsys):
    for mode in ("attach", "replay"):
        assert cli.main([mode, str(tmp_path)]) == 2
        assert "is a directory, not a run log" in error_of(capsys)
    assert not opened


def test_a_file_that_is_not_a_run_log_names_its_line(tmp_path, opened, capsys):
    path = tmp_path / "notes.jsonl"
    path.write_text("\n" + json.dumps({"type": "snapshot", "step": 1}) + "\n")
    assert cli.main([str(path)]) == 2
    assert "line 2 is not a run log record" in error_of(capsys)
    path.write_text("hello\n")
    assert cli.main(["replay", str(path)]) == 2
    assert "line 1 is not a run log record" in error_of(capsys)
    assert not opened


def test_a_newer_format_version(tmp_path, opened, capsys):
    path = write_deep_log(tmp_path / "run.jsonl", snapshots=1)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["version"] = 9
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    assert cli.main(["attach", str(path)]) == 2
    assert "run log version 9 is not one this vgtui reads (1-2)" in error_of(capsys)


def test_an_unreadable_file(tmp_path, opened, capsys, monkeypatch):
    path = write_deep_log(tmp_path / "run.jsonl", snapshots=1)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(logfile, "open_regular", denied)  # root reads any file
    for mode in ("attach", "replay"):
        assert cli.main([mode, str(path)]) == 2
        assert "permission denied" in error_of(capsys)
    assert not opened


def test_bad_flags(tmp_path, opened, capsys):
    log = write_deep_log(tmp_path / "run.jsonl", snapshots=1)
    for argv, needle in (
        (["replay", str(log), "--speed", "0"], "--speed: '0' is not valid"),
        (["attach", str(log), "--fps", "-1"], "--fps: '-1' is not valid"),
        (["attach"], "PATH"),
    ):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2 and needle in error_of(capsys)
    assert not opened
