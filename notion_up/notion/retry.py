"""Retry policy and the shared rate limiter: pure decisions, clock and sleep injected."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Notion's documented transient answers; 529 is "overloaded, treat like 429".
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
THROTTLE_STATUSES = frozenset({429, 529})


@dataclass
class RetryPolicy:
    """How often and how long to retry; `delay` is a pure function of its inputs and the RNG."""

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 300.0
    # The most one call may spend waiting between its attempts (Retry-After included).
    max_total_wait: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def is_retryable_status(self, status: int) -> bool:
        """True for the statuses Notion documents as temporary."""
        return status in RETRYABLE_STATUSES

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`: full jitter, never under Retry-After."""
        backoff = self.rng.uniform(0, min(self.cap, self.base * (2**attempt)))
        if retry_after is None:
            return backoff
        # Retry-After is a floor; a little jitter above it spreads the threads that all got it.
        return retry_after + min(backoff, 0.25)

    def gives_up(self, attempt: int, retry_after: float | None = None, waited: float = 0.0) -> bool:
        """True when `attempt` (1-based, already made) was the last one allowed, or when the
        next wait would take the call's waiting (`waited`, that wait included) past the cap."""
        if retry_after is not None and retry_after > min(self.max_retry_after, self.max_total_wait):
            return True
        return attempt >= self.max_attempts or waited > self.max_total_wait


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (Notion sends integer seconds); None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


class RateLimiter:
    """Notion's documented budget, kept on our side: `rate` × `window` requests in any `window`
    seconds, shared by every thread of a run, with a run-wide pause after a 429.

    Notion gives each connection a fixed budget per 60-second window (180 requests, an average
    of 3/s, on most plans) that "can be spent at any pace within the window — spread out evenly
    or in a single burst". A sliding window of the same size never spends more than that in any
    of Notion's windows, wherever they start, and lets a run's first requests (the set-up, the
    create, the first parts) go at once instead of at 3/s.
    """

    def __init__(
        self,
        rate: float = 3.0,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.window = window
        self.budget = max(1, int(rate * window)) if rate > 0 else 0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._paused_until = 0.0

    @property
    def unlimited(self) -> bool:
        """A rate of 0 or less means no limit (local servers, benchmarks)."""
        return self.rate <= 0

    def acquire(self) -> float:
        """Block until one request may go; returns the seconds waited."""
        waited = 0.0
        while True:
            wait = self._try_take()
            if wait <= 0:
                return waited
            self._sleep(wait)
            waited += wait

    def _try_take(self) -> float:
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return self._paused_until - now
            if self.unlimited:
                return 0.0
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            if len(self._sent) >= self.budget:
                return self._sent[0] + self.window - now
            self._sent.append(now)
            return 0.0

    def pause(self, seconds: float) -> None:
        """Hold every thread back for `seconds` (after a 429: Notion's window resets then)."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)
