"""The memory budget: how many part buffers may exist at once, with an optional RSS guard."""

from __future__ import annotations

import threading
from collections.abc import Callable


def process_rss() -> int:
    """Resident set size of this process in bytes."""
    import psutil

    return psutil.Process().memory_info().rss


class MemoryBudget:
    """A byte-counting semaphore shared by every reader of a run.

    Readers take a buffer's size before reading and give it back once the part is sent,
    so at most `capacity` bytes of part data exist at any time, whatever the file sizes.
    With `max_rss`, a reader also waits while the process is over that size and some
    buffer is still out: reading ahead stops instead of the run failing.
    """

    def __init__(
        self,
        capacity: int,
        max_rss: int | None = None,
        rss: Callable[[], int] = process_rss,
    ) -> None:
        self.capacity = capacity
        self.max_rss = max_rss
        self._rss = rss
        self._used = 0
        self._out = 0
        self.peak_buffers = 0
        self.rss_waits = 0
        self._cond = threading.Condition()

    def acquire(self, nbytes: int, cancelled: Callable[[], bool] = lambda: False) -> int | None:
        """Take `nbytes` (clamped to the capacity); returns what was taken, None if cancelled."""
        nbytes = min(nbytes, self.capacity)
        with self._cond:
            while not cancelled():
                fits = self._used + nbytes <= self.capacity or self._out == 0
                if fits and not self._over_rss():
                    self._used += nbytes
                    self._out += 1
                    self.peak_buffers = max(self.peak_buffers, self._out)
                    return nbytes
                self._cond.wait(0.2)
        return None

    def _over_rss(self) -> bool:
        if self.max_rss is None or self._out == 0:
            return False
        over = self._rss() > self.max_rss
        self.rss_waits += over
        return over

    def release(self, nbytes: int) -> None:
        """Give back what `acquire` returned."""
        with self._cond:
            self._used -= nbytes
            self._out -= 1
            self._cond.notify_all()

    @property
    def buffers_out(self) -> int:
        """Buffers currently taken."""
        return self._out


class BufferPool:
    """Reuses part buffers of one size, so a long file causes no page faults or heap churn.

    A fresh 5 MiB bytearray per part costs a zero-fill, a thousand page faults and a trip
    through the allocator; reusing the few that can exist at once (workers + 1) keeps both
    the time and the process size flat, whatever the file size.
    """

    def __init__(self, size: int, keep: int) -> None:
        self.size = size
        self.keep = keep
        self._free: list[bytearray] = []
        self._lock = threading.Lock()

    def take(self, length: int) -> bytearray:
        """A buffer of at least `length` bytes (contents undefined): a pooled one when it fits,
        so a file's short last part does not add a buffer to the pool's."""
        if length <= self.size:
            with self._lock:
                if self._free:
                    return self._free.pop()
        return bytearray(length)

    def reserve(self, count: int) -> None:
        """Allocate up to `count` free buffers now (zero-filled, so their pages are real)."""
        with self._lock:
            while len(self._free) < min(count, self.keep):
                self._free.append(bytearray(self.size))

    def give(self, buffer: bytearray) -> None:
        """Return a buffer once nothing reads it any more."""
        if len(buffer) == self.size:
            with self._lock:
                if len(self._free) < self.keep:
                    self._free.append(buffer)
