"""The one sanitizer for text shown on a terminal, written to stdout or to a log."""

from __future__ import annotations

import re

# Everything that could move a cursor or break a line: C0 (but tab), DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` on one line with control characters escaped (a name with a newline stays one line)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
