"""A local Notion-compatible HTTP server for tests, benchmarks and `notion-up sandbox`.

Standard library only: it never imports requests, typer, rich or another notion_up module, so it
can run as a subprocess (`python -m notion_up.localserver`) or in-process (`LocalNotion`).

What it implements (Notion-Version 2025-09-03 shapes, key order as in the notion-sdk-py
recordings in shared/notion-api/notion-sdk-py-cassettes):

* `GET /v1/users/me`; the File Upload API (create, send, complete, retrieve, list);
  `POST /v1/databases`, `GET /v1/databases/{id}`, `POST /v1/data_sources`,
  `GET|PATCH /v1/data_sources/{id}`, `POST /v1/data_sources/{id}/query`,
  `POST /v1/pages`, `GET|PATCH /v1/pages/{id}`, `DELETE /v1/blocks/{id}` (pages and databases).
* Files properties render as Notion-hosted files whose URL points at `/__files/<token>/<name>`
  on this server (no auth, like an S3 presigned URL; Range requests; 403 after expiry).
* Knobs (`ServerOptions`): latency, per-connection bandwidth, injected 5xx, dropped sends,
  503/504 after a page was created, a token-bucket rate limit with Retry-After, the plan's
  file-size limit, upload and download-URL expiry.
* Admin endpoints under `/__admin/` (no auth, not counted, not rate-limited).

Choices where Notion's behaviour is not documented (all UNCONFIRMED wording, see
shared/notion-api/README.md §3 and §11): the single-part limit is 20 MiB (20 * 1024 * 1024 bytes;
the docs say "20MB"); re-sending a part replaces it; a part_number on a single_part send is
refused; complete on a single_part upload is refused; messages of the size, part, expiry,
attach and filter errors are plausible guesses in Notion's style (each is marked below).
External-URL uploads, blocks (children), comments, search and older API versions' shapes are not
implemented; every accepted Notion-Version gets the 2025-09-03 shapes (2026-03-11 drops
`archived`).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import sqlite3
import struct
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["LocalNotion", "ServerOptions", "Workspace", "serve_forever", "main"]

MIB = 1024 * 1024
SINGLE_PART_LIMIT = 20 * MIB  # the docs say "20MB"; binary megabytes chosen here
PART_MIN = 5 * MIB
PART_MAX = 20 * MIB
MAX_PARTS = 1000
FREE_PLAN_LIMIT = 5 * MIB
MAX_FILENAME_BYTES = 900
MAX_TEXT = 2000
MAX_ARRAY = 100
MAX_JSON_BODY = 10 * MIB
CHUNK = MIB

NOTION_VERSIONS = (
    "2021-05-11",
    "2021-05-13",
    "2021-08-16",
    "2022-02-22",
    "2022-06-28",
    "2025-09-03",
    "2026-03-11",
)
BOT_ID = "5b0c7c1e-3f3c-4a57-9d7e-6c1a0f0e2b11"
WORKSPACE_ID = "0d6b8a52-1f7e-4c1e-8a3b-7c2d9e4f5a60"
WORKSPACE_NAME = "notion-up sandbox"

# The sandbox's databases, as `notion-up init` would make them. Deliberately a copy of
# records.FILE_SCHEMA/INDEX_SCHEMA: this module imports no client code (it runs stdlib-only as a
# subprocess); a test in tests/test_init.py fails when the two drift apart.
FILES_SCHEMA: dict[str, str] = {
    "filename": "title",
    "filesize": "number",
    "filehash": "rich_text",
    "salt": "rich_text",
    "file_data": "files",
    "is_public": "checkbox",
    "is_visible": "checkbox",
    "is_folder": "checkbox",
    "folder_path": "rich_text",
    "is_manifest": "checkbox",
}
INDEX_SCHEMA: dict[str, str] = {
    "Original Filename": "title",
    "Salted SHA512 Hash": "rich_text",
    "File Page ID": "rich_text",
    "User Database ID": "rich_text",
    "Is Public": "checkbox",
}

# Notion's allow-list (README §3.4): extension -> accepted MIME types.
_MS_DOC = "application/vnd.openxmlformats-officedocument"
_ALLOWED: dict[str, tuple[str, ...]] = {
    ".aac": ("audio/aac",), ".adts": ("audio/aac",), ".mid": ("audio/midi",),
    ".midi": ("audio/midi",), ".mp3": ("audio/mpeg",), ".mpga": ("audio/mpeg",),
    ".m4a": ("audio/mp4",), ".m4b": ("audio/mp4",),
    ".mp4": ("video/mp4", "audio/mp4", "application/mp4"),
    ".oga": ("audio/ogg",), ".ogg": ("audio/ogg",), ".wav": ("audio/wav",),
    ".wma": ("audio/x-ms-wma",),
    ".pdf": ("application/pdf",), ".txt": ("text/plain",), ".json": ("application/json",),
    ".doc": ("application/msword",), ".dot": ("application/msword",),
    ".docx": (f"{_MS_DOC}.wordprocessingml.document",),
    ".dotx": (f"{_MS_DOC}.wordprocessingml.template",),
    ".xls": ("application/vnd.ms-excel",), ".xlt": ("application/vnd.ms-excel",),
    ".xla": ("application/vnd.ms-excel",),
    ".xlsx": (f"{_MS_DOC}.spreadsheetml.sheet",),
    ".xltx": (f"{_MS_DOC}.spreadsheetml.template",),
    ".ppt": ("application/vnd.ms-powerpoint",), ".pot": ("application/vnd.ms-powerpoint",),
    ".pps": ("application/vnd.ms-powerpoint",), ".ppa": ("application/vnd.ms-powerpoint",),
    ".pptx": (f"{_MS_DOC}.presentationml.presentation",),
    ".potx": (f"{_MS_DOC}.presentationml.template",),
    ".gif": ("image/gif",), ".heic": ("image/heic",), ".jpeg": ("image/jpeg",),
    ".jpg": ("image/jpeg",), ".png": ("image/png",), ".svg": ("image/svg+xml",),
    ".tif": ("image/tiff",), ".tiff": ("image/tiff",), ".webp": ("image/webp",),
    ".ico": ("image/vnd.microsoft.icon",),
    ".amv": ("video/x-amv",), ".asf": ("video/x-ms-asf",), ".wmv": ("video/x-ms-asf",),
    ".avi": ("video/x-msvideo",), ".f4v": ("video/x-f4v",), ".flv": ("video/x-f4v",),
    ".gifv": ("video/mp4",), ".m4v": ("video/mp4",), ".mkv": ("video/webm",),
    ".webm": ("video/webm",), ".mov": ("video/quicktime",), ".qt": ("video/quicktime",),
    ".mpeg": ("video/mpeg",),
}  # fmt: skip
_ALLOWED_TYPES = frozenset(t for types in _ALLOWED.values() for t in types)
_EXT_FOR_TYPE: dict[str, str] = {}
for _ext, _types in _ALLOWED.items():
    for _t in _types:
        _EXT_FOR_TYPE.setdefault(_t, _ext)

PROPERTY_TYPES = (
    "title",
    "rich_text",
    "number",
    "checkbox",
    "files",
    "date",
    "url",
    "email",
    "phone_number",
    "select",
    "multi_select",
)

UNSUPPORTED_EXTENSION = (
    "Provided `filename` has an extension that is not supported for the File Upload API."
)
RATE_LIMIT_MESSAGE = "You have been rate limited. Please try again in a few minutes."
SHARE_HINT = "Make sure the relevant pages and databases are shared with your integration."
# code and message of injected (and real) server-side errors
_FAULTS: dict[int, tuple[str, str]] = {
    409: ("conflict_error", "Conflict occurred while saving. Please try again."),
    429: ("rate_limited", RATE_LIMIT_MESSAGE),
    500: ("internal_server_error", "Unexpected error occurred."),
    502: ("bad_gateway", "Bad Gateway"),
    503: ("service_unavailable", "Notion is unavailable, please try again later."),
    504: ("gateway_timeout", "Gateway Timeout"),
    529: ("service_overload", "Notion is temporarily overloaded, please try again later."),
}
_S3_FAULTS = {500: "InternalError", 502: "BadGateway", 503: "SlowDown", 504: "GatewayTimeout"}
_ANNOTATIONS = {
    "bold": False,
    "italic": False,
    "strikethrough": False,
    "underline": False,
    "code": False,
    "color": "default",
}


# ---------------------------------------------------------------------------------------------
# public data types


@dataclass
class ServerOptions:
    """Behaviour knobs; may be changed while the server runs (read on every request)."""

    token: str = "ntn_local_sandbox_token"
    latency: float = 0.0
    bandwidth: float | None = None
    fault_rate: float = 0.0
    fault_endpoints: frozenset[str] = frozenset({"send", "complete"})
    fault_statuses: tuple[int, ...] = (500, 502, 503, 504)
    fault_after_create_rate: float = 0.0
    drop_rate: float = 0.0
    max_file_upload_size: int = 5 * 1024**3
    rate_limit: bool = False
    rate: float = 3.0
    burst: int = 10
    expiry_seconds: float = 3600.0
    url_expiry_seconds: float = 3600.0
    seed: int | None = None


@dataclass(frozen=True)
class Workspace:
    """The sandbox's root page and its two databases (with their data sources)."""

    root_page_id: str
    files_database_id: str
    files_data_source_id: str
    index_database_id: str
    index_data_source_id: str


class ApiError(Exception):
    """An error answer in Notion's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        additional_data: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.additional_data = additional_data
        self.headers = headers or {}


def _invalid(message: str) -> ApiError:
    return ApiError(400, "validation_error", message)


def _bad(path: str, expectation: str, value: object) -> ApiError:
    shown = "undefined" if value is _MISSING else json.dumps(value, ensure_ascii=False)
    if len(shown) > 200:
        shown = shown[:200] + "…"
    return _invalid(f"body failed validation: {path} {expectation}, instead was `{shown}`.")


def _not_found(kind: str, object_id: str) -> ApiError:
    # "database" and "page" wording as documented; other kinds follow the same pattern.
    return ApiError(
        404, "object_not_found", f"Could not find {kind} with ID: {object_id}. {SHARE_HINT}"
    )


_MISSING = object()


# ---------------------------------------------------------------------------------------------
# small helpers


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_db(ts: float) -> str:
    # databases carry "+00:00" timestamps in the recordings, pages and uploads "Z"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _norm_id(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    s = raw.replace("-", "").lower()
    if len(s) != 32 or not all(c in "0123456789abcdef" for c in s):
        return None
    return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}"


def _path_id(raw: str, what: str) -> str:
    found = _norm_id(unquote(raw))
    if found is None:
        raise _invalid(
            f"path failed validation: path.{what}_id should be a valid uuid, "
            f'instead was `"{unquote(raw)}"`.'
        )
    return found


def _essence(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _ext(filename: str) -> str:
    base = filename.rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return ""
    return "." + base.rsplit(".", 1)[-1].lower()


def _plain(items: list[dict] | None) -> str:
    return "".join(item["content"] for item in items or [])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60]


def _write_all(fh, data) -> None:
    view = memoryview(data)
    try:
        while view.nbytes:
            n = fh.write(view)
            if n is None:  # pragma: no cover - non-blocking files only
                continue
            rest = view[n:]
            view.release()
            view = rest
    finally:
        view.release()


# ---------------------------------------------------------------------------------------------
# persistence: sqlite3 holds the JSON of every object; bytes live under blobs/


class _Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(
            str(root / "state.sqlite3"), check_same_thread=False, isolation_level=None
        )
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS objects "
            "(id TEXT PRIMARY KEY, kind TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.objects: dict[str, dict[str, dict]] = {
            k: {} for k in ("upload", "page", "database", "data_source")
        }
        self.seq = 0
        for kind, data, seq in self.db.execute("SELECT kind, data, seq FROM objects ORDER BY seq"):
            obj = json.loads(data)
            self.objects.setdefault(kind, {})[obj["id"]] = obj
            self.seq = max(self.seq, seq)
        self.kv = dict(self.db.execute("SELECT key, value FROM kv"))

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def put(self, kind: str, obj: dict) -> None:
        self.objects[kind][obj["id"]] = obj
        self.db.execute(
            "INSERT OR REPLACE INTO objects (id, kind, seq, data) VALUES (?, ?, ?, ?)",
            (obj["id"], kind, obj["seq"], json.dumps(obj, ensure_ascii=False)),
        )

    def set(self, key: str, value: str) -> None:
        self.kv[key] = value
        self.db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def part_path(self, upload_id: str, part: int) -> Path:
        return self.blobs / upload_id / f"part-{part:05d}"

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:  # pragma: no cover
            pass


# ---------------------------------------------------------------------------------------------
# request bodies: Content-Length or chunked, with the per-connection bandwidth throttle


class _ClientGone(Exception):
    """The client closed the connection before sending the whole body."""


class _Body:
    def __init__(self, rfile, headers, bandwidth: float | None) -> None:
        self.rfile = rfile
        self.chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self.length: int | None = None
        self.remaining = 0
        if not self.chunked:
            try:
                self.length = max(0, int(headers.get("Content-Length") or 0))
            except ValueError:
                self.length = 0
            self.remaining = self.length
        self._chunk_left = 0
        self._eof = False
        self.bandwidth = bandwidth if bandwidth and bandwidth > 0 else None
        self._t0: float | None = None
        self.consumed = 0

    @property
    def done(self) -> bool:
        return self._eof if self.chunked else self.remaining == 0

    def chunk_size(self) -> int:
        if self.bandwidth is None:
            return CHUNK
        return int(max(16 * 1024, min(CHUNK, self.bandwidth / 20)))

    def readinto(self, view: memoryview) -> int:
        if self.bandwidth is not None and self._t0 is None:
            self._t0 = time.monotonic()
        if self.chunked:
            got = self._read_chunked(view)
        else:
            if self.remaining == 0:
                return 0
            n = min(len(view), self.remaining)
            got = self.rfile.readinto(view[:n])
            if not got:
                raise _ClientGone()
            self.remaining -= got
        self.consumed += got
        if self.bandwidth is not None and got:
            ahead = self.consumed / self.bandwidth - (time.monotonic() - self._t0)
            if ahead > 0:
                time.sleep(ahead)
        return got

    def _read_chunked(self, view: memoryview) -> int:
        if self._eof:
            return 0
        if self._chunk_left == 0:
            line = self.rfile.readline(65537)
            if not line:
                raise _ClientGone()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _ClientGone() from None
            if size == 0:
                while True:  # trailers
                    trailer = self.rfile.readline(65537)
                    if trailer in (b"\r\n", b"\n", b""):
                        break
                self._eof = True
                return 0
            self._chunk_left = size
        n = min(len(view), self._chunk_left)
        got = self.rfile.readinto(view[:n])
        if not got:
            raise _ClientGone()
        self._chunk_left -= got
        if self._chunk_left == 0:
            self.rfile.readline(3)
        return got

    def read_all(self, cap: int) -> bytes:
        out = bytearray()
        buf = bytearray(min(self.chunk_size(), 64 * 1024))
        view = memoryview(buf)
        try:
            while True:
                got = self.readinto(view)
                if not got:
                    break
                out += view[:got]
                if len(out) > cap:
                    raise _invalid("Request body too large.")
        finally:
            view.release()
        return bytes(out)

    def drain(self) -> None:
        buf = bytearray(self.chunk_size())
        view = memoryview(buf)
        try:
            while self.readinto(view):
                pass
        finally:
            view.release()


# ---------------------------------------------------------------------------------------------
# multipart/form-data: a streaming parser; the `file` field goes to a sink, other fields to memory


class _FormError(Exception):
    pass


_PARAM_RE = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    main_value = value.split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    for key, raw in _PARAM_RE.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[key.lower()] = raw
    if "filename*" in params:
        enc, _, rest = params["filename*"].partition("''")
        try:
            params["filename"] = unquote(rest, encoding=enc or "utf-8")
        except LookupError:
            params["filename"] = unquote(rest)
    return main_value, params


class _FormParser:
    MAX_HEADERS = 16 * 1024
    MAX_FIELD = 64 * 1024

    def __init__(self, boundary: bytes, sink) -> None:
        self.delim = b"\r\n--" + boundary
        self.first = b"--" + boundary
        self.buf = bytearray()
        self.state = "preamble"
        self.sink = sink
        self.fields: dict[str, str] = {}
        self.file_seen = False
        self.file_size = 0
        self.file_name: str | None = None
        self.file_type: str | None = None
        self._target: object = None
        self._field_name: str | None = None

    # -- feeding
    def feed(self, data: bytearray, n: int) -> None:
        if self.state == "data" and n >= len(self.delim) and len(self.buf) < len(self.delim):
            if self._fast(data, n):
                return
        with memoryview(data) as view, view[:n] as piece:
            self.buf += piece
        self._process()

    def _fast(self, data: bytearray, n: int) -> bool:
        """No delimiter in this chunk: pass it through without copying it into the buffer."""
        d = self.delim
        keep = len(d) - 1
        if self.buf and (bytes(self.buf) + bytes(data[:keep])).find(d) != -1:
            return False
        if data.find(d, 0, n) != -1:
            return False
        if self.buf:
            self._emit(bytes(self.buf))
        with memoryview(data) as view, view[: n - keep] as piece:
            self._emit(piece)
        self.buf = bytearray(data[n - keep : n])
        return True

    def _emit_buf(self, end: int) -> None:
        if end <= 0:
            return
        with memoryview(self.buf) as view, view[:end] as piece:
            self._emit(piece)
        del self.buf[:end]

    def _emit(self, piece) -> None:
        target = self._target
        if target is None:
            return
        if target is self.sink:
            self.file_size += len(piece)
            _write_all(self.sink, piece)
        else:
            target += piece  # type: ignore[operator]
            if len(target) > self.MAX_FIELD:  # type: ignore[arg-type]
                raise _FormError("form field too large")

    def _process(self) -> None:
        while True:
            if self.state == "preamble":
                i = self.buf.find(self.first)
                if i < 0:
                    extra = len(self.buf) - len(self.first)
                    if extra > 0:
                        del self.buf[:extra]
                    return
                j = i + len(self.first)
                if len(self.buf) < j + 2:
                    del self.buf[:i]
                    return
                if self.buf[j : j + 2] == b"--":
                    self.state = "end"
                    self.buf.clear()
                    return
                k = self.buf.find(b"\r\n", j)
                if k < 0:
                    return
                del self.buf[: k + 2]
                self.state = "headers"
            elif self.state == "headers":
                if self.buf.startswith(b"\r\n"):
                    raw, cut = b"", 2
                else:
                    i = self.buf.find(b"\r\n\r\n")
                    if i < 0:
                        if len(self.buf) > self.MAX_HEADERS:
                            raise _FormError("part headers too large")
                        return
                    raw, cut = bytes(self.buf[:i]), i + 4
                del self.buf[:cut]
                self._start_part(raw)
                self.state = "data"
            elif self.state == "data":
                i = self.buf.find(self.delim)
                if i < 0:
                    self._emit_buf(len(self.buf) - (len(self.delim) - 1))
                    return
                j = i + len(self.delim)
                if len(self.buf) < j + 2:
                    self._emit_buf(i)
                    return
                self._emit_buf(i)
                self._end_part()
                j = len(self.delim)
                tail = bytes(self.buf[j : j + 2])
                if tail == b"--":
                    self.state = "end"
                    self.buf.clear()
                    return
                if tail != b"\r\n":
                    raise _FormError("malformed boundary line")
                del self.buf[: j + 2]
                self.state = "headers"
            else:  # end: ignore the epilogue
                self.buf.clear()
                return

    def _start_part(self, raw: bytes) -> None:
        name = filename = ctype = None
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "content-disposition":
                _, params = _header_params(value)
                name = params.get("name")
                filename = params.get("filename")
            elif key == "content-type":
                ctype = value.strip()
        self._field_name = name
        if name == "file" and not self.file_seen:
            self.file_seen = True
            if filename is not None:
                filename = filename.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
            self.file_name = filename
            self.file_type = ctype
            self._target = self.sink
        elif name and name != "file":
            self._target = bytearray()
        else:
            self._target = None

    def _end_part(self) -> None:
        if isinstance(self._target, bytearray) and self._field_name:
            self.fields[self._field_name] = self._target.decode("utf-8", "replace")
        self._target = None
        self._field_name = None

    def finish(self) -> None:
        if self.state != "end":
            raise _FormError("the multipart body ended before its closing boundary")


# ---------------------------------------------------------------------------------------------
# the HTTP layer


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:  # quiet: no tracebacks on stderr
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError | _ClientGone | ValueError):
            return
        app = getattr(self.RequestHandlerClass, "app", None)
        if app is not None:
            app._note_error(traceback.format_exc())


_ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [
    (m, re.compile(p), ep, fn)
    for m, p, ep, fn in (
        ("GET", r"/v1/users/me", "users_me", "_api_users_me"),
        ("POST", r"/v1/file_uploads", "create_upload", "_api_create_upload"),
        ("GET", r"/v1/file_uploads", "list_uploads", "_api_list_uploads"),
        ("POST", r"/v1/file_uploads/([^/]+)/send", "send", "_api_send"),
        ("POST", r"/v1/file_uploads/([^/]+)/complete", "complete", "_api_complete"),
        ("GET", r"/v1/file_uploads/([^/]+)", "retrieve_upload", "_api_retrieve_upload"),
        ("POST", r"/v1/databases", "create_database", "_api_create_database"),
        ("GET", r"/v1/databases/([^/]+)", "retrieve_database", "_api_retrieve_database"),
        ("POST", r"/v1/data_sources", "create_data_source", "_api_create_data_source"),
        ("GET", r"/v1/data_sources/([^/]+)", "retrieve_data_source", "_api_retrieve_ds"),
        ("PATCH", r"/v1/data_sources/([^/]+)", "update_data_source", "_api_update_ds"),
        ("POST", r"/v1/data_sources/([^/]+)/query", "query", "_api_query"),
        ("POST", r"/v1/pages", "create_page", "_api_create_page"),
        ("GET", r"/v1/pages/([^/]+)", "retrieve_page", "_api_retrieve_page"),
        ("PATCH", r"/v1/pages/([^/]+)", "update_page", "_api_update_page"),
        ("DELETE", r"/v1/blocks/([^/]+)", "delete_block", "_api_delete_block"),
    )
]


def _route(method: str, path: str) -> tuple[str, str | None, tuple[str, ...]]:
    path = path.rstrip("/") or "/"
    for m, pattern, endpoint, fn in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            if m == method:
                return endpoint, fn, match.groups()
    return "invalid", None, ()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "notion-up-localserver"
    sys_version = ""
    timeout = 300
    disable_nagle_algorithm = True
    app: LocalNotion

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.app._conn_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.app._conn_closed(self.connection)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    # -- plumbing
    def _dispatch(self, method: str) -> None:
        app = self.app
        self._request_id = str(uuid.uuid4())
        self._version = self.headers.get("Notion-Version")
        split = urlsplit(self.path)
        path = split.path
        self._endpoint: str | None = None
        if path.startswith("/__admin/"):
            self._body = _Body(self.rfile, self.headers, None)
            self._admin(method, path)
            return
        self._body = _Body(self.rfile, self.headers, app.options.bandwidth)
        if path.startswith("/__files/"):
            endpoint, fn, args = "download", None, ()
        else:
            app._note_arrival()
            endpoint, fn, args = _route(method, path)
        app._begin(endpoint)
        self._endpoint = endpoint
        status = "error"
        try:
            if endpoint == "download":
                status = self._download(method, path)
            else:
                status = self._api(method, split.query, endpoint, fn, args)
        except (_ClientGone, ConnectionError, TimeoutError, OSError):
            self.close_connection = True
            status = "disconnected"
        except Exception:  # a bug here: answer 500 and keep the traceback for the tests
            app._note_error(traceback.format_exc())
            self.close_connection = True
            try:
                status = self._send_error(ApiError(500, *_FAULTS[500]))
            except OSError:
                status = "disconnected"
        finally:
            self._account(status)

    def _account(self, status: str) -> None:
        """Count the request once, before its answer leaves (so a client never sees stale stats)."""
        if self._endpoint is not None:
            self.app._end(self._endpoint, status)
            self._endpoint = None

    def _api(self, method: str, query: str, endpoint: str, fn: str | None, args) -> str:
        app = self.app
        opts = app.options
        if opts.latency > 0:
            time.sleep(opts.latency)
        try:
            self._check_auth()
            app._take_token()
            if fn is None:
                raise ApiError(400, "invalid_request_url", "Invalid request URL.")
            if endpoint == "send":
                return self._api_send(*args)
            body = self._json_body() if method in ("POST", "PATCH", "PUT") else {}
            fault = app._decide_fault(endpoint)
            if fault is not None:
                raise app._fault_error(fault)
            handler: Callable = getattr(self, fn)
            if method == "GET" and endpoint == "list_uploads":
                result = handler(parse_qs(query, keep_blank_values=True))
            else:
                result = handler(body, *args) if method != "GET" else handler(*args)
            return self._send_json(200, result)
        except ApiError as exc:
            return self._send_error(exc)

    def _check_auth(self) -> None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.app.options.token.encode()
        ):
            raise ApiError(401, "unauthorized", "API token is invalid.")
        version = self._version
        if version is None:
            raise ApiError(
                400,
                "missing_version",
                "Notion-Version header failed validation: Notion-Version header should be "
                "defined, instead was `undefined`.",
            )
        if version not in NOTION_VERSIONS:
            listed = ", ".join(f'"{v}"' for v in NOTION_VERSIONS[:-1])
            raise _invalid(
                "Notion-Version header failed validation: Notion-Version header should be "
                f'{listed}, or "{NOTION_VERSIONS[-1]}", instead was `"{version}"`.'
            )

    def _json_body(self) -> dict:
        raw = self._body.read_all(MAX_JSON_BODY)
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "Error parsing JSON body.") from None
        if not isinstance(body, dict):
            raise _bad("body", "should be an object", body)
        return body

    def _finish_body(self) -> None:
        if not self._body.done:
            if self._body.length is not None and self._body.remaining > 256 * MIB:
                self.close_connection = True
                return
            self._body.drain()

    def _write(
        self, status: int, data: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        self._finish_body()
        self._account(str(status))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-notion-request-id", self._request_id)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if self.command != "HEAD" and len(data) <= 256 * 1024:
            # head and body in one write: no small trailing segment for Nagle to hold back
            self._headers_buffer.append(b"\r\n" + data)
            self.flush_headers()
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, status: int, obj: dict, headers: dict | None = None) -> str:
        obj["request_id"] = self._request_id
        if self._version == "2026-03-11":
            obj.pop("archived", None)
            for item in obj.get("results") or []:
                if isinstance(item, dict):
                    item.pop("archived", None)
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._write(status, data, "application/json; charset=utf-8", headers)
        return str(status)

    def _send_error(self, exc: ApiError) -> str:
        body: dict = {
            "object": "error",
            "status": exc.status,
            "code": exc.code,
            "message": exc.message,
        }
        if exc.additional_data:
            body["additional_data"] = exc.additional_data
        body["request_id"] = self._request_id
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if exc.status in (429, 529):
            self.app._note_retry_after(exc.headers.get("Retry-After"))
        self._write(exc.status, data, "application/json; charset=utf-8", exc.headers)
        return str(exc.status)

    def _drop_connection(self) -> None:
        """Close the socket without answering (reset, as a lost connection looks)."""
        self._account("dropped")
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- endpoints that need the connection
    def _api_users_me(self) -> dict:
        return self.app._users_me()

    def _api_create_upload(self, body: dict) -> dict:
        return self.app._create_upload(body)

    def _api_list_uploads(self, query: dict) -> dict:
        return self.app._list_uploads(query)

    def _api_retrieve_upload(self, raw_id: str) -> dict:
        return self.app._retrieve_upload(_path_id(raw_id, "file_upload"))

    def _api_complete(self, body: dict, raw_id: str) -> dict:
        return self.app._complete(_path_id(raw_id, "file_upload"))

    def _api_create_database(self, body: dict) -> dict:
        return self.app._api_create_database(body)

    def _api_retrieve_database(self, raw_id: str) -> dict:
        return self.app._retrieve_database(_path_id(raw_id, "database"))

    def _api_create_data_source(self, body: dict) -> dict:
        return self.app._api_create_data_source(body)

    def _api_retrieve_ds(self, raw_id: str) -> dict:
        return self.app._retrieve_data_source(_path_id(raw_id, "data_source"))

    def _api_update_ds(self, body: dict, raw_id: str) -> dict:
        return self.app._update_data_source(_path_id(raw_id, "data_source"), body)

    def _api_query(self, body: dict, raw_id: str) -> dict:
        return self.app._query(_path_id(raw_id, "data_source"), body)

    def _api_create_page(self, body: dict) -> dict:
        return self.app._create_page_api(body)

    def _api_retrieve_page(self, raw_id: str) -> dict:
        return self.app._retrieve_page(_path_id(raw_id, "page"))

    def _api_update_page(self, body: dict, raw_id: str) -> dict:
        return self.app._update_page(_path_id(raw_id, "page"), body)

    def _api_delete_block(self, body: dict, raw_id: str) -> dict:
        return self.app._delete_block(_path_id(raw_id, "block"))

    def _api_send(self, raw_id: str) -> str:
        app = self.app
        upload_id = _path_id(raw_id, "file_upload")
        ctype, params = _header_params(self.headers.get("Content-Type") or "")
        boundary = params.get("boundary")
        with app._lock:
            app._check_sendable(app._get_upload(upload_id))
        if ctype != "multipart/form-data" or not boundary:
            raise _invalid(
                "Content-Type should be multipart/form-data with a boundary, "
                f"instead was `{self.headers.get('Content-Type')}`."
            )
        fault = app._decide_fault("send")
        drop = app._decide_drop()
        cut = None
        if fault is not None or drop:
            cut = max(1, (self._body.length or 128 * 1024) // 2)
        part_dir = app._store.blobs / upload_id
        part_dir.mkdir(parents=True, exist_ok=True)
        tmp = part_dir / f".tmp-{uuid.uuid4().hex}"
        installed = False
        try:
            with open(tmp, "wb", buffering=0) as sink:
                parser = _FormParser(boundary.encode("latin-1"), sink)
                buf = bytearray(self._body.chunk_size())
                view = memoryview(buf)
                taken = 0
                try:
                    while True:
                        want = len(buf)
                        if cut is not None:
                            want = min(want, cut - taken)
                            if want <= 0:
                                break
                        got = self._body.readinto(view[:want])
                        if not got:
                            break
                        taken += got
                        parser.feed(buf, got)
                except _FormError as exc:
                    raise _invalid(
                        f"Failed to parse the multipart/form-data body: {exc}."
                    ) from None
                finally:
                    view.release()
                if drop:
                    self._drop_connection()
                    return "dropped"
                if fault is not None:
                    raise app._fault_error(fault)
                try:
                    parser.finish()
                except _FormError as exc:
                    raise _invalid(
                        f"Failed to parse the multipart/form-data body: {exc}."
                    ) from None
            result = app._install_part(upload_id, parser, tmp)
            installed = True
            return self._send_json(200, result)
        finally:
            if not installed:
                try:
                    tmp.unlink()
                except OSError:
                    pass

    # -- downloads (the URLs in files properties)
    def _download(self, method: str, path: str) -> str:
        app = self.app
        opts = app.options
        if opts.latency > 0:
            time.sleep(opts.latency)
        if method not in ("GET", "HEAD"):
            return self._s3_error(405, "MethodNotAllowed", "The specified method is not allowed.")
        fault = app._decide_fault("download")
        if fault is not None:
            code = _S3_FAULTS.get(fault, "InternalError")
            return self._s3_error(fault, code, "We encountered an internal error.")
        pieces = path[len("/__files/") :].split("/", 1)
        found = app._check_file_token(pieces[0])
        if found == "expired":
            return self._s3_error(403, "AccessDenied", "Request has expired")
        if found is None:
            return self._s3_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        spans = app._file_spans(found)
        if spans is None:
            return self._s3_error(404, "NoSuchKey", "The specified key does not exist.")
        parts, content_type = spans
        total = sum(size for _, size in parts)
        start, end = 0, total - 1
        status = 200
        headers = {"Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        if rng:
            parsed = _parse_range(rng, total)
            if parsed == "unsatisfiable":
                headers["Content-Range"] = f"bytes */{total}"
                return self._s3_error(
                    416, "InvalidRange", "The requested range is not satisfiable", headers
                )
            if parsed is not None:
                start, end = parsed
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        length = max(0, end - start + 1)
        self._finish_body()
        self._account(str(status))
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method == "HEAD" or length == 0:
            return str(status)
        offset = 0
        for path_, size in parts:
            lo, hi = max(start, offset), min(end + 1, offset + size)
            if lo < hi:
                with open(path_, "rb") as fh:
                    self.connection.sendfile(fh, lo - offset, hi - lo)
            offset += size
        return str(status)

    def _s3_error(self, status: int, code: str, message: str, headers: dict | None = None) -> str:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<ServerTime>{now}</ServerTime><RequestId>{self._request_id[:16]}</RequestId>"
            "</Error>"
        ).encode()
        self._write(status, body, "application/xml", headers)
        return str(status)

    # -- admin
    def _admin(self, method: str, path: str) -> None:
        app = self.app
        parts = [p for p in path.split("/") if p][1:]
        try:
            body = self._admin_body() if method == "POST" else {}
            if method == "GET" and parts == ["stats"]:
                result: dict = app.stats()
            elif method == "POST" and parts == ["reset"]:
                app.reset_stats()
                result = {"ok": True}
            elif parts == ["options"] and method in ("GET", "POST"):
                if method == "POST":
                    app._merge_options(body)
                result = app._options_json()
            elif method == "GET" and parts == ["workspace"]:
                result = asdict(app.ensure_workspace())
            elif method == "POST" and parts == ["expire_download_urls"]:
                app.expire_download_urls()
                result = {"ok": True}
            elif len(parts) == 3 and parts[0] == "uploads":
                upload_id = _norm_id(parts[1]) or parts[1]
                if method == "GET" and parts[2] == "sha512":
                    result = {"id": upload_id, "sha512": app.upload_sha512(upload_id)}
                elif method == "POST" and parts[2] == "expire":
                    app.expire_upload(upload_id)
                    result = {"ok": True}
                elif method == "POST" and parts[2] == "corrupt":
                    app.corrupt_upload(upload_id, int(body.get("offset", 0)))
                    result = {"ok": True}
                else:
                    raise LookupError("unknown admin endpoint")
            else:
                raise LookupError("unknown admin endpoint")
        except KeyError as exc:
            self._admin_reply(404, {"error": f"not found: {exc}"})
            return
        except LookupError as exc:
            self._admin_reply(404, {"error": str(exc)})
            return
        except (ValueError, TypeError) as exc:
            self._admin_reply(400, {"error": str(exc)})
            return
        self._admin_reply(200, result)

    def _admin_body(self) -> dict:
        raw = self._body.read_all(MAX_JSON_BODY)
        if not raw.strip():
            return {}
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("the body should be a JSON object")
        return body

    def _admin_reply(self, status: int, obj: dict) -> None:
        data = json.dumps(obj, separators=(",", ":")).encode()
        self._write(status, data, "application/json")


def _parse_range(value: str, total: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive, "unsatisfiable", or None to serve the whole file."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            n = int(last)
            if n <= 0 or total == 0:
                return "unsatisfiable"
            return max(0, total - n), total - 1
        start = int(first)
        end = int(last) if last else total - 1
    except ValueError:
        return None
    if start >= total or start < 0:
        return "unsatisfiable"
    if end < start:
        return None
    return start, min(end, total - 1)


# ---------------------------------------------------------------------------------------------
# the server


class LocalNotion:
    """A Notion-compatible server on loopback; state in `state_dir` (or a temporary folder)."""

    def __init__(
        self,
        options: ServerOptions | None = None,
        state_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.options = options if options is not None else ServerOptions()
        self.host = host
        self.port = port
        self._tmp: tempfile.TemporaryDirectory | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(
                prefix="notion-up-local-", ignore_cleanup_errors=True
            )
            root = Path(self._tmp.name)
        else:
            root = Path(state_dir)
            root.mkdir(parents=True, exist_ok=True)
        self.state_dir = root
        self._lock = threading.RLock()
        self._store = _Store(root)
        if "secret" not in self._store.kv:
            self._store.set("secret", secrets.token_hex(32))
        self._secret = self._store.kv["secret"].encode()
        self._url_epoch = int(self._store.kv.get("url_epoch", "0"))
        self._ds_pages: dict[str, list[str]] = {}
        for page in sorted(self._store.objects["page"].values(), key=lambda p: p["seq"]):
            if page.get("data_source_id"):
                self._ds_pages.setdefault(page["data_source_id"], []).append(page["id"])
        self.url = ""
        self.errors: list[str] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._closed = False
        # stats
        self._stats_lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self._total = 0
        self._in_flight = 0
        self._in_flight_send = 0
        self._max_in_flight = 0
        self._max_in_flight_send = 0
        self._early = 0
        self._pages_created = 0
        self._retry_at = 0.0
        # rate limit and faults
        self._rl_lock = threading.Lock()
        self._tokens = float(max(1, self.options.burst))
        self._refilled = time.monotonic()
        self._rng_lock = threading.Lock()
        self._rng_seed: object = _MISSING
        self._rng = random.Random()
        self._after_create_faults = 0

    # -- lifecycle
    @property
    def token(self) -> str:
        return self.options.token

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL."""
        if self._httpd is not None:
            return self.url
        handler = type("_BoundHandler", (_Handler,), {"app": self})
        self._httpd = _HTTPServer((self.host, self.port), handler)
        host, port = self._httpd.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = f"http://{shown}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="notion-up-localserver",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, close connections, and remove the temporary state folder if any."""
        if self._closed:
            return
        self._closed = True
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            with self._stats_lock:
                conns = list(self._conns)
            for conn in conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if self._thread is not None:
                self._thread.join(timeout=5)
        with self._lock:
            self._store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> LocalNotion:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _conn_opened(self, conn: socket.socket) -> None:
        with self._stats_lock:
            self._conns.add(conn)

    def _conn_closed(self, conn: socket.socket) -> None:
        with self._stats_lock:
            self._conns.discard(conn)

    def _note_error(self, text: str) -> None:
        self.errors.append(text)
        del self.errors[:-20]

    # -- stats
    def _begin(self, endpoint: str) -> None:
        with self._stats_lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            if endpoint == "send":
                self._in_flight_send += 1
                self._max_in_flight_send = max(self._max_in_flight_send, self._in_flight_send)

    def _end(self, endpoint: str, status: str) -> None:
        with self._stats_lock:
            self._in_flight -= 1
            if endpoint == "send":
                self._in_flight_send -= 1
            per = self._counts.setdefault(endpoint, {})
            per[status] = per.get(status, 0) + 1
            self._total += 1

    def _note_arrival(self) -> None:
        now = time.monotonic()
        with self._stats_lock:
            if self._retry_at and now < self._retry_at - 0.05:
                self._early += 1

    def _note_retry_after(self, value: str | None) -> None:
        try:
            seconds = float(value) if value is not None else 0.0
        except ValueError:
            return
        with self._stats_lock:
            self._retry_at = time.monotonic() + seconds

    def stats(self) -> dict:
        """Counts per endpoint and status, concurrency peaks, early retries, uploads, pages."""
        with self._stats_lock:
            out = {
                "requests": {k: dict(v) for k, v in self._counts.items()},
                "total_requests": self._total,
                "max_in_flight": self._max_in_flight,
                "max_in_flight_send": self._max_in_flight_send,
                "early_retries": self._early,
            }
            pages_created = self._pages_created
        now = time.time()
        uploads = []
        with self._lock:
            for u in sorted(self._store.objects["upload"].values(), key=lambda x: x["seq"]):
                uploads.append(
                    {
                        "id": u["id"],
                        "mode": u["mode"],
                        "status": self._status(u, now),
                        "filename": u["filename"],
                        "content_type": u["content_type"],
                        "part_sizes": [u["parts"][k] for k in sorted(u["parts"], key=int)],
                        "content_length": u["content_length"],
                    }
                )
        out["uploads"] = uploads
        out["pages_created"] = pages_created
        return out

    def reset_stats(self) -> None:
        """Zero the counters (uploads are state, not stats) and refill the rate-limit bucket."""
        with self._stats_lock:
            self._counts = {}
            self._total = 0
            self._max_in_flight = self._in_flight
            self._max_in_flight_send = self._in_flight_send
            self._early = 0
            self._pages_created = 0
            self._retry_at = 0.0
        with self._rl_lock:
            self._tokens = float(max(1, self.options.burst))
            self._refilled = time.monotonic()

    # -- options
    def _options_json(self) -> dict:
        out = asdict(self.options)
        out["fault_endpoints"] = sorted(self.options.fault_endpoints)
        out["fault_statuses"] = list(self.options.fault_statuses)
        return out

    def _merge_options(self, body: dict) -> None:
        known = {f.name for f in fields(ServerOptions)}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown options: {sorted(unknown)}")
        for key, value in body.items():
            if key == "fault_endpoints":
                value = frozenset(value)
            elif key == "fault_statuses":
                value = tuple(int(v) for v in value)
            setattr(self.options, key, value)

    # -- rate limit and faults
    def _take_token(self) -> None:
        opts = self.options
        if not opts.rate_limit:
            return
        with self._rl_lock:
            now = time.monotonic()
            rate = max(float(opts.rate), 1e-6)
            burst = max(1, int(opts.burst))
            self._tokens = min(burst, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            retry_after = max(1, math.ceil((1 - self._tokens) / rate))
        raise ApiError(
            429,
            "rate_limited",
            RATE_LIMIT_MESSAGE,
            {"rate_limit_reason": "public_api_request_rate_limit", "retry_after": str(retry_after)},
            {"Retry-After": str(retry_after)},
        )

    def _random(self) -> float:
        with self._rng_lock:
            seed = self.options.seed
            if seed != self._rng_seed:
                self._rng = random.Random(seed)
                self._rng_seed = seed
            return self._rng.random()

    def _decide_fault(self, endpoint: str) -> int | None:
        opts = self.options
        if opts.fault_rate <= 0 or endpoint not in opts.fault_endpoints:
            return None
        statuses = tuple(opts.fault_statuses)
        if not statuses:
            return None
        if self._random() < opts.fault_rate:
            return statuses[int(self._random() * len(statuses)) % len(statuses)]
        return None

    def _decide_drop(self) -> bool:
        rate = self.options.drop_rate
        return rate > 0 and self._random() < rate

    def _fault_error(self, status: int) -> ApiError:
        code, message = _FAULTS.get(status, _FAULTS[500])
        headers: dict[str, str] = {}
        extra = None
        if status in (429, 529):
            headers["Retry-After"] = "1"
            if status == 429:
                extra = {"rate_limit_reason": "public_api_request_rate_limit", "retry_after": "1"}
        return ApiError(status, code, message, extra, headers)

    # -- file uploads
    def _get_upload(self, upload_id: str) -> dict:
        u = self._store.objects["upload"].get(upload_id)
        if u is None:
            raise _not_found("file upload", upload_id)  # wording UNCONFIRMED
        return u

    def _status(self, u: dict, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if u["status"] in ("pending", "uploaded") and not u["attached"] and now >= u["expiry"]:
            return "expired"
        return u["status"]

    def _render_upload(self, u: dict) -> dict:
        status = self._status(u)
        out: dict = {
            "object": "file_upload",
            "id": u["id"],
            "created_time": _iso(u["created"]),
            "created_by": {"id": BOT_ID, "type": "bot"},
            "last_edited_time": _iso(u["edited"]),
            # null once attached, and (as recorded) once expired
            "expiry_time": None if u["attached"] or status == "expired" else _iso(u["expiry"]),
        }
        if status == "pending":
            out["upload_url"] = f"{self.url}/v1/file_uploads/{u['id']}/send"
            if u["mode"] == "multi_part":
                out["complete_url"] = f"{self.url}/v1/file_uploads/{u['id']}/complete"
        out["in_trash"] = False
        out["status"] = status
        out["filename"] = u["filename"]
        out["content_type"] = u["content_type"]
        out["content_length"] = u["content_length"]
        if u["mode"] == "multi_part":
            out["number_of_parts"] = {"total": u["total_parts"], "sent": len(u["parts"])}
        out["archived"] = False
        return out

    def _create_upload(self, body: dict) -> dict:
        opts = self.options
        mode = body.get("mode", "single_part")
        if mode not in ("single_part", "multi_part", "external_url"):
            raise _bad(
                "body.mode", 'should be one of "single_part", "multi_part", "external_url"', mode
            )
        if mode == "external_url":
            raise _invalid(
                "mode `external_url` is not supported by the local Notion server "
                "(it cannot fetch URLs)."
            )
        parts = body.get("number_of_parts", _MISSING)
        if mode == "single_part":
            if parts is not _MISSING and parts is not None:
                # UNCONFIRMED wording
                raise _invalid("number_of_parts can only be provided when mode is `multi_part`.")
            total = None
        else:
            if parts is _MISSING or parts is None:
                raise _bad("body.number_of_parts", "should be defined", _MISSING)
            if not isinstance(parts, int) or isinstance(parts, bool):
                raise _bad("body.number_of_parts", "should be an integer", parts)
            if parts < 1:
                raise _bad("body.number_of_parts", "should be ≥ `1`", parts)
            if parts > MAX_PARTS:
                raise _bad("body.number_of_parts", f"should be ≤ `{MAX_PARTS}`", parts)
            if opts.max_file_upload_size <= FREE_PLAN_LIMIT:
                # UNCONFIRMED wording: multi-part needs a paid plan (README §3.1)
                raise _invalid(
                    "Multi-part uploads are not available for this workspace's plan; the "
                    f"limit is {opts.max_file_upload_size} bytes per file."
                )
            total = parts
        filename = body.get("filename")
        if filename is not None and not isinstance(filename, str):
            raise _bad("body.filename", "should be a string", filename)
        if mode == "multi_part" and not filename:
            raise _bad("body.filename", "should be defined", _MISSING)
        content_type = body.get("content_type")
        if content_type is not None and not isinstance(content_type, str):
            raise _bad("body.content_type", "should be a string", content_type)
        filename, content_type = _check_file_type(filename, _essence(content_type))
        now = time.time()
        with self._lock:
            u = {
                "id": str(uuid.uuid4()),
                "seq": self._store.next_seq(),
                "mode": mode,
                "filename": filename,
                "content_type": content_type,
                "created": now,
                "edited": now,
                "expiry": now + float(opts.expiry_seconds),
                "attached": False,
                "status": "pending",
                "total_parts": total,
                "parts": {},
                "content_length": None,
                "sha512": None,
            }
            self._store.put("upload", u)
            return self._render_upload(u)

    def _retrieve_upload(self, upload_id: str) -> dict:
        with self._lock:
            return self._render_upload(self._get_upload(upload_id))

    def _list_uploads(self, query: dict) -> dict:
        status = (query.get("status") or [None])[-1]
        if status is not None and status not in ("pending", "uploaded", "expired", "failed"):
            raise _invalid(
                "query failed validation: query.status should be one of "
                f'"pending", "uploaded", "expired", "failed", instead was `"{status}"`.'
            )
        page_size = _page_size((query.get("page_size") or [None])[-1], "query.page_size")
        cursor = (query.get("start_cursor") or [None])[-1]
        now = time.time()
        with self._lock:
            items = sorted(self._store.objects["upload"].values(), key=lambda u: -u["seq"])
            if status is not None:
                items = [u for u in items if self._status(u, now) == status]
            results, next_cursor = _paginate(items, cursor, page_size)
            rendered = [self._render_upload(u) for u in results]
        return {
            "object": "list",
            "results": rendered,
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "file_upload",
            "file_upload": {},
        }

    def _check_sendable(self, u: dict) -> None:
        status = self._status(u)
        if status == "expired":
            raise _invalid(f"The file upload with ID {u['id']} is expired.")  # UNCONFIRMED
        if status != "pending":
            # README §1.2: "FileUpload not in the `pending` status" is a documented 400
            raise _invalid(
                f"File upload {u['id']} is in the `{status}` status; only `pending` uploads "
                "accept file contents."
            )

    def _install_part(self, upload_id: str, form: _FormParser, tmp: Path) -> dict:
        opts = self.options
        if not form.file_seen:
            raise _bad("body.file", "should be defined", _MISSING)
        size = form.file_size
        part_raw = form.fields.get("part_number")
        with self._lock:
            u = self._get_upload(upload_id)
            self._check_sendable(u)
            if u["mode"] == "single_part":
                if part_raw is not None:
                    # UNCONFIRMED: Notion may ignore it; refusing catches client bugs
                    raise _invalid("part_number can only be provided for `multi_part` uploads.")
                part = 1
                if size > opts.max_file_upload_size:
                    raise _too_big(size, opts.max_file_upload_size)
                if size > SINGLE_PART_LIMIT:
                    raise _invalid(  # UNCONFIRMED wording; docs: "content length greater than 20MB"
                        f"The file is {size} bytes, more than the {SINGLE_PART_LIMIT} byte limit "
                        "of a single_part upload; use mode `multi_part`."
                    )
                filename, content_type = u["filename"], u["content_type"]
                sent_type = _essence(form.file_type)
                if sent_type == "application/octet-stream":
                    sent_type = None
                if filename is None and form.file_name:
                    if len(form.file_name.encode()) > MAX_FILENAME_BYTES:
                        raise _bad(
                            "body.file.filename.length",
                            f"should be ≤ `{MAX_FILENAME_BYTES}`",
                            len(form.file_name.encode()),
                        )
                    filename, inferred = _check_file_type(form.file_name, content_type or sent_type)
                    content_type = content_type or inferred
                if content_type is None and sent_type is not None:
                    _, content_type = _check_file_type(None, sent_type)
                if content_type is None:
                    raise _invalid(UNSUPPORTED_EXTENSION)
                _check_sent_type(sent_type, content_type)
            else:
                total = u["total_parts"]
                if part_raw is None:
                    raise _bad("body.part_number", "should be defined", _MISSING)
                try:
                    part = int(part_raw.strip())
                except ValueError:
                    raise _bad("body.part_number", "should be an integer", part_raw) from None
                if part < 1 or part > total:
                    raise _bad(  # UNCONFIRMED wording
                        "body.part_number", f"should be between 1 and {total}", part
                    )
                if size > PART_MAX or (part < total and size < PART_MIN):
                    raise _invalid(  # UNCONFIRMED wording
                        f"Part {part} is {size} bytes; every part must be at most {PART_MAX} "
                        f"bytes and every part except the last at least {PART_MIN} bytes."
                    )
                others = sum(v for k, v in u["parts"].items() if int(k) != part)
                if others + size > opts.max_file_upload_size:
                    raise _too_big(others + size, opts.max_file_upload_size)
                _check_sent_type(_essence(form.file_type), u["content_type"], lenient=True)
                filename, content_type = u["filename"], u["content_type"]
            os.replace(tmp, self._store.part_path(upload_id, part))
            u["parts"][str(part)] = size
            u["filename"], u["content_type"] = filename, content_type
            u["edited"] = time.time()
            u["sha512"] = None
            if u["mode"] == "single_part":
                u["status"] = "uploaded"
                u["content_length"] = size
            else:
                u["content_length"] = sum(u["parts"].values())
            self._store.put("upload", u)
            return self._render_upload(u)

    def _complete(self, upload_id: str) -> dict:
        opts = self.options
        with self._lock:
            u = self._get_upload(upload_id)
            if u["mode"] != "multi_part":
                # UNCONFIRMED (README §1.3): complete is for multi_part uploads only
                raise _invalid(
                    f"File upload {upload_id} is not a `multi_part` upload; only multi_part "
                    "uploads can be completed."
                )
            self._check_sendable(u)
            total = u["total_parts"]
            missing = [n for n in range(1, total + 1) if str(n) not in u["parts"]]
            if missing:
                shown = ", ".join(str(n) for n in missing[:10]) + (
                    ", …" if len(missing) > 10 else ""
                )
                raise _invalid(  # UNCONFIRMED wording
                    f"Expected {total} parts but {len(missing)} part(s) have not been sent "
                    f"(missing part_number: {shown})."
                )
            size = sum(u["parts"].values())
            if size > opts.max_file_upload_size:
                raise _too_big(size, opts.max_file_upload_size)
            u["status"] = "uploaded"
            u["content_length"] = size
            u["edited"] = time.time()
            self._store.put("upload", u)
            return self._render_upload(u)

    def _part_files(self, u: dict) -> list[tuple[Path, int]]:
        keys = sorted(u["parts"], key=int)
        return [(self._store.part_path(u["id"], int(k)), u["parts"][k]) for k in keys]

    def upload_sha512(self, upload_id: str) -> str:
        """SHA-512 (hex) of the upload's bytes, parts in order; raises KeyError if unknown."""
        key = _norm_id(upload_id) or upload_id
        with self._lock:
            u = self._store.objects["upload"].get(key)
            if u is None:
                raise KeyError(upload_id)
            if u.get("sha512"):
                return u["sha512"]
            files = self._part_files(u)
            parts_seen = dict(u["parts"])
        digest = hashlib.sha512()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        try:
            for path, _ in files:
                with open(path, "rb", buffering=0) as fh:
                    while True:
                        got = fh.readinto(buf)
                        if not got:
                            break
                        digest.update(view[:got])
        finally:
            view.release()
        hexdigest = digest.hexdigest()
        with self._lock:
            if u["status"] == "uploaded" and u["parts"] == parts_seen:
                u["sha512"] = hexdigest
                self._store.put("upload", u)
        return hexdigest

    def corrupt_upload(self, upload_id: str, offset: int = 0) -> None:
        """Flip the bits of one stored byte (at `offset` of the assembled file)."""
        key = _norm_id(upload_id) or upload_id
        with self._lock:
            u = self._store.objects["upload"].get(key)
            if u is None:
                raise KeyError(upload_id)
            start = 0
            for path, size in self._part_files(u):
                if start <= offset < start + size:
                    with open(path, "r+b") as fh:
                        fh.seek(offset - start)
                        byte = fh.read(1)
                        fh.seek(offset - start)
                        fh.write(bytes([byte[0] ^ 0xFF]))
                    u["sha512"] = None
                    self._store.put("upload", u)
                    return
                start += size
            raise ValueError(f"offset {offset} is beyond the upload's {start} bytes")

    def expire_upload(self, upload_id: str) -> None:
        """Move the upload's expiry to now (an unattached upload then reports `expired`)."""
        key = _norm_id(upload_id) or upload_id
        with self._lock:
            u = self._store.objects["upload"].get(key)
            if u is None:
                raise KeyError(upload_id)
            u["expiry"] = time.time() - 0.001
            self._store.put("upload", u)

    def expire_download_urls(self) -> None:
        """Make every download URL handed out so far expired."""
        with self._lock:
            self._url_epoch += 1
            self._store.set("url_epoch", str(self._url_epoch))

    # -- download URLs: stateless signed tokens
    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]

    def _file_url(self, upload_id: str, name: str, expires: float) -> str:
        payload = f"{upload_id.replace('-', '')}.{int(expires * 1000)}.{self._url_epoch}"
        return f"{self.url}/__files/{payload}.{self._sign(payload)}/{quote(name, safe='')}"

    def _check_file_token(self, token: str) -> str | None:
        """The upload id for a valid token, "expired", or None."""
        pieces = token.split(".")
        if len(pieces) != 4:
            return None
        payload = ".".join(pieces[:3])
        if not hmac.compare_digest(self._sign(payload), pieces[3]):
            return None
        upload_id = _norm_id(pieces[0])
        try:
            expires_ms, epoch = int(pieces[1]), int(pieces[2])
        except ValueError:
            return None
        if epoch < self._url_epoch or time.time() * 1000 >= expires_ms:
            return "expired"
        return upload_id

    def _file_spans(self, upload_id: str) -> tuple[list[tuple[Path, int]], str | None] | None:
        with self._lock:
            u = self._store.objects["upload"].get(upload_id)
            if u is None or u["status"] != "uploaded":
                return None
            return self._part_files(u), u["content_type"]

    # -- users
    def _users_me(self) -> dict:
        return {
            "object": "user",
            "id": BOT_ID,
            "name": "notion-up local",
            "avatar_url": None,
            "type": "bot",
            "bot": {
                "owner": {"type": "workspace", "workspace": True},
                "workspace_name": WORKSPACE_NAME,
                "workspace_id": WORKSPACE_ID,
                "workspace_limits": {
                    "max_file_upload_size_in_bytes": int(self.options.max_file_upload_size)
                },
            },
        }

    # -- databases and data sources
    def _get_page(self, page_id: str, *, live: bool = False) -> dict:
        page = self._store.objects["page"].get(page_id)
        if page is None or (live and page["in_trash"]):
            raise _not_found("page", page_id)
        return page

    def _get_database(self, database_id: str) -> dict:
        db = self._store.objects["database"].get(database_id)
        if db is None:
            raise _not_found("database", database_id)
        return db

    def _get_ds(self, ds_id: str) -> dict:
        ds = self._store.objects["data_source"].get(ds_id)
        if ds is None:
            raise _not_found("data source", ds_id)  # wording UNCONFIRMED
        return ds

    def _schema_in(self, props: object, path: str) -> dict[str, dict]:
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise _bad(path, "should be an object", props)
        schema: dict[str, dict] = {}
        used_ids = {"title"}
        for name, config in props.items():
            p = f"{path}.{name}"
            if not isinstance(config, dict):
                raise _bad(p, "should be an object", config)
            kind = config.get("type")
            if kind is None:
                kind = next((k for k in config if k in PROPERTY_TYPES), None)
            if kind not in PROPERTY_TYPES:
                raise _bad(p, f"should have one of the types {', '.join(PROPERTY_TYPES)}", config)
            raw = config.get(kind) or {}
            if not isinstance(raw, dict):
                raise _bad(f"{p}.{kind}", "should be an object", raw)
            cfg: dict = {}
            if kind == "number":
                cfg = {"format": raw.get("format", "number")}
            elif kind in ("select", "multi_select"):
                cfg = {"options": [_option(o) for o in raw.get("options") or []]}
            if kind == "title":
                prop_id = "title"
            else:
                prop_id = quote(secrets.token_urlsafe(3)[:4], safe="")
                while prop_id in used_ids:
                    prop_id = quote(secrets.token_urlsafe(3)[:4], safe="")
            used_ids.add(prop_id)
            description = config.get("description")
            schema[name] = {
                "id": prop_id,
                "name": name,
                "description": description if isinstance(description, str) else None,
                "type": kind,
                "config": cfg,
            }
        titles = [n for n, s in schema.items() if s["type"] == "title"]
        if len(titles) > 1:
            raise _invalid(f"{path} should have exactly one title property.")  # UNCONFIRMED
        if not titles:
            schema = {
                "Name": {
                    "id": "title",
                    "name": "Name",
                    "description": None,
                    "type": "title",
                    "config": {},
                },
                **schema,
            }
        return schema

    def _new_database(
        self,
        parent_page: str,
        title: list[dict],
        schema: dict[str, dict],
        *,
        is_inline: bool = False,
        icon: dict | None = None,
        cover: dict | None = None,
    ) -> tuple[dict, dict]:
        now = time.time()
        db = {
            "id": str(uuid.uuid4()),
            "seq": self._store.next_seq(),
            "parent_page_id": parent_page,
            "title": title,
            "is_inline": is_inline,
            "in_trash": False,
            "created": now,
            "edited": now,
            "data_sources": [],
            "icon": icon,
            "cover": cover,
        }
        ds = self._new_data_source(db, title, schema, icon=None)
        return db, ds

    def _new_data_source(
        self, db: dict, title: list[dict], schema: dict[str, dict], icon: dict | None
    ) -> dict:
        now = time.time()
        ds = {
            "id": str(uuid.uuid4()),
            "seq": self._store.next_seq(),
            "database_id": db["id"],
            "title": title,
            "properties": schema,
            "in_trash": False,
            "created": now,
            "edited": now,
            "icon": icon,
        }
        db["data_sources"].append(ds["id"])
        self._store.put("database", db)
        self._store.put("data_source", ds)
        self._ds_pages.setdefault(ds["id"], [])
        return ds

    def _parent_page_of(self, body: dict, path: str = "body.parent") -> str:
        parent = body.get("parent")
        if not isinstance(parent, dict):
            raise _bad(path, "should be an object", parent if parent is not None else _MISSING)
        if "page_id" not in parent:
            raise _bad(f"{path}.page_id", "should be defined", _MISSING)
        page_id = _norm_id(parent["page_id"])
        if page_id is None:
            raise _bad(f"{path}.page_id", "should be a valid uuid", parent["page_id"])
        self._get_page(page_id, live=True)
        return page_id

    def _api_create_database(self, body: dict) -> dict:
        title = _rich_text_in(body.get("title") or [], "body.title")
        initial = body.get("initial_data_source")
        if initial is not None and not isinstance(initial, dict):
            raise _bad("body.initial_data_source", "should be an object", initial)
        if initial is not None:
            schema = self._schema_in(
                initial.get("properties"), "body.initial_data_source.properties"
            )
        else:  # pre-2025-09-03 bodies put the schema at the top level
            schema = self._schema_in(body.get("properties"), "body.properties")
        with self._lock:
            parent = self._parent_page_of(body)
            db, _ = self._new_database(
                parent,
                title,
                schema,
                is_inline=bool(body.get("is_inline", False)),
                icon=_icon_in(body.get("icon"), "body.icon"),
                cover=_icon_in(body.get("cover"), "body.cover"),
            )
            return self._render_database(db)

    def _api_create_data_source(self, body: dict) -> dict:
        parent = body.get("parent")
        if not isinstance(parent, dict) or "database_id" not in parent:
            raise _bad("body.parent.database_id", "should be defined", _MISSING)
        db_id = _norm_id(parent["database_id"])
        if db_id is None:
            raise _bad("body.parent.database_id", "should be a valid uuid", parent["database_id"])
        title = _rich_text_in(body.get("title") or [], "body.title")
        schema = self._schema_in(body.get("properties"), "body.properties")
        icon = _icon_in(body.get("icon"), "body.icon")
        with self._lock:
            db = self._get_database(db_id)
            ds = self._new_data_source(db, title, schema, icon)
            return self._render_data_source(ds)

    def _retrieve_database(self, database_id: str) -> dict:
        with self._lock:
            return self._render_database(self._get_database(database_id))

    def _retrieve_data_source(self, ds_id: str) -> dict:
        with self._lock:
            return self._render_data_source(self._get_ds(ds_id))

    def _update_data_source(self, ds_id: str, body: dict) -> dict:
        with self._lock:
            ds = self._get_ds(ds_id)
            trash = body.get("in_trash", body.get("archived"))
            if trash is not None:
                if not isinstance(trash, bool):
                    raise _bad("body.in_trash", "should be a boolean", trash)
                ds["in_trash"] = trash
            if "title" in body:
                ds["title"] = _rich_text_in(body["title"] or [], "body.title")
            if "icon" in body:
                ds["icon"] = _icon_in(body["icon"], "body.icon")
            props = body.get("properties")
            if props is not None:
                if not isinstance(props, dict):
                    raise _bad("body.properties", "should be an object", props)
                additions = {k: v for k, v in props.items() if v is not None}
                for name, value in props.items():
                    if value is None:
                        if ds["properties"].get(name, {}).get("type") == "title":
                            raise _invalid("The title property cannot be removed.")
                        ds["properties"].pop(name, None)
                added = self._schema_in(additions, "body.properties")
                for name, prop in added.items():
                    if prop["type"] == "title" and name not in additions:
                        continue  # the default "Name" added by _schema_in
                    if prop["type"] == "title":
                        raise _invalid("A data source can have only one title property.")
                    ds["properties"][name] = prop
            ds["edited"] = time.time()
            self._store.put("data_source", ds)
            return self._render_data_source(ds)

    def _render_database(self, db: dict) -> dict:
        sources = [self._store.objects["data_source"][i] for i in db["data_sources"]]
        return {
            "object": "database",
            "id": db["id"],
            "title": _rich_text_out(db["title"]),
            "description": [],
            "parent": {"type": "page_id", "page_id": db["parent_page_id"]},
            "is_inline": db["is_inline"],
            "in_trash": db["in_trash"],
            "is_locked": False,
            "created_time": _iso_db(db["created"]),
            "last_edited_time": _iso_db(db["edited"]),
            "data_sources": [{"id": s["id"], "name": _plain(s["title"])} for s in sources],
            "icon": db["icon"],
            "cover": db["cover"],
            "url": f"{self.url}/p/{db['id'].replace('-', '')}",
            "public_url": None,
            "archived": db["in_trash"],
        }

    def _render_data_source(self, ds: dict) -> dict:
        db = self._store.objects["database"][ds["database_id"]]
        props = {}
        for name, prop in ds["properties"].items():
            props[name] = {
                "id": prop["id"],
                "name": name,
                "description": prop["description"],
                "type": prop["type"],
                prop["type"]: prop["config"],
            }
        return {
            "object": "data_source",
            "id": ds["id"],
            "cover": None,
            "icon": ds["icon"],
            "created_time": _iso(ds["created"]),
            "created_by": {"object": "user", "id": BOT_ID},
            "last_edited_by": {"object": "user", "id": BOT_ID},
            "last_edited_time": _iso(ds["edited"]),
            "title": _rich_text_out(ds["title"]),
            "description": [],
            "is_inline": db["is_inline"],
            "properties": props,
            "parent": {"type": "database_id", "database_id": db["id"]},
            "database_parent": {"type": "page_id", "page_id": db["parent_page_id"]},
            "url": f"{self.url}/p/{db['id'].replace('-', '')}",
            "public_url": None,
            "in_trash": ds["in_trash"],
            "archived": ds["in_trash"],
        }

    # -- pages
    def _find_prop(self, schema: dict[str, dict], key: str) -> dict | None:
        if key in schema:
            return schema[key]
        unquoted = unquote(key)
        for prop in schema.values():
            if prop["id"] == key or unquote(prop["id"]) == unquoted:
                return prop
        return None

    def _props_in(self, schema: dict[str, dict] | None, props: object) -> dict[str, object]:
        """Validate and normalise a request's properties (schema None: a page under a page)."""
        if props is None:
            return {}
        if not isinstance(props, dict):
            raise _bad("body.properties", "should be an object", props)
        if schema is None:
            schema = {
                "title": {"id": "title", "name": "title", "type": "title", "config": {}},
            }
        out: dict[str, object] = {}
        for key, value in props.items():
            prop = self._find_prop(schema, key)
            if prop is None:
                raise _invalid(f"{key} is not a property that exists.")
            out[prop["name"]] = self._value_in(prop, value, f"body.properties.{key}")
        return out

    def _value_in(self, prop: dict, value: object, path: str) -> object:
        kind = prop["type"]
        if isinstance(value, dict):
            if "type" in value and value["type"] != kind:
                raise _bad(f"{path}.type", f'should be `"{kind}"`', value["type"])
            if kind not in value:
                raise _bad(f"{path}.{kind}", "should be defined", _MISSING)
            v = value[kind]
        elif isinstance(value, list) and kind in ("title", "rich_text", "files", "multi_select"):
            v = value
        else:
            raise _bad(path, f"should be an object with a `{kind}` value", value)
        p = f"{path}.{kind}"
        if kind in ("title", "rich_text"):
            return _rich_text_in(v, p)
        if kind == "number":
            if v is not None and (not isinstance(v, int | float) or isinstance(v, bool)):
                raise _bad(p, "should be a number or `null`", v)
            if isinstance(v, float) and not math.isfinite(v):
                raise _bad(p, "should be a finite number", str(v))
            return v
        if kind == "checkbox":
            if not isinstance(v, bool):
                raise _bad(p, "should be a boolean", v)
            return v
        if kind == "files":
            if not isinstance(v, list):
                raise _bad(p, "should be an array", v)
            if len(v) > MAX_ARRAY:
                raise _bad(f"{p}.length", f"should be ≤ `{MAX_ARRAY}`", len(v))
            return [self._file_in(item, f"{p}[{i}]") for i, item in enumerate(v)]
        if kind == "date":
            if v is None:
                return None
            if not isinstance(v, dict) or not isinstance(v.get("start"), str):
                raise _bad(f"{p}.start", "should be a string", v)
            end = v.get("end")
            zone = v.get("time_zone")
            if end is not None and not isinstance(end, str):
                raise _bad(f"{p}.end", "should be a string or `null`", end)
            return {"start": v["start"], "end": end, "time_zone": zone}
        if kind in ("url", "email", "phone_number"):
            if v is not None and not isinstance(v, str):
                raise _bad(p, "should be a string or `null`", v)
            if isinstance(v, str) and len(v) > MAX_TEXT:
                raise _bad(f"{p}.length", f"should be ≤ `{MAX_TEXT}`", len(v))
            return v
        if kind == "select":
            if v is None:
                return None
            return self._select_in(prop, v, p)
        if kind == "multi_select":
            if not isinstance(v, list):
                raise _bad(p, "should be an array", v)
            return [self._select_in(prop, item, f"{p}[{i}]") for i, item in enumerate(v)]
        raise _invalid(f"Properties of type {kind} are not supported by the local server.")

    def _select_in(self, prop: dict, v: object, path: str) -> dict:
        if not isinstance(v, dict) or not isinstance(v.get("name", v.get("id")), str):
            raise _bad(f"{path}.name", "should be a string", v)
        options = prop["config"].setdefault("options", [])
        for option in options:
            if option["name"] == v.get("name") or option["id"] == v.get("id"):
                return dict(option)
        if "name" not in v:
            raise _invalid(f"Select option with id {v.get('id')} does not exist.")
        option = _option({"name": v["name"], "color": v.get("color", "default")})
        options.append(option)
        return dict(option)

    def _file_in(self, item: object, path: str) -> dict:
        if not isinstance(item, dict):
            raise _bad(path, "should be an object", item)
        kind = item.get("type") or next(
            (k for k in ("file_upload", "external", "file") if k in item), None
        )
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            raise _bad(f"{path}.name", "should be a string", name)
        if kind == "file_upload":
            ref = item.get("file_upload")
            upload_id = _norm_id(ref.get("id")) if isinstance(ref, dict) else None
            if upload_id is None:
                raise _bad(f"{path}.file_upload.id", "should be a valid uuid", ref)
            return self._attachable(upload_id, name)
        if kind == "external":
            ref = item.get("external")
            if not isinstance(ref, dict) or not isinstance(ref.get("url"), str):
                raise _bad(f"{path}.external.url", "should be a string", ref)
            return {"kind": "external", "url": ref["url"], "name": name or ref["url"]}
        if kind == "file":  # a Notion-hosted file as returned earlier: only ours are known
            ref = item.get("file")
            url = ref.get("url") if isinstance(ref, dict) else None
            if isinstance(url, str) and "/__files/" in url:
                token = url.split("/__files/", 1)[1].split("/", 1)[0]
                upload_id = _norm_id(token.split(".", 1)[0])
                if upload_id and upload_id in self._store.objects["upload"]:
                    return self._attachable(upload_id, name, again=True)
            raise _bad(f"{path}.file.url", "should be a Notion-hosted file URL", url)
        raise _bad(f"{path}.type", 'should be `"file_upload"` or `"external"`', kind)

    def _attachable(self, upload_id: str, name: str | None, again: bool = False) -> dict:
        u = self._store.objects["upload"].get(upload_id)
        # wordings UNCONFIRMED
        if u is None:
            raise _invalid(f"Could not find file upload with ID: {upload_id}.")
        status = self._status(u)
        if status == "expired":
            raise _invalid(f"The file upload with ID {upload_id} is expired.")
        if status != "uploaded" and not again:
            raise _invalid(f"The file upload with ID {upload_id} has not completed uploading.")
        return {"kind": "upload", "id": upload_id, "name": name or u["filename"] or "file"}

    def _attach_all(self, values: dict[str, object]) -> None:
        for value in values.values():
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and item.get("kind") == "upload":
                        u = self._store.objects["upload"][item["id"]]
                        if not u["attached"]:
                            u["attached"] = True
                            u["edited"] = time.time()
                            self._store.put("upload", u)

    def _create_page_api(self, body: dict) -> dict:
        page = self._create_page(body)
        rendered = self._render_page(page)
        opts = self.options
        if opts.fault_after_create_rate > 0 and self._random() < opts.fault_after_create_rate:
            with self._rng_lock:
                k = self._after_create_faults
                self._after_create_faults += 1
            if k % 2 == 0:
                raise ApiError(
                    503,
                    "service_unavailable",
                    "The change was saved, but the response could not be built in time. "
                    "Read the object again instead of repeating the write.",
                    {
                        "from": "publicApi.pageObjectPointerToPageObject.beforePreload",
                        "retry_guidance": [
                            "Read the object again to confirm the saved change.",
                            "Do not repeat the write.",
                        ],
                        "committed_resource_id": page["id"],
                    },
                )
            if k % 4 == 1:
                raise ApiError(503, *_FAULTS[503])
            raise ApiError(504, *_FAULTS[504])
        return rendered

    def _create_page(self, body: dict) -> dict:
        parent = body.get("parent")
        if not isinstance(parent, dict):
            raise _bad("body.parent", "should be an object", parent if parent else _MISSING)
        with self._lock:
            ds = None
            parent_page = None
            if "data_source_id" in parent:
                ds_id = _norm_id(parent["data_source_id"])
                if ds_id is None:
                    raise _bad(
                        "body.parent.data_source_id",
                        "should be a valid uuid",
                        parent["data_source_id"],
                    )
                ds = self._get_ds(ds_id)
            elif "database_id" in parent:
                db_id = _norm_id(parent["database_id"])
                if db_id is None:
                    raise _bad(
                        "body.parent.database_id", "should be a valid uuid", parent["database_id"]
                    )
                db = self._get_database(db_id)
                if len(db["data_sources"]) != 1:
                    raise _invalid(  # README §4.4; wording UNCONFIRMED
                        f"Database {db_id} has more than one data source; use a "
                        "`data_source_id` parent."
                    )
                ds = self._store.objects["data_source"][db["data_sources"][0]]
            elif "page_id" in parent:
                parent_page = self._parent_page_of(body)
            elif parent.get("workspace") is True:
                raise _invalid(  # internal integrations cannot create workspace-level pages
                    "Internal integrations cannot create pages at the workspace level; "
                    "use a page_id, data_source_id or database_id parent."
                )
            else:
                raise _bad("body.parent.page_id", "should be defined", _MISSING)
            values = self._props_in(ds["properties"] if ds else None, body.get("properties"))
            children = body.get("children")
            if children is not None and not isinstance(children, list):
                raise _bad("body.children", "should be an array", children)
            page = self._new_page(
                values,
                ds=ds,
                parent_page=parent_page,
                icon=_icon_in(body.get("icon"), "body.icon"),
                cover=_icon_in(body.get("cover"), "body.cover"),
            )
        with self._stats_lock:
            self._pages_created += 1
        return page

    def _new_page(
        self,
        values: dict,
        *,
        ds: dict | None = None,
        parent_page: str | None = None,
        workspace: bool = False,
        icon: dict | None = None,
        cover: dict | None = None,
    ) -> dict:
        now = time.time()
        page = {
            "id": str(uuid.uuid4()),
            "seq": self._store.next_seq(),
            "data_source_id": ds["id"] if ds else None,
            "database_id": ds["database_id"] if ds else None,
            "parent_page_id": parent_page,
            "workspace": workspace,
            "properties": values,
            "in_trash": False,
            "created": now,
            "edited": now,
            "icon": icon,
            "cover": cover,
        }
        self._store.put("page", page)
        if ds is not None:
            self._ds_pages.setdefault(ds["id"], []).append(page["id"])
        self._attach_all(values)
        return page

    def _page_parent(self, page: dict) -> dict:
        if page["data_source_id"]:
            return {
                "type": "data_source_id",
                "data_source_id": page["data_source_id"],
                "database_id": page["database_id"],
            }
        if page["parent_page_id"]:
            return {"type": "page_id", "page_id": page["parent_page_id"]}
        return {"type": "workspace", "workspace": True}

    def _page_schema(self, page: dict) -> dict[str, dict]:
        if page["data_source_id"]:
            return self._store.objects["data_source"][page["data_source_id"]]["properties"]
        return {"title": {"id": "title", "name": "title", "type": "title", "config": {}}}

    def _render_page(self, page: dict) -> dict:
        now = time.time()
        props = {}
        for name, prop in self._page_schema(page).items():
            props[name] = self._value_out(prop, page["properties"].get(name), now)
        title = next(
            (_plain(page["properties"].get(n)) for n, p in self._page_schema(page).items()
             if p["type"] == "title"),
            "",
        )  # fmt: skip
        slug = _slug(title)
        hexid = page["id"].replace("-", "")
        return {
            "object": "page",
            "id": page["id"],
            "created_time": _iso(page["created"]),
            "last_edited_time": _iso(page["edited"]),
            "created_by": {"object": "user", "id": BOT_ID},
            "last_edited_by": {"object": "user", "id": BOT_ID},
            "cover": page["cover"],
            "icon": page["icon"],
            "parent": self._page_parent(page),
            "in_trash": page["in_trash"],
            "is_archived": False,
            "is_locked": False,
            "properties": props,
            "url": f"{self.url}/p/{slug + '-' if slug else ''}{hexid}",
            "public_url": None,
            "archived": page["in_trash"],
        }

    def _value_out(self, prop: dict, value: object, now: float) -> dict:
        kind = prop["type"]
        out: dict = {"id": prop["id"], "type": kind}
        if kind in ("title", "rich_text"):
            out[kind] = _rich_text_out(value or [])  # type: ignore[arg-type]
        elif kind == "checkbox":
            out[kind] = bool(value)
        elif kind in ("files", "multi_select"):
            items = value or []
            if kind == "files":
                expires = now + float(self.options.url_expiry_seconds)
                out[kind] = [self._file_out(item, expires) for item in items]  # type: ignore[union-attr]
            else:
                out[kind] = items
        else:
            out[kind] = value
        return out

    def _file_out(self, item: dict, expires: float) -> dict:
        if item["kind"] == "external":
            return {"name": item["name"], "type": "external", "external": {"url": item["url"]}}
        return {
            "name": item["name"],
            "type": "file",
            "file": {
                "url": self._file_url(item["id"], item["name"], expires),
                "expiry_time": _iso(expires),
            },
        }

    def _retrieve_page(self, page_id: str) -> dict:
        with self._lock:
            return self._render_page(self._get_page(page_id))

    def _update_page(self, page_id: str, body: dict) -> dict:
        with self._lock:
            page = self._get_page(page_id)
            trash = body.get("in_trash", body.get("archived"))
            if trash is not None and not isinstance(trash, bool):
                raise _bad("body.in_trash", "should be a boolean", trash)
            props = body.get("properties")
            if props and page["in_trash"] and trash is not False:
                raise _invalid(
                    "Can't edit block that is archived. You must unarchive the block before "
                    "editing."
                )
            values = self._props_in(
                self._page_schema(page) if page["data_source_id"] else None, props
            )
            icon = _icon_in(body["icon"], "body.icon") if "icon" in body else page["icon"]
            cover = _icon_in(body["cover"], "body.cover") if "cover" in body else page["cover"]
            page["properties"].update(values)
            page["icon"], page["cover"] = icon, cover
            if trash is not None:
                page["in_trash"] = trash
            page["edited"] = time.time()
            self._store.put("page", page)
            self._attach_all(values)
            return self._render_page(page)

    def _delete_block(self, block_id: str) -> dict:
        with self._lock:
            now = time.time()
            if block_id in self._store.objects["database"]:
                db = self._store.objects["database"][block_id]
                db["in_trash"] = True
                db["edited"] = now
                self._store.put("database", db)
                return _block(
                    db["id"],
                    {"type": "page_id", "page_id": db["parent_page_id"]},
                    db["created"],
                    now,
                    False,
                    "child_database",
                    _plain(db["title"]),
                )
            page = self._store.objects["page"].get(block_id)
            if page is None:
                raise _not_found("block", block_id)
            page["in_trash"] = True
            page["edited"] = now
            self._store.put("page", page)
            children = any(
                o.get("parent_page_id") == block_id and not o["in_trash"]
                for kind in ("page", "database")
                for o in self._store.objects[kind].values()
            )
            title = next(
                (_plain(v) for n, v in page["properties"].items()
                 if self._page_schema(page).get(n, {}).get("type") == "title"),
                "",
            )  # fmt: skip
            return _block(
                page["id"],
                self._page_parent(page),
                page["created"],
                now,
                children,
                "child_page",
                title,
            )

    # -- query
    def _query(self, ds_id: str, body: dict) -> dict:
        page_size = _page_size(body.get("page_size"), "body.page_size")
        cursor = body.get("start_cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise _bad("body.start_cursor", "should be a string", cursor)
        with self._lock:
            ds = self._get_ds(ds_id)
            schema = ds["properties"]
            predicate = (
                self._compile_filter(body["filter"], schema, "body.filter")
                if body.get("filter")
                else None
            )
            sorts = body.get("sorts") or []
            if not isinstance(sorts, list):
                raise _bad("body.sorts", "should be an array", sorts)
            pages = [self._store.objects["page"][i] for i in self._ds_pages.get(ds_id, [])]
            pages = [p for p in pages if not p["in_trash"]]
            if predicate is not None:
                pages = [p for p in pages if predicate(p)]
            pages.sort(key=lambda p: -p["seq"])  # default: newest first (UNCONFIRMED)
            for i, spec in reversed(list(enumerate(sorts))):
                key, reverse = self._sort_key(spec, schema, f"body.sorts[{i}]")
                pages.sort(key=key, reverse=reverse)
            results, next_cursor = _paginate(pages, cursor, page_size)
            rendered = [self._render_page(p) for p in results]
        return {
            "object": "list",
            "results": rendered,
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }

    def _sort_key(self, spec: object, schema: dict, path: str):
        if not isinstance(spec, dict):
            raise _bad(path, "should be an object", spec)
        direction = spec.get("direction", "ascending")
        if direction not in ("ascending", "descending"):
            raise _bad(f"{path}.direction", 'should be "ascending" or "descending"', direction)
        reverse = direction == "descending"
        if "timestamp" in spec:
            ts = spec["timestamp"]
            if ts not in ("created_time", "last_edited_time"):
                raise _bad(
                    f"{path}.timestamp", 'should be "created_time" or "last_edited_time"', ts
                )
            field_ = "created" if ts == "created_time" else "edited"
            return (lambda p: (p[field_], p["seq"])), reverse
        if "property" in spec:
            prop = self._find_prop(schema, str(spec["property"]))
            if prop is None:
                raise _invalid(f"Could not find sort property with name or id: {spec['property']}")
            name, kind = prop["name"], prop["type"]

            def key(p: dict):
                v = p["properties"].get(name)
                if kind in ("title", "rich_text"):
                    return (0, _plain(v))
                if kind == "number":
                    return (0, v) if v is not None else (1, 0)
                if kind == "checkbox":
                    return (0, bool(v))
                if kind == "select":
                    return (0, v["name"]) if v else (1, "")
                return (0, str(v) if v is not None else "")

            return key, reverse
        raise _bad(f"{path}.property", "should be defined", _MISSING)

    def _compile_filter(self, spec: object, schema: dict, path: str) -> Callable[[dict], bool]:
        if not isinstance(spec, dict):
            raise _bad(path, "should be an object", spec)
        for combinator in ("and", "or"):
            if combinator in spec:
                subs = spec[combinator]
                if not isinstance(subs, list):
                    raise _bad(f"{path}.{combinator}", "should be an array", subs)
                preds = [
                    self._compile_filter(s, schema, f"{path}.{combinator}[{i}]")
                    for i, s in enumerate(subs)
                ]
                if combinator == "and":
                    return lambda p: all(f(p) for f in preds)
                return lambda p: any(f(p) for f in preds)
        if "property" not in spec:
            raise _bad(
                path, "should be a property filter or an `and`/`or` compound filter", spec
            )  # timestamp filters are not implemented
        prop = self._find_prop(schema, str(spec["property"]))
        if prop is None:
            raise _invalid(f"Could not find property with name or id: {spec['property']}")
        kinds = [k for k in spec if k not in ("property", "type")]
        if len(kinds) != 1:
            raise _bad(path, "should have exactly one filter condition", spec)
        ftype = kinds[0]
        ptype = prop["type"]
        text_kinds = ("title", "rich_text", "url", "email", "phone_number")
        compatible = ftype == ptype or (ftype in ("title", "rich_text") and ptype in text_kinds)
        if not compatible:
            # UNCONFIRMED wording
            raise _invalid(f"database property {ptype} does not match filter {ftype}")
        cond = spec[ftype]
        p = f"{path}.{ftype}"
        if not isinstance(cond, dict) or len(cond) != 1:
            raise _bad(p, "should be an object with one condition", cond)
        op, operand = next(iter(cond.items()))
        name = prop["name"]

        def get(page: dict):
            return page["properties"].get(name)

        if ptype in text_kinds:

            def text(page: dict) -> str:
                v = get(page)
                return _plain(v) if ptype in ("title", "rich_text") else (v or "")

            if op in ("is_empty", "is_not_empty"):
                want = op == "is_empty"
                return lambda page: (text(page) == "") == want
            if not isinstance(operand, str):
                raise _bad(f"{p}.{op}", "should be a string", operand)
            ops = {
                "equals": lambda s: s == operand,
                "does_not_equal": lambda s: s != operand,
                "contains": lambda s: operand.lower() in s.lower(),
                "does_not_contain": lambda s: operand.lower() not in s.lower(),
                "starts_with": lambda s: s.startswith(operand),
                "ends_with": lambda s: s.endswith(operand),
            }
            if op not in ops:
                raise _bad(f"{p}", f"should use one of {', '.join(ops)}", cond)
            test = ops[op]
            return lambda page: test(text(page))
        if ptype == "number":
            if op in ("is_empty", "is_not_empty"):
                want = op == "is_empty"
                return lambda page: (get(page) is None) == want
            if not isinstance(operand, int | float) or isinstance(operand, bool):
                raise _bad(f"{p}.{op}", "should be a number", operand)
            nops: dict[str, Callable[[float], bool]] = {
                "equals": lambda v: v == operand,
                "does_not_equal": lambda v: v != operand,
                "greater_than": lambda v: v > operand,
                "less_than": lambda v: v < operand,
                "greater_than_or_equal_to": lambda v: v >= operand,
                "less_than_or_equal_to": lambda v: v <= operand,
            }
            if op not in nops:
                raise _bad(p, f"should use one of {', '.join(nops)}", cond)
            ntest = nops[op]
            return lambda page: get(page) is not None and ntest(get(page))
        if ptype == "checkbox":
            if op not in ("equals", "does_not_equal") or not isinstance(operand, bool):
                raise _bad(f"{p}.{op}", "should be a boolean", operand)
            want_bool = operand if op == "equals" else not operand
            return lambda page: bool(get(page)) == want_bool
        if ptype in ("files", "multi_select"):
            if op in ("is_empty", "is_not_empty"):
                want = op == "is_empty"
                return lambda page: (not get(page)) == want
        if ptype == "select" and op == "equals" and isinstance(operand, str):
            return lambda page: bool(get(page)) and get(page)["name"] == operand
        raise _invalid(f"Filters on {ptype} properties with `{op}` are not supported here.")

    # -- the sandbox workspace
    def ensure_workspace(self) -> Workspace:
        """The root page and the two databases, created once and kept in the state."""
        with self._lock:
            known = self._store.kv.get("workspace")
            if known:
                ws = Workspace(**json.loads(known))
                objs = self._store.objects
                if (
                    ws.root_page_id in objs["page"]
                    and ws.files_database_id in objs["database"]
                    and ws.index_database_id in objs["database"]
                    and ws.files_data_source_id in objs["data_source"]
                    and ws.index_data_source_id in objs["data_source"]
                ):
                    return ws
            root = self._new_page({"title": _text_value(WORKSPACE_NAME)}, workspace=True)
            made = []
            for title, schema in (
                ("notion-up files", FILES_SCHEMA),
                ("notion-up global index", INDEX_SCHEMA),
            ):
                config = {name: {kind: {}} for name, kind in schema.items()}
                db, ds = self._new_database(
                    root["id"], _text_value(title), self._schema_in(config, "schema")
                )
                made.append((db["id"], ds["id"]))
            ws = Workspace(root["id"], made[0][0], made[0][1], made[1][0], made[1][1])
            self._store.set("workspace", json.dumps(asdict(ws)))
            return ws


# ---------------------------------------------------------------------------------------------
# value helpers


def _too_big(size: int, limit: int) -> ApiError:
    # third-party code matches "file size of" + "exceeds the limit" (README §3.1); UNCONFIRMED
    return _invalid(
        f"The file size of {size} bytes exceeds the limit of {limit} bytes for this workspace."
    )


def _check_file_type(
    filename: str | None, content_type: str | None
) -> tuple[str | None, str | None]:
    """Validate a filename and content type against the allow-list; fill in what can be inferred."""
    if filename is not None:
        if len(filename.encode("utf-8")) > MAX_FILENAME_BYTES:
            raise _bad(
                "body.filename.length",
                f"should be ≤ `{MAX_FILENAME_BYTES}`",
                len(filename.encode("utf-8")),
            )
    if content_type is not None and content_type not in _ALLOWED_TYPES:
        raise _invalid(f"The content type {content_type} is not supported for the File Upload API.")
    if filename is not None:
        ext = _ext(filename)
        if not ext and content_type is not None:
            filename = filename + _EXT_FOR_TYPE[content_type]
            ext = _ext(filename)
        if ext not in _ALLOWED:
            raise _invalid(UNSUPPORTED_EXTENSION)
        if content_type is None:
            content_type = _ALLOWED[ext][0]
        elif content_type not in _ALLOWED[ext]:
            raise _invalid(  # UNCONFIRMED wording
                f"The content type {content_type} does not match the extension of the "
                f"provided `filename` ({ext})."
            )
    return filename, content_type


def _check_sent_type(sent: str | None, declared: str | None, lenient: bool = False) -> None:
    """The part's own Content-Type must be supported and agree with the upload's."""
    if sent is None or sent == "application/octet-stream":
        return
    if sent not in _ALLOWED_TYPES:
        raise _invalid(f"The content type {sent} is not supported for the File Upload API.")
    if declared is not None and sent != declared and not lenient:
        raise _invalid(  # UNCONFIRMED wording
            f"The content type {sent} of the sent file does not match the content type "
            f"{declared} of the file upload."
        )


def _page_size(raw: object, path: str) -> int:
    if raw is None or raw == "":
        return 100
    value = raw
    if isinstance(raw, str):
        try:
            value = int(raw)
        except ValueError:
            raise _bad(path, "should be a number", raw) from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(path, "should be a number", raw)
    prefix = "query" if path.startswith("query") else "body"
    if value < 1:
        raise _invalid(
            f"{prefix} failed validation: {path} should be ≥ `1`, instead was `{value}`."
        )
    if value > 100:
        raise _invalid(
            f"{prefix} failed validation: {path} should be ≤ `100`, instead was `{value}`."
        )
    return value


def _paginate(items: list[dict], cursor: str | None, page_size: int) -> tuple[list, str | None]:
    start = 0
    if cursor:
        wanted = _norm_id(cursor)
        for i, item in enumerate(items):
            if item["id"] == wanted:
                start = i
                break
        else:  # UNCONFIRMED wording
            raise _invalid(f"The start_cursor provided is invalid: {cursor}")
    page = items[start : start + page_size]
    following = items[start + page_size : start + page_size + 1]
    return page, (following[0]["id"] if following else None)


def _text_value(text: str) -> list[dict]:
    return [{"content": text, "link": None, "annotations": dict(_ANNOTATIONS)}]


def _rich_text_in(value: object, path: str) -> list[dict]:
    if not isinstance(value, list):
        raise _bad(path, "should be an array", value)
    if len(value) > MAX_ARRAY:
        raise _bad(f"{path}.length", f"should be ≤ `{MAX_ARRAY}`", len(value))
    out = []
    for i, item in enumerate(value):
        p = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise _bad(p, "should be an object", item)
        kind = item.get("type", "text")
        if kind != "text":
            raise _invalid(
                f"body failed validation: {p}.type `{kind}` is not supported by the local "
                "server (only `text`)."
            )
        text = item.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("content"), str):
            raise _bad(f"{p}.text.content", "should be a string", text if text else _MISSING)
        content = text["content"]
        if len(content) > MAX_TEXT:
            raise _bad(f"{p}.text.content.length", f"should be ≤ `{MAX_TEXT}`", len(content))
        link = text.get("link")
        url = link.get("url") if isinstance(link, dict) else None
        annotations = dict(_ANNOTATIONS)
        given = item.get("annotations")
        if isinstance(given, dict):
            for key in annotations:
                if key in given:
                    annotations[key] = given[key]
        out.append({"content": content, "link": url, "annotations": annotations})
    return out


def _rich_text_out(items: list[dict]) -> list[dict]:
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


def _icon_in(value: object, path: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(path, "should be an object", value)
    kind = value.get("type") or next((k for k in ("emoji", "external") if k in value), None)
    if kind == "emoji" and isinstance(value.get("emoji"), str):
        return {"type": "emoji", "emoji": value["emoji"]}
    if kind == "external" and isinstance((value.get("external") or {}).get("url"), str):
        return {"type": "external", "external": {"url": value["external"]["url"]}}
    raise _bad(path, "should be an emoji or external icon (others are not supported here)", value)


def _option(raw: object) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise _bad("options", "should be objects with a name", raw)
    return {
        "id": raw.get("id") or secrets.token_hex(2),
        "name": raw["name"],
        "color": raw.get("color", "default"),
        "description": None,
    }


def _block(
    block_id: str,
    parent: dict,
    created: float,
    edited: float,
    has_children: bool,
    kind: str,
    title: str,
) -> dict:
    return {
        "object": "block",
        "id": block_id,
        "parent": parent,
        "created_time": _iso(created),
        "last_edited_time": _iso(edited),
        "created_by": {"object": "user", "id": BOT_ID},
        "last_edited_by": {"object": "user", "id": BOT_ID},
        "has_children": has_children,
        "in_trash": True,
        "type": kind,
        kind: {"title": title},
        "archived": True,
    }


# ---------------------------------------------------------------------------------------------
# running it


def serve_forever(
    port: int,
    state_dir: str | Path | None = None,
    options: ServerOptions | None = None,
    *,
    host: str = "127.0.0.1",
    on_ready: Callable[[LocalNotion, Workspace], None] | None = None,
) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM; `on_ready` runs once it listens."""
    server = LocalNotion(options, state_dir=state_dir, host=host, port=port)
    stop = threading.Event()

    def _terminate(signum, frame) -> None:
        stop.set()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        server.start()
        workspace = server.ensure_workspace()
        if on_ready is not None:
            on_ready(server, workspace)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    """`python -m notion_up.localserver`: prints one JSON line with the URL, token and ids."""
    parser = argparse.ArgumentParser(
        prog="python -m notion_up.localserver", description="A local Notion-compatible server."
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", default=None, help="keep state here (default: temporary)")
    parser.add_argument("--token", default=ServerOptions.token)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--bandwidth", type=float, default=None, help="bytes/s per connection")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--fault-endpoints", default="send,complete", help="comma-separated endpoint names"
    )
    parser.add_argument("--fault-after-create-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit", action="store_true")
    parser.add_argument("--rate", type=float, default=3.0)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--max-file-size", type=int, default=ServerOptions.max_file_upload_size)
    parser.add_argument("--expiry-seconds", type=float, default=3600.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    options = ServerOptions(
        token=args.token,
        latency=args.latency,
        bandwidth=args.bandwidth,
        fault_rate=args.fault_rate,
        fault_endpoints=frozenset(e.strip() for e in args.fault_endpoints.split(",") if e.strip()),
        fault_after_create_rate=args.fault_after_create_rate,
        drop_rate=args.drop_rate,
        max_file_upload_size=args.max_file_size,
        rate_limit=args.rate_limit,
        rate=args.rate,
        burst=args.burst,
        expiry_seconds=args.expiry_seconds,
        seed=args.seed,
    )

    def ready(server: LocalNotion, ws: Workspace) -> None:
        line = {
            "url": server.url,
            "token": server.token,
            "files_database_id": ws.files_database_id,
            "files_data_source_id": ws.files_data_source_id,
            "index_database_id": ws.index_database_id,
            "index_data_source_id": ws.index_data_source_id,
            "root_page_id": ws.root_page_id,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    serve_forever(args.port, args.state_dir, options, host=args.host, on_ready=ready)


if __name__ == "__main__":
    main()
