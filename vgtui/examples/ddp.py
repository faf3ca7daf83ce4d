"""The digits CNN under DistributedDataParallel: two gloo processes on a CPU, one run log.

    torchrun --nproc_per_node 2 -m vgtui.examples.ddp -- --log runs/ddp.jsonl
    python -m vgtui.examples.ddp --log runs/ddp.jsonl      # starts the two processes itself

(torchrun needs ``--`` before the example's own flags.) `vgtui.watch()` watches the wrapped model
(``model.module``, transparently). Each rank trains on its own batches; the activation statistics
in the log cover both ranks' batches (counts summed, means and variances combined exactly), the
gradient norms are those after DDP's all-reduce, the loss is the ranks' mean, and only rank 0
writes (``--log 'runs/ddp-{rank}.jsonl'``: one file per rank, each with its own batch's
statistics).
"""

from __future__ import annotations

import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

import vgtui
from vgtui.examples.cnn import build, validation_accuracy
from vgtui.examples.common import accuracy, parse_args

WORLD = 2


def train(argv: list[str] | None) -> None:
    """One rank's training loop (torchrun or `spawn` set RANK, WORLD_SIZE, MASTER_ADDR/PORT)."""
    args = parse_args("ddp", __doc__, argv, steps=1500)
    torch.set_num_threads(1)  # two processes share the machine's cores
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    try:
        example = build(args.seed, batch_size=32, rank=rank)  # same weights, own batches
        model = DistributedDataParallel(example.model)
        optimizer = example.optimizer
        with vgtui.watch(model, log=args.log, every=args.every, optimizer=optimizer) as probe:
            for _ in range(args.steps):
                x, y = example.batch()
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                loss.backward()  # DDP averages the gradients across ranks here
                optimizer.step()
                optimizer.zero_grad()
                probe.step(loss, accuracy=accuracy(logits, y))
        if rank == 0:
            val = validation_accuracy(example.model, args.seed)
            print(
                f"ddp: {args.steps} steps on {dist.get_world_size()} ranks, validation accuracy "
                f"{val:.1%}; run log: {args.log}"
            )
    finally:
        dist.destroy_process_group()


def _spawned(rank: int, port: int, argv: list[str]) -> None:
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(WORLD), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    train(argv)
    # Skip the interpreter's teardown: with gloo's threads still being torn down it can abort
    # ("terminate called without an active exception") after the work is done and written.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "RANK" in os.environ:  # started by torchrun
        train(argv)
    else:
        parse_args("ddp", __doc__, argv, steps=1500)  # bad flags: one line, before any process
        mp.spawn(_spawned, args=(free_port(), argv), nprocs=WORLD, join=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
