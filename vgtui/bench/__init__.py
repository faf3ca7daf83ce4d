"""`vgtui bench` (`make bench`): the figures every change is held to, measured side by side.

Each figure carries its budget and whether it met it; the table is printed with Rich and the
figures are written to ``bench.json``. Ratios are used wherever this machine's noise would make
an absolute time meaningless. ``--quick`` shrinks every measurement (for the smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from vgtui.core.config import RunConfig
from vgtui.core.records import RunHeader, Snapshot
from vgtui.core.text import fmt_num
from vgtui.probe import stats
from vgtui.runlog.codec import encode
from vgtui.trainer.trainer import Trainer, loss_of
from vgtui.ui.framerate import REMOTE_ENV

SIZES = [(80, 24), (160, 50), (240, 70)]


@dataclass
class Figure:
    """One measured number, its budget (``<= x`` or ``>= x``; empty for context) and the verdict."""

    section: str
    name: str
    value: float
    unit: str
    budget: str = ""
    met: bool | None = None

    @classmethod
    def check(cls, section: str, name: str, value: float, unit: str, budget: str) -> Figure:
        op, limit = budget.split()
        ok = value <= float(limit) if op == "<=" else value >= float(limit)
        return cls(section, name, value, unit, budget, ok)


@dataclass
class Plan:
    """How long each measurement runs (full, or ``--quick`` for the smoke test)."""

    probe_rounds: int = 8
    watch_steps: float = 1.0  # scales the steps per round of `watch_overhead`
    lag_s: float = 10.0
    render_frames: int = 15
    key_presses: int = 3
    memory_steps: int = 200_000
    history_points: int = 1_000_000
    log_mb: int = 1024
    log_rounds: int = 5
    views_log_mb: int = 64
    pty_s: float = 20.0
    pty_runs: tuple = (((80, 24), False), ((160, 50), False), ((160, 50), True))
    compile: bool = True  # measure torch.compile (tens of seconds)
    widths: tuple[int, ...] = (64, 1024)  # of the 10-layer MLPs whose overhead is measured

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            probe_rounds=1,
            watch_steps=0.1,
            lag_s=1.0,
            render_frames=2,
            key_presses=1,
            memory_steps=2_000,
            history_points=5_000,
            log_mb=16,
            log_rounds=2,
            views_log_mb=2,
            pty_s=1.0,
            pty_runs=(((80, 24), False),),
            compile=False,
            widths=(64,),
        )


# ---- 1. probe overhead -------------------------------------------------------------------------

# Steps per runner per round: a multiple of 10 steps for the fast model; for the slow one, rounds
# of 13 steps make the 8 rounds span a validation (every 100 steps) as a run does.
ROUND_STEPS = {64: 200, 1024: 13}
PROBE_BUDGETS = {"auto": ">= 0.97", "every 10": ">= 0.95", "every 1": ">= 0.80"}


def bare_step(trainer: Trainer) -> None:
    """What a plain PyTorch loop does per step, on the trainer's own model, data and optimizer."""
    x, y = trainer.data.batch(trainer.config.batch_size, trainer.generator)
    loss = loss_of(trainer.model(x), y)
    trainer.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    trainer.optimizer.step()


def interleaved(runners: dict[str, Callable[[], object]], steps: int, rounds: int) -> dict:
    """Seconds each runner takes for ``rounds`` x ``steps`` steps, run in turns (so that the
    machine's drift falls on all of them alike; each round starts with the next runner), after a
    short warm-up."""
    for run in runners.values():
        for _ in range(3):
            run()
    seconds = dict.fromkeys(runners, 0.0)
    names = list(runners)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # each goes first in turn
            run = runners[name]
            started = time.perf_counter()
            for _ in range(steps):
                run()
            seconds[name] += time.perf_counter() - started
    return seconds


def probe_overhead(plan: Plan) -> list[Figure]:
    """The bare loop against the trainer with snapshots paced by time (the dashboard's default),
    every 10 steps (the headless default) and every step. A ratio is the bare loop's time over
    the runner's, over all rounds: occasional costs (validation, checkpoints) count in it."""
    figures = []
    for width in plan.widths:
        steps = ROUND_STEPS[width]
        config = RunConfig(depth=10, width=width, device="cpu")
        bare = Trainer(config)
        runners: dict[str, Callable[[], object]] = {"bare": lambda t=bare: bare_step(t)}
        for name in PROBE_BUDGETS:
            every = "auto" if name == "auto" else int(name.split()[1])
            runners[name] = Trainer(config.replace(every=every)).step
        seconds = interleaved(runners, steps, plan.probe_rounds)
        total = steps * plan.probe_rounds
        section = f"probe overhead, 10x{width} MLP"
        figures.append(Figure(section, "bare loop", total / seconds["bare"], "steps/s"))
        for name, budget in PROBE_BUDGETS.items():
            ratio = seconds["bare"] / seconds[name]
            figures.append(Figure(section, f"probe {name}", total / seconds[name], "steps/s"))
            figures.append(Figure.check(section, f"probe {name} / bare", ratio, "x", budget))
    return figures


# ---- 2. the peers --------------------------------------------------------------------------------

PEER_EVERY = 10


def tensorboard_step(trainer: Trainer, log_dir: str) -> tuple[Callable[[], None], Callable]:
    """A loop that logs like a TensorBoard user: every 10 steps, `add_histogram` of each layer's
    activations (forward hooks on those steps only) and weight gradients, and the loss."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir)
    model, optimizer = trainer.model, trainer.optimizer
    watched = [(f"layer{i + 1}", b.linear, b.act) for i, b in enumerate(model.blocks)]
    watched.append(("output", model.head, model.head))
    count = [0]

    def step() -> None:
        count[0] += 1
        n, acts, handles = count[0], {}, []
        if n % PEER_EVERY == 0:
            for name, _, module in watched:

                def keep(module, inputs, output, name=name) -> None:
                    acts[name] = output.detach()

                handles.append(module.register_forward_hook(keep))
        x, y = trainer.data.batch(trainer.config.batch_size, trainer.generator)
        loss = loss_of(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if handles:
            for handle in handles:
                handle.remove()
            writer.add_scalar("loss", loss.item(), n)
            for name, layer, _ in watched:
                writer.add_histogram(f"{name}/activation", acts[name], n)
                writer.add_histogram(f"{name}/weight_grad", layer.weight.grad, n)
        optimizer.step()

    return step, writer.close


def wandb_step(trainer: Trainer, log_dir: str) -> tuple[Callable[[], None], Callable]:
    """A loop under ``wandb.watch(model, log="all", log_freq=10)``, offline, logging the loss
    every 10 steps (which is when watch's histograms of weights and gradients are sent)."""
    import wandb

    run = wandb.init(
        project="vgtui-bench",
        dir=log_dir,
        mode="offline",
        settings=wandb.Settings(console="off", silent=True),
    )
    wandb.watch(trainer.model, log="all", log_freq=PEER_EVERY)
    model, optimizer = trainer.model, trainer.optimizer
    count = [0]

    def step() -> None:
        count[0] += 1
        x, y = trainer.data.batch(trainer.config.batch_size, trainer.generator)
        loss = loss_of(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if count[0] % PEER_EVERY == 0:
            run.log({"loss": loss.item()})

    return step, run.finish


PEERS = {
    "tensorboard add_histogram": ("tensorboard", tensorboard_step),
    "wandb.watch log=all": ("wandb", wandb_step),
}


def peer_overhead(plan: Plan) -> list[Figure]:
    """TensorBoard and wandb logging every 10 steps, each against the bare loop in interleaved
    rounds of its own (wandb's background process keeps working after its turn: it must not
    slow another logger's). Compare with the probe section's "every 10". A peer that is not
    installed is skipped with a note (``pip install 'vgtui[bench]'`` installs both)."""
    available = {name: make for name, (module, make) in PEERS.items() if _installed(module)}
    for name in PEERS.keys() - available.keys():
        print(f"bench: {name} skipped: {PEERS[name][0]} is not installed", file=sys.stderr)
    figures = []
    os.environ.setdefault("WANDB_SILENT", "true")
    for width in plan.widths:
        steps = -(-ROUND_STEPS[width] // PEER_EVERY) * PEER_EVERY  # whole logging periods
        config = RunConfig(depth=10, width=width, device="cpu")
        section = f"peers, every {PEER_EVERY} steps, 10x{width} MLP"
        for name, make in available.items():
            bare = Trainer(config)
            with tempfile.TemporaryDirectory(prefix="vgtui-bench-") as log_dir:
                peer, close = make(Trainer(config), log_dir)
                try:
                    runners = {"bare": lambda t=bare: bare_step(t), name: peer}
                    seconds = interleaved(runners, steps, plan.probe_rounds)
                finally:
                    close()
            ratio = seconds["bare"] / seconds[name]
            figures.append(Figure(section, f"{name} / bare", ratio, "x"))
    return figures


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# ---- 3. the statistics, eager or compiled --------------------------------------------------------


def summary_compile(plan: Plan) -> list[Figure]:
    """A snapshot's statistics (`summarize_many` over the layers' activations), eager against
    `torch.compile` of the device part: its steady-state time, the compile's time (paid again in
    every process and for every model shape), and how many snapshots repay it."""
    if not plan.compile:
        print("bench: compile skipped (--quick)", file=sys.stderr)
        return []
    figures = []
    eager_rows = stats._device_rows
    for width in plan.widths:
        reps = 200 if width <= 64 else 10
        trainer = Trainer(RunConfig(depth=10, width=width, device="cpu"))
        x, _ = trainer.data.batch(trainer.config.batch_size, trainer.generator)
        trainer.probe.arm()
        with torch.no_grad():
            trainer.model(x)
        trainer.probe.disarm()
        summaries = trainer.probe._summaries  # every layer's activations, as a snapshot has them

        def best_us(reps: int = reps, summaries: Callable = summaries) -> float:
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(reps):
                    summaries()
                runs.append((time.perf_counter() - started) / reps * 1e6)
            return min(runs)

        section = f"statistics of a snapshot, 10x{width} MLP"
        eager = best_us()
        figures.append(Figure(section, "eager", eager, "us"))
        try:
            stats._device_rows = torch.compile(eager_rows)
            # bincount's output size depends on the data: capture it rather than break the graph
            with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True):
                started = time.perf_counter()
                summaries()
                compile_s = time.perf_counter() - started
                compiled = best_us()
        except Exception as err:  # no compiler, an unsupported platform: eager it is
            print(f"bench: torch.compile failed: {err}".splitlines()[0], file=sys.stderr)
            continue
        finally:
            stats._device_rows = eager_rows
            torch._dynamo.reset()
        figures.append(Figure(section, "torch.compile, steady state", compiled, "us"))
        figures.append(Figure(section, "torch.compile, first call", compile_s, "s"))
        if compiled < eager:
            repay = compile_s / ((eager - compiled) / 1e6)
            figures.append(Figure(section, "snapshots to repay the compile", repay, ""))
    return figures


# ---- 1b. watch() overhead ----------------------------------------------------------------------


def watch_overhead(plan: Plan) -> list[Figure]:
    """`vgtui.watch()` around the examples' own loops (cnn, transformer) against the same loop
    bare: each runner has its own copy of the model, data and optimizer; rounds interleaved."""
    import tempfile

    import vgtui
    from vgtui.examples import cnn, transformer

    figures = []
    models = (("cnn", cnn.build, 200), ("transformer", lambda: transformer.build()[0], 30))
    for name, build, round_steps in models:
        steps = max(2, int(round_steps * plan.watch_steps))
        runners: dict[str, Callable[[], object]] = {"bare": build().bare_step}
        probes = []
        with tempfile.TemporaryDirectory() as folder:
            for every in ("auto", 10):
                example = build()
                probe = vgtui.watch(
                    example.model,
                    log=Path(folder) / f"{every}.jsonl",
                    every=every,
                    optimizer=example.optimizer,
                )
                probes.append(probe)
                runners[f"every {every}"] = lambda e=example, p=probe: p.step(e.bare_step())
            for run in runners.values():  # warm up allocations, the autograd graph, the log
                for _ in range(3):
                    run()
            seconds = dict.fromkeys(runners, 0.0)
            ratios: dict[str, list[float]] = {n: [] for n in runners if n != "bare"}
            for _ in range(plan.probe_rounds):
                took = {}
                for runner, run in runners.items():
                    started = time.perf_counter()
                    for _ in range(steps):
                        run()
                    took[runner] = time.perf_counter() - started
                    seconds[runner] += took[runner]
                for runner in ratios:
                    ratios[runner].append(took["bare"] / took[runner])
            for probe in probes:
                probe.close()
        total = steps * plan.probe_rounds
        section = f"watch() overhead, examples' {name}"
        figures.append(Figure(section, "bare loop", total / seconds["bare"], "steps/s"))
        for every, budget in (("auto", ">= 0.97"), ("10", ">= 0.95")):
            runner = f"every {every}"
            figures.append(Figure(section, f"watch {runner}", total / seconds[runner], "steps/s"))
            figures.append(
                Figure.check(
                    section,
                    f"watch {runner} / bare",
                    statistics.median(ratios[runner]),
                    "x",
                    budget,
                )
            )
    return figures


# ---- the app, headless ---------------------------------------------------------------------------


async def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: no {what} within {timeout:.0f} s")
        await asyncio.sleep(0.01)


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
                await _wait(lambda: app.latest is not None and app.latest.step >= 50, 60, "step 50")
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


# ---- 3. render cost ------------------------------------------------------------------------------


def recorded_run(depth: int, snapshots: int = 2, every: int = 1) -> list:
    """A header and ``snapshots`` real snapshots of a ``depth``-layer run, one every ``every``
    steps (step 1 first)."""
    trainer = Trainer(RunConfig(depth=depth, device="cpu", every=every))
    records = [trainer.header]
    while len(records) <= snapshots:
        records += trainer.step()
    return records


def frame(app, snap: Snapshot | None = None, full: bool = False) -> tuple[float, int]:
    """(milliseconds, bytes) of one frame through Textual's own repaint path.

    The app draws ``snap`` (its widgets rebuild their lines and mark the changed ones; with
    ``full``, every line is drawn again, as after a restart or a resize), then what Textual's
    update timer does: the compositor renders the dirty regions, and the update is encoded for the
    terminal.
    """
    from vgtui.ui.widgets.lines import LineView

    started = time.perf_counter()
    screen = app.screen
    views = list(screen.query(LineView))
    if full:
        for view in views:
            view.invalidate()
    if snap is not None:
        app.latest = snap
    app.dirty = True
    app.render_frame()
    taller = [view for view in views if view._layout_required]
    for view in taller:  # what Textual does when a widget's height changed
        view._layout_required = False
        for ancestor in view.ancestors_with_self:
            if ancestor is screen:
                break
            ancestor._clear_arrangement_cache()
            ancestor._layout_updates += 1
    if taller or screen._layout_required:
        screen._refresh_layout()
        screen._layout_required = False
    for widget in views:
        if widget._repaint_required:  # what each widget's idle check posts to the screen
            widget._repaint_required = False
            screen._dirty_widgets.add(widget)
    sent = 0
    if screen._dirty_widgets:
        screen._compositor.update_widgets(screen._dirty_widgets)
        update = screen._compositor.render_update(screen_stack=app._background_screens)
        screen._dirty_widgets.clear()
        if update is not None:
            sent = len(update.render_segments(app.console).encode())
    return (time.perf_counter() - started) * 1000, sent


def render_cost(plan: Plan) -> list[Figure]:
    """Frames at three terminal sizes with 10 and 50 layers: a new snapshot (the steady state),
    a full repaint, and the same frame over a short and a very long history.

    Steady frames draw consecutive snapshots of a real run (one every 10 steps, as a fast model
    sends them), each adding a point to the curves. The short and the long history are drawn
    alternately in one app, frame by frame, so that their ratio is not the machine's drift.
    """
    from vgtui.ui.app import VgtuiApp
    from vgtui.ui.sources.trainer import ReplaySource
    from vgtui.ui.state import RunHistory

    section = "render cost (one frame)"
    figures = []
    lengths = (1_000, plan.history_points)
    budgets = {((160, 50), 10): "<= 10", ((240, 70), 50): "<= 20"}
    for depth in (10, 50):
        records = recorded_run(depth, snapshots=20, every=10)
        header, snaps = records[0], [r for r in records if isinstance(r, Snapshot)]

        def history(points: int, header=header, snaps=snaps) -> RunHistory:
            run = RunHistory(header)
            for step in range(1, points + 1):
                run.add(replace(snaps[step % len(snaps)], step=step))
            return run

        histories = [history(points) for points in lengths]
        for size in SIZES:

            async def measure(size=size, depth=depth, histories=histories, snaps=snaps):
                app = VgtuiApp(RunConfig(depth=depth), source_factory=lambda c: ReplaySource([]))
                steady, full, sent = [], [], []
                alternate: list[list[float]] = [[] for _ in histories]
                async with app.run_test(size=size) as pilot:
                    await pilot.pause()
                    run = app.book.runs = [history(lengths[0])]
                    frame(app, snaps[0])
                    for i in range(plan.render_frames * 2):
                        run[0].add(replace(snaps[i % len(snaps)], step=lengths[0] + 1 + i))
                        ms, size_b = frame(app, snaps[i % len(snaps)])
                        steady.append(ms)
                        sent.append(size_b)
                        full.append(frame(app, full=True)[0])
                    for i in range(plan.render_frames * len(histories)):
                        which = i % len(histories)
                        app.book.runs = [histories[which]]
                        alternate[which].append(frame(app, snaps[i % len(snaps)])[0])
                medians = [statistics.median(t) for t in alternate]
                return statistics.median(steady), statistics.median(full), sent, medians

            steady, full, sent, medians = asyncio.run(measure())
            where = f"{size[0]}x{size[1]}, {depth} layers"
            name = f"{where}, {fmt_num(lengths[0])} points"
            if (size, depth) in budgets:
                figures.append(Figure.check(section, name, steady, "ms", budgets[size, depth]))
            else:
                figures.append(Figure(section, name, steady, "ms"))
            figures.append(Figure(section, f"{where}: bytes per frame", statistics.mean(sent), "B"))
            figures.append(Figure(section, f"{where}: full repaint", full, "ms"))
            if depth == 10:
                figures.append(
                    Figure.check(
                        section,
                        f"{size[0]}x{size[1]}: long / short history",
                        medians[1] / medians[0],
                        "x",
                        "<= 1.25",
                    )
                )
    return figures


# ---- 4. key to effect ----------------------------------------------------------------------------


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
            await _wait(lambda: app.latest is not None, 60, "first snapshot")
            for i in range(plan.key_presses):
                runs = len(app.book.runs)
                await asyncio.sleep(0.3)
                painted.clear()
                pressed = time.perf_counter()
                await pilot.press("a" if i % 2 == 0 else "A")

                def shown(runs: int = runs) -> bool:
                    return any(n > runs and snap is not None for _, snap, n in painted)

                await _wait(shown, 30, "snapshot of the new run")
                first = next(t for t, snap, n in painted if n > runs and snap is not None)
                times.append((first - pressed) * 1000)
        return times

    times = asyncio.run(measure())
    section = "key to effect (a: new run on screen)"
    return [
        Figure(section, "median", statistics.median(times), "ms"),
        Figure.check(section, "worst", max(times), "ms", "<= 500"),
    ]


# ---- 5. memory -----------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc; 0 where unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


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


# ---- 6. opening a big run log --------------------------------------------------------------------


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


# ---- 7. bytes to the terminal --------------------------------------------------------------------


class DashboardInPty:
    """The real ``vgtui`` (its CLI, its trainer process) in a pseudo-terminal of ``size``, as a
    user runs it (TERM=xterm-256color; an SSH session's environment if ``remote``).

    A context manager: on leaving, the whole process group (dashboard and trainer) is killed,
    whatever happened. Everything written to the terminal is read as it comes (``read``),
    counted in ``written`` and kept in ``tail`` (the last 64 KiB) to look for text in.
    """

    def __init__(self, size: tuple[int, int], argv: tuple[str, ...] = (), remote: bool = False):
        self.size, self.argv, self.remote = size, argv, remote
        self.written = 0
        self.tail = b""

    def __enter__(self) -> DashboardInPty:
        import fcntl  # POSIX only, like the pty itself
        import termios

        cols, rows = self.size
        self.fd, child = os.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        drop = (*REMOTE_ENV, "COLUMNS", "LINES", "COLORTERM", "NO_COLOR", "TEXTUAL")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env["TERM"] = "xterm-256color"
        if self.remote:
            env["SSH_CONNECTION"] = "10.0.0.2 50000 10.0.0.1 22"
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vgtui", *self.argv],
            stdin=child,
            stdout=child,
            stderr=child,
            env=env,
            start_new_session=True,  # its own process group: the trainer child goes with it
            close_fds=True,
        )
        os.close(child)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.drain(0.5)
            self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group: nothing is left behind
        self.proc.wait()
        os.close(self.fd)

    def read(self, timeout: float) -> int:
        """Take what the app wrote within ``timeout`` seconds; returns how many bytes."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return 0
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the other side closed
            return 0
        self.written += len(data)
        self.tail = (self.tail + data)[-65536:]
        return len(data)

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read(0.05)

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        """Read until ``condition()``; returns the seconds since launch."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"bench: vgtui at {self.size} never showed {what}")
            self.read(0.05)
        return time.perf_counter() - self.started

    def step(self) -> int:
        """The last step count the status line showed (0 before any)."""
        shown = re.findall(rb"  step ([\d,]+)", self.tail)  # the status line's, not an axis
        return int(shown[-1].replace(b",", b"")) if shown else 0

    def trainer_pid(self) -> int:
        """The trainer process: the dashboard's child that multiprocessing spawned."""
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                if parent == self.proc.pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
        return 0


def terminal_bytes_per_s(
    size: tuple[int, int], seconds: float, remote: bool = False, argv: tuple[str, ...] = ()
) -> float:
    """Bytes per second the real dashboard writes into its terminal in steady training: counted
    once it shows a running trainer and the first frames of the run are out, for ``seconds``."""
    with DashboardInPty(size, argv, remote) as app:
        app.wait_for(lambda: b"running" in app.tail, 60, "a running trainer")
        app.drain(2.0)  # past the first frames of the run
        started, before = time.perf_counter(), app.written
        while time.perf_counter() - started < seconds:
            app.read(0.1)
        return (app.written - before) / (time.perf_counter() - started)


def terminal_bytes(plan: Plan) -> list[Figure]:
    """The real app in a pty at 80x24 and 160x50 (and 160x50 as an SSH session sees it)."""
    section = "bytes to the terminal (real app, steady training)"
    figures = []
    for size, remote in plan.pty_runs:
        rate = terminal_bytes_per_s(size, plan.pty_s, remote) / 1024
        name = f"{size[0]}x{size[1]}" + (" over ssh" if remote else "")
        if size == (160, 50) and not remote:
            figures.append(Figure.check(section, name, rate, "KiB/s", "<= 64"))
        else:
            figures.append(Figure(section, name, rate, "KiB/s"))
    return figures


# ---- 8. attach, and the views of a 100-layer model --------------------------------------------


def log_views(plan: Plan) -> list[Figure]:
    """`vgtui attach` on the log of a real 100-layer run: a snapshot appended to the file until
    the frame that shows it; the UI's memory after catching up with a long log; then one frame
    of each view (waterfall, compact, grid) at 160x50 and 240x70, steady and full repaint."""
    from vgtui.ui.log_app import log_app
    from vgtui.ui.views import VIEWS

    records = recorded_run(99, snapshots=20, every=10)  # 100 Linear layers
    header, snaps = records[0], [r for r in records if isinstance(r, Snapshot)]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deep.jsonl"
        count = write_big_log(path, plan.views_log_mb, header, snaps[-1])
        mb = path.stat().st_size / (1 << 20)
        line = encode(snaps[-1])
        rest = line[line.index(',"loss"') :]
        latencies: list[float] = []
        memory: dict[str, float] = {"before": rss_mb(os.getpid())}

        async def attach() -> None:
            app = log_app(path, "attach", fps=12.0)
            async with app.run_test(size=(160, 50)):
                await _wait(lambda: app.latest is not None and app.latest.step == count, 120, "")
                await _wait(lambda: not app.dirty, 10, "the first frame")
                memory["after"] = rss_mb(os.getpid())
                with open(path, "a", encoding="utf-8") as f:
                    for step in range(count + 1, count + 1 + plan.log_rounds * 4):
                        shown = app.snapshots_shown
                        f.write(f'{{"type":"snapshot","step":{step}{rest}\n')
                        f.flush()
                        started = time.perf_counter()
                        await _wait(
                            lambda s=step, n=shown: (
                                app.latest.step == s and app.snapshots_shown > n and not app.dirty
                            ),
                            10,
                            f"step {step} on screen",
                        )
                        latencies.append((time.perf_counter() - started) * 1000)

        asyncio.run(attach())
    section = f"attach a 100-layer log ({mb:,.0f} MB, {count:,} snapshots) at 12 fps"
    figures += [
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

    section = "view frames, 100 layers"
    for size in ((160, 50), (240, 70)):
        for name in VIEWS:

            async def measure(size=size, name=name) -> tuple[float, float, float]:
                from vgtui.ui.app import VgtuiApp
                from vgtui.ui.sources.trainer import ReplaySource

                app = VgtuiApp(RunConfig(depth=99), source_factory=lambda c: ReplaySource(records))
                steady, full, sent = [], [], []
                async with app.run_test(size=size) as pilot:
                    await _wait(lambda: app.latest is snaps[-1] and not app.dirty, 60, "replay")
                    app.action_view(name)
                    await pilot.pause()
                    for i in range(plan.render_frames * 2):
                        snap = replace(snaps[i % len(snaps)], step=snaps[-1].step + 10 * (i + 1))
                        app.take_record(snap)  # what the reader does with each snapshot
                        ms, size_b = frame(app, snap)
                        steady.append(ms)
                        sent.append(size_b)
                        full.append(frame(app, full=True)[0])
                return statistics.median(steady), statistics.median(full), statistics.mean(sent)

            steady, full, sent = asyncio.run(measure())
            where = f"{size[0]}x{size[1]} {name}"
            if size == (160, 50):
                figures.append(Figure.check(section, where, steady, "ms", "<= 10"))
            else:
                figures.append(Figure.check(section, where, steady, "ms", "<= 20"))
            figures.append(Figure(section, f"{where}: full repaint", full, "ms"))
            figures.append(Figure(section, f"{where}: bytes per frame", sent, "B"))
    return figures


# ---- the report ----------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Plan], list[Figure]]] = {
    "probe": probe_overhead,
    "watch": watch_overhead,
    "peers": peer_overhead,
    "compile": summary_compile,
    "ui": ui_responsiveness,
    "render": render_cost,
    "key": key_to_effect,
    "memory": memory,
    "log": log_open,
    "bytes": terminal_bytes,
    "views": log_views,
}


def table(figures: list[Figure]) -> Table:
    out = Table(title="vgtui bench", title_justify="left")
    for column in ("section", "figure", "value", "budget", "met"):
        out.add_column(column, justify="right" if column == "value" else "left")
    section = None
    for f in figures:
        verdict = "" if f.met is None else ("[green]yes[/]" if f.met else "[bold red]NO[/]")
        out.add_row(
            f.section if f.section != section else "",
            f.name,
            f"{fmt_num(f.value)} {f.unit}",
            f.budget,
            verdict,
        )
        section = f.section
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vgtui bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny measurements (smoke test)")
    parser.add_argument("--out", default="bench.json", help="where to write the figures")
    parser.add_argument(
        "--only", action="append", choices=list(SECTIONS), help="run only these sections"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a budget is missed (for CI)"
    )
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    console = Console()
    figures: list[Figure] = []
    started = time.perf_counter()
    for name in args.only or list(SECTIONS):
        with console.status(f"measuring {name}…"):
            figures += SECTIONS[name](plan)
    took = time.perf_counter() - started
    console.print(table(figures))
    missed = [f for f in figures if f.met is False]
    console.print(
        f"{len(figures)} figures in {took:.0f} s; "
        + (f"[bold red]{len(missed)} over budget[/]" if missed else "[green]all within budget[/]")
    )
    report = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
        "quick": args.quick,
        "seconds": took,
        "figures": [asdict(f) for f in figures],
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 1 if args.check and missed else 0
