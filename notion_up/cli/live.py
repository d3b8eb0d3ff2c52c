"""Rows redrawn in place on a terminal (rich's Live): each file sending, its parts, the total."""

from __future__ import annotations

import contextlib
import os
import termios
from collections.abc import Callable
from typing import IO

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from notion_up.cli.render import Renderer, event_line
from notion_up.cli.screen import frame
from notion_up.events import AlreadySent, Event
from notion_up.sanitize import printable


class RichRenderer(Renderer):
    """Rows redrawn in place: each file sending, its parts under it, one overall line.

    Lines about events (and results, through `print_above`) go above the rows; the rows are
    erased when the run ends, however it ends.
    """

    def __init__(self, console: Console, verbose: bool = False, batch: bool | None = None) -> None:
        super().__init__(console.file, verbose)
        self.console = console
        self._restore_echo: Callable[[], None] = _nothing
        self.batch = batch
        self.live = Live(
            _Frame(self),
            console=console,
            refresh_per_second=8,
            transient=True,
            # Results belong on stdout; rich would otherwise capture stdout into its console.
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def draw(self, event: Event) -> None:
        line = event_line(event, self.verbose, None)
        if line is not None and not isinstance(event, AlreadySent):
            self.message(line)

    def message(self, text: str) -> None:
        """A plain line above the rows (rich's console serialises the printing threads)."""
        self.console.print(Text(printable(text)), soft_wrap=True, highlight=False)

    def print_above(self, text: str) -> None:
        """Print a line above the rows (for results when stdout is the same terminal)."""
        self.message(text)

    def rows(self) -> list[Text]:
        """The rows of the current frame (called by rich's redraw, under rich's lock)."""
        with self._lock:
            m = self.meter
            batch = self.batch if self.batch is not None else m.files_total > 1
            return frame(m, self.console.width, self.console.height, batch, m.clock())

    def start(self) -> None:
        self._restore_echo = quiet_control_echo(self.console.file)
        self.live.start()

    def stop(self) -> None:
        try:
            self.live.stop()
        finally:
            self._restore_echo()
            self._restore_echo = _nothing


def _nothing() -> None:
    pass


def quiet_control_echo(stream: IO[str]) -> Callable[[], None]:
    """Stop the terminal echoing `^C` while rows are drawn; returns what restores it.

    A terminal with echoctl (the default) writes `^C` where the cursor is, at the end of the
    last row: at the edge of the screen it wraps, the rows take one line more than the erase
    counts, and a frozen row stays in the scrollback.
    """
    flag = getattr(termios, "ECHOCTL", 0)
    try:
        fd = stream.fileno()
        if not flag or not os.isatty(fd):
            return _nothing
        saved = termios.tcgetattr(fd)
        if not saved[3] & flag:
            return _nothing
        quiet = list(saved)
        quiet[3] &= ~flag
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (AttributeError, ValueError, OSError, termios.error):
        return _nothing

    def restore() -> None:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)

    return restore


class _Frame:
    """What Live redraws: asked for a fresh frame at every refresh."""

    def __init__(self, renderer: RichRenderer) -> None:
        self.renderer = renderer

    def __rich__(self) -> Group:
        return Group(*self.renderer.rows())
