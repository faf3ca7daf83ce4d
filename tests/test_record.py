"""Recordings: valid asciicast v2, with characters never split, and the flags that make them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vgtui.cli import main
from vgtui.commands import recording as record
from vgtui.commands.recording import CastWriter, RecordError, parse_size, split_record_args


def read_cast(path) -> tuple[dict, list]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def test_a_cast_has_the_v2_header_and_monotonic_output_events(tmp_path):
    path = tmp_path / "x.cast"
    cast = CastWriter(str(path), 100, 30, "vgtui demo xor")
    text = "héllo ▁▂▃ wörld".encode()
    cut = text.index("▁".encode()) + 1  # a read that ends inside a character
    cast.output(text[:cut])
    cast.output(text[cut:])
    cast.output(b"\x1b[2J\x1b[Hdone")
    cast.close()
    header, events = read_cast(path)
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    assert header["title"] == "vgtui demo xor" and isinstance(header["timestamp"], int)
    assert all(kind == "o" for _, kind, _ in events)
    times = [t for t, _, _ in events]
    assert times == sorted(times) and times[0] >= 0
    assert "".join(data for _, _, data in events) == "héllo ▁▂▃ wörld\x1b[2J\x1b[Hdone"
    assert "\ufffd" not in "".join(data for _, _, data in events)


@pytest.mark.parametrize(
    ("text", "size"), [("100x30", (100, 30)), ("80x24", (80, 24)), (" 240x70 ", (240, 70))]
)
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["100", "100x", "x30", "79x24", "80x23", "1e2x30", "100X30"])
def test_bad_sizes(text):
    with pytest.raises(RecordError, match="--size"):
        parse_size(text)


def test_record_flags_are_taken_out_of_the_command_either_way():
    rest, path, size = split_record_args(["demo", "xor", "--record", "a.cast", "--size=90x30"])
    assert (rest, path, size) == (["demo", "xor"], "a.cast", "90x30")
    rest, path, size = split_record_args(["--record=b.cast", "--depth", "3"])
    assert (rest, path, size) == (["--depth", "3"], "b.cast", None)


@pytest.fixture
def no_child(monkeypatch):
    """Starting the recorded app fails the test: the checks come first."""

    def spawn(*args, **kwargs):
        pytest.fail("the app was started")

    monkeypatch.setattr(record, "spawn_in_pty", spawn)


def one_line_error(capsys) -> str:
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/proc/x.cast", "--record: cannot write /proc/x.cast (No such file or directory)"),
        ("/sys/x.cast", "--record: cannot write /sys/x.cast"),  # unwritable, even for root
        ("{tmp}/dangling.cast", "dangling.cast is a broken symbolic link"),
        ("{tmp}/fifo.cast", "fifo.cast is not a regular file"),
        ("{tmp}", "is a directory; give a file name such as"),
    ],
)
def test_a_path_that_cannot_be_recorded_to_is_one_line_and_nothing_starts(
    tmp_path, capsys, no_child, path, needle
):
    (tmp_path / "dangling.cast").symlink_to(tmp_path / "gone" / "x.cast")
    os.mkfifo(tmp_path / "fifo.cast")
    argv = ["demo", "xor", "--record", path.replace("{tmp}", str(tmp_path)), "--size", "100x30"]
    assert main(argv) == 2
    assert needle in one_line_error(capsys)
    assert not (tmp_path / "gone").exists()


def test_an_existing_recording_is_kept_unless_overwrite(tmp_path, capsys, no_child):
    cast = tmp_path / "talk.cast"
    cast.write_bytes(b"my talk\x00\xff")
    assert main(["demo", "xor", "--record", str(cast), "--size", "100x30"]) == 2
    assert f"{cast} exists; add --overwrite to replace it" in one_line_error(capsys)
    assert cast.read_bytes() == b"my talk\x00\xff"
    with pytest.raises(RecordError, match="exists; add --overwrite"):
        CastWriter(str(cast), 100, 30, "a file that came while the app started")
    assert cast.read_bytes() == b"my talk\x00\xff"


def test_overwrite_replaces_a_recording_and_an_error_of_the_app_is_said(tmp_path):
    cast = tmp_path / "talk.cast"
    cast.write_text("my talk")
    argv = ["demo", "nosuch", "--record", str(cast), "--size", "100x30", "--overwrite"]
    done = subprocess.run(
        [sys.executable, "-m", "vgtui", *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("vgtui demo: error: no lesson 'nosuch'")
    assert done.stderr.count("\n") == 1  # the app's own error line, and nothing else
    header, events = read_cast(cast)
    assert header["title"] == "vgtui demo nosuch --exit-at-end"  # --overwrite was for the file
    assert "no lesson 'nosuch'" in "".join(data for _, _, data in events)


def test_overwrite_stays_in_the_recorded_command_where_it_has_a_log(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(record, "record", lambda argv, *rest: started.append(argv) or 0)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    cast = str(tmp_path / "x.cast")
    assert main(["--log", "a.jsonl", "--overwrite", "--record", cast]) == 0
    assert main(["--depth", "3", "--overwrite", "--record", cast]) == 0
    assert started == [["--log", "a.jsonl", "--overwrite"], ["--depth", "3"]]
