"""What a setting's value may be: each validator takes what was written (a flag, a variable,
a profile's value) and gives it back typed, or raises BadValue saying what is wrong."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from notion_up.errors import NotionUpError
from notion_up.notion.limits import MIN_PART_SIZE, part_size_fits
from notion_up.units import binary_reading, human_bytes, parse_size


class BadValue(Exception):
    """A value a setting's validator refuses: what is wrong, and what to do instead."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


MAX_WORKERS = 64


def workers(value: Any) -> int:
    """Parts (or files) at once: 1 to MAX_WORKERS."""
    number = _number(value, int)
    # Past a few dozen, Notion's rate limit is the bottleneck; each worker holds a part in memory.
    if not 1 <= number <= MAX_WORKERS:
        raise BadValue(f"must be 1 to {MAX_WORKERS} (parts sent at once)")
    return number


def rate(value: Any) -> float:
    """Requests per second: 0 (no limit) or more."""
    number = _number(value, float)
    if not math.isfinite(number) or number < 0:
        raise BadValue("must be 0 (no limit) or more requests per second")
    return number


def timeout(value: Any) -> float:
    """Seconds a request may wait for its answer: 1 to 3600."""
    number = _number(value, float)
    if not math.isfinite(number) or not 1 <= number <= 3600:
        raise BadValue("must be 1 to 3600 seconds (the longest a request may wait for an answer)")
    return number


def yes(value: Any) -> bool:
    """A yes or no, as TOML or an environment variable writes it."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise BadValue("must be 1 or 0 (true or false)")


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool):
        raise BadValue("must be a number")
    if isinstance(value, int | float) and kind is float:
        return float(value)
    if isinstance(value, int):
        return value
    try:
        return kind(str(value).strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise BadValue(f"must be {what}") from None


def part_size(value: Any) -> int | str:
    """A part size Notion takes (5 MiB to 20 MiB, units as people type them), or "auto"."""
    if str(value).strip().lower() == "auto":
        return "auto"  # picked per file from recent throughput (upload/parts.py)
    try:
        size = parse_size(value)
    except NotionUpError as exc:
        raise BadValue("is not a size", hint="use bytes, or a unit: 5MiB, 10MiB, 20MiB") from exc
    if part_size_fits(size):
        return size
    meant = binary_reading(value)
    hint = "Notion takes parts of 5 MiB to 20 MiB"
    if meant is not None and part_size_fits(parse_size(meant)):
        hint = f"did you mean {meant}? MB is 1000×1000 bytes, MiB 1024×1024"
    raise BadValue(f"is {size} bytes ({human_bytes(size)}), outside 5 MiB to 20 MiB", hint=hint)


def volume_size(value: Any) -> int:
    """The size of a long stream's volumes: at least a part."""
    try:
        size = parse_size(value)
    except NotionUpError as exc:
        raise BadValue("is not a size", hint="use bytes, or a unit: 256MiB, 1GiB") from exc
    if size < MIN_PART_SIZE:
        raise BadValue(f"is {size} bytes, under 5 MiB", hint="the default is 512MiB")
    return size


_HEX_ID = re.compile(r"[0-9a-f]{32}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ID_HINT = (
    "a Notion id is the 32 hex digits that end the database's or page's link, as in "
    "https://www.notion.so/…/Files-0123456789abcdef0123456789abcdef; the whole link works too"
)


def notion_id(value: Any) -> str:
    """A Notion id as given (32 hex digits, dashed or not), or the id inside a pasted URL."""
    text = str(value).strip()
    if _HEX_ID.fullmatch(text.lower()) or _UUID.fullmatch(text.lower()):
        return text
    if "/" in text or "." in text:
        # A link to the page or database: its id ends the path (`?v=` names a view, not it).
        path = urlsplit(text if "://" in text else "https://" + text).path.lower()
        found = _UUID.findall(path) or re.findall(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", path)
        if not found:
            found = re.findall(r"[0-9a-f]{32}$", path.rstrip("/"))
        if found:
            raw = found[-1].replace("-", "")
            return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
        raise BadValue("is a link without a Notion id in it", hint=ID_HINT)
    raise BadValue("is not a Notion id", hint=ID_HINT)


def api_url(value: Any) -> str:
    """An http(s) URL with a host; anything else is refused before a request is made."""
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        return text.rstrip("/")
    if "://" not in text:
        local = text.split(":")[0] in ("localhost", "127.0.0.1", "[::1]", "0.0.0.0")
        guess = ("http://" if local else "https://") + text.lstrip("/")
        raise BadValue("has no http:// or https://", hint=f"did you mean {guess}?")
    raise BadValue(
        "is not an http:// or https:// URL",
        hint="e.g. https://api.notion.com, or the URL `notion-up sandbox serve` prints",
    )


def path(value: Any) -> str:
    """A folder or file path, with ~ expanded."""
    return str(Path(str(value)).expanduser())
