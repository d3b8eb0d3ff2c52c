"""The HTTP layer: a ThreadingHTTPServer, the routes table, and the handler.

Moto's split: each route in `ROUTES` names an endpoint and a handler method; each handler method
parses the request and calls one public `LocalNotion` method (never its private state).
Files (`/__files/`) and admin (`/__admin/`) requests are answered here too.
"""

from __future__ import annotations

import hmac
import http.server
import json
import os
import re
import socket
import struct
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .downloads import send_span
from .errors import FAULTS, S3_FAULTS, ApiError, bad, invalid
from .limits import MAX_JSON_BODY, MIB, NOTION_VERSIONS
from .values import norm_id, path_id
from .versions import for_version
from .wire import ClientGone, FormError, FormParser, RequestBody, header_params, parse_range


class HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:  # quiet: no tracebacks on stderr
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError | ClientGone | ValueError):
            return
        notion = getattr(self.RequestHandlerClass, "notion", None)
        if notion is not None:
            notion.note_error(traceback.format_exc())


ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [
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


def make_handler(notion) -> type[http.server.BaseHTTPRequestHandler]:
    """A handler class bound to `notion` (a LocalNotion)."""
    return type("_BoundHandler", (_Handler,), {"notion": notion})


def _route(method: str, path: str) -> tuple[str, str | None, tuple[str, ...]]:
    path = path.rstrip("/") or "/"
    for m, pattern, endpoint, fn in ROUTES:
        match = pattern.fullmatch(path)
        if match:
            if m == method:
                return endpoint, fn, match.groups()
    return "invalid", None, ()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "notion-up-sandbox"
    sys_version = ""
    timeout = 300
    disable_nagle_algorithm = True
    notion: Any  # the LocalNotion, set on a subclass by LocalNotion.start

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.notion.connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.notion.connection_closed(self.connection)

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
        notion = self.notion
        self._request_id = str(uuid.uuid4())
        self._version = self.headers.get("Notion-Version")
        self._crash_after = False
        split = urlsplit(self.path)
        path = split.path
        self._endpoint: str | None = None
        if path.startswith("/__admin/"):
            self._body = RequestBody(self.rfile, self.headers, None)
            self._admin(method, path)
            return
        self._body = RequestBody(self.rfile, self.headers, notion.options.bandwidth)
        args: tuple[str, ...]
        if path.startswith("/__files/"):
            endpoint, fn, args = "download", None, ()
        else:
            notion.note_arrival(self.connection)
            endpoint, fn, args = _route(method, path)
        notion.request_started(endpoint)
        self._endpoint = endpoint
        status = "error"
        try:
            if endpoint == "download":
                status = self._download(method, path)
            else:
                status = self._api(method, split.query, endpoint, fn, args)
        except (ClientGone, ConnectionError, TimeoutError, OSError):
            self.close_connection = True
            status = "disconnected"
        except Exception:  # a bug here: answer 500 and keep the traceback for the tests
            notion.note_error(traceback.format_exc())
            self.close_connection = True
            try:
                status = self._send_error(ApiError(500, *FAULTS[500]))
            except OSError:
                status = "disconnected"
        finally:
            self._account(status)

    def _account(self, status: str) -> None:
        """Count the request once, before its answer leaves (so a client never sees stale stats)."""
        if self._endpoint is not None:
            self.notion.request_finished(self._endpoint, status)
            self._endpoint = None

    def _api(self, method: str, query: str, endpoint: str, fn: str | None, args) -> str:
        notion = self.notion
        opts = notion.options
        if opts.latency > 0:
            time.sleep(opts.latency)
        try:
            self._check_auth()
            notion.take_token()
            if fn is None:
                raise ApiError(400, "invalid_request_url", "Invalid request URL.")
            crash = notion.crash_point(endpoint)
            if crash == "before":
                notion.crashed()
                self._drop_connection()
                return "crashed"
            self._crash_after = crash == "after"
            if endpoint == "send":
                return self._api_send(*args)
            body = self._json_body() if method in ("POST", "PATCH", "PUT") else {}
            fault = notion.decide_fault(endpoint)
            if fault is not None:
                raise notion.fault_error(fault)
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
            token.strip().encode(), self.notion.options.token.encode()
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
            raise invalid(
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
            raise bad("body", "should be an object", body)
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
        if self._crash_after:
            # Committed, and the reply is lost: as if the client died right now.
            self.notion.crashed()
            self._drop_connection()
            return
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
            # The handler's own header buffer, which typeshed does not declare.
            self._headers_buffer.append(b"\r\n" + data)  # type: ignore[attr-defined]
            self.flush_headers()
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, status: int, obj: dict, headers: dict | None = None) -> str:
        obj = for_version(obj, self._version)
        obj["request_id"] = self._request_id
        self._write(status, _utf8_json(obj), "application/json; charset=utf-8", headers)
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
        data = _utf8_json(body)
        if exc.status in (429, 529):
            self.notion.note_retry_after(exc.headers.get("Retry-After"), self.connection)
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
        return self.notion.users_me()

    def _api_create_upload(self, body: dict) -> dict:
        return self.notion.create_upload(body)

    def _api_list_uploads(self, query: dict) -> dict:
        return self.notion.list_uploads(query)

    def _api_retrieve_upload(self, raw_id: str) -> dict:
        return self.notion.retrieve_upload(path_id(raw_id, "file_upload"))

    def _api_complete(self, body: dict, raw_id: str) -> dict:
        return self.notion.complete_upload(path_id(raw_id, "file_upload"))

    def _api_create_database(self, body: dict) -> dict:
        return self.notion.create_database(body)

    def _api_retrieve_database(self, raw_id: str) -> dict:
        return self.notion.retrieve_database(path_id(raw_id, "database"))

    def _api_create_data_source(self, body: dict) -> dict:
        return self.notion.create_data_source(body)

    def _api_retrieve_ds(self, raw_id: str) -> dict:
        return self.notion.retrieve_data_source(path_id(raw_id, "data_source"))

    def _api_update_ds(self, body: dict, raw_id: str) -> dict:
        return self.notion.update_data_source(path_id(raw_id, "data_source"), body)

    def _api_query(self, body: dict, raw_id: str) -> dict:
        return self.notion.query_data_source(path_id(raw_id, "data_source"), body)

    def _api_create_page(self, body: dict) -> dict:
        return self.notion.create_page(body)

    def _api_retrieve_page(self, raw_id: str) -> dict:
        return self.notion.retrieve_page(path_id(raw_id, "page"))

    def _api_update_page(self, body: dict, raw_id: str) -> dict:
        return self.notion.update_page(path_id(raw_id, "page"), body)

    def _api_delete_block(self, body: dict, raw_id: str) -> dict:
        return self.notion.delete_block(path_id(raw_id, "block"))

    def _api_send(self, raw_id: str) -> str:
        notion = self.notion
        upload_id = path_id(raw_id, "file_upload")
        ctype, params = header_params(self.headers.get("Content-Type") or "")
        boundary = params.get("boundary")
        notion.check_sendable(upload_id)
        if ctype != "multipart/form-data" or not boundary:
            raise invalid(
                "Content-Type should be multipart/form-data with a boundary, "
                f"instead was `{self.headers.get('Content-Type')}`."
            )
        fault = notion.decide_fault("send")
        drop = notion.decide_drop()
        cut = None
        if fault is not None or drop:
            cut = max(1, (self._body.length or 128 * 1024) // 2)
        tmp = notion.part_tmp_path(upload_id)
        installed = False
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with open(fd, "wb", buffering=0) as sink:
                parser = FormParser(boundary.encode("latin-1"), sink)
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
                except FormError as exc:
                    raise invalid(f"Failed to parse the multipart/form-data body: {exc}.") from None
                finally:
                    view.release()
                if drop:
                    self._drop_connection()
                    return "dropped"
                if fault is not None:
                    raise notion.fault_error(fault)
                try:
                    parser.finish()
                except FormError as exc:
                    raise invalid(f"Failed to parse the multipart/form-data body: {exc}.") from None
            result = notion.install_part(upload_id, parser, tmp)
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
        notion = self.notion
        opts = notion.options
        if opts.latency > 0:
            time.sleep(opts.latency)
        if method not in ("GET", "HEAD"):
            return self._s3_error(405, "MethodNotAllowed", "The specified method is not allowed.")
        fault = notion.decide_fault("download")
        if fault is not None:
            code = S3_FAULTS.get(fault, "InternalError")
            return self._s3_error(fault, code, "We encountered an internal error.")
        pieces = path[len("/__files/") :].split("/", 1)
        found = notion.check_download_token(pieces[0])
        if found == "expired":
            return self._s3_error(403, "AccessDenied", "Request has expired")
        if found is None:
            return self._s3_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        spans = notion.download_spans(found)
        if spans is None:
            return self._s3_error(404, "NoSuchKey", "The specified key does not exist.")
        parts, content_type = spans
        total = sum(size for _, size in parts)
        start, end = 0, total - 1
        status = 200
        headers = {"Accept-Ranges": "bytes"}
        rng = None if opts.ignore_range else self.headers.get("Range")
        if rng:
            parsed = parse_range(rng, total)
            if parsed == "unsatisfiable":
                headers["Content-Range"] = f"bytes */{total}"
                return self._s3_error(
                    416, "InvalidRange", "The requested range is not satisfiable", headers
                )
            if isinstance(parsed, tuple):
                start, end = parsed
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        length = max(0, end - start + 1)
        self._finish_body()
        if self._crash_after:
            # Committed, and the reply is lost: as if the client died right now.
            self.notion.crashed()
            self._drop_connection()
            return "crashed"
        self._account(str(status))
        # A hostile host runs past the range; with no Content-Length only the close ends it.
        overrun = min(opts.download_overrun, total - 1 - end) if status == 206 else 0
        cut = notion.take_download_cut(length) if method == "GET" else None
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        if overrun > 0:
            self.close_connection = True
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method == "HEAD" or length == 0:
            return str(status)
        stop = end + 1 + max(0, overrun)
        if cut is not None:
            stop = start + cut
        self.wfile.flush()
        notion.download_began()
        try:
            send_span(self.connection, parts, start, stop, opts.download_bandwidth)
        finally:
            notion.download_done()
        if cut is not None:
            # An orderly close mid-body: the client sees exactly `cut` bytes, then the end.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)
            return "cut"
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
        notion = self.notion
        parts = [p for p in path.split("/") if p][1:]
        try:
            body = self._admin_body() if method == "POST" else {}
            if method == "GET" and parts == ["stats"]:
                result: dict = notion.stats()
            elif method == "POST" and parts == ["reset"]:
                notion.reset_stats()
                result = {"ok": True}
            elif parts == ["options"] and method in ("GET", "POST"):
                if method == "POST":
                    notion.merge_options(body)
                result = notion.options_json()
            elif method == "GET" and parts == ["workspace"]:
                result = asdict(notion.ensure_workspace())
            elif method == "POST" and parts == ["expire_download_urls"]:
                notion.expire_download_urls()
                result = {"ok": True}
            elif method == "POST" and parts[:1] == ["data_sources"] and parts[2:] == ["plant"]:
                # Rows made straight in the store (benchmarks of big databases): see plant_pages.
                ds_id = norm_id(parts[1]) or parts[1]
                rows, start = body.get("rows"), float(body.get("start", 0))
                if not isinstance(rows, list):
                    raise ValueError("rows should be a list of property objects")
                per_minute = int(body.get("per_minute", 100))
                result = {
                    "ids": notion.plant_pages(ds_id, rows, start=start, per_minute=per_minute)
                }
            elif len(parts) == 3 and parts[0] == "uploads":
                upload_id = norm_id(parts[1]) or parts[1]
                if method == "GET" and parts[2] == "sha512":
                    result = {"id": upload_id, "sha512": notion.upload_sha512(upload_id)}
                elif method == "POST" and parts[2] == "expire":
                    notion.expire_upload(upload_id)
                    result = {"ok": True}
                elif method == "POST" and parts[2] == "corrupt":
                    notion.corrupt_upload(upload_id, int(body.get("offset", 0)))
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


def _utf8_json(obj: object) -> bytes:
    """JSON as UTF-8, as Notion (JavaScript's well-formed JSON.stringify) writes it: a lone
    surrogate a client sent in a string comes back as its \\u escape."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
