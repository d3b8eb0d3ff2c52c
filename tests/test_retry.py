"""The retry policy and the shared rate limiter, with a fake clock: no test waits."""

from __future__ import annotations

import random
import threading

import pytest

from notion_up.notion.retry import RateLimiter, RetryPolicy, parse_retry_after


class FakeClock:
    """A clock that only moves when someone sleeps on it.

    Tests use rates that are powers of two so virtual times stay exact in binary floating point
    (with 1/3 s spacing a refill can land a hair under one token and ask for a 1e-17 s sleep,
    which a virtual clock cannot represent). The sleep count is capped so such a loop fails fast.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        assert len(self.sleeps) < 10_000, "the limiter is spinning"
        self.sleeps.append(seconds)
        self.now += seconds


class ThreadClocks:
    """One virtual clock per thread: a thread's sleep moves only its own time."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self) -> float:
        return getattr(self._local, "now", 0.0)

    def sleep(self, seconds: float) -> None:
        self._local.now = self() + seconds


# -- RetryPolicy ----------------------------------------------------------------------------
@pytest.mark.parametrize("attempt", range(0, 10))
def test_delay_is_full_jitter_within_zero_and_the_capped_exponential(attempt):
    policy = RetryPolicy(base=0.5, cap=30.0, rng=random.Random(attempt))
    bound = min(30.0, 0.5 * 2**attempt)
    samples = [policy.delay(attempt) for _ in range(500)]
    assert all(0 <= s <= bound for s in samples)
    # Full jitter: the whole range is used, not just the top of it.
    assert min(samples) < 0.1 * bound
    assert max(samples) > 0.9 * bound


def test_delay_never_exceeds_the_cap_however_many_attempts():
    policy = RetryPolicy(base=1.0, cap=4.0, rng=random.Random(1))
    assert all(policy.delay(a) <= 4.0 for a in range(0, 60) for _ in range(20))


@pytest.mark.parametrize("retry_after", [0.0, 1.0, 7.0, 60.0])
def test_delay_is_never_below_retry_after(retry_after):
    policy = RetryPolicy(rng=random.Random(3))
    for attempt in range(8):
        for _ in range(100):
            wait = policy.delay(attempt, retry_after)
            assert retry_after <= wait <= retry_after + 0.25


def test_gives_up_after_max_attempts():
    policy = RetryPolicy(max_attempts=3)
    assert not policy.gives_up(1)
    assert not policy.gives_up(2)
    assert policy.gives_up(3)
    assert policy.gives_up(4)


def test_gives_up_at_once_when_retry_after_is_longer_than_allowed():
    policy = RetryPolicy(max_attempts=6, max_retry_after=300.0, max_total_wait=600.0)
    assert not policy.gives_up(1, retry_after=300.0)
    assert policy.gives_up(1, retry_after=301.0)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 529])
def test_temporary_statuses_are_retryable(status):
    assert RetryPolicy().is_retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413])
def test_client_errors_are_not_retryable(status):
    assert not RetryPolicy().is_retryable_status(status)


@pytest.mark.parametrize(
    "value,expected",
    [("2", 2.0), ("1.5", 1.5), ("0", 0.0), ("-3", 0.0), (None, None), ("", None),
     ("soon", None), ("inf", None), ("nan", None)],
)  # fmt: skip
def test_parse_retry_after_reads_seconds_and_ignores_nonsense(value, expected):
    assert parse_retry_after(value) == expected


# -- RateLimiter ----------------------------------------------------------------------------
def test_limiter_lets_the_minutes_budget_go_at_once_then_waits_for_the_window():
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, window=3.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(8):
        limiter.acquire()
        times.append(clock.now)
    # rate × window = 6 at once (Notion: "in a single burst"), then as the first ones age out.
    assert times[:6] == [0.0] * 6
    assert times[6:] == pytest.approx([3.0, 3.0])


def test_limiter_never_spends_more_than_its_budget_in_any_window():
    clock = FakeClock()
    rng = random.Random(7)
    limiter = RateLimiter(rate=3.0, window=60.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(1000):
        clock.now += rng.choice([0.0, 0.0, 0.01, 0.5, 2.0])
        limiter.acquire()
        times.append(clock.now)
    left = 0
    for right, t in enumerate(times):
        while times[left] <= t - 60.0:
            left += 1
        assert right - left + 1 <= 180, (t, right - left + 1)


def test_acquire_returns_the_seconds_waited():
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, window=4.0, clock=clock, sleep=clock.sleep)
    assert all(limiter.acquire() == 0 for _ in range(4))
    assert limiter.acquire() == pytest.approx(4.0)
    assert sum(clock.sleeps) == pytest.approx(4.0)


def test_pause_holds_the_next_request_for_at_least_the_pause():
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep)
    limiter.pause(5.0)
    waited = limiter.acquire()
    assert waited >= 5.0
    assert clock.now >= 5.0


def test_after_a_pause_the_window_still_counts_what_was_sent_before_it():
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, window=10.0, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        limiter.acquire()
    limiter.pause(3.0)  # a 429 (another client shares the budget): everyone waits it out
    assert limiter.acquire() == pytest.approx(10.0)  # then the window decides, as before


def test_a_shorter_pause_does_not_cut_a_longer_one():
    clock = FakeClock()
    limiter = RateLimiter(rate=0, clock=clock, sleep=clock.sleep)
    limiter.pause(10.0)
    limiter.pause(2.0)
    assert limiter.acquire() == pytest.approx(10.0)


@pytest.mark.parametrize("rate", [0.0, 4.0])
def test_pause_holds_every_thread_not_just_the_one_that_was_throttled(rate):
    clocks = ThreadClocks()
    limiter = RateLimiter(rate=rate, clock=clocks, sleep=clocks.sleep)
    limiter.pause(5.0)  # at time 0 on this thread's clock
    waits: dict[int, float] = {}

    def worker(i: int) -> None:
        waits[i] = limiter.acquire()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(waits) == [0, 1, 2, 3]
    assert all(w >= 5.0 for w in waits.values()), waits


def test_rate_zero_is_unlimited_and_never_sleeps():
    clock = FakeClock()
    limiter = RateLimiter(rate=0, clock=clock, sleep=clock.sleep)
    assert limiter.unlimited
    assert all(limiter.acquire() == 0 for _ in range(1000))
    assert clock.sleeps == []


def test_negative_rate_is_unlimited_too():
    assert RateLimiter(rate=-1).unlimited
    assert not RateLimiter(rate=0.1).unlimited
