"""Injected trouble: 5xx answers, dropped connections, errors after a page was saved, and the
token-bucket rate limit with Retry-After."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

from .errors import FAULTS, RATE_LIMIT_MESSAGE, ApiError
from .options import ServerOptions

_UNSEEDED = object()
# What a client writes (queries are POSTs but reads).
WRITE_ENDPOINTS = frozenset(
    {
        "create_upload",
        "send",
        "complete",
        "create_database",
        "create_data_source",
        "update_data_source",
        "create_page",
        "update_page",
        "delete_block",
    }
)


def fault_error(status: int) -> ApiError:
    """The answer Notion gives with `status` (Retry-After on 429 and 529)."""
    code, message = FAULTS.get(status, FAULTS[500])
    headers: dict[str, str] = {}
    extra = None
    if status in (429, 529):
        headers["Retry-After"] = "1"
        if status == 429:
            extra = {"rate_limit_reason": "public_api_request_rate_limit", "retry_after": "1"}
    return ApiError(status, code, message, extra, headers)


class Faults:
    """Seeded decisions (re-seeded whenever `options.seed` changes) on what goes wrong."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._seed: object = _UNSEEDED
        self._rng = random.Random()
        self._after_create = 0
        self._writes = 0

    def random(self) -> float:
        with self._lock:
            seed = self.options.seed
            if seed != self._seed:
                self._rng = random.Random(seed)
                self._seed = seed
            return self._rng.random()

    def decide(self, endpoint: str) -> int | None:
        """The status of a fault to inject on this request, or None."""
        opts = self.options
        if opts.fault_rate <= 0 or endpoint not in opts.fault_endpoints:
            return None
        statuses = tuple(opts.fault_statuses)
        if not statuses:
            return None
        if self.random() < opts.fault_rate:
            return statuses[int(self.random() * len(statuses)) % len(statuses)]
        return None

    def crash_point(self, endpoint: str) -> str | None:
        """Count a write; "before" or "after" when it is the one to crash on, else None."""
        if endpoint not in WRITE_ENDPOINTS:
            return None
        with self._lock:
            self._writes += 1
            n = self._writes
        opts = self.options
        if opts.crash_write and n == opts.crash_write:
            return opts.crash_mode
        return None

    def writes(self) -> int:
        """Writes counted so far."""
        with self._lock:
            return self._writes

    def drop(self) -> bool:
        """Whether to drop this send's connection halfway."""
        rate = self.options.drop_rate
        return rate > 0 and self.random() < rate

    def after_create(self, page_id: str) -> ApiError | None:
        """An error to answer although the page `page_id` was saved, or None."""
        opts = self.options
        if opts.fault_after_create_rate <= 0 or self.random() >= opts.fault_after_create_rate:
            return None
        with self._lock:
            k = self._after_create
            self._after_create += 1
        if k % 2 == 0:
            return ApiError(
                503,
                "service_unavailable",
                "The change was saved, but the response could not be built in time. "
                "Read the object again instead of repeating the write.",
                {
                    "from": "publicApi.pageObjectPointerToPageObject.beforePreload",
                    "retry_guidance": [
                        "Read the object again to confirm the saved change.",
                        "Do not repeat the write.",
                    ],
                    "committed_resource_id": page_id,
                },
            )
        if k % 4 == 1:
            return ApiError(503, *FAULTS[503])
        return ApiError(504, *FAULTS[504])


class RateLimiter:
    """Notion's limit: `rate` × `rate_window` requests per fixed window (the documented model),
    or with `rate_window` 0 a token bucket of `rate`/s and `burst` (the older, still quoted
    one); 429 with Retry-After beyond. Beside it, the workspace's limit, shared with other
    integrations and so out of the client's sight: `space_limit_for` seconds of 429s
    (`public_api_space_request_rate_limit`, Retry-After the seconds left), from the next request.
    """

    def __init__(self, options: ServerOptions, clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(max(1, options.burst))
        self._refilled = clock()
        self._window_start: float | None = None
        self._spent = 0
        self._space_until = 0.0

    def refill(self) -> None:
        with self._lock:
            self._tokens = float(max(1, self.options.burst))
            self._refilled = self._clock()
            self._window_start, self._spent = None, 0
            self._space_until = 0.0

    def take(self) -> None:
        opts = self.options
        reason = "public_api_request_rate_limit"
        with self._lock:
            now = self._clock()
            if opts.space_limit_for > 0:
                # Armed by an option: the workspace's budget is spent from this request on.
                self._space_until, opts.space_limit_for = now + opts.space_limit_for, 0.0
            if now < self._space_until:
                reason = "public_api_space_request_rate_limit"
                retry_after: int | None = max(1, math.ceil(self._space_until - now))
            elif not opts.rate_limit:
                return
            elif opts.rate_window > 0:
                retry_after = self._take_from_window(now)
            else:
                retry_after = self._take_from_bucket(now)
            if retry_after is None:
                return
        raise ApiError(
            429,
            "rate_limited",
            RATE_LIMIT_MESSAGE,
            {"rate_limit_reason": reason, "retry_after": str(retry_after)},
            {"Retry-After": str(retry_after)},
        )

    def _take_from_window(self, now: float) -> int | None:
        opts = self.options
        window = float(opts.rate_window)
        if self._window_start is None or now >= self._window_start + window:
            self._window_start, self._spent = now, 0
        if self._spent < max(1, int(opts.rate * window)):
            self._spent += 1
            return None
        # "Retry-After = time until the window resets" (integer seconds, at least 1).
        return max(1, math.ceil(self._window_start + window - now))

    def _take_from_bucket(self, now: float) -> int | None:
        opts = self.options
        rate = max(float(opts.rate), 1e-6)
        burst = max(1, int(opts.burst))
        self._tokens = min(burst, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return max(1, math.ceil((1 - self._tokens) / rate))
