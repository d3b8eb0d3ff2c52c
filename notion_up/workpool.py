"""Many small jobs on a few threads with only a window of them queued: memory stays flat.

`ThreadPoolExecutor.map` submits every item at once: a future (and what it holds) per file of a
20,000-file tree before the first one finishes. Here at most `window` jobs are submitted and
unfinished at a time, and the first failure cancels the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_bounded(
    fn: Callable[[T], R], items: Iterable[T], workers: int, *, name: str = "notion-up-work"
) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) for every item as each finishes, `workers` at a time.

    An exception from `fn` (or the caller closing the iterator) cancels what has not started.
    """
    workers = max(1, workers)
    window = 2 * workers
    source = iter(items)
    pending: dict[Future, T] = {}
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        try:
            while True:
                for item in source:
                    pending[pool.submit(fn, item)] = item
                    if len(pending) >= window:
                        break
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        finally:
            for future in pending:
                future.cancel()
