"""The dashboard on a run log: the app with a `FollowSource` (attach) or `LogReplaySource`."""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path

from vgtui.core.config import RunConfig
from vgtui.core.errors import ConfigError
from vgtui.core.records import RunHeader
from vgtui.runlog.files import LogFileError, check_log
from vgtui.ui.sources.logs import FollowSource, LogReplaySource
from vgtui.ui.terminal import refuse_without_terminal
from vgtui.ui.widgets.status import describe_run


def log_header(path: str | Path) -> RunHeader | None:
    """The log's header; None where there is none yet (attach waits for it)."""
    with contextlib.suppress(LogFileError):
        return check_log(path)
    return None


def log_config(header: RunHeader | None) -> RunConfig:
    """The run's configuration as its header says, where vgtui knows it; else the defaults
    (a user's own model, or a log not written yet: the header replaces it when it comes)."""
    with contextlib.suppress(ConfigError, TypeError, ValueError, AttributeError):
        return RunConfig.from_dict(header.config)  # type: ignore[union-attr]
    return RunConfig()


def log_source(path: str | Path, mode: str, speed: float | None = None):
    """The source for ``mode`` (attach or replay)."""
    return FollowSource(path) if mode == "attach" else LogReplaySource(path, speed=speed)


def log_app(path: str | Path, mode: str, fps: float | None = None, speed: float | None = None):
    from vgtui.ui.app import VgtuiApp

    source = log_source(path, mode, speed)
    extra = {} if fps is None else {"fps": fps}
    header = log_header(path)
    app = VgtuiApp(log_config(header), source_factory=lambda config: source, **extra)
    # Until a header comes, nothing is known of the run: not the defaults' config, not a step.
    app.described = [] if header is None else describe_run(header.config, len(header.layers))
    return app


def run_log_app(
    path: str | Path, mode: str, fps: float | None = None, speed: float | None = None
) -> int:
    """Open the dashboard on the log at ``path``; quitting never touches the writer."""
    way_out = f"print the run as plots with vgtui report {shlex.quote(str(path))}"
    if (refused := refuse_without_terminal(way_out)) is not None:
        return refused
    app = log_app(path, mode, fps, speed)
    app.run()
    return app.return_code or 0
