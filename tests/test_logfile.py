"""A run log named by a user: each way it can be wrong is one line that says so."""

import json
import os

import pytest

from vgtui.core.records import RunHeader
from vgtui.runlog.codec import encode
from vgtui.runlog.files import LogFileError, check_log, open_log

HEADER = RunHeader(config={"activation": "relu"}, layers=[], started="2026-01-01T00:00:00+00:00")


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_a_good_log_opens(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(encode(HEADER) + "\n" + "{broken\n")
    assert check_log(path).config == {"activation": "relu"}
    log = open_log(path)
    assert log.header is not None and log.skipped == 1


def test_missing_path(tmp_path):
    with pytest.raises(LogFileError) as err:
        check_log(tmp_path / "nope.jsonl")
    assert "nope.jsonl: no such file" in one_line(err)
    assert err.value.missing


def test_directory(tmp_path):
    with pytest.raises(LogFileError) as err:
        check_log(tmp_path)
    assert "is a directory" in one_line(err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(encode(HEADER) + "\n")
    path.chmod(0)
    with pytest.raises(LogFileError) as err:
        check_log(path)
    assert "permission denied" in one_line(err)


def test_not_a_run_log_names_the_line(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text("\n\nhello world\n")
    with pytest.raises(LogFileError) as err:
        check_log(path)
    assert "line 3 is not a run log record" in one_line(err)


def test_a_log_must_start_with_its_header(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps({"type": "end", "step": 3, "reason": "done"}) + "\n")
    with pytest.raises(LogFileError) as err:
        check_log(path)
    assert "line 1 is an end record" in one_line(err)


def test_newer_version(tmp_path):
    path = tmp_path / "run.jsonl"
    header = json.loads(encode(HEADER))
    header["version"] = 7
    path.write_text(json.dumps(header) + "\n")
    with pytest.raises(LogFileError) as err:
        check_log(path)
    assert "version 7" in one_line(err) and "(1-2)" in str(err.value)


def test_empty_file_is_missing_a_header(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("")
    with pytest.raises(LogFileError) as err:
        check_log(path)
    assert "empty" in one_line(err) and err.value.missing
