"""`vgtui bench` (`make bench`): the figures every change is held to, measured side by side.

Each figure carries its budget and whether it met it; the table is printed with Rich and the
figures are written to ``bench.json``. Ratios are used wherever this machine's noise would make
an absolute time meaningless. ``--quick`` shrinks every measurement (for the smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from vgtui.engine import stats
from vgtui.engine.config import RunConfig
from vgtui.engine.records import Snapshot
from vgtui.engine.trainer import Trainer, loss_of
from vgtui.format import fmt_num

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
    lag_s: float = 10.0
    render_frames: int = 15
    key_presses: int = 3
    memory_steps: int = 200_000
    history_points: int = 1_000_000
    compile: bool = True  # measure torch.compile (tens of seconds)
    widths: tuple[int, ...] = (64, 1024)  # of the 10-layer MLPs whose overhead is measured

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            probe_rounds=1,
            lag_s=1.0,
            render_frames=2,
            key_presses=1,
            memory_steps=2_000,
            history_points=5_000,
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
    from vgtui.ui.source import TrainerSource

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
    from vgtui.ui.source import TrainerSource

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
        source.close()


# ---- 3. render cost ------------------------------------------------------------------------------


def recorded_run(depth: int, snapshots: int = 2) -> list:
    """A header and a few real snapshots of a ``depth``-layer run (every step snapshotted)."""
    trainer = Trainer(RunConfig(depth=depth, device="cpu", every=1))
    records = [trainer.header]
    while len(records) <= snapshots:
        records += trainer.step()
    return records


def full_frame(app) -> float:
    """Milliseconds for one frame with new data, through Textual's own repaint path: the data
    widgets take the snapshot and re-render every line from scratch, the compositor builds the
    screen update, and the update is encoded for the terminal (the layout is unchanged between
    frames, as it is in a running dashboard; the static containers keep their cached lines)."""
    from vgtui.ui.widgets.curves import Curves
    from vgtui.ui.widgets.gradients import GradientBars
    from vgtui.ui.widgets.histograms import Histograms
    from vgtui.ui.widgets.status import StatusLine

    started = time.perf_counter()
    app.dirty = True
    app.render_frame()
    screen = app.screen
    for cls in (Histograms, GradientBars, Curves, StatusLine):
        widget = app.query_one(cls)
        widget._set_dirty()
        screen._dirty_widgets.add(widget)
    screen._compositor.update_widgets(screen._dirty_widgets)
    update = screen._compositor.render_update()
    screen._dirty_widgets.clear()
    app.console._render_buffer(app.console.render(update))
    return (time.perf_counter() - started) * 1000


def render_cost(plan: Plan) -> list[Figure]:
    """One full frame at three terminal sizes, 10 and 50 layers, short and very long history.

    The short and the long history are drawn alternately in one app, frame by frame, so that
    their ratio is not the machine's drift between two runs.
    """
    from vgtui.ui.app import VgtuiApp
    from vgtui.ui.history import RunHistory
    from vgtui.ui.source import ReplaySource

    section = "render cost (one full frame)"
    figures = []
    lengths = (1_000, plan.history_points)
    for depth in (10, 50):
        records = recorded_run(depth)
        header, snaps = records[0], [r for r in records if isinstance(r, Snapshot)]
        histories = []
        for points in lengths:
            run = RunHistory(header)
            for step in range(1, points + 1):
                run.add(replace(snaps[step % len(snaps)], step=step))
            histories.append(run)
        for size in SIZES:

            async def measure(size=size, depth=depth, histories=histories, snaps=snaps):
                app = VgtuiApp(RunConfig(depth=depth), source_factory=lambda c: ReplaySource([]))
                times: list[list[float]] = [[] for _ in histories]
                async with app.run_test(size=size) as pilot:
                    await pilot.pause()
                    for i in range(plan.render_frames * len(histories)):
                        which = i % len(histories)
                        app.book.runs = [histories[which]]
                        app.latest = snaps[i % len(snaps)]
                        times[which].append(full_frame(app))
                return [statistics.median(t) for t in times]

            medians = asyncio.run(measure())
            for points, ms in zip(lengths, medians, strict=True):
                name = f"{size[0]}x{size[1]}, {depth} layers, {fmt_num(points)} points"
                if size == (160, 50) and depth == 10 and points == lengths[0]:
                    figures.append(Figure.check(section, name, ms, "ms", "<= 20"))
                else:
                    figures.append(Figure(section, name, ms, "ms"))
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
    """RSS of the UI and trainer processes after 1,000 and after many steps of a fast config."""
    from vgtui.ui.app import VgtuiApp

    config = RunConfig(depth=2, width=8, dataset="xor", device="cpu")
    readings: dict[int, tuple[float, float]] = {}

    async def measure() -> None:
        app = VgtuiApp(config)
        async with app.run_test(size=(160, 50)):
            for target in (1_000, plan.memory_steps):
                await _wait(
                    lambda t=target: app.latest is not None and app.latest.step >= t,
                    900,
                    f"step {target}",
                )
                readings[target] = (rss_mb(os.getpid()), rss_mb(app.source.pid))

    asyncio.run(measure())
    (ui0, tr0), (ui1, tr1) = readings[1_000], readings[plan.memory_steps]
    section = (
        f"memory, 1k -> {fmt_num(plan.memory_steps)} steps ({config.depth}x{config.width} xor)"
    )
    return [
        Figure(section, "UI at 1k steps", ui0, "MB"),
        Figure(section, "trainer at 1k steps", tr0, "MB"),
        Figure.check(section, "UI growth", ui1 - ui0, "MB", "<= 20"),
        Figure.check(section, "trainer growth", tr1 - tr0, "MB", "<= 20"),
    ]


# ---- the report ----------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Plan], list[Figure]]] = {
    "probe": probe_overhead,
    "peers": peer_overhead,
    "compile": summary_compile,
    "ui": ui_responsiveness,
    "render": render_cost,
    "key": key_to_effect,
    "memory": memory,
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
