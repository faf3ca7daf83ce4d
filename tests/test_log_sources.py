"""The run-log sources: attach follows a file a test writes line by line; replay moves on keys.

Every step is an explicit `recv(0)` (no sleeps); replay's clock is injected.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vgtui.core.records import End, Event, RunHeader, Snapshot
from vgtui.runlog.codec import encode
from vgtui.ui.sources.logs import FollowSource, LogReplaySource, light, spread
from vgtui.ui.sources.trainer import SourceClosed

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from deep_logs import write_deep_log


@pytest.fixture
def run(recorded):
    records = recorded("relu_he_spiral.jsonl")
    return records[0], [r for r in records if isinstance(r, Snapshot)]


def append(path, *records, raw: bytes = b"") -> None:
    with open(path, "ab") as f:
        for record in records:
            f.write(encode(record).encode() + b"\n")
        f.write(raw)


def full(records):
    return [r for r in records if isinstance(r, Snapshot) and r.layers]


def steps(records):
    return [r.step for r in records if isinstance(r, Snapshot)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_spread_picks_evenly_and_includes_both_ends():
    assert spread(0, 5, 10) == {0, 1, 2, 3, 4}
    picked = spread(10, 110, 5)
    assert len(picked) == 5 and min(picked) == 10 and max(picked) == 109
    assert spread(3, 3, 4) == set()


def test_light_snapshot_carries_the_scalars_only(tmp_path, run):
    header, snaps = run
    path = tmp_path / "run.jsonl"
    append(path, header, *snaps[:3])
    source = FollowSource(path)
    source.recv(0)
    got = light(source.follower.run, 1)
    assert (got.step, got.loss, got.accuracy, got.lr) == (
        snaps[1].step,
        snaps[1].loss,
        snaps[1].accuracy,
        snaps[1].lr,
    )
    assert got.layers == [] and got.val_loss == snaps[1].val_loss


def test_attach_follows_a_file_written_line_by_line(tmp_path, run):
    header, snaps = run
    path = tmp_path / "run.jsonl"
    source = FollowSource(path)
    source.start()
    assert source.recv(0) == []
    assert source.status() == f"waiting for {path}"
    append(path, header)
    got = source.recv(0)
    assert got == [header]
    for snap in snaps[:3]:
        append(path, snap)
        assert source.recv(0) == [snap]  # each new snapshot, in full, at the next poll
    assert source.status() == f"following {path}"
    event = Event(snaps[3].step, "paused", "paused by the user")
    append(path, snaps[3], event, End(snaps[3].step, "done"))
    got = source.recv(0)
    assert got == [snaps[3], event, End(snaps[3].step, "done")]
    assert source.status() == "ended: done"
    source.close()


def test_attach_late_sends_light_snapshots_and_the_newest_in_full(tmp_path, run):
    header, snaps = run
    path = tmp_path / "run.jsonl"
    append(path, header, *snaps)
    source = FollowSource(path, history=4)
    got = source.recv(0)
    assert got[0] == header
    assert steps(got) == [s.step for s in snaps]  # every snapshot's scalars, for the curves
    assert got[-1] == snaps[-1]  # the newest in full: what the views draw
    kept = source.follower.keep
    assert full(got)[-kept:] == snaps[-kept:]
    older = full(got)[:-kept]
    assert 1 <= len(older) <= 4  # a few spread over the past, for the waterfall
    assert all(s == snaps[[x.step for x in snaps].index(s.step)] for s in older)


def test_attach_second_header_truncation_and_broken_lines(tmp_path, run):
    header, snaps = run
    path = tmp_path / "run.jsonl"
    append(path, header, snaps[0])
    source = FollowSource(path)
    source.recv(0)
    append(path, header, snaps[1])
    assert source.recv(0) == [header, snaps[1]]  # a new run: its header again
    append(path, raw=b'{"type": "snapshot", "step": 9999, "lo\n')
    append(path, snaps[2])
    assert source.recv(0) == [snaps[2]]
    assert source.status().endswith("· 1 broken line skipped")
    path.write_bytes(b"")  # truncated: waits, then reads the new content from its start
    append(path, header, snaps[0])
    got = source.recv(0)
    assert got == [header, snaps[0]]


def test_attach_to_something_that_is_not_a_log_closes_with_one_line(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text('{"hello": 1}\n')
    source = FollowSource(path)
    with pytest.raises(SourceClosed, match="line 1 is not a run log record"):
        source.recv(0)


@pytest.fixture
def deep(tmp_path):
    return write_deep_log(tmp_path / "deep.jsonl", snapshots=12)


def test_replay_plays_in_training_time(deep):
    clock = Clock()
    source = LogReplaySource(deep, speed=1.0, clock=clock)
    source.start()
    first = source.recv(0)
    assert isinstance(first[0], RunHeader) and steps(first) == [10]
    assert first[-1].layers  # shown in full
    assert source.recv(0) == []  # no training time has passed
    clock.now += 1.0  # snapshots every 0.5 s of training: two more
    got = source.recv(0)
    assert steps(got) == [20, 30] and got[-1].layers and not got[0].layers
    assert source.status() == "▶ x1 · snapshot 3/12"


def test_replay_keys_pause_step_speed_and_jump(deep):
    clock = Clock()
    source = LogReplaySource(deep, speed=1.0, clock=clock)
    source.start()
    source.recv(0)
    source.send(("pause",))
    assert source.recv(0) == []
    clock.now += 10
    assert source.recv(0) == [] and source.status().startswith("‖")
    source.send(("step", 1))
    assert steps(source.recv(0)) == [20]
    source.send(("step", -1))
    back = source.recv(0)
    assert isinstance(back[0], RunHeader) and steps(back) == [10]  # the run again, up to there
    source.send(("seek", "end"))
    got = source.recv(0)
    assert steps(got) == list(range(10, 130, 10)) and got[-1].layers
    assert source.status().startswith("‖ x1 · snapshot 12/12")
    source.send(("step", 1))  # past the end: nothing moves
    assert source.recv(0) == []
    source.send(("pause",))
    assert source.recv(0) == [End(120, "done")]
    assert source.status().startswith("■")
    source.send(("seek", "start"))
    assert steps(source.recv(0)) == [10]
    source.send(("speed", 4))
    source.recv(0)
    assert source.speed == 4 and "x4" in source.status()
    source.send(("speed", 1e-9))
    source.recv(0)
    assert source.speed == 1 / 64


def test_replay_default_speed_plays_a_long_run_in_about_half_a_minute(deep, tmp_path):
    source = LogReplaySource(deep)  # 12 snapshots over 6 s of training: plain speed
    source.start()
    source.recv(0)
    assert source.speed == 1
    long = write_deep_log(tmp_path / "long.jsonl", snapshots=4, dt=100.0)  # 400 s of training
    source = LogReplaySource(long)
    source.start()
    source.recv(0)
    assert source.speed == 16  # a power of two: 400 s / 16 = 25 s, within 30


def test_replay_of_a_missing_file_closes_with_one_line(tmp_path):
    source = LogReplaySource(tmp_path / "gone.jsonl")
    source.start()
    with pytest.raises(SourceClosed, match="no such file"):
        source.recv(0)
