"""What the examples share: their command line, and the parts the benchmark reuses."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Example:
    """A model, its optimizer, and how to draw a batch and score it (the benchmark's view)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    batch: Callable[[], tuple[torch.Tensor, torch.Tensor]]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    def bare_step(self) -> torch.Tensor:
        """One plain training step; returns the loss (not read: no host sync)."""
        x, y = self.batch()
        loss = self.loss(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss


def every_arg(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not valid; expected 'auto' or an integer >= 1"
        )
    return value


def parse_args(name: str, doc: str, argv: list[str] | None, steps: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m vgtui.examples.{name}",
        description=doc.strip().splitlines()[0],
    )
    parser.add_argument("--log", default=f"runs/{name}.jsonl", help="the run log to write")
    parser.add_argument("--steps", type=int, default=steps, help=f"steps to train ({steps})")
    parser.add_argument("--every", type=every_arg, default="auto", help="snapshot interval")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps: {args.steps} is not valid; expected an integer >= 1")
    return args


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The fraction of right answers, as a tensor (read only at snapshots: no sync per step)."""
    return (logits.argmax(-1) == y).float().mean()
