"""Following a run log that a test writes line by line; opening one from its end.

Every step is an explicit `poll()`; the "silent for 2 min" clock is injected.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

import pytest

from vgtui.core.records import End, Event, RunHeader, Snapshot, to_dict
from vgtui.runlog import follow
from vgtui.runlog.codec import encode, json_safe, read_log
from vgtui.runlog.files import LogFileError
from vgtui.runlog.follow import Follower
from vgtui.runlog.tail import read_tail


@pytest.fixture
def fixture_run(recorded):
    records = recorded("relu_he_spiral.jsonl")
    header = records[0]
    snaps = [r for r in records if isinstance(r, Snapshot)]
    return header, snaps


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def append(path, *records, raw: bytes = b"") -> None:
    with open(path, "ab") as f:
        for record in records:
            f.write(encode(record).encode() + b"\n")
        f.write(raw)


def curve_values(run, name):
    return list(getattr(run.curves, name))


def expected_values(snaps, name):
    return [math.nan if getattr(s, name) is None else getattr(s, name) for s in snaps]


def same(a, b) -> bool:
    return len(a) == len(b) and all(
        x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True)
    )


def test_follows_a_file_written_line_by_line(tmp_path, fixture_run):
    header, snaps = fixture_run
    path = tmp_path / "run.jsonl"
    clock = Clock()
    follower = Follower(path, keep=3, clock=clock)

    assert not follower.poll() and follower.waiting
    assert follower.status() == f"waiting for {path}"
    path.touch()  # created, header not yet written
    assert not follower.poll() and follower.waiting

    append(path, header)
    change = follower.poll()
    assert change.file == "appeared" and change.runs == 1 and not follower.waiting
    assert follower.run.header == header and follower.latest is None

    for k, snap in enumerate(snaps):
        clock.now += 1
        append(path, snap)
        change = follower.poll()
        assert change.snapshots == 1 and change.runs == 0 and follower.latest == snap
        assert list(follower.run.curves.step) == [s.step for s in snaps[: k + 1]]
        assert list(follower.run.recent) == snaps[max(0, k - 2) : k + 1]
        assert follower.silent_for() == 0 and follower.status() == f"following {path}"
        assert not follower.poll()  # nothing new, nothing read twice

    for name in follower.run.curves.FIELDS:
        assert same(curve_values(follower.run, name), expected_values(snaps, name)), name
    assert follower.skipped == 0 and follower.caught_up


def test_writer_silence_end_and_events(tmp_path, fixture_run):
    header, snaps = fixture_run
    path = tmp_path / "run.jsonl"
    append(path, header, snaps[0])
    clock = Clock()
    follower = Follower(path, clock=clock)
    follower.poll()
    clock.now += 119
    assert not follower.poll() and follower.silent_for() == 119
    assert follower.status() == "no new snapshot for 2 min"
    assert follower.status(silent_after=200) == f"following {path}"

    append(path, Event(5, "paused", "paused by the user"), snaps[1], End(snaps[1].step, "done"))
    change = follower.poll()
    assert [e.kind for e in change.events] == ["paused"] and change.snapshots == 1
    assert change.end == End(snaps[1].step, "done") == follower.run.end
    assert follower.status() == "ended: done" and follower.silent_for() == 0
    append(path, snaps[2])  # nothing may follow the end
    assert follower.poll().skipped == 1 and len(follower.run.curves) == 2


def test_a_partial_last_line_waits_for_its_rest(tmp_path, fixture_run):
    header, snaps = fixture_run
    path = tmp_path / "run.jsonl"
    line = encode(snaps[0]).encode() + b"\n"
    append(path, header, raw=line[:100])
    follower = Follower(path)
    assert follower.poll().snapshots == 0 and follower.pending
    append(path, raw=line[100:-1])  # all but the newline: still unfinished
    assert follower.poll().snapshots == 0 and follower.pending
    append(path, raw=b"\n")
    assert follower.poll().snapshots == 1 and not follower.pending
    assert follower.latest == snaps[0] and follower.skipped == 0

    # Same with the header itself: a follower that arrives mid-header waits for it.
    other = tmp_path / "other.jsonl"
    head = encode(header).encode() + b"\n"
    other.write_bytes(head[:50])
    late = Follower(other)
    assert not late.poll() and late.waiting
    append(other, raw=head[50:])
    assert late.poll().runs == 1


def test_broken_lines_are_skipped_and_counted(tmp_path, fixture_run):
    header, snaps = fixture_run
    path = tmp_path / "run.jsonl"
    cut = encode(snaps[1]).encode()[:300]  # a writer killed mid-line, then another line
    append(path, header, snaps[0], raw=b"{not json\n" + cut + b"\n")
    append(path, snaps[2], snaps[1])  # step going back: out of order
    follower = Follower(path)
    change = follower.poll()
    assert change.snapshots == 2 and change.skipped == 3 == follower.skipped
    assert list(follower.run.curves.step) == [snaps[0].step, snaps[2].step]
    assert read_log(path).skipped == 3  # the same count as reading it whole


def test_a_second_header_starts_a_new_run(tmp_path, fixture_run, recorded):
    header, snaps = fixture_run
    other = recorded("sigmoid_xavier_spiral.jsonl")
    other_snaps = [r for r in other if isinstance(r, Snapshot)]
    path = tmp_path / "run.jsonl"
    append(path, header, *snaps[:5])
    follower = Follower(path, keep=2)
    follower.poll()
    append(path, other[0], other_snaps[0])
    change = follower.poll()
    assert change.runs == 1 and change.snapshots == 1 and len(follower.runs) == 2
    first, second = follower.runs
    assert list(first.curves.step) == [s.step for s in snaps[:5]]
    assert list(first.recent) == snaps[3:5]  # the old run keeps its last snapshots
    assert second.header == other[0] and follower.run is second
    assert follower.latest == other_snaps[0]

    at_once = Follower(path, keep=2)  # both runs read by one poll
    assert at_once.poll().runs == 2
    assert [list(r.recent) for r in at_once.runs] == [snaps[3:5], other_snaps[:1]]


def test_truncation_and_replacement_are_followed(tmp_path, fixture_run, recorded):
    header, snaps = fixture_run
    other = recorded("sigmoid_xavier_spiral.jsonl")
    path = tmp_path / "run.jsonl"
    append(path, header, *snaps[:6])
    follower = Follower(path)
    follower.poll()
    old = follower.run

    # Truncated, then a shorter new run: the size says so.
    path.write_bytes(b"")
    append(path, other[0], other[1])
    change = follower.poll()
    assert change.file == "truncated" and change.runs == 1 and change.snapshots == 1
    assert old.detached and len(old.curves) == 6 and follower.snapshot(0, old) is None
    assert follower.run.header == other[0]

    # Truncated and rewritten longer than before, between two polls: the first line says so.
    path.write_bytes(b"")
    append(path, header, *snaps)
    change = follower.poll()
    assert change.file == "truncated" and change.snapshots == len(snaps)

    # Replaced (a new file renamed over it): device and inode say so.
    fresh = tmp_path / "fresh.jsonl"
    append(fresh, header, snaps[0])
    os.replace(fresh, path)
    change = follower.poll()
    assert change.file == "replaced" and change.runs == 1 and change.snapshots == 1
    assert [len(r.curves) for r in follower.runs] == [6, 1, len(snaps), 1]

    # Removed: waited for again, and followed once it is back.
    path.unlink()
    assert follower.poll().file == "vanished" and follower.waiting and follower.run is None
    append(path, header)
    assert follower.poll().file == "appeared" and follower.run.header == header


def test_scalars_read_cheaply_equal_the_full_parse_nonfinite_and_other_layouts(
    tmp_path, fixture_run
):
    header, snaps = fixture_run
    odd = [
        dataclasses.replace(snaps[0], loss=math.inf, accuracy=None, val_loss=math.nan),
        dataclasses.replace(snaps[1], loss=-math.inf, lr=1e-05, val_accuracy=None),
    ]
    spaced = snaps[2]  # json.dumps' default separators: not the compact layout
    path = tmp_path / "run.jsonl"
    append(path, header, *odd)
    append(path, raw=json.dumps(json_safe(to_dict(spaced))).encode() + b"\n")
    follower = Follower(path)
    assert follower.poll().snapshots == 3 and follower.skipped == 0
    for name in follower.run.curves.FIELDS:
        assert same(curve_values(follower.run, name), expected_values([*odd, spaced], name)), name
    assert [follower.snapshot(k) for k in range(3)] == [*odd, spaced]
    assert follower.snapshot(-1) == spaced


def test_a_big_log_is_read_in_steps_with_progress(tmp_path, fixture_run, monkeypatch):
    header, snaps = fixture_run
    monkeypatch.setattr(follow, "CHUNK", 4096)  # smaller than one snapshot line
    path = tmp_path / "run.jsonl"
    append(path, header, *snaps, End(snaps[-1].step, "done"))
    follower = Follower(path, keep=4)
    progress = []
    while not follower.caught_up:
        follower.poll(max_bytes=20_000)
        progress.append(follower.progress)
    assert len(progress) > 3 and progress == sorted(progress) and progress[-1] == 1.0
    assert list(follower.run.curves.step) == [s.step for s in snaps]
    assert list(follower.run.recent) == snaps[-4:] and follower.run.end is not None
    assert [follower.snapshot(k) for k in (0, 7, -1)] == [snaps[0], snaps[7], snaps[-1]]


def test_what_is_not_a_run_log_is_one_line(tmp_path, fixture_run):
    header, _ = fixture_run
    with pytest.raises(LogFileError, match="is a directory"):
        Follower(tmp_path).poll()
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(LogFileError, match="line 1 is not a run log record"):
        Follower(text).poll()
    newer = tmp_path / "newer.jsonl"
    append(newer, dataclasses.replace(header, version=99))
    with pytest.raises(LogFileError, match="version 99"):
        Follower(newer).poll()


def test_read_tail_reads_the_last_snapshots_from_the_end(tmp_path, fixture_run, recorded):
    header, snaps = fixture_run
    path = tmp_path / "run.jsonl"
    unfinished = encode(snaps[-1]).encode()[:500]
    append(path, header, *snaps[:-1], raw=unfinished)
    for block in (1000, 1 << 16):  # smaller than a line, and larger than the file
        tail = read_tail(path, 5, block=block)
        assert tail.header == header and tail.snapshots == snaps[-6:-1]
        assert tail.end is None and tail.skipped == 0
    assert read_tail(path, 100).snapshots == snaps[:-1]  # fewer than asked: all of them

    ended = tmp_path / "ended.jsonl"
    append(ended, header, *snaps, End(snaps[-1].step, "done"))
    assert read_tail(ended, 2).end == End(snaps[-1].step, "done")

    other = recorded("sigmoid_xavier_spiral.jsonl")
    two_runs = tmp_path / "two.jsonl"
    append(two_runs, header, *snaps, other[0], other[1], other[2])
    tail = read_tail(two_runs, 5, block=1000)
    assert isinstance(tail.header, RunHeader) and tail.header == other[0]
    assert tail.snapshots == [other[1], other[2]]
