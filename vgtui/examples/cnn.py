"""A small convolutional net learning the bundled 8x8 digits, watched by `vgtui.watch()`.

python -m vgtui.examples.cnn --log runs/cnn.jsonl
vgtui attach runs/cnn.jsonl          # in another terminal, while it trains
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import vgtui
from vgtui.examples.common import Example, accuracy, parse_args
from vgtui.trainer.data import load_dataset


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions, a pooling, two linear layers: 8x8 grey images to 10 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build(seed: int = 0, batch_size: int = 64, rank: int = 0) -> Example:
    """The model, an Adam optimizer and a batch source (each ``rank`` draws its own batches)."""
    torch.manual_seed(seed)
    data = load_dataset("digits", seed=seed)
    images = data.x.reshape(-1, 1, 8, 8)
    generator = torch.Generator().manual_seed(seed * 1000 + rank)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, images.shape[0], (batch_size,), generator=generator)
        return images[idx], data.y[idx]

    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    return Example(model, optimizer, batch, F.cross_entropy)


def validation_accuracy(model: nn.Module, seed: int = 0) -> float:
    data = load_dataset("digits", seed=seed)
    with torch.no_grad():
        return accuracy(model(data.x_val.reshape(-1, 1, 8, 8)), data.y_val).item()


def main(argv: list[str] | None = None) -> int:
    args = parse_args("cnn", __doc__, argv, steps=1500)
    example = build(args.seed)
    model, optimizer = example.model, example.optimizer
    with vgtui.watch(model, log=args.log, every=args.every, optimizer=optimizer) as probe:
        for _ in range(args.steps):
            x, y = example.batch()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            probe.step(loss, accuracy=accuracy(logits, y))
    val = validation_accuracy(model, args.seed)
    print(f"cnn: {args.steps} steps, validation accuracy {val:.1%}; run log: {args.log}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
