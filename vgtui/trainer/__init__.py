"""The lessons' MLP and its training loop (torch): model, factories, data, optim, devices, trainer,
worker.

Never imports Textual, and imports the probe (never the reverse); ``worker`` is imported by the
dashboard to spawn the trainer process and imports torch only inside it."""
