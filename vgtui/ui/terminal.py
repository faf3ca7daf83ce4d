"""The terminal a dashboard needs: refused where there is none, and the app's end when it goes.

Every command that opens a dashboard (the dashboard, a lesson, attach, replay, compare) calls
`refuse_without_terminal` first: from a script, cron or CI the app would wait forever for keys
that never come. Every vgtui app draws through `EofDriver`, so that a terminal that goes away
(its pseudo-terminal closed, standard input at its end) ends the app instead of a spin.
"""

from __future__ import annotations

import os
import selectors
import signal
import sys
from codecs import getincrementaldecoder

from textual._xterm_parser import XTermParser
from textual.app import App
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

# The process's own streams (as Textual uses them: keys from stdin, the screen drawn on stderr).
_STREAMS = {
    "standard input": "__stdin__",
    "standard output": "__stdout__",
    "standard error": "__stderr__",
}


def refuse_without_terminal(way_out: str) -> int | None:
    """None where standard input, output and error are a terminal; else say which is not and
    ``way_out`` (what to run instead) in one line on standard error, and return exit code 2."""
    for name, attr in _STREAMS.items():
        stream = getattr(sys, attr)
        if stream is None or not stream.isatty():
            print(
                f"vgtui: error: the dashboard needs a terminal, and {name} is not one; {way_out}",
                file=sys.stderr,
            )
            return 2
    return None


class EofDriver(LinuxDriver):
    """Textual's Linux driver, with an input loop that ends at the end of input.

    Textual 8's `LinuxDriver.run_input_thread` answers a read of no bytes (standard input at its
    end: a closed pseudo-terminal, /dev/null) by selecting again at once, forever, at a full
    core, and the app never learns that its terminal is gone. This loop is Textual's, except
    that the end of input (or EIO, a terminal hung up) calls `hang_up` and ends the thread.
    """

    def run_input_thread(self) -> None:
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        with selectors.SelectSelector() as selector:
            selector.register(self.fileno, selectors.EVENT_READ)
            while not self.exit_event.is_set():
                if selector.select(0.1):
                    try:
                        data = os.read(self.fileno, 4096)
                    except OSError:  # EIO: the terminal hung up
                        data = b""
                    if not data:
                        self.hang_up()
                        return
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)

    def hang_up(self) -> None:
        """The terminal is gone: treat it as the hang-up signal the kernel sends a terminal's
        own processes (the dashboard stops its trainer and exits; an app without a handler
        ends, and its trainers follow when their pipe closes)."""
        os.kill(os.getpid(), signal.SIGHUP)


class EndsWithItsTerminal(App[int]):
    """Mixed into every vgtui app: it draws through `EofDriver` wherever Textual would pick its
    Linux driver (a driver chosen through TEXTUAL_DRIVER, or the tests' headless one, stays)."""

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        return EofDriver if driver is LinuxDriver else driver


__all__ = ["EndsWithItsTerminal", "EofDriver", "refuse_without_terminal"]
