"""How many frames a second the dashboard draws: fewer when its bytes cross a network.

Plain Python (no Textual), so that the command line can say the defaults in its help.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from vgtui.core.ranges import Range

FPS = Range(0.5, 60)  # what --fps accepts, in every command that draws the dashboard
LOCAL_FPS = 12.0  # frames a second on this machine's own terminal
REMOTE_FPS = 4.0  # ... and in an SSH session, where every frame's bytes cross the network
REMOTE_ENV = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")


def remote(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process runs in an SSH session."""
    return any(environ.get(name) for name in REMOTE_ENV)


def frame_rate(requested: float | None, environ: Mapping[str, str] = os.environ) -> float:
    """The dashboard's frames per second: ``--fps`` if given, else by where the terminal is."""
    if requested is not None:
        return requested
    return REMOTE_FPS if remote(environ) else LOCAL_FPS


def frame_rate_note(fps: float, requested: float | None) -> str:
    """What the status line says about the frame rate: nothing at the local default."""
    if fps == LOCAL_FPS:
        return ""
    return f"{fps:g} fps" + (" (ssh)" if requested is None else "")
