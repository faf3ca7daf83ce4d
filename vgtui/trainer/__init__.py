"""The lessons' MLP and its training loop (torch): model, factories, data, trainer, worker.

Never imports Textual; ``worker`` is imported by the dashboard to spawn the trainer process and
imports torch only inside it."""
