"""Statistics of any ``nn.Module`` (torch): discovery, hooks, statistics, the probe, the
distributed reduction, ``watch()`` and its record sink. Never imports Textual."""
