"""Values as Notion writes them: ids, timestamps, rich text, icons, select options."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from urllib.parse import unquote

from .errors import MISSING, bad, invalid
from .limits import MAX_ARRAY, MAX_TEXT

ANNOTATIONS = {
    "bold": False,
    "italic": False,
    "strikethrough": False,
    "underline": False,
    "code": False,
    "color": "default",
}


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_minute(ts: float) -> float:
    """`ts` cut to the whole minute, as Notion stores file uploads' times."""
    return ts - ts % 60


def iso_time_db(ts: float) -> str:
    # databases carry "+00:00" timestamps in the recordings, pages and uploads "Z"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def norm_id(raw: object) -> str | None:
    """The dashed form of a uuid (dashes optional), or None when `raw` is not one.

    As Notion checks (recorded): 32 hex digits whose variant digit (the 17th) is 8, 9, a or b
    (RFC 4122); the all-zero uuid is accepted too (and then not found).
    """
    if not isinstance(raw, str):
        return None
    s = raw.replace("-", "").lower()
    if len(s) != 32 or not all(c in "0123456789abcdef" for c in s):
        return None
    if s[16] not in "89ab" and s != "0" * 32:
        return None
    return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}"


def path_id(raw: str, what: str) -> str:
    found = norm_id(unquote(raw))
    if found is None:
        raise invalid(
            f"path failed validation: path.{what}_id should be a valid uuid, "
            f'instead was `"{unquote(raw)}"`.'
        )
    return found


def plain(items: list[dict] | None) -> str:
    return "".join(item["content"] for item in items or [])


def slugify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60]


def text_value(text: str) -> list[dict]:
    return [{"content": text, "link": None, "annotations": dict(ANNOTATIONS)}]


def rich_text_in(value: object, path: str) -> list[dict]:
    if not isinstance(value, list):
        raise bad(path, "should be an array", value)
    if len(value) > MAX_ARRAY:
        raise bad(f"{path}.length", f"should be ≤ `{MAX_ARRAY}`", len(value))
    out = []
    for i, item in enumerate(value):
        p = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise bad(p, "should be an object", item)
        kind = item.get("type", "text")
        if kind != "text":
            raise invalid(
                f"body failed validation: {p}.type `{kind}` is not supported by the local "
                "server (only `text`)."
            )
        text = item.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("content"), str):
            raise bad(f"{p}.text.content", "should be a string", text if text else MISSING)
        content = text["content"]
        if len(content) > MAX_TEXT:
            raise bad(f"{p}.text.content.length", f"should be ≤ `{MAX_TEXT}`", len(content))
        link = text.get("link")
        url = link.get("url") if isinstance(link, dict) else None
        annotations = dict(ANNOTATIONS)
        given = item.get("annotations")
        if isinstance(given, dict):
            for key in annotations:
                if key in given:
                    annotations[key] = given[key]
        out.append({"content": content, "link": url, "annotations": annotations})
    return out


def rich_text_out(items: list[dict]) -> list[dict]:
    return [
        {
            "type": "text",
            "text": {
                "content": item["content"],
                "link": {"url": item["link"]} if item["link"] else None,
            },
            "annotations": dict(item["annotations"]),
            "plain_text": item["content"],
            "href": item["link"],
        }
        for item in items
    ]


def icon_in(value: object, path: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad(path, "should be an object", value)
    kind = value.get("type") or next((k for k in ("emoji", "external") if k in value), None)
    if kind == "emoji" and isinstance(value.get("emoji"), str):
        return {"type": "emoji", "emoji": value["emoji"]}
    if kind == "external" and isinstance((value.get("external") or {}).get("url"), str):
        return {"type": "external", "external": {"url": value["external"]["url"]}}
    raise bad(path, "should be an emoji or external icon (others are not supported here)", value)


def select_option(raw: object) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise bad("options", "should be objects with a name", raw)
    return {
        "id": raw.get("id") or secrets.token_hex(2),
        "name": raw["name"],
        "color": raw.get("color", "default"),
        "description": None,
    }
