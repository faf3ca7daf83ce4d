"""The torch-free core: configuration, names, records, errors, pacing, health, text, diagnosis.

No torch and no numpy: everything here is importable by the dashboard's process and the CLI."""
