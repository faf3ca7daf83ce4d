"""Parsing of ``name[:param]`` specs, shared by activations and initializers."""

from __future__ import annotations

from vgtui.core.errors import ConfigError
from vgtui.core.ranges import Range


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
    return name, param


def check_param(
    field: str, spec: str, name: str, param_name: str, value: float, valid: Range
) -> float:
    """``value`` (the number after the colon) if it is within ``valid``, else a ConfigError that
    names the range (``leaky_relu:slope, where slope is a number in [0, 10]``). An integer range
    takes a whole float (``maxout:3.0``) as that integer."""
    if valid.integer and value.is_integer():
        value = int(value)
    if value not in valid:
        raise ConfigError(field, spec, f"{name}:{param_name}, where {param_name} is {valid}")
    return value
