"""The one paginator: every row past Notion's per-query cap, each once, at a bounded cost."""

from __future__ import annotations

import pytest

from notion_up.errors import ExitStatus, MalformedReply, QueryTooLarge
from notion_up.notion.paging import Bounds, read_all

CAP = 50  # the sandbox's cap lowered for speed; the 10,000 one is in test_big_database.py


@pytest.fixture
def capped(sandbox, planter):
    """The sandbox capping queries at CAP results, and a function planting rows."""
    sandbox.server.options.query_result_limit = CAP
    return sandbox


def _query(sandbox, log: list[dict] | None = None):
    def query(ds: str, body: dict) -> dict:
        if log is not None:
            log.append(body)
        return sandbox.server.query_data_source(ds, body)

    return query


def _trusting_has_more(sandbox, ds: str) -> tuple[list[dict], dict]:
    """What a loop that follows next_cursor until has_more is false gets."""
    body: dict = {"page_size": 10}
    rows = []
    while True:
        found = sandbox.server.query_data_source(ds, body)
        rows += found["results"]
        if not found["has_more"]:
            return rows, found
        body = {**body, "start_cursor": found["next_cursor"]}


def test_the_sandbox_caps_a_query_and_says_so_on_every_page(capped, planter):
    planter.plant([planter.row(f"f{i}") for i in range(CAP + 7)], per_minute=10)
    body: dict = {"page_size": 20}
    statuses = []
    while True:
        found = capped.server.query_data_source(capped.files_data_source_id, body)
        statuses.append(found.get("request_status"))
        if not found["has_more"]:
            break
        body = {**body, "start_cursor": found["next_cursor"]}
    assert len(statuses) == 3
    assert (
        statuses == [{"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}] * 3
    )
    rows, _ = _trusting_has_more(capped, capped.files_data_source_id)
    assert len(rows) == CAP


def test_a_query_under_the_cap_carries_no_request_status(capped, planter):
    planter.plant([planter.row(f"f{i}") for i in range(CAP)])
    found = capped.server.query_data_source(capped.files_data_source_id, {})
    assert "request_status" not in found and len(found["results"]) == CAP


def test_every_row_past_the_cap_is_read_once_newest_first(capped, planter):
    ids = planter.plant([planter.row(f"f{i}") for i in range(5 * CAP + 13)], per_minute=7)
    log: list[dict] = []
    rows = list(read_all(_query(capped, log), capped.files_data_source_id, {"page_size": 10}))
    got = [r["id"] for r in rows]
    assert len(got) == len(set(got)) == len(ids)
    assert set(got) == set(ids)
    times = [r["created_time"] for r in rows]
    assert times == sorted(times, reverse=True)
    windows = [b["filter"] for b in log if "filter" in b and "start_cursor" not in b]
    assert windows and all("before" in w["created_time"] for w in windows)


def test_a_walk_oldest_first_keeps_its_filter_in_every_window(capped, planter):
    rows = [planter.row(f"f{i}", visible=i % 3 != 0) for i in range(4 * CAP)]
    ids = planter.plant(rows, per_minute=9)
    visible = {i for i, r in zip(ids, rows, strict=True) if r["is_visible"]["checkbox"]}
    body = {
        "filter": {"property": "is_visible", "checkbox": {"equals": True}},
        "sorts": [{"timestamp": "created_time", "direction": "ascending"}],
    }
    log: list[dict] = []
    found = list(read_all(_query(capped, log), capped.files_data_source_id, body))
    assert [r["id"] for r in found] == [i for i in ids if i in visible]
    windowed = [b["filter"] for b in log if "and" in b.get("filter", {})]
    assert windowed
    assert all(f["and"][0] == body["filter"] for f in windowed)
    assert all("on_or_after" in f["and"][1]["created_time"] for f in windowed)


def test_more_rows_in_one_minute_than_the_cap_is_a_clear_error(capped, planter):
    planter.plant([planter.row(f"f{i}") for i in range(CAP + 1)], per_minute=CAP + 1)
    walk = read_all(_query(capped), capped.files_data_source_id, {}, bounds=Bounds(query_cap=CAP))
    with pytest.raises(QueryTooLarge, match="within one minute") as caught:
        list(walk)
    assert caught.value.exit_status == ExitStatus.TEMPORARY


def _replies(*pages: dict):
    calls = []

    def query(ds: str, body: dict) -> dict:
        calls.append(body)
        return pages[min(len(calls), len(pages)) - 1]

    return query, calls


ROW = {"id": "r1", "created_time": "2026-01-01T00:00:00.000Z"}


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([{"results": [ROW], "has_more": True, "next_cursor": "c" * 5000}], "not one"),
        ([{"results": [], "has_more": True, "next_cursor": "c1"}], "empty page"),
        (
            [
                {"results": [ROW], "has_more": True, "next_cursor": "c1"},
                {"results": [ROW], "has_more": True, "next_cursor": "c2"},
                {"results": [ROW], "has_more": True, "next_cursor": "c1"},
            ],
            "same cursor",
        ),
        ([{"results": [ROW], "request_status": "incomplete"}], "request_status"),
        ([{"results": [{"id": "r"}], "request_status": {"type": "incomplete"}}], "created_time"),
    ],
    ids=[
        "oversized-cursor",
        "empty-page-with-more",
        "cursor-cycle",
        "status-not-object",
        "no-time",
    ],
)
def test_a_hostile_reply_ends_the_walk_with_one_clear_error(pages, message):
    query, calls = _replies(*pages)
    with pytest.raises(MalformedReply, match=message) as caught:
        list(read_all(query, "ds", {}))
    assert caught.value.exit_status == ExitStatus.TEMPORARY
    assert len(calls) <= len(pages)


def test_cursors_that_keep_changing_stop_at_the_row_bound():
    count = 0

    def query(ds: str, body: dict) -> dict:
        nonlocal count
        count += 1
        rows = [{"id": f"r{count}-{i}", "created_time": "2026-01-01T00:00:00Z"} for i in range(10)]
        return {"results": rows, "has_more": True, "next_cursor": f"c{count}"}

    with pytest.raises(QueryTooLarge, match="more than 1,000 rows"):
        list(read_all(query, "ds", {}, bounds=Bounds(max_rows=1000)))
    assert count == 101


def test_pages_past_what_one_query_can_hold_stop():
    count = 0

    def query(ds: str, body: dict) -> dict:
        nonlocal count
        count += 1
        row = {"id": f"r{count}", "created_time": "2026-01-01T00:00:00Z"}
        return {"results": [row], "has_more": True, "next_cursor": f"c{count}"}

    with pytest.raises(MalformedReply, match="more pages"):
        list(read_all(query, "ds", {}, bounds=Bounds(query_cap=30)))
    assert count == 31


def test_a_sort_the_windows_cannot_follow_is_refused():
    query, _ = _replies({"results": []})
    with pytest.raises(ValueError, match="created_time"):
        list(read_all(query, "ds", {"sorts": [{"property": "filesize"}]}))


def test_paced_pages_take_a_minute_each_at_one_a_minute(sandbox):
    from notion_up.notion.client import NotionClient
    from notion_up.notion.retry import RateLimiter

    sandbox.server.options.page_pace = 1.0
    client = NotionClient(sandbox.token, sandbox.url, limiter=RateLimiter(rate=0))
    parent = {"type": "data_source_id", "data_source_id": sandbox.files_data_source_id}
    made = [client.create_page({"parent": parent, "properties": {}}) for _ in range(3)]
    minutes = [_minute_of(p["created_time"]) for p in made]
    assert [b - a for a, b in zip(minutes, minutes[1:], strict=False)] == [60.0, 60.0]


def _minute_of(created: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
