"""The command line: one root parser, a subparser per command, each command's module imported
only when that command runs (or shows its help).

``vgtui`` alone trains (`vgtui.commands.train`: the dashboard, ``--headless``, ``--list``);
``vgtui COMMAND ...`` runs a command; ``vgtui PATH.jsonl`` attaches to a run log, or replays it
once it has ended; ``--record FILE.cast`` anywhere records the rest of the command line.
Every error is one line, ``PROG: error: ... (see PROG --help)``, and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Protocol

from vgtui.core.text import safe_text


@dataclass(frozen=True)
class Command:
    """A subcommand: the module that defines its arguments and runs it, and its line in --help."""

    module: str
    usage: str
    summary: str


COMMANDS = {
    "attach": Command(
        "vgtui.commands.attach", "LOG", "follow a run log that another process is writing"
    ),
    "replay": Command(
        "vgtui.commands.attach", "LOG", "play a finished run log (space, arrows, [ ], g G)"
    ),
    "demo": Command(
        "vgtui.commands.demo",
        "[NAME|FILE]",
        "list the lessons, or play one (--record FILE.cast)",
    ),
    "compare": Command(
        "vgtui.commands.compare", "--a K=V,...", "two configurations side by side (--b K=V,...)"
    ),
    "report": Command(
        "vgtui.commands.report", "LOG [LOG ...]", "a run log as plots, for a terminal or a CI log"
    ),
    "bench": Command("vgtui.bench.harness", "", "the benchmarks (make bench)"),
}
LOG_ALONE = ("vgtui LOG.jsonl", "attach, or replay when the log has ended")


class CommandModule(Protocol):
    """What a command's module provides (`Command.module`)."""

    def add_arguments(self, parser: argparse.ArgumentParser, command: str) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _epilog() -> str:
    rows = [(f"vgtui {word} {c.usage}".rstrip(), c.summary) for word, c in COMMANDS.items()]
    rows.insert(list(COMMANDS).index("replay") + 1, LOG_ALONE)
    width = max(len(usage) for usage, _ in rows) + 2
    lines = [f"  {usage:<{width}}{summary}" for usage, summary in rows]
    return "commands (each has its own --help):\n" + "\n".join(lines) + "\n"


class _Parser(argparse.ArgumentParser):
    """Errors are one line and exit 2, never a usage dump or a traceback."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {safe_text(message)} (see {self.prog} --help)\n")


class _CommandParser(_Parser):
    """A command's parser: its arguments come from its module, imported when it first parses or
    formats its help, so that a command never pays for another's imports."""

    def __init__(self, *args, command: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.command = command
        self.module: CommandModule | None = None

    def load(self) -> CommandModule:
        if self.module is None:
            module: CommandModule = importlib.import_module(COMMANDS[self.command].module)
            module.add_arguments(self, self.command)
            self.module = module
        return self.module

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        self.load()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self.load()
        return super().format_help()


class _RootParser(_Parser):
    """``vgtui``'s own parser; ``commands`` holds each command's subparser by its word."""

    commands: dict[str, _CommandParser]


def build_parser() -> _RootParser:
    """The root parser: the training flags, and a subparser per command (arguments lazy)."""
    from vgtui.commands import train

    parser = _RootParser(
        prog="vgtui",
        description="Watch vanishing and exploding gradients live. With no options, opens the\n"
        "dashboard on a deep sigmoid network whose gradients vanish.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_arguments(parser)
    commands = parser.add_subparsers(  # listed by the epilog, with their arguments
        dest="command",
        metavar="COMMAND",
        prog="vgtui",
        parser_class=_CommandParser,
        help=argparse.SUPPRESS,
    )
    parser.commands = {
        word: commands.add_parser(word, help=command.summary, command=word)
        for word, command in COMMANDS.items()
    }
    return parser


def looks_like_log(argv: list[str]) -> bool:
    """A run log's path as the only argument: ``vgtui runs/exp1.jsonl``."""
    return (
        len(argv) == 1
        and argv[0] not in COMMANDS
        and not argv[0].startswith("-")
        and (argv[0].endswith(".jsonl") or Path(argv[0]).is_file())
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from vgtui.commands.recording import main_with_recording

    recorded = main_with_recording(argv)  # --record FILE.cast: this same command, recorded
    if recorded is not None:
        return recorded
    if looks_like_log(argv):  # vgtui runs/exp1.jsonl: attach, or replay once it has ended
        from vgtui.commands.attach import mode_of

        argv = [mode_of(argv[0]), *argv]
    parser = build_parser()
    if argv[:1] and argv[0] in COMMANDS:
        # The command's own parser takes the rest: the root's flags never see (nor abbreviate)
        # the command's, as `--b` would otherwise be ambiguous with `--batch-size` and `--bins`.
        command = parser.commands[argv[0]]
        return command.load().run(command.parse_args(argv[1:], Namespace(command=argv[0])))
    args = parser.parse_args(argv)
    if args.command is not None:  # `vgtui --depth 3 demo`: the root's flags would not reach it
        parser.error(f"the command comes first: vgtui {args.command} [OPTIONS]")
    from vgtui.commands import train

    return train.run(args)
