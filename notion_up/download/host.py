"""What the file host's answers mean: Content-Range, and the two ways a download stops early.

Shared by the one-stream download (restore.py) and the ranged one (ranges.py).
"""

from __future__ import annotations

import re

import requests

from notion_up.errors import FileMissing, NotionUpError
from notion_up.notion.retry import RETRYABLE_STATUSES

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Cut(Exception):
    """The download stopped early (dropped connection, short body, 5xx): resume from here."""


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
