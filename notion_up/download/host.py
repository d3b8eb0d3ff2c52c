"""What the file host's answers mean: Content-Range, and the two ways a download stops early.

Shared by the one-stream download (restore.py) and the ranged one (ranges.py).
"""

from __future__ import annotations

import re

import requests

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
