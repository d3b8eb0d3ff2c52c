"""The one paginator: every walk over a data source reads every row exactly once, at a bounded cost.

Notion ("Query large data sources"): a single query returns at most 10,000 results; past that
"`has_more` comes back `false` and the response carries a `request_status`"
(`{"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}`), so a loop that
trusts `has_more` alone quietly stops at 10,000 rows. The documented way round is
`created_time` windows, each its own query with its own cap. Here every walk is sorted by
`created_time`; when a query ends capped, the next one starts at the minute the last row was
created in (page times are cut to the minute, so no window needs to be smaller than one), and the
rows of that minute already read are dropped by id.

What a reply may cost is bounded too: a cursor that repeats, one far longer than Notion's, an
empty page that says more follows, more pages than a query can have, more rows than a walk may
read, or a whole capped window inside one minute, each end the walk with one clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from notion_up.errors import MalformedReply, QueryTooLarge
from notion_up.notion.limits import QUERY_CAP

# Notion's cursors are ids (36 characters); anything far longer is not one.
MAX_CURSOR = 1024
# More rows than this in one walk is a reply that keeps going, not a file database.
MAX_ROWS = 2_000_000

Query = Callable[[str, dict], dict]


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """What one walk may cost: rows read (duplicates included), cursor length, pages a query."""

    max_rows: int = MAX_ROWS
    max_cursor: int = MAX_CURSOR
    query_cap: int = QUERY_CAP


def read_all(
    query: Query,
    data_source_id: str,
    body: dict,
    *,
    what: str = "query",
    bounds: Bounds | None = None,
) -> Iterator[dict]:
    """Every result of a query, each once, in `created_time` order (newest first by default).

    `body` may hold a `filter`, a `page_size` and a `created_time` sort (its direction is kept);
    any other sort cannot be read past the cap, and is refused.
    """
    bounds = bounds or Bounds()
    walk = _Walk(query, data_source_id, what, bounds)
    descending = _descending(body)
    base = {k: v for k, v in body.items() if k not in ("sorts", "start_cursor")}
    base["sorts"] = [
        {"timestamp": "created_time", "direction": "descending" if descending else "ascending"}
    ]
    window: datetime | None = None
    while True:
        capped = yield from walk.one_query(_windowed(base, window, descending))
        if not capped:
            return
        minute = walk.minute
        if minute is None:
            raise MalformedReply(f"{what}: a capped query's rows carry no created_time")
        if window is not None and minute == window:
            raise QueryTooLarge(
                f"{what}: more than {bounds.query_cap:,} rows were created within one minute "
                f"({minute.isoformat()}); Notion's per-query cap keeps the rest out of reach",
                hint="narrow the query (for example `--name`), or try again later",
            )
        window = minute


def _descending(body: dict) -> bool:
    sorts = body.get("sorts") or []
    if not sorts:
        return True
    if len(sorts) != 1 or sorts[0].get("timestamp") != "created_time":
        raise ValueError("read_all walks in created_time order only")
    return sorts[0].get("direction", "ascending") == "descending"


def _windowed(base: dict, minute: datetime | None, descending: bool) -> dict:
    """`base` limited to rows created in `minute` and before it (after it, ascending)."""
    if minute is None:
        return base
    if descending:
        cond = {"before": _iso(minute + timedelta(minutes=1))}
    else:
        cond = {"on_or_after": _iso(minute)}
    stamp = {"timestamp": "created_time", "created_time": cond}
    found = base.get("filter")
    if not found:
        combined: dict = stamp
    elif set(found) == {"and"} and isinstance(found["and"], list):
        combined = {"and": [*found["and"], stamp]}
    else:
        combined = {"and": [found, stamp]}
    return {**base, "filter": combined}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _minute(created: object) -> datetime | None:
    """A row's `created_time` cut to the minute, or None when it is not a time."""
    if not isinstance(created, str) or len(created) > 40:
        return None
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(second=0, microsecond=0)


class _Walk:
    """The state of one walk: rows read, and the ids of the latest minute's rows (for dedup)."""

    def __init__(self, query: Query, data_source_id: str, what: str, bounds: Bounds) -> None:
        self.query = query
        self.data_source_id = data_source_id
        self.what = what
        self.bounds = bounds
        self.rows = 0
        self.minute: datetime | None = None
        # Only the latest minute's rows can come again (the next window starts there):
        # memory stays at one minute's ids, whatever the size of the database.
        self.in_minute: set[str] = set()

    def one_query(self, body: dict) -> Generator[dict, None, bool]:
        """Yield one query's new rows, page after page; returns True when it was capped."""
        cursors: set[str] = set()
        capped = False
        pages = 0
        while True:
            found = self.query(self.data_source_id, body)
            pages += 1
            capped = capped or _incomplete(found, self.what)
            results = found.get("results") or []
            self.rows += len(results)
            if self.rows > self.bounds.max_rows:
                raise QueryTooLarge(
                    f"{self.what}: more than {self.bounds.max_rows:,} rows; refused",
                    hint="check the database id; a file database is not this large",
                )
            for row in results:
                if self._new(row):
                    yield row
            cursor = found.get("next_cursor")
            if not found.get("has_more") or not cursor:
                return capped
            self._check_cursor(cursor, cursors, results, pages)
            cursors.add(cursor)
            body = {**body, "start_cursor": cursor}

    def _new(self, row: dict) -> bool:
        row_id = row.get("id")
        minute = _minute(row.get("created_time"))
        if minute is None:
            return True  # not a page Notion made; the parsers downstream refuse it
        if self.minute is not None and minute != self.minute:
            self.in_minute = set()
        self.minute = minute
        if isinstance(row_id, str):
            if row_id in self.in_minute:
                return False
            self.in_minute.add(row_id)
        return True

    def _check_cursor(self, cursor: object, seen: set[str], results: list, pages: int) -> None:
        what = self.what
        if not isinstance(cursor, str) or len(cursor) > self.bounds.max_cursor:
            raise MalformedReply(f"{what}: Notion answered a cursor that is not one")
        if cursor in seen:
            raise MalformedReply(f"{what}: Notion answered the same cursor twice")
        if not results:
            raise MalformedReply(f"{what}: Notion answered an empty page that says more follow")
        if pages > self.bounds.query_cap:
            raise MalformedReply(f"{what}: more pages than one query can have")


def _incomplete(found: dict, what: str) -> bool:
    """True when this page says its query stopped short (the 10,000-result cap)."""
    status = found.get("request_status")
    if status is None:
        return False
    if not isinstance(status, dict):
        raise MalformedReply(f"{what}: 'request_status' is not an object")
    return status.get("type") == "incomplete"
