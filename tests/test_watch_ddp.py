"""`vgtui.watch()` under DistributedDataParallel: two gloo processes on the CPU.

The two ranks train one small model on different batches; the test then recomputes, with plain
torch on both batches together, what the shared log must say: activation statistics over the
whole batch (exact counts, combined moments, dead units), the all-reduced gradient norms and the
mean loss. Also: one file per rank with ``{rank}``, ``every="auto"`` (the ranks agree on the
steps without talking), and a failure on one rank ending the probe on both without a hang.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from test_watch import assert_stats, by_name
from torch import nn

from vgtui.runlog.codec import read_log

WORLD = 2
STEPS = 2
TIMEOUT_S = 120


def make_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        model[0].bias[:2] = -50.0  # two units dead on both ranks' batches
    return model


def batch(rank: int, step: int) -> torch.Tensor:
    return torch.randn(8, 4, generator=torch.Generator().manual_seed(100 * step + rank)) * (
        rank + 1
    )


def train(ddp, opt, probe, steps, rank, start=0) -> list[int]:
    """Train; the steps at which this rank took a snapshot."""
    snapshots = []
    for step in range(start, start + steps):
        loss = ddp(batch(rank, step)).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        if probe.step(loss) is not None:
            snapshots.append(probe.step_count)
    return snapshots


def rank_main(rank: int, port: int, folder: str) -> None:
    import vgtui

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        model = make_model()
        ddp = nn.parallel.DistributedDataParallel(model)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with vgtui.watch(ddp, log=f"{folder}/shared.jsonl", every=1, optimizer=opt) as probe:
            train(ddp, opt, probe, STEPS, rank)
        with vgtui.watch(ddp, log=f"{folder}/rank-{{rank}}.jsonl", every=1) as probe:
            train(ddp, opt, probe, 1, rank, start=STEPS)
        with vgtui.watch(ddp, log=f"{folder}/auto.jsonl") as probe:
            steps = train(ddp, opt, probe, 40, rank)
        with open(f"{folder}/auto-steps-{rank}.txt", "w") as f:
            f.write(" ".join(map(str, steps)))
        with vgtui.watch(ddp, log=f"{folder}/failed.jsonl", every=1) as probe:
            train(ddp, opt, probe, 2, rank)
            if rank == 1:  # this rank's hooks fail from now on
                probe.probe.hooks.output_tensor = lambda output: 1 / 0
            train(ddp, opt, probe, 3, rank, start=2)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    context = mp.start_processes(
        rank_main, args=(free_port(), str(folder)), nprocs=WORLD, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not context.join(timeout=1):
            if time.monotonic() > deadline:
                pytest.fail(f"the two ranks did not finish within {TIMEOUT_S} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
    return folder


def test_statistics_cover_both_ranks_batches_exactly(logs):
    log = read_log(logs / "shared.jsonl")
    assert log.header.config["world_size"] == 2
    assert log.header.config["wrapper"] == "DistributedDataParallel"
    assert [s.step for s in log.snapshots] == [1, 2] and log.end.reason == "done"
    ref = make_model()
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    for step, snap in enumerate(log.snapshots):
        x = torch.cat([batch(rank, step) for rank in range(WORLD)])
        hidden = torch.relu(ref[0](x))
        out = ref[2](hidden)
        losses = [ref(batch(rank, step)).pow(2).mean().item() for rank in range(WORLD)]
        out.pow(2).mean().backward()  # = the mean of the ranks' mean losses: DDP's gradient
        layers = by_name(snap)
        assert_stats(layers["0"].act, hidden)
        assert_stats(layers["2"].act, out)
        dead = (hidden == 0).all(dim=0).float().mean().item()
        assert layers["0"].dead_frac == pytest.approx(dead) and dead >= 2 / 6
        for name in ("0", "2"):
            expected = ref.get_submodule(name).weight.grad.norm().item()
            assert layers[name].grad_norm == pytest.approx(expected, rel=1e-5)
        assert snap.loss == pytest.approx(sum(losses) / WORLD, rel=1e-5)
        opt.step()
        opt.zero_grad()


def test_each_rank_writes_its_own_file_with_its_own_batch(logs):
    for rank in range(WORLD):
        snap = read_log(logs / f"rank-{rank}.jsonl").snapshots[0]
        assert snap.layers[0].act.hist.total == 8 * 6  # this rank's 8 samples only
    assert not (logs / "rank-{rank}.jsonl").exists()


def test_auto_pacing_agrees_across_ranks_without_a_hang(logs):
    log = read_log(logs / "auto.jsonl")
    steps = [s.step for s in log.snapshots]
    assert steps[0] == 1 and log.end.step == 40
    for rank in range(WORLD):  # every rank snapshotted at the same steps, unprompted
        assert (logs / f"auto-steps-{rank}.txt").read_text().split() == list(map(str, steps))


def test_a_failure_on_one_rank_stops_the_probe_on_both_and_training_goes_on(logs):
    log = read_log(logs / "failed.jsonl")
    assert [s.step for s in log.snapshots] == [1, 2]
    assert [e.kind for e in log.events] == ["error"]
    assert "rank 1: ZeroDivisionError" in log.events[0].message
    assert log.end.step == 5 and log.end.reason == "done"
