"""Bench sections on the dashboard: its event loop's lag beside a trainer at full speed, the
trainer's throughput with and without it, a key to its effect on screen, and the memory of the
real dashboard process and its trainer."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

from vgtui.bench.harness import Figure, Plan
from vgtui.bench.pty import DashboardInPty
from vgtui.bench.shared import rss_mb, until
from vgtui.core.config import RunConfig
from vgtui.core.records import Snapshot
from vgtui.core.text import fmt_num


async def _lag_probe(samples: list[float], stop: asyncio.Event, period: float = 0.005) -> None:
    """How late the event loop wakes a task that asked to sleep ``period`` seconds."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(period)
        samples.append(time.perf_counter() - started - period)


def _steps_rate(app, seconds: float) -> Callable[[], float]:
    """Start watching the step counter; the returned call gives steps per wall second since."""
    first = (time.perf_counter(), app.latest.step if app.latest else 0)

    def rate() -> float:
        now, step = time.perf_counter(), app.latest.step if app.latest else 0
        return (step - first[1]) / max(now - first[0], 1e-9)

    return rate


def ui_responsiveness(plan: Plan) -> list[Figure]:
    """Event-loop lag with the real app and the real trainer at full speed; a thread for contrast.

    Also the trainer's throughput with the dashboard attached, against the same trainer process
    whose records are drained by a plain reader (no dashboard).
    """
    from vgtui.ui.app import VgtuiApp
    from vgtui.ui.sources.trainer import TrainerSource

    figures = []
    config = RunConfig(device="cpu")
    dashboard_rate = 0.0
    for label, in_thread in (("trainer process", False), ("trainer thread", True)):

        async def measure(in_thread: bool = in_thread) -> tuple[list[float], float]:
            app = VgtuiApp(config, source_factory=lambda c: TrainerSource(c, in_thread=in_thread))
            samples: list[float] = []
            async with app.run_test(size=(160, 50)):
                # Past the first steps, which pay torch's one-time initialisation.
                await until(lambda: app.latest is not None and app.latest.step >= 50, 60, "step 50")
                stop = asyncio.Event()
                rate = _steps_rate(app, plan.lag_s)
                task = asyncio.create_task(_lag_probe(samples, stop))
                await asyncio.sleep(plan.lag_s)
                stop.set()
                await task
                steps_per_s = rate()
            return samples, steps_per_s

        samples, steps_per_s = asyncio.run(measure())
        ms = sorted(s * 1000 for s in samples)
        section = f"event-loop lag, {label}"
        p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        if in_thread:
            figures += [
                Figure(section, "p50", p50, "ms"),
                Figure(section, "p99", p99, "ms", "(for contrast)"),
                Figure(section, "max", ms[-1], "ms"),
                Figure(section, "trainer steps/s in the thread", steps_per_s, "steps/s"),
            ]
        else:
            dashboard_rate = steps_per_s
            figures += [
                Figure(section, "p50", p50, "ms"),
                Figure.check(section, "p99", p99, "ms", "<= 10"),
                Figure.check(section, "max", ms[-1], "ms", "<= 50"),
            ]
    alone = drained_rate(config, plan.lag_s)
    section = "trainer throughput"
    figures += [
        Figure(section, "trainer process alone", alone, "steps/s"),
        Figure(section, "with the dashboard", dashboard_rate, "steps/s"),
        Figure.check(section, "dashboard / alone", dashboard_rate / alone, "x", ">= 0.9"),
    ]
    return figures


def drained_rate(config: RunConfig, seconds: float) -> float:
    """Steps per wall second of the trainer process when nothing but a reader takes its records."""
    from vgtui.ui.sources.trainer import TrainerSource

    source = TrainerSource(config)
    source.start()
    try:
        latest: list[int] = []
        deadline = time.monotonic() + 60
        while (not latest or latest[-1] < 50) and time.monotonic() < deadline:
            latest += [r.step for r in source.recv(0.1) if isinstance(r, Snapshot)]
        first = (time.perf_counter(), latest[-1])
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            latest += [r.step for r in source.recv(0.1) if isinstance(r, Snapshot)]
        return (latest[-1] - first[1]) / (time.perf_counter() - first[0])
    finally:
        source.close(wait=True)


def key_to_effect(plan: Plan) -> list[Figure]:
    """`a` pressed, to the first frame that shows a snapshot of the new run."""
    from vgtui.ui.app import VgtuiApp

    async def measure() -> list[float]:
        app = VgtuiApp(RunConfig(device="cpu"))
        painted: list[tuple[float, Snapshot | None, int]] = []
        render_frame = app.render_frame

        def recording_render_frame() -> None:
            render_frame()
            painted.append((time.perf_counter(), app.latest, len(app.book.runs)))

        app.render_frame = recording_render_frame  # before mount: the frame timer takes this one
        times = []
        async with app.run_test(size=(160, 50)) as pilot:
            await until(lambda: app.latest is not None, 60, "first snapshot")
            for i in range(plan.key_presses):
                runs = len(app.book.runs)
                await asyncio.sleep(0.3)
                painted.clear()
                pressed = time.perf_counter()
                await pilot.press("a" if i % 2 == 0 else "A")

                def shown(runs: int = runs) -> bool:
                    return any(n > runs and snap is not None for _, snap, n in painted)

                await until(shown, 30, "snapshot of the new run")
                first = next(t for t, snap, n in painted if n > runs and snap is not None)
                times.append((first - pressed) * 1000)
        return times

    times = asyncio.run(measure())
    section = "key to effect (a: new run on screen)"
    return [
        Figure(section, "median", statistics.median(times), "ms"),
        Figure.check(section, "worst", max(times), "ms", "<= 500"),
    ]


def memory(plan: Plan) -> list[Figure]:
    """The real dashboard process (no torch in it) and its trainer: the UI's first frame, and
    their memory after 1,000 and after many steps of a fast config."""
    argv = ("--dataset", "xor", "--depth", "2", "--width", "8", "--device", "cpu")
    readings: dict[int, tuple[float, float]] = {}
    with DashboardInPty((160, 50), argv) as app:
        first_frame = app.wait_for(lambda: b"quit" in app.tail, 60, "the first frame")
        for target in (1_000, plan.memory_steps):
            app.wait_for(lambda t=target: app.step() >= t, 900, f"step {target}")
            readings[target] = (rss_mb(app.proc.pid), rss_mb(app.trainer_pid()))
    (ui0, tr0), (ui1, tr1) = readings[1_000], readings[plan.memory_steps]
    section = f"dashboard process, 1k -> {fmt_num(plan.memory_steps)} steps (2x8 xor)"
    return [
        Figure.check(section, "first frame after launch", first_frame, "s", "<= 1.0"),
        Figure.check(section, "UI at 1k steps", ui0, "MB", "<= 150"),
        Figure(section, "trainer at 1k steps", tr0, "MB"),
        Figure.check(section, "UI growth", ui1 - ui0, "MB", "<= 20"),
        Figure.check(section, "trainer growth", tr1 - tr0, "MB", "<= 20"),
    ]
