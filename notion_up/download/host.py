"""What the file host's answers mean: Content-Range, and the two ways a download stops early.

Shared by the one-stream download (fetch.py) and the ranged one (ranges.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import requests
import urllib3

from notion_up.errors import FileMissing, NotionUpError
from notion_up.notion.retry import RETRYABLE_STATUSES
from notion_up.notion.transport import THROUGHPUT_FLOOR, Watch, describe, without_query

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Cut(Exception):
    """The download stopped early (dropped connection, short body, 5xx): resume from here."""


class Stalled(Cut):
    """The file host kept us waiting past the deadline, or sent below the throughput floor.

    Resumed like any cut, but counted as a failure even when a few bytes came: a host
    trickling a byte at a time never holds a run.
    """


def failure_of(exc: Exception) -> tuple[str, bool]:
    """A failed read of the file host as one line (its URLs without their query strings), and
    whether it stalled (a stall counts as a failure even when a few bytes came)."""
    reason = without_query(str(exc)) if isinstance(exc, Cut) else describe(exc)
    return reason, isinstance(exc, Stalled)


@contextmanager
def stalls_cut(watch: Watch) -> Iterator[None]:
    """Within: a connection the watchdog cut (too slow) raises Stalled, not a network error."""
    try:
        yield
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        if not watch.cut:
            raise
        raise Stalled(
            f"the file host was too slow (no answer within {watch.timeout:g} s, or under "
            f"{THROUGHPUT_FLOOR} bytes/s); cut"
        ) from None


class Expired(Exception):
    """The file URL was refused: it has expired (or was never valid); fetch the page again."""


def content_range(response: requests.Response) -> tuple[int, int, int | None] | None:
    """(first byte, last byte, total) of a 206 answer's Content-Range; None when unreadable."""
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if not match:
        return None
    total = match.group(3)
    return int(match.group(1)), int(match.group(2)), (int(total) if total != "*" else None)


def content_length(response: requests.Response) -> int | None:
    """The announced Content-Length, None when absent or not a plain number."""
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def check_status(status: int, name: str, gone: str) -> None:
    """Raise what a file host's status other than 200/206 (and 416, the caller's) means.

    401/403: the signed URL expired; 404: the file is gone (`gone` names it); a temporary
    status: a cut to resume; anything else: an error naming the file.
    """
    if status in (401, 403):
        raise Expired(f"{status}")
    if status == 404:
        raise FileMissing(f"{gone}: the file is gone")
    if status in RETRYABLE_STATUSES:
        raise Cut(f"the file host answered {status}")
    if status not in (200, 206):
        raise NotionUpError(f"{name}: the file host answered {status}")
