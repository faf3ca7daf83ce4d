"""`vgtui compare --a KEY=VALUE,... --b KEY=VALUE,...`: two configurations side by side.

Both sides start from the same configuration (the defaults, or the usual flags given before
``--a``/``--b``), with the same data and seed; ``--a`` and ``--b`` change any config fields.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from vgtui.commands.train import (
    FIELD_TYPES,
    add_config_arguments,
    add_fps_argument,
    config_from_args,
)
from vgtui.core.config import RunConfig
from vgtui.core.errors import ConfigError
from vgtui.core.text import safe_text

FIELDS = {f.name: str(f.type) for f in dataclasses.fields(RunConfig)}


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """``--a``/``--b``, and the training's flags for the configuration both sides start from."""
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("--a", default="", metavar="KEY=VALUE,...", help="changes for side A")
    parser.add_argument("--b", default="", metavar="KEY=VALUE,...", help="changes for side B")
    add_fps_argument(parser)
    add_config_arguments(parser)


def parse_changes(text: str, side: str = "a") -> dict[str, Any]:
    """``"activation=relu,init=he"`` -> {"activation": "relu", "init": "he"}, each value read as
    its field's type; ConfigError naming the valid fields for an unknown key."""
    changes: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if key not in FIELDS or not eq:
            raise ConfigError(side, item, "KEY=VALUE with KEY one of " + ", ".join(FIELDS))
        changes[key] = _typed(key, raw.strip())
    return changes


def _typed(key: str, raw: str) -> Any:
    """``raw`` read as the field's type, as the command line reads its flag."""
    kind = FIELDS[key]
    if kind in FIELD_TYPES:
        try:
            return FIELD_TYPES[kind](raw)
        except (ValueError, argparse.ArgumentTypeError):
            raise ConfigError(key, raw, f"a number for {key}") from None
    if kind == "bool":
        if raw.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise ConfigError(key, raw, "true or false")
        return raw.lower() in ("true", "1", "yes", "on")
    return raw


def sides(base: RunConfig, a: str, b: str) -> tuple[RunConfig, RunConfig]:
    """The two configurations; ConfigError (naming the field) where a change is invalid."""
    return base.replace(**parse_changes(a, "a")), base.replace(**parse_changes(b, "b"))


def run(args: argparse.Namespace) -> int:
    try:
        base = config_from_args(args)
        if args.every is None:
            base = base.replace(every="auto")
        config_a, config_b = sides(base, args.a, args.b)
    except ConfigError as err:
        print(f"vgtui compare: error: {safe_text(err.as_flag())}", file=sys.stderr)
        return 2
    from vgtui.ui.compare_screen import run_compare_app

    return run_compare_app(config_a, config_b, fps=args.fps)
