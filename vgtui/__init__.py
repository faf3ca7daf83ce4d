"""vgtui: watch vanishing and exploding gradients live in your terminal."""

from vgtui.engine.config import RunConfig
from vgtui.engine.errors import ConfigError

__version__ = "0.1.0"
__all__ = ["ConfigError", "RunConfig", "__version__"]
