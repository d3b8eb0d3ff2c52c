"""The one sanitizer for text shown on a terminal, written to stdout or to a log.

Names, hashes and dates come from shared databases anyone may write to: nothing of theirs may
move the cursor, break a line, recolour the terminal, reorder what is shown (bidi overrides such
as U+202E) or hide text (zero-width and other format characters). Each such character is shown
as its escape (`\\x1b`, `\\u202e`) instead.
"""

from __future__ import annotations

import re
import unicodedata

# C0 (but tab), DEL, C1: everything that could move a cursor or break a line.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# Unicode categories that are invisible or change how other text is shown: format (Cf, which
# holds the bidi overrides and isolates, zero-width joiners, the BOM), line and paragraph
# separators, surrogates, private use and unassigned code points.
_HIDDEN = {"Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def _escape(char: str) -> str:
    if _CONTROL.fullmatch(char):
        return repr(char)[1:-1]
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` on one line, shown as written: control and format characters escaped."""
    if text.isascii():
        return _CONTROL.sub(lambda m: _escape(m.group()), text)
    return "".join(
        _escape(c) if _CONTROL.fullmatch(c) or unicodedata.category(c) in _HIDDEN else c
        for c in text
    )
