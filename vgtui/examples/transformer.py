"""A tiny character-level transformer learning a bundled text, watched by `vgtui.watch()`.

    python -m vgtui.examples.transformer --log runs/transformer.jsonl

The text is the opening of the Declaration of Independence (public domain; see data/README.md).
Every parameter is watched: the attention's packed Q/K/V projection slice by slice, its
``out_proj`` (applied functionally, so it has gradients but no activation of its own), the
feed-forward layers, the norms and both embeddings.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import vgtui
from vgtui.examples.common import Example, accuracy, parse_args

TEXT = Path(__file__).parent / "data" / "declaration.txt"


class TinyGPT(nn.Module):
    """Token and position embeddings, pre-norm causal transformer blocks, a linear head."""

    def __init__(self, vocab: int, block: int = 64, d: int = 64, heads: int = 4, layers: int = 2):
        super().__init__()
        self.block = block
        self.tokens = nn.Embedding(vocab, d)
        self.positions = nn.Embedding(block, d)
        layer = nn.TransformerEncoderLayer(
            d, heads, 4 * d, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(block))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        h = self.tokens(idx) + self.positions(torch.arange(t, device=idx.device))
        h = self.blocks(h, mask=self.mask[:t, :t], is_causal=True)
        return self.head(self.norm(h))


class Chars:
    """The text as a tensor of character ids, and back."""

    def __init__(self, text: str) -> None:
        self.alphabet = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.alphabet)}
        self.data = torch.tensor([self.index[c] for c in text])

    def decode(self, ids: list[int]) -> str:
        return "".join(self.alphabet[i] for i in ids)


def sequence_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def build(seed: int = 0, batch_size: int = 32, block: int = 64) -> tuple[Example, Chars]:
    torch.manual_seed(seed)
    chars = Chars(TEXT.read_text(encoding="utf-8"))
    generator = torch.Generator().manual_seed(seed)
    data = chars.data

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(0, len(data) - block - 1, (batch_size,), generator=generator)
        x = torch.stack([data[s : s + block] for s in starts.tolist()])
        y = torch.stack([data[s + 1 : s + block + 1] for s in starts.tolist()])
        return x, y

    model = TinyGPT(len(chars.alphabet), block)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    return Example(model, optimizer, batch, sequence_loss), chars


@torch.no_grad()
def sample(model: TinyGPT, chars: Chars, prompt: str = "We hold ", length: int = 80) -> str:
    """Greedy continuation of ``prompt``."""
    ids = [chars.index[c] for c in prompt]
    for _ in range(length):
        logits = model(torch.tensor([ids[-model.block :]]))
        ids.append(int(logits[0, -1].argmax()))
    return chars.decode(ids)


def main(argv: list[str] | None = None) -> int:
    args = parse_args("transformer", __doc__, argv, steps=1200)
    example, chars = build(args.seed)
    model, optimizer = example.model, example.optimizer
    with vgtui.watch(model, log=args.log, every=args.every, optimizer=optimizer) as probe:
        for _ in range(args.steps):
            x, y = example.batch()
            logits = model(x)
            loss = sequence_loss(logits, y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # the probe sees clipped gradients
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            probe.step(loss, accuracy=accuracy(logits, y))
    loss_text = f"{probe.latest.loss:.3f}" if probe.latest and probe.latest.loss else "?"
    print(f"transformer: {args.steps} steps, last snapshot's loss {loss_text}; run log: {args.log}")
    print(f"sample: {sample(model, chars)!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
