"""Where the dashboard's records come from: the trainer process, a followed or replayed log."""
