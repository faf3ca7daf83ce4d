"""Parsing of ``name[:param]`` specs, shared by activations and initializers."""

from __future__ import annotations

from vgtui.engine.errors import ConfigError


def split_spec(field: str, spec: str, names: list[str]) -> tuple[str, float | None]:
    """Split ``"leaky_relu:0.2"`` into ``("leaky_relu", 0.2)``; raise ConfigError on a bad spec."""
    if not isinstance(spec, str):
        raise ConfigError(field, spec, "one of " + ", ".join(names))
    name, _, raw = spec.strip().lower().partition(":")
    if name not in names:
        raise ConfigError(field, spec, "one of " + ", ".join(names))
    if not raw:
        return name, None
    try:
        param = float(raw)
    except ValueError:
        raise ConfigError(field, spec, f"{name}[:number]") from None
    if param != param or param in (float("inf"), float("-inf")):
        raise ConfigError(field, spec, f"{name}[:finite number]")
    return name, param
