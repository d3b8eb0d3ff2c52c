"""The validated-response layer: every reply from Notion is read and checked here before use.

A shared database, a proxy or a broken network may hand back anything: a body that is not JSON,
JSON of another shape, a body that never ends (cursors that never end: see paging.py). Each
typed call of the client names the shape it needs; anything else is one clear MalformedReply,
never an AttributeError or KeyError far from where the reply came in.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import requests
import urllib3

from notion_up.errors import MalformedReply

# A reply of the API is small (a page of query results is well under this).
MAX_REPLY_BYTES = 32 * 1024 * 1024
# The whole reply must have arrived within this many seconds of its first byte being asked for.
DEFAULT_DEADLINE = 300.0
READ_SIZE = 64 * 1024


def read_json(
    response: requests.Response,
    what: str,
    deadline: float,
    limit: int = MAX_REPLY_BYTES,
) -> Any:
    """The body of a streamed `response` decoded as JSON, read within `deadline` (monotonic).

    A body past `limit`, one still arriving at the deadline, or one that is not JSON is a
    MalformedReply (temporary: a proxy's error page or a cut connection may not happen again).
    """
    body = bytearray()
    try:
        for chunk in _chunks(response):
            body += chunk
            if len(body) > limit:
                raise MalformedReply(f"{what}: the reply is larger than {limit} bytes")
            if time.monotonic() > deadline:
                raise MalformedReply(f"{what}: the reply was still arriving at the deadline")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # A cut or timed-out body read straight from urllib3: a connection error like any other.
        raise requests.ConnectionError(f"the reply was cut off: {type(exc).__name__}") from None
    finally:
        response.close()
    return decode_json(bytes(body), what, response.headers.get("Content-Type", "unknown type"))


def decode_json(body: bytes, what: str, kind: str = "unknown type") -> Any:
    """`body` as strict JSON: NaN, Infinity, numbers past a float and deep nesting refused."""
    try:
        value = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
        # A lone surrogate (`"\\ud800"`, valid JSON) is no text: it cannot be printed, written
        # to a file name or stored. Replaced here, once, so no caller ever meets one.
        return _whole_text(value) if _SURROGATE.search(body) else value
    except RecursionError:
        raise MalformedReply(f"{what}: the reply is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise MalformedReply(f"{what}: the reply is not JSON ({kind})") from None


# A surrogate written as an escape, or as the (invalid) UTF-8 that json.loads lets through.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_LONE = re.compile("[\ud800-\udfff]")


def _whole_text(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_whole_text(v) for v in value]
    if isinstance(value, dict):
        return {_whole_text(k): _whole_text(v) for k, v in value.items()}
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _chunks(response: requests.Response) -> Iterator[bytes]:
    raw = getattr(response, "raw", None)
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # not a urllib3 response (a test double): iter_content does
        yield from response.iter_content(READ_SIZE)
        return
    # read1 returns what one socket read brought: a trickling body is seen at each byte.
    while chunk := read1(READ_SIZE, decode_content=True):
        yield chunk


# -- shapes ----------------------------------------------------------------------------------
def need(reply: Any, what: str, **fields: type | tuple[type, ...]) -> dict:
    """`reply` when it is a JSON object whose named fields have the given types."""
    if not isinstance(reply, dict):
        raise MalformedReply(f"{what}: expected a JSON object, got {_kind(reply)}")
    for name, kind in fields.items():
        if name not in reply:
            raise MalformedReply(f"{what}: the reply has no {name!r}")
        value = reply[name]
        # bool is an int in Python; a count or a size is never true/false.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
            raise MalformedReply(f"{what}: {name!r} is {_kind(value)}")
    return reply


def optional(reply: dict, what: str, **fields: type | tuple[type, ...]) -> dict:
    """`reply` when each named field, if present and not null, has the given type."""
    for name, kind in fields.items():
        value = reply.get(name)
        if value is not None and not isinstance(value, kind):
            raise MalformedReply(f"{what}: {name!r} is {_kind(value)}")
    return reply


def with_id(reply: Any, what: str) -> dict:
    """An object with a string `id` (pages, uploads, databases, data sources)."""
    reply = need(reply, what, id=str)
    if not reply["id"]:
        raise MalformedReply(f"{what}: the reply's 'id' is empty")
    return reply


def page(reply: Any, what: str) -> dict:
    """A page: an id and a properties object."""
    reply = with_id(reply, what)
    optional(reply, what, properties=dict, parent=dict, created_time=str)
    return reply


def query_page(reply: Any, what: str) -> dict:
    """One page of query results: a list of objects, has_more, next_cursor."""
    reply = need(reply, what, results=list)
    optional(reply, what, has_more=bool, next_cursor=str, request_status=dict)
    if not all(isinstance(r, dict) for r in reply["results"]):
        raise MalformedReply(f"{what}: 'results' holds something that is not an object")
    return reply


def database(reply: Any, what: str) -> dict:
    """A database container: an id and (when present) a list of data sources with ids."""
    reply = with_id(reply, what)
    optional(reply, what, data_sources=list, properties=dict)
    for source in reply.get("data_sources") or []:
        with_id(source, f"{what} (data source)")
    return reply


def data_source(reply: Any, what: str) -> dict:
    """A data source: an id and a property schema of objects."""
    reply = with_id(reply, what)
    optional(reply, what, properties=dict, parent=dict)
    for name, prop in (reply.get("properties") or {}).items():
        if not isinstance(prop, dict):
            raise MalformedReply(f"{what}: property {name!r} is {_kind(prop)}")
    return reply


def user(reply: Any, what: str) -> dict:
    """The bot user: an object whose `bot`, when present, is an object too."""
    reply = need(reply, what)
    optional(reply, what, bot=dict)
    bot = reply.get("bot") or {}
    optional(bot, what, workspace_limits=dict)
    limit = (bot.get("workspace_limits") or {}).get("max_file_upload_size_in_bytes")
    if limit is not None and (type(limit) is not int or limit < 0):
        raise MalformedReply(f"{what}: the upload size limit {str(limit)[:40]!r} is not a size")
    return reply


def file_upload(reply: Any, what: str) -> dict:
    """A file upload: an id, and a status and expiry as strings when present."""
    reply = with_id(reply, what)
    optional(reply, what, status=str, expiry_time=str)
    return reply


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), f"a {type(value).__name__}")
