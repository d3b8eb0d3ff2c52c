"""The part plan at Notion's boundaries, size parsing and the --part-size range."""

from __future__ import annotations

import pytest

from notion_up.errors import LimitError, UsageError
from notion_up.units import parse_size
from notion_up.upload.parts import (
    DEFAULT_PART_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    SINGLE_PART_MAX,
    Pushed,
    auto_part_size,
    check_part_size,
    plan_parts,
)

MiB = 1024 * 1024
MB = 1000 * 1000


def lengths(plan) -> list[int]:
    return [plan.part_length(n) for n in range(1, plan.count + 1)]


def test_limits_are_notions_numbers():
    assert SINGLE_PART_MAX == 20_000_000
    assert MIN_PART_SIZE == 5 * MiB == 5_242_880
    assert MAX_PART_SIZE == 20 * MiB
    assert MAX_PARTS == 1000


@pytest.mark.parametrize(
    "size",
    [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 20 * MB],
    ids=["0B", "1B", "5MiB-1", "5MiB", "5MiB+1", "20MB"],
)
def test_up_to_20_mb_is_one_single_part_holding_every_byte(size):
    plan = plan_parts(size)
    assert plan.mode == "single_part"
    assert not plan.multi
    assert plan.count == 1
    assert plan.size == size
    assert plan.part_length(1) == size


def test_one_byte_over_20_mb_goes_multi_part_in_5_mib_parts():
    size = 20 * MB + 1
    plan = plan_parts(size)
    assert plan.mode == "multi_part"
    assert plan.multi
    assert plan.part_size == 5 * MiB
    assert plan.count == 4  # 3 x 5 MiB = 15.7 MB, so a fourth, shorter part
    assert lengths(plan) == [5 * MiB, 5 * MiB, 5 * MiB, size - 3 * 5 * MiB]
    assert sum(lengths(plan)) == size


def test_exact_multiple_of_the_part_size_has_a_full_last_part():
    size = 6 * 5 * MiB
    plan = plan_parts(size)
    assert plan.count == 6
    assert lengths(plan) == [5 * MiB] * 6


def test_a_larger_part_size_is_used_as_given():
    size = 100 * MiB + 3
    plan = plan_parts(size, part_size=10 * MiB)
    assert plan.part_size == 10 * MiB
    assert plan.count == 11
    assert lengths(plan)[-1] == 3
    assert sum(lengths(plan)) == size


def test_1000_parts_of_5_mib_still_fit_without_raising_the_part_size():
    size = MAX_PARTS * 5 * MiB
    plan = plan_parts(size)
    assert (plan.part_size, plan.count) == (5 * MiB, 1000)


def test_more_than_1000_parts_raises_the_part_size_to_a_whole_mib():
    size = MAX_PARTS * 5 * MiB + 1
    plan = plan_parts(size)
    assert plan.mode == "multi_part"
    assert plan.part_size == 6 * MiB
    assert plan.part_size % MiB == 0
    assert MIN_PART_SIZE <= plan.part_size <= MAX_PART_SIZE
    assert plan.count <= MAX_PARTS
    parts = lengths(plan)
    assert sum(parts) == size
    assert all(p == plan.part_size for p in parts[:-1])
    assert 0 < parts[-1] <= plan.part_size


def test_5_gib_fits_with_a_raised_part_size():
    size = 5 * 1024 * MiB
    plan = plan_parts(size)
    assert plan.count <= MAX_PARTS
    assert plan.part_size <= MAX_PART_SIZE
    assert sum(lengths(plan)) == size


def test_exactly_1000_parts_of_20_mib_is_the_largest_plan():
    size = MAX_PARTS * MAX_PART_SIZE
    plan = plan_parts(size)
    assert (plan.part_size, plan.count) == (MAX_PART_SIZE, MAX_PARTS)
    assert sum(lengths(plan)) == size


def test_one_byte_more_than_1000_parts_of_20_mib_is_refused_with_a_limit_error():
    with pytest.raises(LimitError) as caught:
        plan_parts(MAX_PARTS * MAX_PART_SIZE + 1)
    assert int(caught.value.exit_status) == 6
    assert "1000 parts" in str(caught.value)


def test_negative_size_is_refused():
    with pytest.raises(ValueError):
        plan_parts(-1)


@pytest.mark.parametrize(
    "size,part_size",
    [(20 * MB + 1, 5 * MiB), (123_456_789, 7 * MiB), (987_654_321, 20 * MiB), (21 * MiB, 20 * MiB)],
)
def test_part_lengths_always_sum_to_the_size(size, part_size):
    plan = plan_parts(size, part_size)
    parts = lengths(plan)
    assert sum(parts) == size
    assert all(p == plan.part_size for p in parts[:-1])
    assert 0 < parts[-1] <= plan.part_size


@pytest.mark.parametrize("part_size", [5 * MiB - 1, 20 * MiB + 1, 0, 5 * MB])
def test_plan_refuses_a_part_size_outside_5_to_20_mib(part_size):
    with pytest.raises(UsageError):
        plan_parts(30 * MB, part_size)


@pytest.mark.parametrize("part_size", [5 * MiB, 10 * MiB, 20 * MiB])
def test_check_part_size_accepts_5_to_20_mib(part_size):
    check_part_size(part_size)


@pytest.mark.parametrize("part_size", [5 * MiB - 1, 20 * MiB + 1, 5 * MB, -1])
def test_check_part_size_refuses_outside_the_range_as_a_usage_error(part_size):
    with pytest.raises(UsageError) as caught:
        check_part_size(part_size)
    assert int(caught.value.exit_status) == 2


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1048576", 1048576),
        ("0", 0),
        ("5MiB", 5 * MiB),
        ("5mib", 5 * MiB),
        ("5 MiB", 5 * MiB),
        (" 20MB ", 20_000_000),
        ("20M", 20_000_000),
        ("1.5MiB", 1_572_864),
        ("2KiB", 2048),
        ("2kb", 2000),
        ("1GiB", 1024**3),
        ("1G", 10**9),
        ("7b", 7),
    ],
)
def test_parse_size_reads_bytes_and_decimal_and_binary_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "MiB", "abc", "5XB", "5 mebibytes", "1.2.3MB", "nan", "inf"])
def test_parse_size_refuses_garbage_as_a_usage_error(text):
    with pytest.raises(UsageError) as caught:
        parse_size(text)
    assert int(caught.value.exit_status) == 2


def test_parse_size_refuses_an_overflowing_number_as_a_usage_error():
    with pytest.raises(UsageError):
        parse_size("1e400")


def test_parse_size_refuses_a_negative_size():
    with pytest.raises(UsageError):
        parse_size("-5MiB")


# -- --part-size auto ---------------------------------------------------------------------------
def auto(history: list[Pushed], size: int | None = None, rate: float = 3.0, workers: int = 4):
    return auto_part_size(rate=rate, workers=workers, history=history, size=size)


def test_auto_without_history_or_without_a_budget_keeps_the_default():
    assert auto([]).part_size == DEFAULT_PART_SIZE
    assert "has finished yet" in auto([]).reason
    fast = [Pushed(size=300 * MiB, seconds=1.0, part_size=5 * MiB)]
    assert auto(fast, rate=0).part_size == DEFAULT_PART_SIZE


def test_auto_on_a_link_slower_than_the_budget_keeps_small_parts():
    # 8 MiB/s with 5 MiB parts: 1.6 parts/s, under 3/s; 1.25 × 8 / 3 = 3.3 MiB → the minimum.
    slow = [Pushed(size=400 * MiB, seconds=50.0, part_size=5 * MiB)]
    choice = auto(slow)
    assert choice.part_size == MIN_PART_SIZE
    assert "8.0 MiB/s" in choice.reason and "held back" not in choice.reason


def test_auto_sizes_parts_so_the_budget_carries_the_link_with_room():
    # 24 MiB/s with 20 MiB parts is not budget-bound (1.2 parts/s): 1.25 × 24 / 3 = 10 MiB.
    seen = [Pushed(size=480 * MiB, seconds=20.0, part_size=20 * MiB)]
    assert auto(seen).part_size == 10 * MiB
    assert auto(seen, rate=10.0).part_size == MIN_PART_SIZE  # Business plans: 600 a minute


def test_a_push_held_back_by_the_budget_counts_as_a_faster_link():
    # 300 MiB in 22 s with 5 MiB parts: 64 requests at 3/s is 21.3 s, the budget's pace.
    held = [Pushed(size=300 * MiB, seconds=22.0, part_size=5 * MiB)]
    choice = auto(held)
    # Seen 13.6 MiB/s; counted 27.3: 1.25 × 27.3 / 3 = 11.4 → 12 MiB.
    assert choice.part_size == 12 * MiB
    assert "held back by the request budget" in choice.reason
    # Run after run it climbs to the largest part while the budget still holds it back.
    nxt = [Pushed(size=300 * MiB, seconds=29 / 3.0, part_size=12 * MiB), *held]
    assert auto(nxt).part_size == MAX_PART_SIZE


def test_auto_judges_by_the_median_of_recent_pushes():
    one_off = Pushed(size=400 * MiB, seconds=1.0, part_size=20 * MiB)  # a lucky moment
    usual = Pushed(size=400 * MiB, seconds=50.0, part_size=5 * MiB)
    assert auto([one_off, usual, usual]).part_size == MIN_PART_SIZE


def test_auto_per_file_fills_every_worker_evenly_and_never_exceeds_the_runs_choice():
    fast = [Pushed(size=1000 * MiB, seconds=2.0, part_size=20 * MiB)]
    assert auto(fast).part_size == MAX_PART_SIZE
    # 60 MiB at up to 20 MiB over 4 workers: one round of 15 MiB, not 20+20+20 with one idle.
    assert auto(fast, size=60 * MiB).part_size == 15 * MiB
    # 300 MiB: 4 rounds of 4 parts of 18.75 MiB (16 parts) rather than 15 parts of 20 MiB.
    assert auto(fast, size=300 * MiB).part_size == 18 * MiB + 768 * 1024
    assert auto(fast, size=25 * MiB).part_size == 6 * MiB + 256 * 1024  # one round of 4
    # Where the run's choice is 13 MiB, 60 MiB goes in 2 rounds: 8 parts of 7.5 MiB.
    seen = [Pushed(size=60 * MiB, seconds=4.0, part_size=5 * MiB)]
    assert auto(seen).part_size == 13 * MiB
    assert auto(seen, size=60 * MiB).part_size == 7 * MiB + 512 * 1024
    for size in (21 * MB, 50 * MiB, 333 * MiB, 5 * 1024 * MiB):
        part = auto(fast, size=size).part_size
        assert MIN_PART_SIZE <= part <= MAX_PART_SIZE and part % (64 * 1024) == 0
        assert plan_parts(size, part).count <= MAX_PARTS


def test_auto_per_file_keeps_the_thousand_part_rule():
    slow = [Pushed(size=400 * MiB, seconds=50.0, part_size=5 * MiB)]
    size = 15 * 1024 * MiB  # 15 GiB: 5 MiB parts would be 3,072
    part = auto(slow, size=size).part_size
    assert part == 16 * MiB and plan_parts(size, part).count <= MAX_PARTS
