"""The engine's error types, and how any error becomes one line for the user.

Expected errors (bad configuration, missing data, a device or file the machine does not have)
are their own one-line message. Anything else is a bug or a surprise: its one-line summary is
shown, and the full traceback goes to a file in the user's state directory, named in that line.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field, the value and what's valid."""

    def __init__(self, field: str, value: object, valid: str) -> None:
        self.field = field
        self.value = value
        self.valid = valid
        super().__init__(f"{field}: {value!r} is not valid; expected {valid}")

    def as_flag(self) -> str:
        """The same message in the command line's words: ``--batch-size: 1 is not valid; ...``."""
        return (
            f"--{self.field.replace('_', '-')}: {self.value!r} is not valid; expected {self.valid}"
        )


class DataError(RuntimeError):
    """A dataset cannot be loaded; the message says what is missing and where to put it."""


EXPECTED = (ConfigError, DataError, OSError)


def state_dir() -> Path:
    """$XDG_STATE_HOME/vgtui, else ~/.local/state/vgtui: where crash reports are kept."""
    base = os.environ.get("XDG_STATE_HOME", "")
    return (Path(base) if base else Path.home() / ".local" / "state") / "vgtui"


def first_line(text: str) -> str:
    """The first non-blank line of ``text`` (the whole sentence of a one-line message)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def write_traceback(err: BaseException) -> Path | None:
    """Write ``err``'s full traceback to a new file in `state_dir`; None where that fails."""
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    try:
        folder = state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path


def describe(err: BaseException) -> str:
    """One line for the user: an expected error's message; for anything else, its type and first
    line, and where its full traceback was written."""
    if isinstance(err, EXPECTED):
        if isinstance(err, OSError) and err.filename is not None and err.strerror:
            return f"{err.filename}: {err.strerror}"
        return first_line(str(err)) or type(err).__name__
    summary = f"{type(err).__name__}: {first_line(str(err))}".rstrip(": ")
    path = write_traceback(err)
    where = f"full traceback in {path}" if path else "the traceback could not be saved"
    return f"{summary} ({where})"
