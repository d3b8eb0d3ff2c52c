"""The part plan: how a file of a given size is cut to fit Notion's File Upload limits."""

from __future__ import annotations

import math
from dataclasses import dataclass

from notion_up.errors import LimitError, UsageError
from notion_up.units import parse_size as parse_size  # the one size parser, re-exported

MiB = 1024 * 1024
# Notion says "20 MB" for single-part uploads; the decimal reading is the one both readings accept.
SINGLE_PART_MAX = 20 * 1000 * 1000
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 20 * MiB
DEFAULT_PART_SIZE = 5 * MiB
# The send schema allows part numbers 1..1,000 (create says 10,000): plan for the stricter.
MAX_PARTS = 1000


@dataclass(frozen=True)
class PartPlan:
    """How one file goes up: mode, part size and count (a single part is part 1 of 1)."""

    size: int
    mode: str
    part_size: int
    count: int

    @property
    def multi(self) -> bool:
        """True for a multi_part upload."""
        return self.mode == "multi_part"

    def create_body(self, filename: str, content_type: str) -> dict:
        """The body of the File Upload create request for this plan."""
        body: dict = {"mode": self.mode, "filename": filename, "content_type": content_type}
        if self.multi:
            body["number_of_parts"] = self.count
        return body

    def part_length(self, part_number: int) -> int:
        """Bytes in part `part_number` (1-based); the last part may be shorter."""
        if self.count == 1:
            return self.size
        if part_number < self.count:
            return self.part_size
        return self.size - self.part_size * (self.count - 1)


def check_part_size(part_size: int) -> None:
    """Refuse a --part-size outside Notion's 5–20 MiB."""
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise UsageError(
            f"--part-size must be between 5 MiB and 20 MiB (got {part_size} bytes)",
        )


def plan_parts(size: int, part_size: int = DEFAULT_PART_SIZE) -> PartPlan:
    """Plan the upload of `size` bytes; raises the part size when 1,000 parts would not do."""
    check_part_size(part_size)
    if size < 0:
        raise ValueError("size must not be negative")
    if size <= SINGLE_PART_MAX:
        return PartPlan(size, "single_part", max(size, 0), 1)
    count = math.ceil(size / part_size)
    if count > MAX_PARTS:
        # Round up to a whole MiB so the parts stay tidy.
        part_size = math.ceil(size / MAX_PARTS / MiB) * MiB
        if part_size > MAX_PART_SIZE:
            raise LimitError(
                f"{size} bytes need more than {MAX_PARTS} parts even at 20 MiB each",
                hint="Notion cannot take a single file this large; use --split",
            )
        count = math.ceil(size / part_size)
    return PartPlan(size, "multi_part", part_size, count)
