"""What a run has done, from its events: files, acknowledged bytes, rates and time left.

Rates count only bytes Notion acknowledged (a part's bytes when its send is answered; a
download's bytes as they arrive), never bytes merely handed to the socket: a socket buffer
swallows megabytes at once, which is where rates of GB/s came from. The byte counts shown
(`moved`) add the bytes sent of parts still awaiting their answer, so a single-part file's
numbers move with its bar instead of waiting for its one answer. No time left is given before
WARM_UP_SECONDS of acknowledged data: the first answers are too lumpy to project from. Bytes a
resumed upload had sent before count towards its total, not towards its rate. The clock is
injected for tests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from notion_up.errors import Interrupted
from notion_up.events import (
    AlreadySent,
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
    PartDone,
    PartStarted,
    Retrying,
    Stage,
    UploadEnded,
)

# The overall rate is taken over this many recent seconds (steady, yet follows a change).
RATE_WINDOW = 20.0
# No rate is shown in a run's first seconds unless this much was acknowledged: the first
# answers are small files' while big parts are still on their way, and would read as KiB/s.
WARM_UP_SECONDS = 3.0
WARM_UP_BYTES = 1024 * 1024


@dataclass
class Part:
    """A part being sent: its size and the bytes handed to the socket so far."""

    number: int
    size: int
    sent: int = 0

    @property
    def waiting(self) -> bool:
        """All bytes written; Notion's answer is what is left."""
        return self.size > 0 and self.sent >= self.size


@dataclass(kw_only=True)
class Transfer:
    """One upload (a file, or a piece or manifest of a split one) or one download."""

    key: int
    name: str
    size: int | None
    parts: int = 1
    download: bool = False
    acked: int = 0
    resumed: int = 0
    began: float | None = None
    stage: str | None = None
    in_flight: dict[int, Part] = field(default_factory=dict)
    first_ack: float | None = None

    @property
    def sending(self) -> bool:
        """Bytes have begun to move (a queued or waiting file is not shown as a row)."""
        return self.began is not None or self.stage is not None or self.resumed > 0

    @property
    def socket_bytes(self) -> int:
        """Bytes written for parts not yet acknowledged (the bar's lighter stretch)."""
        return sum(p.sent for p in self.in_flight.values())

    @property
    def moved(self) -> int:
        """Bytes acknowledged plus bytes sent of parts awaiting their answer (what rows show)."""
        return self.acked + self.socket_bytes

    def rate(self, now: float) -> float | None:
        """Acknowledged bytes per second since this transfer's first byte (None: not yet)."""
        fresh = self.acked - self.resumed
        if self.began is None or fresh <= 0 or now <= self.began:
            return None
        return fresh / (now - self.began)

    def eta(self, now: float) -> float | None:
        """Seconds left at this transfer's rate (None before a few seconds of answers)."""
        rate = self.rate(now)
        if rate is None or self.size is None or not _warm(self.first_ack, now):
            return None
        return max(0.0, (self.size - self.acked) / rate)


class Meter:
    """The run's counts and transfers; feed it every event with `on`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.files_total = 0
        self.bytes_total: int | None = None
        self.pushed = 0
        self.skipped = 0
        self.failed = 0
        self.cut = 0
        self.bytes_pushed = 0
        self.acked = 0
        self.resumed = 0
        self.transfers: dict[int, Transfer] = {}
        self._samples: deque[tuple[float, int]] = deque()
        self._began: float | None = None
        self._first_ack: float | None = None

    # -- counting ---------------------------------------------------------------------------
    @property
    def files_done(self) -> int:
        """Files that ended: pushed, skipped, failed or cut short."""
        return self.pushed + self.skipped + self.failed + self.cut

    @property
    def active(self) -> int:
        """Transfers moving bytes now."""
        return sum(t.sending for t in self.transfers.values())

    @property
    def waiting(self) -> int:
        """Files not started or not yet sending (queued, creating their upload)."""
        return max(0, self.files_total - self.files_done - self.active)

    def on(self, event: Event) -> None:
        """Account for one event."""
        now = self.clock()
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event, now)

    @property
    def moved(self) -> int:
        """The run's acknowledged bytes plus those sent of parts awaiting their answer."""
        return self.acked + sum(t.socket_bytes for t in self.transfers.values())

    def _ack(self, transfer: Transfer | None, nbytes: int, now: float, fresh: bool = True) -> None:
        if transfer is not None:
            transfer.acked += nbytes
            if fresh and transfer.first_ack is None:
                transfer.first_ack = now
        if fresh and self._first_ack is None:
            self._first_ack = now
        self.acked += nbytes
        self._samples.append((now, self.acked - self.resumed))

    # -- rates ------------------------------------------------------------------------------
    def rate(self) -> float | None:
        """Acknowledged bytes per second over the last RATE_WINDOW seconds (None: not yet)."""
        now = self.clock()
        if self._began is None:
            return None
        start = max(self._began, now - RATE_WINDOW)
        # Keep one sample at or before the window's start: the count there is the baseline.
        while len(self._samples) > 1 and self._samples[1][0] <= start:
            self._samples.popleft()
        first = self._samples[0] if self._samples else None
        base = first[1] if first is not None and first[0] <= start else 0
        fresh = (self._samples[-1][1] if self._samples else 0) - base
        if fresh <= 0 or now <= start:
            return None
        if now - self._began < WARM_UP_SECONDS and self.acked - self.resumed < WARM_UP_BYTES:
            return None
        if self.acked - self.resumed < self.moved - self.acked:
            # Fewer bytes answered than sent and awaiting an answer: the answers so far are
            # small files' while the big parts are still on their way, and would read as KiB/s
            # (and hours left) on a link moving MiB/s.
            return None
        return fresh / (now - start)

    def eta(self) -> float | None:
        """Seconds until every byte is acknowledged, at the current rate (None before a few
        seconds of answers)."""
        rate = self.rate()
        if rate is None or self.bytes_total is None or not _warm(self._first_ack, self.clock()):
            return None
        return max(0.0, (self.bytes_total - self.acked) / rate)

    def percent(self) -> float | None:
        """Share of the bytes done, 0–100 (None when the total is not known)."""
        if not self.bytes_total:
            return None
        return min(100.0, 100.0 * self.acked / self.bytes_total)


def _warm(first_ack: float | None, now: float) -> bool:
    """Answers have come in for WARM_UP_SECONDS: enough to project a time left from."""
    return first_ack is not None and now - first_ack >= WARM_UP_SECONDS


# -- event handlers ----------------------------------------------------------------------------
def _planned(m: Meter, e: BatchPlanned, now: float) -> None:
    m.files_total = max(m.files_total, e.files)
    if e.bytes is not None:
        m.bytes_total = e.bytes


def _started(m: Meter, e: FileStarted, now: float) -> None:
    m.transfers[e.key] = Transfer(key=e.key, name=e.name, size=e.size, parts=e.parts)


def _already(m: Meter, e: AlreadySent, now: float) -> None:
    transfer = m.transfers.get(e.key)
    if transfer is not None:
        transfer.resumed += e.nbytes
    m.resumed += e.nbytes
    m._ack(transfer, e.nbytes, now, fresh=False)


def _part_started(m: Meter, e: PartStarted, now: float) -> None:
    transfer = m.transfers.get(e.key)
    if transfer is None:
        return
    if transfer.began is None:
        transfer.began = now
    if m._began is None:
        m._began = now
    transfer.in_flight[e.part_number] = Part(e.part_number, e.size)


def _bytes_sent(m: Meter, e: BytesSent, now: float) -> None:
    transfer = m.transfers.get(e.key)
    part = transfer.in_flight.get(e.part_number) if transfer else None
    if part is not None:
        part.sent = min(part.size, part.sent + e.nbytes)


def _part_done(m: Meter, e: PartDone, now: float) -> None:
    transfer = m.transfers.get(e.key)
    part = transfer.in_flight.pop(e.part_number, None) if transfer else None
    if part is not None:
        m._ack(transfer, part.size, now)


def _retrying(m: Meter, e: Retrying, now: float) -> None:
    transfer = m.transfers.get(e.key)
    if transfer is not None and e.part_number in transfer.in_flight:
        # A resent part starts over.
        transfer.in_flight[e.part_number].sent = 0


def _stage(m: Meter, e: Stage, now: float) -> None:
    transfer = m.transfers.get(e.key)
    if transfer is not None:
        transfer.stage = e.stage


def _ended(m: Meter, e: UploadEnded | DownloadEnded, now: float) -> None:
    m.transfers.pop(e.key, None)


def _download_started(m: Meter, e: DownloadStarted, now: float) -> None:
    m.transfers[e.key] = Transfer(key=e.key, name=e.name, size=e.size, download=True, began=now)
    if m._began is None:
        m._began = now
    if m.files_total == 0 and e.size is not None:
        m.bytes_total = (m.bytes_total or 0) + e.size


def _received(m: Meter, e: BytesReceived, now: float) -> None:
    m._ack(m.transfers.get(e.key), e.nbytes, now)


def _done(m: Meter, e: FileDone, now: float) -> None:
    m.pushed += 1
    m.bytes_pushed += e.result.size


def _failed(m: Meter, e: FileFailed, now: float) -> None:
    # Cut short by Ctrl-C is not a failure: the closing line says what is left.
    if isinstance(e.error, Interrupted | KeyboardInterrupt):
        m.cut += 1
    else:
        m.failed += 1


def _skipped(m: Meter, e: FileSkipped, now: float) -> None:
    m.skipped += 1


_HANDLERS: dict[type, Callable] = {
    BatchPlanned: _planned,
    FileStarted: _started,
    AlreadySent: _already,
    PartStarted: _part_started,
    BytesSent: _bytes_sent,
    PartDone: _part_done,
    Retrying: _retrying,
    Stage: _stage,
    UploadEnded: _ended,
    DownloadEnded: _ended,
    DownloadStarted: _download_started,
    BytesReceived: _received,
    FileDone: _done,
    FileFailed: _failed,
    FileSkipped: _skipped,
}
