"""Which renderer a run gets: nothing with --quiet, rows on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import IO

from notion_up.cli.render import PlainRenderer, QuietRenderer, Renderer


def choose_renderer(
    quiet: bool,
    verbose: bool,
    interval: float,
    err: IO[str] | None = None,
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

        from notion_up.cli.live import RichRenderer

        # No emoji codes either: a name's `:x:` is shown as written.
        return RichRenderer(Console(file=err, emoji=False), verbose)
    return PlainRenderer(err, verbose, interval, verb)
