"""Recordings: valid asciicast v2, with characters never split, and the flags that make them."""

from __future__ import annotations

import json

import pytest

from vgtui.record import CastWriter, RecordError, parse_size, split_record_args


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
