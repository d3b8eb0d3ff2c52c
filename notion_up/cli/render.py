"""Renderers of events: rich bars on a terminal, plain lines without one, nothing with --quiet.

One renderer serves uploads and downloads alike; `choose_renderer` picks it once per run.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from notion_up.cli.logfile import LogFile
from notion_up.events import (
    BatchPlanned,
    BytesReceived,
    BytesSent,
    DownloadEnded,
    DownloadStarted,
    Event,
    FileDone,
    FileFailed,
    FileSkipped,
    FileStarted,
    Notice,
    PartDone,
    PartStarted,
    Retrying,
    Stage,
    UploadEnded,
)
from notion_up.sanitize import printable


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


@dataclass
class Totals:
    """Counts for the periodic line and the summary."""

    files_total: int = 0
    pushed: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_done: int = 0
    bytes_pushed: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        """One plain progress line."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = self.pushed + self.skipped + self.failed
        return (
            f"progress: {done}/{self.files_total} files, {human_bytes(self.bytes_done)} sent, "
            f"{human_bytes(self.bytes_done / elapsed)}/s"
        )


def failure_line(event: FileFailed) -> str:
    """`error: NAME: what went wrong`, without repeating a name the message already starts with."""
    text = str(event.error)
    if text.startswith(event.name):
        return f"error: {text}"
    return f"error: {event.name}: {text}"


class Renderer:
    """Base renderer: keeps totals; subclasses draw.

    `verb` names what a download is for in plain lines (`pulling NAME`); None says nothing.
    """

    def __init__(self, err: TextIO, verbose: bool = False, verb: str | None = None) -> None:
        self.err = err
        self.verbose = verbose
        self.verb = verb
        self.totals = Totals()
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, BatchPlanned):
                self.totals.files_total = event.files
            elif isinstance(event, BytesSent):
                self.totals.bytes_done += event.nbytes
            elif isinstance(event, FileDone):
                self.totals.pushed += 1
                self.totals.bytes_pushed += event.result.size
            elif isinstance(event, FileFailed):
                self.totals.failed += 1
            elif isinstance(event, FileSkipped):
                self.totals.skipped += 1
            self.draw(event)

    def draw(self, event: Event) -> None:
        """Show one event."""
        if isinstance(event, FileFailed):
            self.message(failure_line(event))
        elif isinstance(event, Notice) and (self.verbose or not event.verbose):
            self.message(event.text)

    def message(self, text: str) -> None:
        """A line on stderr (control characters in names escaped: one event, one line)."""
        print(printable(text), file=self.err, flush=True)

    def start(self) -> None:
        """Begin drawing."""

    def stop(self) -> None:
        """Stop drawing (bars are removed)."""


class QuietRenderer(Renderer):
    """Errors only."""

    def draw(self, event: Event) -> None:
        if isinstance(event, FileFailed):
            self.message(failure_line(event))


class PlainRenderer(Renderer):
    """Plain lines for logs and pipes: no bars, no carriage returns, a line every interval."""

    def __init__(
        self,
        err: TextIO,
        verbose: bool = False,
        interval: float = 30.0,
        verb: str | None = None,
    ) -> None:
        super().__init__(err, verbose, verb)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def draw(self, event: Event) -> None:
        if isinstance(event, FileStarted):
            # Only with -v: by default a plain run says nothing per file but its result.
            if not self.verbose:
                return
            size = "unknown size" if event.size is None else human_bytes(event.size)
            self.message(f"pushing {event.name} ({size}, {event.parts} part(s))")
        elif isinstance(event, FileSkipped):
            self.message(f"skipped {event.name}: {event.reason}")
        elif isinstance(event, DownloadStarted):
            if self.verb:
                size = "unknown size" if event.size is None else human_bytes(event.size)
                self.message(f"{self.verb} {event.name} ({size})")
        elif isinstance(event, Retrying):
            self.message(
                f"retrying {event.name} {event.what} (attempt {event.attempt}) in "
                f"{event.wait:.1f}s: {event.reason}"
            )
        elif self.verbose and isinstance(event, PartDone):
            self.message(f"sent {event.name} part {event.part_number}")
        elif self.verbose and isinstance(event, Stage):
            self.message(f"{event.stage} {event.name}")
        else:
            super().draw(event)

    def start(self) -> None:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                self.message(self.totals.line())

    def stop(self) -> None:
        self._stop.set()


def bar_label(name: str) -> str:
    """A name as a bar's description: the bar column reads markup, so `[/x]` is escaped."""
    return escape(printable(name))


def transfer_progress(console: Console) -> Progress:
    """Bars that show bytes, speed and time left, and vanish when stopped (push and pull)."""
    return Progress(
        TextColumn("[bold]{task.description}", justify="left"),
        BarColumn(bar_width=None),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        # Results belong on stdout; rich would otherwise capture stdout into its console.
        redirect_stdout=False,
        redirect_stderr=False,
    )


class RichRenderer(Renderer):
    """A bar per file and one per part in flight; parts disappear when they finish."""

    def __init__(self, console: Console, verbose: bool = False) -> None:
        super().__init__(console.file, verbose)
        self._downloads: dict[int, TaskID] = {}
        self.console = console
        self.progress = transfer_progress(console)
        # Keyed by each upload's key, not its name: names repeat across folders.
        self._files: dict[int, TaskID] = {}
        self._parts: dict[tuple[int, int], TaskID] = {}

    def draw(self, event: Event) -> None:
        p = self.progress
        if isinstance(event, FileStarted):
            self._files[event.key] = p.add_task(bar_label(event.name), total=event.size)
        elif isinstance(event, DownloadStarted):
            self._downloads[event.key] = p.add_task(bar_label(event.name), total=event.size)
        elif isinstance(event, BytesReceived):
            task = self._downloads.get(event.key)
            if task is not None:
                p.advance(task, event.nbytes)
        elif isinstance(event, DownloadEnded):
            task = self._downloads.pop(event.key, None)
            if task is not None:
                p.remove_task(task)
        elif isinstance(event, PartStarted):
            label = f"  part {event.part_number}"
            self._parts[(event.key, event.part_number)] = p.add_task(label, total=event.size)
        elif isinstance(event, BytesSent):
            part = self._parts.get((event.key, event.part_number))
            if part is not None:
                p.advance(part, event.nbytes)
            if event.key in self._files:
                p.advance(self._files[event.key], event.nbytes)
        elif isinstance(event, PartDone):
            part = self._parts.pop((event.key, event.part_number), None)
            if part is not None:
                p.remove_task(part)
        elif isinstance(event, Retrying):
            self._reset_part(event)
            p.console.log(f"retrying {event.name} {event.what}: {event.reason}", markup=False)
        elif isinstance(event, Notice):
            if self.verbose or not event.verbose:
                p.console.log(event.text, markup=False)
        elif isinstance(event, FileSkipped):
            p.console.log(f"skipped {event.name}: {event.reason}", markup=False)
        elif isinstance(event, UploadEnded):
            self._remove_bars(event.key)
        elif isinstance(event, FileFailed):
            p.console.log(failure_line(event), markup=False)

    def _remove_bars(self, key: int) -> None:
        """An upload ended (a split file's piece too): its bar and its parts' bars go."""
        task = self._files.pop(key, None)
        if task is not None:
            self.progress.remove_task(task)
        for part in [k for k in self._parts if k[0] == key]:
            self.progress.remove_task(self._parts.pop(part))

    def print_above(self, text: str) -> None:
        """Print a line above the bars (for results when stdout is the same terminal)."""
        self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def _reset_part(self, event: Retrying) -> None:
        # A resent part starts over; take its bytes back off the bars.
        if event.part_number is None:
            return
        key = (event.key, event.part_number)
        part = self._parts.get(key)
        if part is None:
            return
        sent = self.progress.tasks[self._task_index(part)].completed
        self.progress.reset(part)
        if event.key in self._files:
            self.progress.advance(self._files[event.key], -sent)

    def _task_index(self, task_id: TaskID) -> int:
        return next(i for i, t in enumerate(self.progress.tasks) if t.id == task_id)

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()


def choose_renderer(
    quiet: bool,
    verbose: bool,
    interval: float,
    err: TextIO | None = None,
    verb: str | None = None,
) -> Renderer:
    """Pick once: nothing with --quiet, rich bars on a terminal, plain lines otherwise.

    Never forced: whether stderr is a terminal decides.
    """
    err = err or sys.stderr
    if quiet:
        return QuietRenderer(err)
    if err.isatty():
        # No emoji codes either: a name's `:x:` is shown as written.
        return RichRenderer(Console(file=err, emoji=False), verbose)
    return PlainRenderer(err, verbose, interval, verb)


class LoggingRenderer(Renderer):
    """The chosen renderer, plus plain lines in the log file (whatever stderr shows)."""

    def __init__(self, screen: Renderer, log: LogFile, interval: float) -> None:
        super().__init__(screen.err, screen.verbose)
        self.screen = screen
        self.log = PlainRenderer(log, screen.verbose, interval)  # type: ignore[arg-type]
        self.totals = screen.totals

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
