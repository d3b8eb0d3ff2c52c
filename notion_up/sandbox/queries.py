"""Data source queries: filters, sorts, the 10,000-result cap, and the cursors shared with the
upload list.

Notion ("Query large data sources"): "A single data source query returns at most 10,000
results ... once one reaches the limit, pagination stops. `has_more` comes back `false` and the
response carries a `request_status`." The documented way round it is `created_time` windows, so
timestamp filters are served too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .databases import find_prop
from .errors import MISSING, bad, invalid
from .store import Store
from .values import norm_id, plain, to_minute


class Queries:
    """`POST /v1/data_sources/{id}/query`; `render` turns a stored page into its JSON."""

    def __init__(
        self, store: Store, render: Callable[[dict], dict], cap: Callable[[], int] = lambda: CAP
    ) -> None:
        self._store = store
        self._lock = store.lock
        self._render = render
        self._cap = cap

    def query(self, ds_id: str, body: dict) -> dict:
        page_size = parse_page_size(body.get("page_size"), "body.page_size")
        cursor = body.get("start_cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise bad("body.start_cursor", "should be a string", cursor)
        with self._lock:
            ds = self._store.data_source(ds_id)
            schema = ds["properties"]
            predicate = (
                self.compile_filter(body["filter"], schema, "body.filter")
                if body.get("filter")
                else None
            )
            sorts = body.get("sorts") or []
            if not isinstance(sorts, list):
                raise bad("body.sorts", "should be an array", sorts)
            pages = [self._store.objects["page"][i] for i in self._store.ds_pages.get(ds_id, [])]
            pages = [p for p in pages if not p["in_trash"]]
            if predicate is not None:
                pages = [p for p in pages if predicate(p)]
            pages.sort(key=lambda p: -p["seq"])  # default: newest first (UNCONFIRMED)
            for i, spec in reversed(list(enumerate(sorts))):
                key, reverse = self.sort_key(spec, schema, f"body.sorts[{i}]")
                pages.sort(key=key, reverse=reverse)
            capped = len(pages) > self._cap()
            results, next_cursor = paginate(pages[: self._cap()], cursor, page_size)
            rendered = [self._render(p) for p in results]
        reply: dict[str, Any] = {
            "object": "list",
            "results": rendered,
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }
        if capped:
            # On every page of a capped query, not only the last ("check every response page").
            reply["request_status"] = dict(INCOMPLETE)
        return reply

    def sort_key(self, spec: object, schema: dict, path: str):
        if not isinstance(spec, dict):
            raise bad(path, "should be an object", spec)
        direction = spec.get("direction", "ascending")
        if direction not in ("ascending", "descending"):
            raise bad(f"{path}.direction", 'should be "ascending" or "descending"', direction)
        reverse = direction == "descending"
        if "timestamp" in spec:
            ts = spec["timestamp"]
            if ts not in ("created_time", "last_edited_time"):
                raise bad(f"{path}.timestamp", 'should be "created_time" or "last_edited_time"', ts)
            field_ = "created" if ts == "created_time" else "edited"
            # Notion's page times are whole minutes: within one, the order is that of creation.
            return (lambda p: (to_minute(p[field_]), p["seq"])), reverse
        if "property" in spec:
            prop = find_prop(schema, str(spec["property"]))
            if prop is None:
                raise invalid(f"Could not find sort property with name or id: {spec['property']}")
            name, kind = prop["name"], prop["type"]

            def key(p: dict):
                v = p["properties"].get(name)
                if kind in ("title", "rich_text"):
                    return (0, plain(v))
                if kind == "number":
                    return (0, v) if v is not None else (1, 0)
                if kind == "checkbox":
                    return (0, bool(v))
                if kind == "select":
                    return (0, v["name"]) if v else (1, "")
                return (0, str(v) if v is not None else "")

            return key, reverse
        raise bad(f"{path}.property", "should be defined", MISSING)

    def compile_filter(self, spec: object, schema: dict, path: str) -> Callable[[dict], bool]:
        if not isinstance(spec, dict):
            raise bad(path, "should be an object", spec)
        for combinator in ("and", "or"):
            if combinator in spec:
                subs = spec[combinator]
                if not isinstance(subs, list):
                    raise bad(f"{path}.{combinator}", "should be an array", subs)
                preds = [
                    self.compile_filter(s, schema, f"{path}.{combinator}[{i}]")
                    for i, s in enumerate(subs)
                ]
                if combinator == "and":
                    return lambda p: all(f(p) for f in preds)
                return lambda p: any(f(p) for f in preds)
        if "timestamp" in spec:
            return timestamp_filter(spec, path)
        if "property" not in spec:
            raise bad(
                path, "should be a property filter, a timestamp filter or a compound filter", spec
            )
        prop = find_prop(schema, str(spec["property"]))
        if prop is None:
            raise invalid(f"Could not find property with name or id: {spec['property']}")
        kinds = [k for k in spec if k not in ("property", "type")]
        if len(kinds) != 1:
            raise bad(path, "should have exactly one filter condition", spec)
        ftype = kinds[0]
        ptype = prop["type"]
        text_kinds = ("title", "rich_text", "url", "email", "phone_number")
        compatible = ftype == ptype or (ftype in ("title", "rich_text") and ptype in text_kinds)
        if not compatible:
            # UNCONFIRMED wording
            raise invalid(f"database property {ptype} does not match filter {ftype}")
        cond = spec[ftype]
        p = f"{path}.{ftype}"
        if not isinstance(cond, dict) or len(cond) != 1:
            raise bad(p, "should be an object with one condition", cond)
        op, operand = next(iter(cond.items()))
        name = prop["name"]

        def get(page: dict):
            return page["properties"].get(name)

        if ptype in text_kinds:

            def text(page: dict) -> str:
                v = get(page)
                return plain(v) if ptype in ("title", "rich_text") else (v or "")

            if op in ("is_empty", "is_not_empty"):
                want = op == "is_empty"
                return lambda page: (text(page) == "") == want
            if not isinstance(operand, str):
                raise bad(f"{p}.{op}", "should be a string", operand)
            ops = {
                "equals": lambda s: s == operand,
                "does_not_equal": lambda s: s != operand,
                "contains": lambda s: operand.lower() in s.lower(),
                "does_not_contain": lambda s: operand.lower() not in s.lower(),
                "starts_with": lambda s: s.startswith(operand),
                "ends_with": lambda s: s.endswith(operand),
            }
            if op not in ops:
                raise bad(f"{p}", f"should use one of {', '.join(ops)}", cond)
            test = ops[op]
            return lambda page: test(text(page))
        if ptype == "number":
            if op in ("is_empty", "is_not_empty"):
                want = op == "is_empty"
                return lambda page: (get(page) is None) == want
            if not isinstance(operand, int | float) or isinstance(operand, bool):
                raise bad(f"{p}.{op}", "should be a number", operand)
            nops: dict[str, Callable[[float], bool]] = {
                "equals": lambda v: v == operand,
                "does_not_equal": lambda v: v != operand,
                "greater_than": lambda v: v > operand,
                "less_than": lambda v: v < operand,
                "greater_than_or_equal_to": lambda v: v >= operand,
                "less_than_or_equal_to": lambda v: v <= operand,
            }
            if op not in nops:
                raise bad(p, f"should use one of {', '.join(nops)}", cond)
            ntest = nops[op]
            return lambda page: get(page) is not None and ntest(get(page))
        if ptype == "checkbox":
            if op not in ("equals", "does_not_equal") or not isinstance(operand, bool):
                raise bad(f"{p}.{op}", "should be a boolean", operand)
            want_bool = operand if op == "equals" else not operand
            return lambda page: bool(get(page)) == want_bool
        if ptype in ("files", "multi_select"):
            if op in ("is_empty", "is_not_empty"):
                want = op == "is_empty"
                return lambda page: (not get(page)) == want
        if ptype == "select" and op == "equals" and isinstance(operand, str):
            return lambda page: bool(get(page)) and get(page)["name"] == operand
        raise invalid(f"Filters on {ptype} properties with `{op}` are not supported here.")


# Notion's per-query limit, and the status every page of a query that reached it carries.
CAP = 10_000
INCOMPLETE = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}
_TIME_OPS: dict[str, Callable[[float, float], bool]] = {
    "equals": lambda v, t: v == t,
    "before": lambda v, t: v < t,
    "after": lambda v, t: v > t,
    "on_or_before": lambda v, t: v <= t,
    "on_or_after": lambda v, t: v >= t,
}


def timestamp_filter(spec: dict, path: str) -> Callable[[dict], bool]:
    """`{"timestamp": "created_time", "created_time": {"on_or_after": ISO}}` and the like.

    Compared with the page's time as Notion gives it: cut to the minute.
    """
    ts = spec["timestamp"]
    if ts not in ("created_time", "last_edited_time"):
        raise bad(f"{path}.timestamp", 'should be "created_time" or "last_edited_time"', ts)
    cond = spec.get(ts)
    if not isinstance(cond, dict) or len(cond) != 1:
        raise bad(f"{path}.{ts}", "should be an object with one condition", cond or MISSING)
    op, operand = next(iter(cond.items()))
    if op not in _TIME_OPS:
        raise bad(f"{path}.{ts}", f"should use one of {', '.join(_TIME_OPS)}", cond)
    try:
        when = datetime.fromisoformat(str(operand).replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"{path}.{ts}.{op}", "should be a valid ISO 8601 date string", operand) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # a time without a zone is read as UTC
    limit, test = when.timestamp(), _TIME_OPS[op]
    field_ = "created" if ts == "created_time" else "edited"
    return lambda page: test(to_minute(page[field_]), limit)


def parse_page_size(raw: object, path: str) -> int:
    if raw is None or raw == "":
        return 100
    value = raw
    if isinstance(raw, str):
        try:
            value = int(raw)
        except ValueError:
            raise bad(path, "should be a number", raw) from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad(path, "should be a number", raw)
    prefix = "query" if path.startswith("query") else "body"
    if value < 1:
        raise invalid(f"{prefix} failed validation: {path} should be ≥ `1`, instead was `{value}`.")
    if value > 100:
        raise invalid(
            f"{prefix} failed validation: {path} should be ≤ `100`, instead was `{value}`."
        )
    return value


def paginate(items: list[dict], cursor: str | None, page_size: int) -> tuple[list, str | None]:
    start = 0
    if cursor:
        wanted = norm_id(cursor)
        for i, item in enumerate(items):
            if item["id"] == wanted:
                start = i
                break
        else:  # UNCONFIRMED wording
            raise invalid(f"The start_cursor provided is invalid: {cursor}")
    page = items[start : start + page_size]
    following = items[start + page_size : start + page_size + 1]
    return page, (following[0]["id"] if following else None)
