"""The retry policy and the shared rate limiter, with a fake clock: no test waits."""

from __future__ import annotations

import random
import threading

import pytest

from notion_up.notion.retry import RateLimiter, RetryPolicy, parse_retry_after
from notion_up.sandbox.errors import ApiError
from notion_up.sandbox.faults import RateLimiter as ServerLimit
from notion_up.sandbox.options import ServerOptions
from notion_up.state.journal import Journal


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
    [
        ("2", 2.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
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


# -- the limiter that learns ------------------------------------------------------------------
OWN = "public_api_request_rate_limit"
SPACE = "public_api_space_request_rate_limit"


def paced_times(limiter: RateLimiter, clock: FakeClock, n: int) -> list[float]:
    times = []
    for _ in range(n):
        limiter.acquire()
        times.append(clock.now)
    return times


def test_after_a_429_from_its_own_limit_it_waits_retry_after_then_paces_evenly():
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep)
    assert paced_times(limiter, clock, 10) == [0.0] * 10  # the window model: a burst
    limiter.throttled(2.0, OWN)
    assert limiter.model == "even"
    times = paced_times(limiter, clock, 9)
    # Nothing before Retry-After ran out, then one request every 1/rate seconds.
    assert times == pytest.approx([2.0 + 0.25 * i for i in range(9)])


def test_a_429_without_a_reason_is_taken_as_the_connections_own_limit():
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep)
    limiter.throttled(1.0, None)
    assert limiter.model == "even"


def test_a_lull_lets_only_a_small_burst_through_while_pacing():
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep, burst=2)
    limiter.throttled(1.0, OWN)
    paced_times(limiter, clock, 3)
    clock.now += 30.0  # idle: the bucket fills only up to its burst
    t = clock.now
    assert paced_times(limiter, clock, 4) == pytest.approx([t, t, t + 0.25, t + 0.5])


@pytest.mark.parametrize("reason", [SPACE, "public_api_endpoint_rate_limit", "something_new"])
def test_a_429_for_another_limit_waits_as_told_but_keeps_the_window_model(reason):
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep)
    limiter.throttled(3.0, reason)
    assert limiter.model == "window"
    assert paced_times(limiter, clock, 5) == [3.0] * 5  # after the wait, the window decides


def test_a_long_wait_is_told_as_a_notice_and_a_short_one_only_with_verbose():
    seen: list = []
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep, listener=seen.append)
    limiter.throttled(2.0, SPACE)  # short, and it teaches nothing: not worth a line
    assert seen == []
    limiter.throttled(42.0, SPACE)
    (notice,) = seen
    assert not notice.verbose
    assert "whole workspace" in notice.text and "42s" in notice.text
    seen.clear()
    limiter.throttled(1.0, OWN)  # learned: said with -v only
    (notice,) = seen
    assert notice.verbose and "evenly at 4/s" in notice.text


def test_after_a_long_clean_stretch_it_goes_back_to_the_window_model():
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep, relax_after=100.0)
    limiter.throttled(1.0, OWN)
    paced_times(limiter, clock, 8)
    clock.now = 99.0
    assert limiter.model == "even"
    assert limiter.throttled_ago() == pytest.approx(99.0)
    clock.now = 100.0
    assert limiter.model == "window"
    assert limiter.throttled_ago() is None
    assert paced_times(limiter, clock, 6) == [100.0] * 6


def test_a_later_429_while_pacing_restarts_the_clean_stretch():
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep, relax_after=100.0)
    limiter.throttled(1.0, OWN)
    clock.now = 90.0
    limiter.throttled(1.0, OWN)
    clock.now = 150.0
    assert limiter.model == "even"


@pytest.mark.parametrize("ago,model", [(None, "window"), (60.0, "even"), (1800.0, "window")])
def test_a_run_starts_from_what_an_earlier_run_learned(ago, model):
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep, relax_after=1800.0)
    limiter.recall(ago)
    assert limiter.model == model


def test_the_journal_keeps_what_was_learned_for_the_next_run(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    clock = FakeClock()
    first = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep)
    first.throttled(1.0, OWN)
    clock.now += 10.0
    journal.remember_throttle("ws", first.throttled_ago())
    journal.close()

    journal = Journal(tmp_path / "journal.sqlite")
    ago = journal.throttled_ago("ws")
    assert ago is not None and 10.0 <= ago < 60.0
    assert journal.throttled_ago("another workspace") is None
    second = RateLimiter(rate=4.0, clock=FakeClock())
    second.recall(ago)
    assert second.model == "even"
    journal.remember_throttle("ws", None)  # relaxed: the next run starts from the window again
    assert journal.throttled_ago("ws") is None


def test_unlimited_learns_nothing_but_still_waits_out_a_429():
    clock = FakeClock()
    limiter = RateLimiter(rate=0, clock=clock, sleep=clock.sleep)
    limiter.throttled(2.0, OWN)
    assert limiter.model == "window" and limiter.throttled_ago() is None
    assert limiter.acquire() == pytest.approx(2.0)


# The sandbox's own enforcement of each model, on the same virtual clock: what a run meets.
def run_against(server_options: ServerOptions, requests: int) -> tuple[list[float], list[float]]:
    """Send `requests` one after another through a fresh limiter (rate 4) to a server that
    enforces `server_options`; (times answered 429, times each request left)."""
    clock = FakeClock()
    server = ServerLimit(server_options, clock=clock)
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep)
    refused: list[float] = []
    sent: list[float] = []
    told_until = 0.0
    while len(sent) - len(refused) < requests:
        limiter.acquire()
        assert clock.now >= told_until, "a request went before Retry-After ran out"
        sent.append(clock.now)
        try:
            server.take()
        except ApiError as exc:
            refused.append(clock.now)
            wait = float(exc.headers["Retry-After"])
            told_until = clock.now + wait
            limiter.throttled(wait, exc.additional_data["rate_limit_reason"])
        clock.now += 1 / 1024  # the request's own time on the wire
    return refused, sent


def test_under_an_even_budget_one_429_teaches_the_pace_and_the_rest_go_at_the_ceiling():
    opts = ServerOptions(rate_limit=True, rate=4.0, burst=10, rate_window=0.0)
    refused, sent = run_against(opts, 400)
    assert len(refused) == 1
    # The burst, Retry-After (1 s), then 4/s: no later than pacing from the first request.
    assert sent[-1] <= 400 / 4.0


def test_under_a_window_budget_of_the_same_size_nothing_is_refused_and_it_bursts():
    opts = ServerOptions(rate_limit=True, rate=4.0, rate_window=60.0)
    refused, sent = run_against(opts, 400)
    assert refused == []
    assert sent[239] < 1.0  # the whole minute's budget at once, as Notion allows


def test_requests_refused_together_are_told_as_one_wait():
    seen: list = []
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, clock=clock, sleep=clock.sleep, listener=seen.append)
    for _ in range(4):  # four threads' requests refused at once
        limiter.throttled(30.0, SPACE)
    clock.now += 0.5
    limiter.throttled(30.0, SPACE)
    assert len(seen) == 1
    clock.now = 40.0
    limiter.throttled(30.0, SPACE)  # a new wait, after the first one ended
    assert len(seen) == 2


def test_a_429_with_the_windows_budget_spent_is_the_windows_edge_and_teaches_nothing():
    # Notion's window began a moment before ours: the budget's last request is refused. The
    # window model holds; pacing evenly from here would only lose its bursts.
    clock = FakeClock()
    limiter = RateLimiter(rate=4.0, window=10.0, clock=clock, sleep=clock.sleep)
    paced_times(limiter, clock, 40)
    limiter.throttled(1.0, OWN)
    assert limiter.model == "window"
    clock.now = 10.0
    assert paced_times(limiter, clock, 40) == [10.0] * 40  # the next window, in one burst


def test_a_long_retry_after_is_a_smaller_windows_reset_and_keeps_the_window_model():
    # A window server whose budget is smaller than ours (shared with other integrations)
    # answers 429 with what is left of its window: after that wait, a burst is right again.
    clock = FakeClock()
    limiter = RateLimiter(rate=3.0, clock=clock, sleep=clock.sleep)
    paced_times(limiter, clock, 30)
    limiter.throttled(8.0, OWN)
    assert limiter.model == "window"
    assert paced_times(limiter, clock, 14) == [8.0] * 14
