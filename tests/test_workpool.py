"""map_bounded: every item done once, only a window of them queued, the first failure stops it."""

from __future__ import annotations

import threading

import pytest

from notion_up.workpool import map_bounded


def test_every_item_is_done_once_with_only_a_window_started():
    lock = threading.Lock()
    started = 0
    most_ahead = 0
    finished = 0

    def job(item: int) -> int:
        nonlocal started, most_ahead
        with lock:
            started += 1
            most_ahead = max(most_ahead, started - finished)
        return item * 2

    results = {}
    for item, doubled in map_bounded(job, range(500), 3):
        finished += 1
        results[item] = doubled
    assert results == {i: 2 * i for i in range(500)}
    assert most_ahead <= 2 * 3


def test_the_first_failure_stops_the_rest():
    seen: list[int] = []

    def job(item: int) -> int:
        seen.append(item)
        if item == 5:
            raise ValueError("five")
        return item

    with pytest.raises(ValueError, match="five"):
        for _ in map_bounded(job, range(10_000), 2):
            pass
    assert len(seen) < 100
