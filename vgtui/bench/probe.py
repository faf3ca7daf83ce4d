"""Bench sections on the training side: the probe's overhead on the lessons' MLP, `watch()`'s
around the examples' own loops, TensorBoard's and wandb's for comparison, and the snapshot
statistics eager against `torch.compile`."""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from vgtui.bench.harness import Figure, Plan
from vgtui.core.config import RunConfig
from vgtui.probe import stats
from vgtui.trainer.trainer import Trainer, loss_of

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


# ---- the peers -----------------------------------------------------------------------------------

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


# ---- the statistics, eager or compiled -----------------------------------------------------------


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


# ---- watch() overhead ----------------------------------------------------------------------------


def watch_overhead(plan: Plan) -> list[Figure]:
    """`vgtui.watch()` around the examples' own loops (cnn, transformer) against the same loop
    bare: each runner has its own copy of the model, data and optimizer; rounds interleaved."""
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
