"""The part plan: how a file of a given size is cut to fit Notion's File Upload limits."""

from __future__ import annotations

import math
from dataclasses import dataclass

from notion_up.errors import LimitError, UsageError
from notion_up.notion.limits import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    SINGLE_PART_MAX,
    part_size_fits,
)
from notion_up.units import MiB

DEFAULT_PART_SIZE = MIN_PART_SIZE


@dataclass(frozen=True, kw_only=True)
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
    if not part_size_fits(part_size):
        raise UsageError(
            f"--part-size must be between 5 MiB and 20 MiB (got {part_size} bytes)",
        )


def plan_parts(size: int, part_size: int = DEFAULT_PART_SIZE) -> PartPlan:
    """Plan the upload of `size` bytes; raises the part size when 1,000 parts would not do."""
    check_part_size(part_size)
    if size < 0:
        raise ValueError("size must not be negative")
    if size <= SINGLE_PART_MAX:
        return PartPlan(size=size, mode="single_part", part_size=max(size, 0), count=1)
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
    return PartPlan(size=size, mode="multi_part", part_size=part_size, count=count)


# -- --part-size auto --------------------------------------------------------------------------
# Requests a multi-part file makes besides its parts: create, complete, file page, index entry.
OVERHEAD_REQUESTS = 4
# Room above the link's speed the budget should leave, so neither is at its limit.
HEADROOM = 1.25
# How many recent pushes the link is judged by.
RECENT = 5
# What a file's part size is rounded up to when it is cut to fill the workers evenly.
EVEN_STEP = 64 * 1024


@dataclass(frozen=True)
class Pushed:
    """One finished multi-part push, as the journal has it: what `auto` learns the link from."""

    size: int
    seconds: float
    part_size: int


@dataclass(frozen=True)
class PartChoice:
    """The part size `--part-size auto` picked, and why (for --dry-run and -v)."""

    part_size: int
    reason: str


def link_speed(history: list[Pushed], rate: float) -> tuple[float, bool] | None:
    """Bytes/s the link is judged to carry from recent pushes (median), and whether the
    request budget held those pushes back (then the link may be faster: twice is assumed,
    the next run measures again). None without history."""
    judged: list[tuple[float, bool]] = []
    for push in history[:RECENT]:
        if push.seconds <= 0 or push.part_size <= 0:
            continue
        speed = push.size / push.seconds
        requests = math.ceil(push.size / push.part_size) + OVERHEAD_REQUESTS
        # As fast as (or near) `rate` requests a second would allow: the budget was the limit.
        held = push.seconds <= HEADROOM * requests / rate
        judged.append((2 * speed if held else speed, held))
    if not judged:
        return None
    judged.sort()
    return judged[len(judged) // 2]


def auto_part_size(
    *, rate: float, workers: int, history: list[Pushed], size: int | None = None
) -> PartChoice:
    """The part size that keeps the request budget (`rate`/s) from being the bottleneck at the
    link speed recent pushes achieved; 5–20 MiB (whole MiB for the run, 64 KiB steps per file).

    With `size`, for that file: no larger than the run's choice, cut so its parts fill the
    `workers` evenly (a last round with one worker busy wastes the others), and never more than
    1,000 parts. A pure function: the journal's history and the settings in, a choice out.
    """
    if rate <= 0:
        choice = PartChoice(DEFAULT_PART_SIZE, "no request budget to spare (--rate 0)")
    else:
        judged = link_speed(history, rate)
        if judged is None:
            choice = PartChoice(
                DEFAULT_PART_SIZE, "no multi-part push to this workspace has finished yet"
            )
        else:
            speed, held = judged
            need = HEADROOM * speed / rate
            best = min(MAX_PART_SIZE, max(MIN_PART_SIZE, math.ceil(need / MiB) * MiB))
            seen = f"recent pushes ran at {speed / (2 if held else 1) / MiB:.1f} MiB/s"
            if held:
                seen += " (held back by the request budget: counted as twice that)"
            choice = PartChoice(
                best,
                f"{seen}; at {rate:g} requests/s that needs parts of {need / MiB:.1f} MiB",
            )
    if size is None or size <= SINGLE_PART_MAX:
        return choice
    workers = max(1, workers)
    rounds = math.ceil(size / (workers * choice.part_size))
    # Not whole MiB here: 60 MiB over 4 workers in 2 rounds is 8 parts of 7.5 MiB; 8 MiB parts
    # would leave a short last round (and a 4 MiB last part) on a link that caps connections.
    even = math.ceil(size / (workers * rounds) / EVEN_STEP) * EVEN_STEP
    part = max(MIN_PART_SIZE, min(choice.part_size, even), math.ceil(size / MAX_PARTS / MiB) * MiB)
    return PartChoice(part, choice.reason)
