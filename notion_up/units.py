"""Sizes and durations as people write and read them: one parser, one way of showing.

Every size a user gives — flags (`--part-size`, `--split`, `--max-memory`, `--size`), the
environment (`NOTION_UP_PART_SIZE`) and the config file (`part_size`) — goes through
`parse_size`. Everything shown is in binary units (KiB, MiB, GiB), bars and plain lines alike.
"""

from __future__ import annotations

import math

from notion_up.errors import UsageError

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": KiB,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": MiB,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": GiB,
}
# The binary unit a decimal one is often typed for: `5mb` usually means 5 MiB.
_BINARY = {"k": "KiB", "kb": "KiB", "m": "MiB", "mb": "MiB", "g": "GiB", "gb": "GiB"}


def split_size(text: str) -> tuple[str, str]:
    """'5 MiB' -> ('5', 'mib'): the number and the unit, lower case, spaces removed."""
    raw = str(text).strip().lower().replace(" ", "").replace("_", "")
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    return number, raw[len(number) :]


def parse_size(text: str | int) -> int:
    """'5MiB' -> 5242880, '20MB' -> 20000000, '1048576' -> 1048576 (an int stays as it is)."""
    if isinstance(text, bool):
        raise UsageError(f"not a size: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise UsageError(f"a size cannot be negative: {text}")
        return text
    number, unit = split_size(text)
    if not number or unit not in _UNITS:
        raise UsageError(
            f"not a size: {text!r}", hint="use bytes, or a unit: 5MiB, 512KiB, 20MB, 1GiB"
        )
    try:
        value = float(number)
    except ValueError:
        raise UsageError(f"not a size: {text!r}", hint="use bytes, or a unit: 5MiB") from None
    if not math.isfinite(value):
        raise UsageError(f"not a size: {text!r}")
    if value < 0:
        raise UsageError(f"a size cannot be negative: {text!r}")
    return int(value * _UNITS[unit])


def binary_reading(text: str | int) -> str | None:
    """The binary unit a decimal size was probably meant as: '5mb' -> '5MiB' (else None)."""
    if not isinstance(text, str):
        return None
    number, unit = split_size(text)
    if unit not in _BINARY:
        return None
    return f"{number}{_BINARY[unit]}"


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; always binary units."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover - the loop always returns


def human_pair(done: float, total: float) -> str:
    """'12.0/25.0 MiB': two sizes in the unit of the larger."""
    for unit, scale in (("B", 1), ("KiB", KiB), ("MiB", MiB), ("GiB", GiB)):
        if total < 1024 * scale or unit == "GiB":
            if unit == "B":
                return f"{done:.0f}/{total:.0f} B"
            return f"{done / scale:.1f}/{total / scale:.1f} {unit}"
    return ""  # pragma: no cover


def human_rate(bytes_per_second: float | None) -> str:
    """'2.8 MiB/s', or '–' while nothing has been acknowledged yet."""
    if bytes_per_second is None or bytes_per_second <= 0:
        return "–"
    return f"{human_bytes(bytes_per_second)}/s"


def human_duration(seconds: float | None) -> str:
    """'0:42', '1:02:03', or '–' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
