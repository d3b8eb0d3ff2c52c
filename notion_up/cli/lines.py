"""The display in plain lines: for pipes, logs and cron; nothing but errors with --quiet.

`Renderer` is what every display is: a listener of events that counts them in its Meter
(`meter.py`) and says what each is worth. Here is what is said about each event, in lines that
read the same on a terminal as in a log: plain text, no timestamp or source location. The rows
a terminal gets instead are `rows.py`'s; which of the two a run gets is `display.py`'s choice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import IO

from notion_up.cli.logfile import LogFile
from notion_up.cli.meter import Meter
from notion_up.errors import Interrupted
from notion_up.events import (
    AlreadySent,
    DownloadStarted,
    Event,
    FileFailed,
    FileSkipped,
    FileStarted,
    Notice,
    PartDone,
    Retrying,
    Stage,
)
from notion_up.sanitize import printable
from notion_up.units import human_bytes, human_duration, human_pair, human_rate


def failure_line(event: FileFailed) -> str:
    """`error: NAME: what went wrong`, without repeating a name the message already starts with."""
    text = str(event.error)
    if text.startswith(event.name):
        return f"error: {text}"
    return f"error: {event.name}: {text}"


def retry_line(event: Retrying) -> str:
    """`retrying NAME part 3 (attempt 2) in 0.5s: why`."""
    return (
        f"retrying {event.name} {event.what} (attempt {event.attempt}) in {event.wait:.1f}s: "
        f"{event.reason}"
    )


def progress_line(m: Meter) -> str:
    """`progress: 3/20 files, 12.0/100.0 MiB (12%), 2.8 MiB/s, ETA 0:30`."""
    parts = []
    if m.files_total:
        parts.append(f"{m.files_done}/{m.files_total} files")
    if m.bytes_total is not None:
        percent = m.percent()
        shown = f" ({percent:.0f}%)" if percent is not None else ""
        parts.append(f"{human_pair(m.moved, m.bytes_total)}{shown}")
    else:
        parts.append(f"{human_bytes(m.moved)} sent")
    parts.append(human_rate(m.rate()))
    parts.append(f"ETA {human_duration(m.eta())}")
    if m.active or m.waiting:
        parts.append(f"{m.active} sending, {m.waiting} waiting")
    return "progress: " + ", ".join(parts)


def event_line(event: Event, verbose: bool, verb: str | None = None) -> str | None:
    """The line an event is worth without bars (None: nothing to say about it)."""
    if isinstance(event, FileFailed):
        # A file cut short by Ctrl-C: the run's last line says what is left, for all of them.
        return None if isinstance(event.error, Interrupted) else failure_line(event)
    if isinstance(event, Retrying):
        return retry_line(event)
    if isinstance(event, FileSkipped):
        return f"skipped {event.name}: {event.reason}"
    if isinstance(event, Notice):
        return event.text if verbose or not event.verbose else None
    if isinstance(event, AlreadySent):
        return f"resuming {event.name}: {human_bytes(event.nbytes)} already with Notion"
    if isinstance(event, DownloadStarted) and verb:
        size = "unknown size" if event.size is None else human_bytes(event.size)
        return f"{verb} {event.name} ({size})"
    if not verbose:
        return None
    if isinstance(event, FileStarted):
        size = "unknown size" if event.size is None else human_bytes(event.size)
        return f"pushing {event.name} ({size}, {event.parts} part(s))"
    if isinstance(event, PartDone):
        return f"sent {event.name} part {event.part_number}"
    if isinstance(event, Stage):
        return f"{event.stage} {event.name}"
    return None


class Renderer:
    """Base renderer: counts events in its Meter; subclasses draw.

    `verb` names what a download is for in plain lines (`pulling NAME`); None says nothing.
    """

    def __init__(self, err: IO[str], verbose: bool = False, verb: str | None = None) -> None:
        self.err = err
        self.verbose = verbose
        self.verb = verb
        self.meter = Meter()
        # Guards the meter. Re-entrant: a Ctrl-C handler may print while the main thread is
        # drawing. Never held while calling into rich (see rows.py): rich's redraw takes its
        # own lock first and then this one, so the other order would deadlock.
        self._lock = threading.RLock()

    # Set by renderers that keep rows on the screen: results are printed through it, above them.
    print_above: Callable[[str], None] | None = None

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.meter.on(event)
        self.draw(event)

    def draw(self, event: Event) -> None:
        """Show one event."""
        line = event_line(event, self.verbose, self.verb)
        if line is not None:
            self.message(line)

    def message(self, text: str) -> None:
        """A line on stderr (control characters in names escaped: one event, one line)."""
        with self._lock:
            print(printable(text), file=self.err, flush=True)

    def start(self) -> None:
        """Begin drawing."""

    def stop(self) -> None:
        """Stop drawing (bars are removed)."""


class QuietRenderer(Renderer):
    """Errors only."""

    def draw(self, event: Event) -> None:
        if isinstance(event, FileFailed) and not isinstance(event.error, Interrupted):
            self.message(failure_line(event))


class PlainRenderer(Renderer):
    """Plain lines for logs and pipes: no bars, no carriage returns, a line every interval."""

    def __init__(
        self,
        err: IO[str],
        verbose: bool = False,
        interval: float = 30.0,
        verb: str | None = None,
    ) -> None:
        super().__init__(err, verbose, verb)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if self.meter.files_total or self.meter.transfers:
                    self.message(progress_line(self.meter))

    def stop(self) -> None:
        self._stop.set()


class LoggingRenderer(Renderer):
    """The chosen renderer, plus plain lines in the log file (whatever stderr shows)."""

    def __init__(self, screen: Renderer, log: LogFile, interval: float) -> None:
        super().__init__(screen.err, screen.verbose)
        self.screen = screen
        # LogFile is written as a text stream is (write, flush): all PlainRenderer uses.
        self.log = PlainRenderer(log, screen.verbose, interval)  # type: ignore[arg-type]
        self.meter = screen.meter

    def __call__(self, event: Event) -> None:
        self.screen(event)
        self.log(event)

    def message(self, text: str) -> None:
        """A line in the log, and on stderr unless --quiet."""
        if not isinstance(self.screen, QuietRenderer):
            self.screen.message(text)
        self.log.message(text)

    def start(self) -> None:
        self.screen.start()
        self.log.start()

    def stop(self) -> None:
        self.screen.stop()
        self.log.stop()


def with_log(renderer: Renderer, log: LogFile | None, interval: float) -> Renderer:
    """`renderer`, or it and the log file together."""
    return renderer if log is None else LoggingRenderer(renderer, log, interval)
