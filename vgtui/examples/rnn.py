"""A vanilla tanh RNN against an LSTM on a long-range task: the RNN's gradient vanishes in time.

    python -m vgtui.examples.rnn --log runs/rnn.jsonl

The task: read a sequence of random bits (+1/-1) and, at the end, say what the *first* bit was.
Only the first input matters, so the loss can only fall if its gradient reaches back through every
step of the sequence. Both models train side by side on the same batches (one optimizer; their
parameters are disjoint, so it is two independent runs in one log): the LSTM learns the task, the
RNN stays at chance. The scalars ``rnn_reach`` and ``lstm_reach`` are the gradient reaching the
first input relative to the last one (``|dL/dx_1| / |dL/dx_T|``): orders of magnitude smaller for
the RNN than for the LSTM, the textbook vanishing gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import vgtui
from vgtui.examples.common import accuracy, parse_args

LENGTH = 30  # bits per sequence
HIDDEN = 32


class Recurrent(nn.Module):
    """A recurrent layer reading the bits, and a linear head on its last output."""

    def __init__(self, cell: type[nn.RNNBase]) -> None:
        super().__init__()
        self.cell = cell(1, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, 2)
        if isinstance(self.cell, nn.LSTM):
            with torch.no_grad():  # forget-gate bias 2 (1 in each of its two biases): remember
                for name, p in self.cell.named_parameters():
                    if name.startswith("bias"):
                        p[HIDDEN : 2 * HIDDEN].fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cell(x)[0][:, -1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args("rnn", __doc__, argv, steps=800)
    torch.manual_seed(args.seed)
    models = nn.ModuleDict({"rnn": Recurrent(nn.RNN), "lstm": Recurrent(nn.LSTM)})
    optimizer = torch.optim.Adam(models.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(args.seed)
    with vgtui.watch(models, log=args.log, every=args.every, optimizer=optimizer) as probe:
        for _ in range(args.steps):
            bits = torch.randint(0, 2, (64, LENGTH), generator=generator)
            y = bits[:, 0]
            scalars = {}
            total = torch.zeros(())
            inputs = {}
            for name, model in models.items():
                # each model gets its own copy of the input, to read how much gradient reaches it
                x = (bits.float() * 2 - 1).unsqueeze(-1).requires_grad_()
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                total = total + loss
                inputs[name] = x
                scalars[f"{name}_loss"] = loss.detach()
                scalars[f"{name}_accuracy"] = accuracy(logits, y)
            total.backward()
            optimizer.step()
            optimizer.zero_grad()
            for name, x in inputs.items():
                first, last = x.grad[:, 0].norm(), x.grad[:, -1].norm()
                scalars[f"{name}_reach"] = first / last.clamp_min(1e-30)
            probe.step(total, **scalars)
    last = probe.latest
    if last is not None and last.scalars:
        s = last.scalars
        print(
            f"rnn: {args.steps} steps; accuracy RNN {s['rnn_accuracy']:.0%}, "
            f"LSTM {s['lstm_accuracy']:.0%}; gradient reaching the first bit (vs the last): "
            f"RNN {s['rnn_reach']:.1e}, LSTM {s['lstm_reach']:.1e}; run log: {args.log}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
