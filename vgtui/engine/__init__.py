"""The engine: config, models, initializers, datasets, probe, trainer and run log.

Pure torch and numpy: it never imports the UI toolkit, so it runs headless and from a user's script.
"""
