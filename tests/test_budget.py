"""The memory budget: a byte-counting semaphore with an optional RSS guard."""

from __future__ import annotations

import random
import threading

from notion_up.upload.budget import MemoryBudget


def run_thread(target) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def body() -> None:
        box["result"] = target()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, box


def test_acquire_returns_the_bytes_taken_and_release_gives_them_back():
    budget = MemoryBudget(100)
    assert budget.acquire(60) == 60
    assert budget.buffers_out == 1
    assert budget.acquire(40) == 40
    assert budget.buffers_out == 2
    budget.release(60)
    budget.release(40)
    assert budget.buffers_out == 0
    assert budget.peak_buffers == 2


def test_an_oversize_request_is_clamped_to_the_capacity():
    budget = MemoryBudget(100)
    assert budget.acquire(10_000) == 100
    budget.release(100)
    assert budget.acquire(100) == 100


def test_a_request_that_does_not_fit_waits_for_a_release():
    budget = MemoryBudget(100)
    budget.acquire(70)
    thread, box = run_thread(lambda: budget.acquire(50))
    thread.join(0.05)
    assert thread.is_alive(), "took 50 bytes while only 30 were free"
    budget.release(70)
    thread.join(5)
    assert box["result"] == 50


def test_concurrent_users_never_hold_more_than_the_capacity():
    capacity = 1000
    budget = MemoryBudget(capacity)
    lock = threading.Lock()
    held = {"now": 0, "max": 0}
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            taken = budget.acquire(rng.randint(1, capacity))
            assert taken is not None
            with lock:
                held["now"] += taken
                held["max"] = max(held["max"], held["now"])
                if held["now"] > capacity:
                    errors.append(f"{held['now']} bytes held")
            with lock:
                held["now"] -= taken
            budget.release(taken)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert 0 < held["max"] <= capacity
    assert budget.buffers_out == 0


def test_a_cancelled_request_returns_none_without_taking_anything():
    budget = MemoryBudget(100)
    assert budget.acquire(10, cancelled=lambda: True) is None
    assert budget.buffers_out == 0


def test_cancelling_a_waiting_request_returns_none():
    budget = MemoryBudget(100)
    budget.acquire(100)
    stop = threading.Event()
    thread, box = run_thread(lambda: budget.acquire(10, cancelled=stop.is_set))
    thread.join(0.05)
    assert thread.is_alive()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert box["result"] is None
    assert budget.buffers_out == 1


def test_rss_guard_waits_while_the_process_is_over_max_rss():
    rss = {"value": 500}
    asked_while_over = threading.Event()

    def fake_rss() -> int:
        if rss["value"] > 100:
            asked_while_over.set()
        return rss["value"]

    budget = MemoryBudget(1000, max_rss=100, rss=fake_rss)
    # With nothing out, reading may always go on: waiting would wait forever.
    assert budget.acquire(10) == 10
    thread, box = run_thread(lambda: budget.acquire(10))
    assert asked_while_over.wait(5)
    thread.join(0.05)
    assert thread.is_alive(), "read ahead although the process was over max_rss"
    assert budget.rss_waits >= 1
    rss["value"] = 50
    thread.join(5)
    assert box["result"] == 10
    assert budget.buffers_out == 2


def test_rss_guard_lets_the_reader_go_once_every_buffer_is_back():
    budget = MemoryBudget(1000, max_rss=100, rss=lambda: 10_000)
    budget.acquire(10)
    thread, box = run_thread(lambda: budget.acquire(10))
    thread.join(0.05)
    assert thread.is_alive()
    budget.release(10)
    thread.join(5)
    assert box["result"] == 10


def test_without_max_rss_the_rss_callable_is_never_called():
    def boom() -> int:
        raise AssertionError("rss read without max_rss")

    budget = MemoryBudget(100, rss=boom)
    budget.acquire(10)
    budget.acquire(10)
    assert budget.rss_waits == 0
