"""Runnable examples of `vgtui.watch()` in ordinary PyTorch training loops (CPU, offline).

python -m vgtui.examples.cnn --log runs/cnn.jsonl
python -m vgtui.examples.transformer --log runs/transformer.jsonl
python -m vgtui.examples.rnn --log runs/rnn.jsonl
torchrun --nproc_per_node 2 -m vgtui.examples.ddp -- --log runs/ddp.jsonl
"""
