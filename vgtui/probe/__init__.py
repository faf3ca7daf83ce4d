"""Statistics of any ``nn.Module`` (torch): discovery, hooks, statistics, the probe, the
distributed reduction and ``watch()``. Never imports Textual."""
