"""vgtui: watch vanishing and exploding gradients live in your terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vgtui.core.config import RunConfig
from vgtui.core.errors import ConfigError

if TYPE_CHECKING:
    from vgtui.probe.watch import watch

__version__ = "0.1.0"
__all__ = ["ConfigError", "RunConfig", "__version__", "watch"]


def __getattr__(name: str) -> Any:
    """``vgtui.watch`` imports torch on first use only: the dashboard imports this package and
    stays torch-free."""
    if name == "watch":
        from vgtui.probe.watch import watch

        return watch
    raise AttributeError(f"module 'vgtui' has no attribute {name!r}")
