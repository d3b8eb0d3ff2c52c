"""Which display a run gets, chosen once, and the one way a command shows a run.

Nothing with --quiet, rich rows on a terminal (`rows.py`), plain lines otherwise (`lines.py`);
never forced: whether stderr is a terminal decides. `Display` puts together what every command
that moves files needs: the chosen renderer (and the log file's plain lines), the results'
`Output` printed above the rows, and, while it is entered, the rows drawn and Ctrl-C handled.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from notion_up.cli.interrupt import InterruptHandler
from notion_up.cli.lines import PlainRenderer, QuietRenderer, Renderer, with_log
from notion_up.cli.logfile import LogFile
from notion_up.cli.output import Output


def choose_renderer(
    quiet: bool,
    verbose: bool,
    interval: float,
    err: TextIO | None = None,
    verb: str | None = None,
    progress: bool = True,
) -> Renderer:
    """Pick once: nothing with --quiet, bars on a terminal, plain lines otherwise.

    Never forced: whether stderr is a terminal decides (`--no-progress` asks for plain lines).
    """
    err = err or sys.stderr
    if quiet:
        return QuietRenderer(err)
    if progress and err.isatty():
        # Only a terminal pays for loading rich; cron and pipes never do.
        from rich.console import Console

        from notion_up.cli.rows import RichRenderer

        # No emoji codes either: a name's `:x:` is shown as written.
        return RichRenderer(Console(file=err, emoji=False), verbose)
    return PlainRenderer(err, verbose, interval, verb)


class Display:
    """One command's display: `renderer` hears the events, `out` prints the results.

    `with display:` draws the rows and, given `interrupts`, handles Ctrl-C and SIGTERM (the
    first asks the run to stop through `cancel`); the rows are erased however the block ends.
    Before it is entered (a dry run) the renderer still hears events and prints lines.
    """

    def __init__(
        self,
        *,
        quiet: bool,
        verbose: bool,
        as_json: bool,
        interval: float = 0.0,
        log: LogFile | None = None,
        verb: str | None = None,
        progress: bool = True,
        interrupts: bool = False,
    ) -> None:
        screen = choose_renderer(quiet, verbose, interval, verb=verb, progress=progress)
        self.renderer = with_log(screen, log, interval)
        self.out = Output(as_json, log)
        # Results on the same terminal as the rows go above them, not through them.
        self.out.above = screen.print_above
        self.interrupt = InterruptHandler(self.renderer.message, self.renderer.stop)
        self._interrupts = interrupts

    @property
    def cancel(self) -> threading.Event:
        """Set by the first Ctrl-C (or SIGTERM): the run stops starting new work."""
        return self.interrupt.cancel

    def __enter__(self) -> Display:
        self.renderer.start()
        if self._interrupts:
            try:
                self.interrupt.__enter__()
            except BaseException:
                self.renderer.stop()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._interrupts:
                self.interrupt.__exit__(*exc)
        finally:
            self.renderer.stop()
