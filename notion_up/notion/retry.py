"""Retry policy and the shared rate limiter that learns the budget it meets: clock and sleep
injected."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from notion_up.events import Listener, Notice, ignore

# Notion's documented transient answers; 529 is "overloaded, treat like 429".
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
THROTTLE_STATUSES = frozenset({429, 529})
# How long a run keeps pacing evenly after the last per-connection 429 before it goes back to
# spending the window's budget at any pace. Learned in one run, it carries over (the journal).
RELAX_AFTER = 30 * 60.0
# A 429 when this share of the window's budget is spent is the window's own (its edge is a
# moment off ours); refused well before, the server paces.
WINDOW_EDGE = 0.9
# A server that paces evenly asks for about one request's interval (Retry-After is whole
# seconds: 1 at 3/s). A longer wait is a window that resets when it ends, with a budget smaller
# than ours (shared with other integrations): after it, bursting is right again.
PACED_WAIT = 2.0
# Requests a pacing limiter lets go at once after a lull.
PACED_BURST = 2
# A throttled wait longer than this is said on stderr (as a Notice): a silent minute looks hung.
REPORT_WAIT = 5.0
# The 429 of this connection's own budget (also assumed when a 429 gives no reason). Others
# (the workspace's budget, an endpoint's, reasons not yet documented) are waited out as told
# but say nothing about how this connection's budget is enforced.
OWN_LIMIT = "public_api_request_rate_limit"
LIMIT_NAMES = {
    OWN_LIMIT: "Notion's request limit for this integration",
    "public_api_space_request_rate_limit": "Notion's request limit for the whole workspace "
    "(shared with its other integrations)",
    "public_api_endpoint_rate_limit": "Notion's request limit for this endpoint",
}


@dataclass(kw_only=True)
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
    """Notion's request budget, kept on our side and learned from its answers; shared by every
    thread of a run, with a run-wide pause after a 429.

    Two models of the same budget meet a client. The newest limits page: a fixed budget per
    60-second window (180 requests, an average of 3/s, on most plans) that "can be spent at any
    pace within the window — spread out evenly or in a single burst". The older, still quoted
    one: "an average of three requests per second; some bursts beyond the average rate are
    allowed". The limiter starts with the first (a sliding window of `rate` × `window`, which
    never spends more than that in any of Notion's windows and lets a run's first requests go at
    once). A 429 from this connection's own limit says the server paces: after its Retry-After,
    requests go evenly at `rate` (a token bucket with a small `burst`) under the same window,
    until `relax_after` seconds pass without another; then the window alone decides again.
    """

    def __init__(
        self,
        rate: float = 3.0,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        *,
        burst: int | None = None,
        relax_after: float = RELAX_AFTER,
        listener: Listener = ignore,
    ) -> None:
        self.rate = rate
        self.window = window
        self.budget = max(1, int(rate * window)) if rate > 0 else 0
        # Small: a run's requests come back to back, so a burst only matters after a lull, and
        # the burst a pacing server allows is not documented ("some bursts").
        self.burst = burst if burst is not None else PACED_BURST
        self.relax_after = relax_after
        self.listener = listener
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._said_until = 0.0
        # When this connection's own limit last answered 429 (clock time); None: never, or
        # long enough ago that the window model is back.
        self._throttled_at: float | None = None
        self._tokens = 0.0
        self._refilled = 0.0

    @property
    def unlimited(self) -> bool:
        """A rate of 0 or less means no limit (local servers, benchmarks)."""
        return self.rate <= 0

    @property
    def model(self) -> str:
        """`even` while pacing after a 429 from this connection's limit, else `window`."""
        with self._lock:
            self._relax(self._clock())
            return "window" if self._throttled_at is None else "even"

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
            self._relax(now)
            if self._throttled_at is not None:
                self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
                self._refilled = now
                # A hair under one token is one: floating-point refills must not spin.
                if self._tokens < 1 - 1e-9:
                    return (1 - self._tokens) / self.rate
                self._tokens = max(0.0, self._tokens - 1)
            self._sent.append(now)
            return 0.0

    def _relax(self, now: float) -> None:
        if self._throttled_at is not None and now - self._throttled_at >= self.relax_after:
            self._throttled_at = None

    def pause(self, seconds: float) -> None:
        """Hold every thread back for `seconds` (a 429 or 529 that teaches nothing new)."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)

    def throttled(self, seconds: float, reason: object = None) -> None:
        """A 429 told every thread to wait `seconds`; `reason` is its `rate_limit_reason`.

        From this connection's own limit (or with no reason given), well before the window's
        budget is spent and with a wait about one request's interval long, it also teaches
        that the server paces: from the end of the wait, requests go evenly. (A long wait is
        a smaller window's reset: after it, the window decides again.) A long wait is told to the
        listener as a Notice (a silent minute looks like a hang).
        """
        reason = reason if isinstance(reason, str) else None
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)
            # Refused with (nearly) the whole window's budget spent: the window model itself,
            # its edge a moment off ours; that teaches nothing, and pacing would lose the bursts.
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            at_edge = len(self._sent) >= WINDOW_EDGE * self.budget
            window_reset = not self.unlimited and seconds > max(PACED_WAIT, 2.0 / self.rate)
            ours = reason in (None, OWN_LIMIT) and not at_edge and not window_reset
            learned = ours and not self.unlimited and self._throttled_at is None
            # Requests in flight together are refused together: one line for their one wait.
            said = now + seconds <= self._said_until + 1.0
            self._said_until = max(self._said_until, now + seconds)
            if ours and not self.unlimited:
                self._throttled_at = now
                # One request at the end of the wait, then `rate`/s: whatever else was in
                # flight when this 429 came has spent the server's tokens too.
                self._tokens, self._refilled = 0.0, self._paused_until - 1 / self.rate
        if (seconds > REPORT_WAIT and not said) or learned:
            what = LIMIT_NAMES.get(reason or OWN_LIMIT, f"Notion's request limit ({reason})")
            text = f"{what} answered 429: waiting {seconds:.0f}s as told"
            if learned:
                text += f", then sending requests evenly at {self.rate:g}/s"
            self.listener(Notice(text, verbose=seconds <= REPORT_WAIT))

    def throttled_ago(self) -> float | None:
        """Seconds since this connection's limit last answered 429 (None: not within
        `relax_after`): what the journal keeps so the next run starts pacing at once."""
        with self._lock:
            now = self._clock()
            self._relax(now)
            return None if self._throttled_at is None else now - self._throttled_at

    def recall(self, seconds_ago: float | None) -> None:
        """Start from what an earlier run learned: a 429 `seconds_ago` (None: nothing)."""
        if seconds_ago is None or self.unlimited:
            return
        with self._lock:
            now = self._clock()
            self._throttled_at = now - max(0.0, seconds_ago)
            self._tokens, self._refilled = float(self.burst), now
            self._relax(now)
