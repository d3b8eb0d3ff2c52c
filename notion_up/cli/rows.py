"""The display in rich rows, redrawn in place on a terminal: one per file sending, its parts
under it, one overall line.

Every row fits the width it is given: a long name is shortened in the middle (its start and
extension stay) so the bar, the bytes, the rate and the time left always show, at 80 columns
as at 200. Files that are queued, or still creating their upload, get no row: the overall line
counts them as waiting. Lines about events go above the rows, as in `lines.py`.
"""

from __future__ import annotations

import contextlib
import os
import termios
from collections.abc import Callable
from typing import IO

from rich.cells import cell_len
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from notion_up.cli.lines import Renderer, event_line
from notion_up.cli.meter import Meter, Part, Transfer
from notion_up.events import AlreadySent, Event
from notion_up.sanitize import printable
from notion_up.units import human_duration, human_pair, human_rate

BYTES_W = 17  # "1023.9/1024.0 MiB"
RATE_W = 12  # "1023.9 KiB/s"
ETA_W = 7  # "1:02:03"
MIN_BAR = 10
MIN_NAME = 12
DONE_STYLE = "bar.complete"
FLIGHT_STYLE = "yellow"
REST_STYLE = "bar.back"


def shorten(name: str, width: int) -> str:
    """`name` in at most `width` cells, cut in the middle with `…` when longer."""
    if cell_len(name) <= width:
        return name
    if width < 2:
        return "…"
    keep = width - 1
    tail_n = keep // 2
    head, tail = name[: keep - tail_n], name[len(name) - tail_n :] if tail_n else ""
    while cell_len(head) + cell_len(tail) > keep:  # wide characters take two cells
        if len(head) >= len(tail):
            head = head[:-1]
        else:
            tail = tail[1:]
    return f"{head}…{tail}"


def bar(width: int, total: int | None, done: int, flight: int = 0) -> Text:
    """A bar: acknowledged bytes solid, bytes in flight in a second colour, the rest dim."""
    text = Text()
    if width <= 0:
        return text
    if not total:
        return Text("━" * width, style=REST_STYLE)
    solid = min(width, int(width * done / total))
    moving = min(width - solid, int(width * (done + flight) / total) - solid)
    text.append("━" * solid, style=DONE_STYLE)
    text.append("━" * max(0, moving), style=FLIGHT_STYLE)
    text.append("━" * (width - solid - max(0, moving)), style=REST_STYLE)
    return text


class Layout:
    """Column widths for a terminal's width: the name column is what gives way on a narrow one.

    The widths depend on the terminal alone, not on the names shown: a long name arriving
    mid-run is shortened rather than pushing every bar sideways.
    """

    def __init__(self, width: int) -> None:
        self.width = max(40, width - 1)  # the last column stays empty: no wrap at the edge
        fixed = 1 + BYTES_W + 1 + RATE_W + 1 + ETA_W
        room = self.width - fixed - MIN_BAR - 1
        self.name = max(MIN_NAME, min(room, self.width * 2 // 5))
        self.bar = max(MIN_BAR, self.width - fixed - self.name - 1)

    def row(self, label: str, bar_text: Text, size: str, rate: str, eta: str = "") -> Text:
        """One row: label, bar, bytes, rate, time left, padded to their columns.

        Without an `eta`, the rate's text may take both columns ("awaiting reply").
        """
        short = shorten(label, self.name)
        line = Text(short + " " * (self.name - cell_len(short)))
        line.append(" ")
        line.append_text(bar_text)
        tail = f"{rate:>{RATE_W}} {eta:>{ETA_W}}" if eta else f"{rate:>{RATE_W + 1 + ETA_W}}"
        line.append(f" {size:>{BYTES_W}} {tail}")
        return line


def file_row(layout: Layout, t: Transfer, now: float) -> Text:
    """A file's row: acknowledged of total, its rate, time left (or what it is doing)."""
    total = t.size
    # Bytes sent of parts awaiting their answer count here (not in the rate): the numbers move
    # with the bar, a single-part file's included.
    size = human_pair(t.moved, total if total is not None else t.moved)
    rate, eta = human_rate(t.rate(now)), human_duration(t.eta(now))
    if t.stage and not t.in_flight:
        rate, eta = t.stage, ""
    elif t.download and eta == "–" and rate == "–":
        rate = "starting"
    return layout.row(
        printable(t.name), bar(layout.bar, total, t.acked, t.socket_bytes), size, rate, eta
    )


def part_row(layout: Layout, p: Part) -> Text:
    """A part's row under its file: bytes written so far; when all are, the wait for Notion."""
    state = "awaiting reply" if p.waiting else "sending"
    return layout.row(
        f"  └ part {p.number}",
        bar(layout.bar, p.size, 0, p.sent),
        human_pair(p.sent, p.size),
        state,
    )


def overall_row(layout: Layout, m: Meter) -> Text:
    """`total 3/20 files, 13 waiting ━━━ 12.0/100.0 MiB 2.8 MiB/s 0:30`."""
    label = f"total {m.files_done}/{m.files_total} files"
    if m.waiting:
        label += f", {m.waiting} waiting"
    total = m.bytes_total
    moved = m.moved
    size = human_pair(moved, total if total is not None else moved)
    eta = human_duration(m.eta())
    drawn = bar(layout.bar, total, m.acked, moved - m.acked)
    return layout.row(label, drawn, size, human_rate(m.rate()), eta)


def frame(m: Meter, width: int, height: int, batch: bool, now: float) -> list[Text]:
    """Every row of one frame, at most `height - 1` of them (the overall line always shows)."""
    shown = [t for t in m.transfers.values() if t.sending]
    layout = Layout(width)
    rows: list[Text] = []
    room = max(1, height - 1 - (1 if batch else 0))
    hidden = 0
    for t in shown:
        block = [file_row(layout, t, now)]
        if t.parts > 1:
            block += [part_row(layout, p) for _, p in sorted(t.in_flight.items())]
        if len(rows) + len(block) > room - 1 and rows:
            hidden += 1
            continue
        rows += block
    if hidden:
        rows.append(Text(f"… and {hidden} more sending", style="dim"))
    if batch:
        rows.append(overall_row(layout, m))
    return rows


# -- drawing them in place ------------------------------------------------------------------
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
