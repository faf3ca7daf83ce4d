"""`vgtui [FLAGS]`: train, in the dashboard, ``--headless``, or ``--list`` the choices.

The run configuration's flags are built from `RunConfig`'s fields (``compare`` takes them too).
Imports stay light: the root parser is built from this module on every start, and the trainer
(torch) is imported only by the run that trains.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from vgtui.core.config import RANGES, RunConfig
from vgtui.core.errors import ConfigError, DataError, describe
from vgtui.core.text import safe_text
from vgtui.ui.framerate import FPS, LOCAL_FPS, REMOTE_FPS

_HELP = {
    "activation": "activation function, name[:param] (see --list)",
    "init": "weight initializer, name[:param] (see --list)",
    "depth": "hidden layers, 1..100",
    "width": "units per hidden layer, 1..8192",
    "dataset": "training data (see --list)",
    "optimizer": "sgd, momentum, nesterov, adam, adamw, rmsprop or adagrad",
    "lr": f"learning rate, {RANGES['lr']}",
    "momentum": "momentum for the momentum and nesterov optimizers",
    "batch_size": "samples per step",
    "steps": "optimizer steps; 0 runs until stopped",
    "seed": "random seed (initialisation, batches, dropout)",
    "device": "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps",
    "norm": "normalisation in each hidden layer: none, batch or layer",
    "residual": "residual connections around each hidden layer",
    "dropout": "dropout probability after each activation, 0 <= p < 1",
    "weight_decay": f"L2 weight decay, {RANGES['weight_decay']}",
    "grad_clip": f"clip the global gradient norm to this, {RANGES['grad_clip']}",
    "every": "steps between snapshots, or auto: paced by time (the dashboard's default)",
    "bins": "histogram bins",
    "preact": "also record pre-activation statistics",
    "data_dir": "directory with the MNIST IDX files (default: the user cache)",
}


def _int_or_auto(text: str) -> int | str:
    """``--every``: a whole number of steps, or ``auto``."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer or auto") from None


# A config field's annotation -> the converter of its command-line text (others stay strings).
FIELD_TYPES = {"int": int, "float": float, "int | str": _int_or_auto}


def add_fps_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fps",
        type=FPS.parse,
        default=None,
        help=f"dashboard frames per second, {FPS} "
        f"(default: {LOCAL_FPS:g}, {REMOTE_FPS:g} over SSH)",
    )


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per `RunConfig` field (``--batch-size``), each saying its default once."""
    config = parser.add_argument_group("run configuration")
    for f in dataclasses.fields(RunConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            config.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=_HELP[f.name]
            )
        else:
            config.add_argument(
                flag,
                type=FIELD_TYPES.get(str(f.type), str),
                default=None,
                metavar=f.name.upper(),
                help=_HELP[f.name]
                if "(default:" in _HELP[f.name]  # says its default in words
                else f"{_HELP[f.name]} (default: {f.default})",
            )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The root's own flags: what ``vgtui`` with no command does."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--headless", action="store_true", help="train without the dashboard")
    mode.add_argument(
        "--list",
        action="store_true",
        help="list activations, initializers, datasets and optimizers",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="headless: print only the summary JSON when the run ends",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="headless: print the run as plots when it ends (as vgtui report does)",
    )
    parser.add_argument(
        "--log",
        metavar="FILE",
        help="write the run log (JSON Lines) to FILE; where FILE holds an earlier run's log, "
        "the run goes to FILE's next free numbered sibling (exp.2.jsonl)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier run's log at --log FILE (never a file that is not a run log)",
    )
    add_fps_argument(parser)
    add_config_arguments(parser)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The flags that were given, over RunConfig's defaults."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig)}
    return RunConfig(**{k: v for k, v in given.items() if v is not None})


def fail(message: str) -> int:
    print(f"vgtui: error: {safe_text(message)}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """``--list``, a headless run, or the dashboard; returns the exit code."""
    if args.list:
        from vgtui.commands.listing import print_list

        print_list()
        return 0
    try:
        config = config_from_args(args)
    except ConfigError as err:
        return fail(err.as_flag())
    if args.report and not args.headless:
        return fail("--report needs --headless (for a log on disk: vgtui report FILE)")
    from vgtui.runlog.files import LogFileError, check_writable
    from vgtui.runlog.target import check_target

    if args.log:
        try:
            check_writable(args.log)
            check_target(args.log)
        except LogFileError as err:
            return fail(f"--log: {err}")
    try:
        if args.headless:
            from vgtui.commands.headless import run_headless

            return run_headless(
                config,
                log_path=args.log,
                as_json=args.json,
                report=args.report,
                overwrite=args.overwrite,
            )
        from vgtui.ui.app import run_app

        if args.every is None:  # the dashboard paces snapshots by time unless told otherwise
            config = config.replace(every="auto")
        return run_app(config, fps=args.fps, log_path=args.log, overwrite=args.overwrite)
    except ConfigError as err:
        return fail(err.as_flag())
    except LogFileError as err:  # the log path, refused as the run opened it (another writer)
        return fail(f"--log: {err}")
    except DataError as err:
        return fail(str(err))
    except Exception as err:  # unexpected: one line, and where the full traceback went
        print(f"vgtui: error: {safe_text(describe(err))}", file=sys.stderr)
        return 1
