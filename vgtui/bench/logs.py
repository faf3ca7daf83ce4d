"""Bench sections on run logs: opening a big one as `attach` and `replay` do (read_tail, the
follower's first scan, each poll after), and attaching to a long log of a 100-layer run."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from vgtui.bench.harness import Figure, Plan
from vgtui.bench.shared import recorded_run, rss_mb, until
from vgtui.core.records import RunHeader, Snapshot
from vgtui.runlog.codec import encode


def write_big_log(path: Path, megabytes: int, header: RunHeader, snap: Snapshot) -> int:
    """About ``megabytes`` MB of run log: the header, then the snapshot repeated with increasing
    steps. Returns the number of snapshots."""
    prefix = '{"type":"snapshot","step":'
    rest = encode(snap)[len(prefix) :]
    rest = rest[rest.index(",") :]  # after the step's digits
    count, size = 0, 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(encode(header) + "\n")
        while size < megabytes << 20:
            batch = "".join(f"{prefix}{step}{rest}\n" for step in range(count + 1, count + 1001))
            f.write(batch)
            size += len(batch)
            count += 1000
        f.flush()
        os.fsync(f.fileno())
    return count


def _drop_from_page_cache(path: Path) -> None:
    """Linux: forget the file's cached pages, so that the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def log_open(plan: Plan) -> list[Figure]:
    """A big run log opened as `attach` and `replay` open it: the header and the last snapshots
    read from the end (`read_tail`), against parsing those lines alone; the scalar curves of every
    snapshot (a `Follower`'s first poll); then the follower's cost per poll."""
    from vgtui.runlog.codec import decode
    from vgtui.runlog.follow import KEEP, Follower
    from vgtui.runlog.tail import read_tail

    figures = []
    records = recorded_run(10)  # a real header and a real snapshot of a 10-layer run
    snap = next(r for r in reversed(records) if isinstance(r, Snapshot))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jsonl"
        started = time.perf_counter()
        count = write_big_log(path, plan.log_mb, records[0], snap)
        written = time.perf_counter() - started
        mb = path.stat().st_size / (1 << 20)
        section = f"open a {mb:,.0f} MB run log ({count:,} snapshots)"
        figures.append(Figure(section, "write it (not part of opening)", written, "s"))

        def tail_ms() -> float:
            started = time.perf_counter()
            read_tail(path, KEEP)
            return (time.perf_counter() - started) * 1000

        lines = [encode(s).encode() for s in read_tail(path, KEEP).snapshots]
        tails, alone = [], []
        for _ in range(plan.log_rounds):  # interleaved: the machine's drift hits both alike
            tails.append(tail_ms())
            started = time.perf_counter()
            for line in lines:
                decode(line)
            alone.append((time.perf_counter() - started) * 1000)
        tail, parse = statistics.median(tails), statistics.median(alone)
        figures += [
            Figure(section, f"header + last {KEEP} snapshots (read_tail)", tail, "ms"),
            Figure(section, f"parsing those {KEEP} lines alone", parse, "ms"),
            Figure.check(section, "read_tail / parsing alone", tail / parse, "x", "<= 3"),
        ]

        started = time.perf_counter()
        follower = Follower(path)
        follower.poll()
        scan = time.perf_counter() - started
        assert follower.caught_up and len(follower.run.curves) == count
        figures += [
            Figure(section, "+ curves of every snapshot (first poll)", scan, "s"),
            Figure.check(section, "scan throughput", mb / scan, "MB/s", ">= 250"),
        ]

        _drop_from_page_cache(path)
        cold_tail = tail_ms()
        _drop_from_page_cache(path)
        started = time.perf_counter()
        Follower(path).poll()
        cold_scan = time.perf_counter() - started
        figures += [  # posix_fadvise(DONTNEED): a virtual machine's host may still cache it
            Figure(section, "pages dropped: read_tail", cold_tail, "ms"),
            Figure(section, "pages dropped: first poll", cold_scan, "s"),
        ]

        polls = 200
        started = time.perf_counter()
        for _ in range(polls):
            follower.poll()
        idle = (time.perf_counter() - started) / polls * 1e6
        line = encode(follower.latest)
        prefix = f'{{"type":"snapshot","step":{follower.latest.step}'
        grown = []
        with open(path, "a", encoding="utf-8") as f:
            for step in range(count + 1, count + 1 + plan.log_rounds * 4):
                f.write(f'{{"type":"snapshot","step":{step}{line[len(prefix) :]}\n')
                f.flush()
                started = time.perf_counter()
                assert follower.poll().snapshots == 1
                grown.append((time.perf_counter() - started) * 1000)
        follower.close()
        section = "follow a run log (the same file)"
        figures += [
            Figure(section, "poll, nothing new", idle, "us"),
            Figure(section, "poll, one new snapshot", statistics.median(grown), "ms"),
        ]
    return figures


def attach_latency(plan: Plan, header: RunHeader, snap: Snapshot) -> list[Figure]:
    """`vgtui attach` on a long log of ``snap`` repeated (a real 100-layer run's): a snapshot
    appended to the file until the frame that shows it, and the UI's memory after catching up."""
    from vgtui.ui.log_app import log_app

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deep.jsonl"
        count = write_big_log(path, plan.views_log_mb, header, snap)
        mb = path.stat().st_size / (1 << 20)
        line = encode(snap)
        rest = line[line.index(',"loss"') :]
        latencies: list[float] = []
        memory: dict[str, float] = {"before": rss_mb(os.getpid())}

        async def attach() -> None:
            app = log_app(path, "attach", fps=12.0)
            async with app.run_test(size=(160, 50)):
                await until(lambda: app.latest is not None and app.latest.step == count, 120, "")
                await until(lambda: not app.dirty, 10, "the first frame")
                memory["after"] = rss_mb(os.getpid())
                with open(path, "a", encoding="utf-8") as f:
                    for step in range(count + 1, count + 1 + plan.log_rounds * 4):
                        shown = app.snapshots_shown
                        f.write(f'{{"type":"snapshot","step":{step}{rest}\n')
                        f.flush()
                        started = time.perf_counter()
                        await until(
                            lambda s=step, n=shown: (
                                app.latest.step == s and app.snapshots_shown > n and not app.dirty
                            ),
                            10,
                            f"step {step} on screen",
                        )
                        latencies.append((time.perf_counter() - started) * 1000)

        asyncio.run(attach())
    section = f"attach a 100-layer log ({mb:,.0f} MB, {count:,} snapshots) at 12 fps"
    return [
        Figure.check(
            section, "appended -> on screen, median", statistics.median(latencies), "ms", "<= 150"
        ),
        Figure(section, "appended -> on screen, max", max(latencies), "ms"),
        Figure(section, "UI process RSS, caught up", memory["after"], "MB"),
        Figure.check(
            section,
            "RSS growth from opening it",
            memory["after"] - memory["before"],
            "MB",
            "<= 100",
        ),
    ]
