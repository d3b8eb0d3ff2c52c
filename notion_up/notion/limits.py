"""Notion's documented limits, in one place: what a request may carry and what a query gives.

/work/shared/notion-api/README.md names the sources; where a recording disagrees, it wins.
The sandbox keeps its own copy (it imports only the standard library) and enforces them.
"""

from __future__ import annotations

from notion_up.units import MiB

# Notion says "20 MB" for single-part uploads; the decimal reading is the one both readings accept.
SINGLE_PART_MAX = 20 * 1000 * 1000
# A multi-part upload's parts (all but the last): 5 MiB to 20 MiB.
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 20 * MiB
# The send schema allows part numbers 1..1,000 (create says 10,000): plan for the stricter.
MAX_PARTS = 1000
# A database query stops giving rows after this many results, whatever the cursor says.
QUERY_CAP = 10_000
# The most rows one page of a query returns.
PAGE_SIZE = 100


def part_size_fits(size: int) -> bool:
    """True when `size` bytes is a part size Notion takes (5 MiB to 20 MiB)."""
    return MIN_PART_SIZE <= size <= MAX_PART_SIZE
