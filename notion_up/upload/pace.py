"""How fast uploads go and how long Notion gives each: what sizes an upload so it finishes in time.

Notion expires an upload one hour after it is created, and a multi-part upload has to be sent,
completed and attached within that hour (notion-api README §3.3). An upload too large for the
link can never finish, and starting it over only repeats the failure. So each upload is sized
from the speed one connection actually achieves (measured on every part sent, and kept in the
journal for the next run) and the time a fresh upload is given (learnt from each create's
`expiry_time`), with a safety margin.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime

from notion_up.notion.limits import SINGLE_PART_MAX

DEFAULT_WINDOW = 3600.0
# Of the window, what an upload is planned to use: the rest absorbs a slower patch of link.
MARGIN = 0.75
# Seconds kept for completing and recording an upload after its last part.
FINISH = 2.0
# Measured speeds are kept this long for the next run to plan with.
KEEP_FOR = 7 * 24 * 3600.0
# Only parts this large measure the link: a small request's time is its round trip.
MEASURED = 1024 * 1024


class Pace:
    """One run's measured speed per connection and the window of a fresh upload."""

    def __init__(self, rate: float | None = None, window: float = DEFAULT_WINDOW) -> None:
        self._lock = threading.Lock()
        self._bytes = 0.0
        self._seconds = 0.0
        # From an earlier run until this one has sent a part of its own.
        self._earlier = rate
        self.window = window

    @classmethod
    def from_cache(cls, cached: dict | None) -> Pace:
        """A Pace from what the journal kept of recent runs (or a fresh one)."""
        if not cached:
            return cls()
        rate = cached.get("rate")
        window = cached.get("window") or DEFAULT_WINDOW
        return cls(float(rate) if rate else None, float(window))

    def to_cache(self) -> dict:
        """What the journal keeps for the next run."""
        return {"rate": self.rate, "window": self.window}

    @property
    def rate(self) -> float | None:
        """Bytes per second one connection sends (None until known)."""
        with self._lock:
            if self._seconds > 0:
                return self._bytes / self._seconds
            return self._earlier

    def part_sent(self, nbytes: int, seconds: float) -> None:
        """One part (or single-part file) went up in `seconds`."""
        if nbytes < MEASURED or seconds <= 0:
            return
        with self._lock:
            self._bytes += nbytes
            self._seconds += seconds

    def created(self, expiry_time: str | None) -> float | None:
        """A fresh upload's `expiry_time`: the window learnt; the monotonic deadline."""
        if not expiry_time:
            return None
        try:
            expiry = datetime.fromisoformat(expiry_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
        left = expiry - time.time()
        with self._lock:
            if left > 0:
                self.window = min(self.window, left)
        return time.monotonic() + left

    def usable(self) -> float:
        """Seconds an upload is planned to take at most."""
        return self.window * MARGIN - FINISH

    def most_bytes(self, part_size: int, workers: int) -> int | None:
        """The largest upload that finishes in time at the measured speed (None: not known).

        A multi-part upload sends `workers` parts at a time, each at one connection's speed;
        a single-part one is one request.
        """
        rate = self.rate
        if rate is None:
            return None
        usable = self.usable()
        single = int(min(SINGLE_PART_MAX, rate * usable))
        rounds = math.floor(usable * rate / part_size)
        multi = rounds * max(1, workers) * part_size
        return max(single, multi if multi > SINGLE_PART_MAX else 0)

    def late(self, deadline: float | None, parts_left: int, part_size: int, workers: int) -> bool:
        """Whether `parts_left` more parts cannot be sent, completed and recorded by `deadline`."""
        rate = self.rate
        if deadline is None or rate is None or parts_left <= 0:
            return False
        rounds = math.ceil(parts_left / max(1, workers))
        return time.monotonic() + rounds * part_size / rate + FINISH > deadline
