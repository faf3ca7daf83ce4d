"""Run logs from elsewhere: a line of any length is read past with a bound (counted as broken,
never held whole), and a step or count too big for 64 bits is a broken line, in every reader:
`read_log`, `Follower`, `read_tail`, `check_log`."""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest

from vgtui.core.records import Snapshot
from vgtui.runlog import follow
from vgtui.runlog.codec import INT64_MAX, LogReader, decode, encode, read_log
from vgtui.runlog.files import LogFileError, check_log
from vgtui.runlog.follow import Follower
from vgtui.runlog.lines import LineSplitter, bounded_lines
from vgtui.runlog.tail import read_tail

BOUND = 20_000  # bytes: a test's bound on a line, far below MAX_LINE (a snapshot line: ~8 KB)


@pytest.fixture
def run(recorded):
    records = recorded("relu_he_spiral.jsonl")
    return records[0], [r for r in records if isinstance(r, Snapshot)]


def write(path, header, snaps, long_at: int = -1, long_line: bytes = b"") -> None:
    """The log of ``header`` and ``snaps`` with ``long_line`` in place of snapshot ``long_at``."""
    lines = [encode(header).encode()]
    lines += [long_line if i == long_at else encode(s).encode() for i, s in enumerate(snaps)]
    path.write_bytes(b"\n".join(lines) + b"\n")


def over_the_bound(size: int = 3 * BOUND) -> bytes:
    """A line that would be a valid event but for its length."""
    return json.dumps({"type": "event", "step": 1, "kind": "x", "message": "m" * size}).encode()


def with_step(snap: Snapshot, step: int) -> str:
    """``snap``'s line with another step written in it (`encode` would refuse none)."""
    return encode(snap).replace(f'"step":{snap.step},', f'"step":{step},', 1)


# ---- the splitter --------------------------------------------------------------------------


def test_a_line_over_the_bound_is_none_across_chunks_and_the_rest_are_whole():
    splitter = LineSplitter(max_line=10)
    out = []
    for piece in (b"short\nlong", b"long-long", b"-long\nok", b"ay\n12345678901\n", b"tail"):
        out += splitter.push(piece)
    out += splitter.end()
    assert out == [b"short", None, b"okay", None, b"tail"]
    assert not splitter.pending


def test_exactly_the_bound_is_whole():
    assert list(bounded_lines(io.BytesIO(b"x" * 10 + b"\n" + b"y" * 10), 10, chunk=3)) == [
        b"x" * 10,
        b"y" * 10,
    ]


def test_a_long_line_is_never_held_whole():
    stream = io.BytesIO(b"z" * (32 << 20) + b"\nend\n")
    tracemalloc.start()
    try:
        lines = list(bounded_lines(stream, max_line=1 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lines == [None, b"end"]
    assert peak < 8 << 20  # about a chunk and the bound, not the line's 32 MiB


def test_feed_data_counts_a_line_over_the_bound_once(run):
    header, snaps = run
    reader = LogReader(max_line=BOUND)
    lines = [encode(header).encode(), over_the_bound(), encode(snaps[0]).encode()]
    data = b"\n".join(lines)
    got = []
    for i in range(0, len(data), 1000):
        got += reader.feed_data(data[i : i + 1000])
    got.append(reader.finish())
    assert got == [header, snaps[0]] and reader.skipped == 1


# ---- the readers ----------------------------------------------------------------------------


def test_read_log_counts_a_line_over_the_bound_and_reads_the_rest(tmp_path, run):
    header, snaps = run
    path = tmp_path / "long.jsonl"
    write(path, header, snaps, 3, over_the_bound())
    log = read_log(path, max_line=BOUND)
    assert log.snapshots == snaps[:3] + snaps[4:] and log.skipped == 1
    within = read_log(path)  # the default bound: the same line is a valid event
    assert within.skipped == 0 and len(within.events) == 1


@pytest.mark.parametrize("chunk", [1 << 17, 4096])  # the long line within a chunk; over many
def test_the_follower_counts_a_line_over_the_bound_and_reads_the_rest(
    tmp_path, run, monkeypatch, chunk
):
    monkeypatch.setattr(follow, "CHUNK", chunk)
    header, snaps = run
    path = tmp_path / "long.jsonl"
    write(path, header, snaps, 3, over_the_bound())
    with Follower(path, max_line=BOUND) as follower:
        follower.poll()
        assert list(follower.run.curves.step) == [s.step for s in snaps[:3] + snaps[4:]]
        assert follower.skipped == 1


def test_the_follower_waits_for_a_long_line_and_then_skips_it(tmp_path, run, monkeypatch):
    monkeypatch.setattr(follow, "CHUNK", 4096)
    header, snaps = run
    path = tmp_path / "growing.jsonl"
    path.write_bytes(encode(header).encode() + b"\n" + encode(snaps[0]).encode() + b"\n")
    long = over_the_bound()
    with Follower(path, max_line=BOUND) as follower:
        follower.poll()
        for start in range(0, len(long), 9_000):  # written by pieces, polled in between
            with open(path, "ab") as f:
                f.write(long[start : start + 9_000])
            follower.poll()
            assert follower.pending and follower.skipped == 0
        with open(path, "ab") as f:
            f.write(b"\n" + encode(snaps[1]).encode() + b"\n")
        follower.poll()
        assert list(follower.run.curves.step) == [snaps[0].step, snaps[1].step]
        assert follower.skipped == 1 and not follower.pending


def test_the_follower_keeps_a_line_longer_than_a_chunk_within_the_bound(tmp_path, run, monkeypatch):
    monkeypatch.setattr(follow, "CHUNK", 1024)  # a snapshot line is longer
    header, snaps = run
    path = tmp_path / "log.jsonl"
    write(path, header, snaps)
    with Follower(path) as follower:
        follower.poll()
        assert len(follower.run.curves) == len(snaps) and follower.skipped == 0
        assert follower.latest == snaps[-1]


@pytest.mark.parametrize("at", [-1, 8])  # the last line (read first), or one further back
def test_read_tail_counts_a_line_over_the_bound(tmp_path, run, at):
    header, snaps = run
    path = tmp_path / "long.jsonl"
    write(path, header, snaps, len(snaps) - 1 if at == -1 else at, over_the_bound())
    kept = [s for i, s in enumerate(snaps) if i != (len(snaps) - 1 if at == -1 else at)]
    tail = read_tail(path, n=len(snaps), block=1024, max_line=BOUND)
    assert tail.snapshots == kept and tail.skipped == 1 and tail.header == header


def test_read_tail_leaves_out_an_unfinished_long_last_line(tmp_path, run):
    header, snaps = run
    path = tmp_path / "log.jsonl"
    write(path, header, snaps)
    with open(path, "ab") as f:
        f.write(b"x" * 3 * BOUND)  # no newline: a writer mid-line
    tail = read_tail(path, n=3, block=1024, max_line=BOUND)
    assert tail.snapshots == snaps[-3:] and tail.skipped == 0


def test_a_first_line_over_the_bound_is_one_line(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"\n" + b"{" * (BOUND + 1) + b"\n")
    with pytest.raises(LogFileError) as err:
        check_log(path, max_line=BOUND)
    assert str(err.value) == f"{path}: line 2 is longer than 20,000 bytes: not a run log record"


# ---- numbers too big ------------------------------------------------------------------------


@pytest.mark.parametrize("step", [10**30, INT64_MAX + 1, -1])
def test_a_step_that_does_not_fit_or_is_negative_is_broken(run, step):
    snap = run[1][0]
    with pytest.raises(ValueError):
        decode(with_step(snap, step))
    assert decode(with_step(snap, INT64_MAX)).step == INT64_MAX


def test_a_count_that_does_not_fit_is_broken(run):
    raw = json.loads(encode(run[1][0]))
    raw["layers"][0]["act"]["hist"]["counts"][0] = 10**30
    with pytest.raises(ValueError):
        decode(json.dumps(raw))


def test_a_step_of_ten_to_the_thirty_is_a_broken_line_in_every_reader(tmp_path, run):
    header, snaps = run
    path = tmp_path / "big-step.jsonl"
    write(path, header, snaps, 5, with_step(snaps[5], 10**30).encode())
    kept = snaps[:5] + snaps[6:]
    log = read_log(path)
    assert log.snapshots == kept and log.skipped == 1
    with Follower(path) as follower:
        follower.poll()
        assert list(follower.run.curves.step) == [s.step for s in kept]
        assert follower.skipped == 1
    tail = read_tail(path, n=len(snaps))
    assert tail.snapshots == kept and tail.skipped == 1
