"""The Notion HTTP client: one request path (timeouts, retries, rate limit) and typed calls."""

from __future__ import annotations

import copy
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from notion_up.errors import (
    APIError,
    ConfigError,
    Interrupted,
    InvalidRecord,
    MalformedReply,
    NotionUpError,
    OutcomeUnknown,
    TransientError,
)
from notion_up.notion import replies, transport
from notion_up.notion.multipart import MultipartBody
from notion_up.notion.paging import read_all
from notion_up.notion.retry import THROTTLE_STATUSES, RateLimiter, RetryPolicy, parse_retry_after
from notion_up.version import __version__

NOTION_VERSION = "2025-09-03"
DEFAULT_API_URL = "https://api.notion.com"
# What an id may hold to go into a URL path: no `/`, `.`, `?`, `%` or `#` to change the path.
# (Records are held to the stricter uuid shape where they are read: notion/records.py.)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

RetryCallback = Callable[[str, int, str, float], None]


@dataclass(kw_only=True)
class ClientStats:
    """Counts of what the client did, for --stats and the benchmarks."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests_: int = 0, retries: int = 0, throttled: int = 0) -> None:
        """Add to the counters; safe from any thread."""
        with self.lock:
            self.requests += requests_
            self.retries += retries
            self.throttled += throttled


class NotionClient:
    """Talks to Notion (or the local server): every call goes through `request`."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_API_URL,
        *,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = transport.DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = transport.WATCHDOG.sleep,
        pool_size: int = 16,
        deadline: float = replies.DEFAULT_DEADLINE,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter or RateLimiter()
        self.policy = policy or RetryPolicy()
        # The longest a request may wait for its answer, status line to last byte (--timeout).
        self.timeout = float(timeout)
        self._timeouts = (min(transport.CONNECT_TIMEOUT, self.timeout), self.timeout)
        self._proxies = transport.proxies_for(self.base_url)
        # Hears a line for the user when a request keeps us waiting (every few seconds).
        self.on_notice = on_notice
        # Seconds one attempt may take in all: a reply trickling in byte by byte is cut off.
        self.deadline = deadline
        self._sleep = sleep
        self._pool_size = pool_size
        self._local = threading.local()
        self.stats = ClientStats()
        # Set by the first answer: a refused connection before it means a wrong URL.
        self._answered = False
        self._aborted: BaseException | None = None

    def abort(self, error: BaseException) -> None:
        """Stop every request of this client: those in flight are cut at once, later ones
        raise `error` (the run cannot go on: its set-up reads failed)."""
        self._aborted = error
        transport.WATCHDOG.cut(self)

    @property
    def token_fingerprint(self) -> str:
        """A one-way fingerprint of the token, to key caches without storing the token."""
        return hashlib.sha256(self._token.encode()).hexdigest()[:32]

    def __repr__(self) -> str:  # never show the token, even in a debugger or a traceback
        return f"NotionClient(base_url={self.base_url!r})"

    # -- the one request path -------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            # No session-wide Content-Type: it would override the multipart boundary.
            session = transport.api_session(
                self._token,
                self._pool_size,
                {"Notion-Version": NOTION_VERSION, "User-Agent": f"notion-up/{__version__}"},
            )
            self._local.session = session
        return session

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        params: dict | None = None,
        body: Callable[[], MultipartBody] | None = None,
        idempotent: bool = True,
        on_retry: RetryCallback | None = None,
    ) -> dict[str, Any]:
        """Send one API call, retrying temporary failures; returns the JSON body.

        A non-idempotent write that fails ambiguously raises OutcomeUnknown instead of retrying.
        """
        url = f"{self.base_url}{path}"
        if not url.lower().startswith(("http://", "https://")):
            # file://, ftp://, no scheme: never a temporary failure, never retried.
            raise ConfigError(f"the API URL {self.base_url!r} is not an http(s) URL")
        what = f"{method} {path}"
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            self.limiter.acquire()
            self.stats.add(requests_=1)
            retry_after: float | None = None
            throttled = False
            if transport.WATCHDOG.stopping.is_set():
                raise Interrupted("interrupted")
            if self._aborted is not None:
                raise copy.copy(self._aborted)
            watch = None
            try:
                kwargs: dict[str, Any] = {
                    "json": json,
                    "params": params,
                    "timeout": self._timeouts,
                    "allow_redirects": False,
                    "proxies": self._proxies,
                }
                if body is not None:
                    form = body()
                    kwargs.update(data=form, headers={"Content-Type": form.content_type})
                with transport.WATCHDOG.watch(self.timeout, self._slow, owner=self) as watch:
                    deadline = time.monotonic() + self.deadline
                    response = self._session().request(method, url, stream=True, **kwargs)
                    self._answered = True
                    if response.is_redirect:
                        response.close()
                        raise _redirected(self.base_url, response)
                    if response.status_code < 400:
                        return replies.read_json(response, what, deadline)
                    failure: NotionUpError = api_error(response, deadline)
            except requests.ConnectTimeout as exc:
                failure = TransientError(
                    f"could not connect to {self.base_url}: {self._scrub(str(exc))}"
                )
            except requests.exceptions.InvalidHeader:
                # Its text quotes the header, token and all: say what is wrong, not the value.
                raise ConfigError(
                    "the token cannot be sent: it holds whitespace or control characters"
                ) from None
            except (
                requests.exceptions.InvalidURL,
                requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema,
            ) as exc:
                raise ConfigError(
                    f"the API URL {self.base_url!r} is not usable: {exc}",
                    hint="NOTION_API_URL (or --api-url) must be like https://api.notion.com",
                ) from None
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                MalformedReply,
            ) as exc:
                if transport.WATCHDOG.stopping.is_set():
                    raise Interrupted("interrupted") from None
                if self._aborted is not None:
                    raise copy.copy(self._aborted) from None
                if not self._answered and _refused(exc):
                    # Nothing listens there: no retry will change that, say so at once.
                    raise nothing_listens(self.base_url) from None
                if watch is not None and watch.cut:
                    failure = TransientError(f"{what}: no answer within {self.timeout:g} s")
                elif isinstance(exc, MalformedReply):
                    failure = exc
                else:
                    failure = TransientError(f"{what}: {self._scrub(transport.describe(exc))}")
                if not idempotent:
                    raise OutcomeUnknown(failure) from None
            else:
                assert isinstance(failure, APIError)  # Notion answered: its error object, above
                if not self.policy.is_retryable_status(response.status_code) or _blocked(failure):
                    raise failure
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                throttled = response.status_code in THROTTLE_STATUSES
                # A 5xx or 408 on a write may still have saved it: the caller looks first.
                if not throttled and not idempotent:
                    committed = failure.additional_data.get("committed_resource_id")
                    raise OutcomeUnknown(failure, committed)
            wait = self.policy.delay(attempt - 1, retry_after)
            waited += wait
            if self.policy.gives_up(attempt, retry_after, waited):
                raise failure
            self.stats.add(retries=1, throttled=int(throttled))
            if on_retry:
                on_retry(path, attempt, str(failure), wait)
            elif wait >= transport.SLOW_AFTER and self.on_notice is not None:
                self.on_notice(f"waiting for Notion ({wait:.0f} s) to retry {what}: {failure}")
            if throttled and isinstance(failure, APIError) and response.status_code == 429:
                # Every thread waits, not just this one; the limiter learns from the reason.
                self.limiter.throttled(wait, failure.additional_data.get("rate_limit_reason"))
            elif throttled:
                self.limiter.pause(wait)  # 529: overloaded, not a budget
            else:
                self._sleep(wait)

    def _slow(self, seconds: float) -> None:
        if self.on_notice is not None:
            self.on_notice(f"waiting for Notion ({seconds:.0f} s)")

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    # -- typed calls: each reply checked against the shape its callers use ---------------
    def users_me(self) -> dict:
        """The bot user, with `bot.workspace_limits.max_file_upload_size_in_bytes`."""
        return replies.user(self.request("GET", "/v1/users/me"), "users/me")

    def retrieve_database(self, database_id: str) -> dict:
        """A database container with its `data_sources` list."""
        reply = self.request("GET", f"/v1/databases/{path_id(database_id, ConfigError)}")
        return replies.database(reply, "retrieve database")

    def retrieve_data_source(self, data_source_id: str) -> dict:
        """A data source with its property schema."""
        reply = self.request("GET", f"/v1/data_sources/{path_id(data_source_id, ConfigError)}")
        return replies.data_source(reply, "retrieve data source")

    def update_data_source(self, data_source_id: str, body: dict) -> dict:
        """Change a data source's properties (the schema); the same body twice is harmless."""
        reply = self.request(
            "PATCH", f"/v1/data_sources/{path_id(data_source_id, ConfigError)}", json=body
        )
        return replies.data_source(reply, "update data source")

    def create_database(self, body: dict) -> dict:
        """Create a database with its initial data source."""
        reply = self.request("POST", "/v1/databases", json=body, idempotent=False)
        return replies.database(reply, "create database")

    def query_data_source(self, data_source_id: str, body: dict) -> dict:
        """One page of a data source query (POST, but a read: safe to retry)."""
        path = f"/v1/data_sources/{path_id(data_source_id, ConfigError)}/query"
        return replies.query_page(self.request("POST", path, json=body), "query")

    def query_all(self, data_source_id: str, body: dict) -> Iterator[dict]:
        """Every row a query matches, each once, past Notion's 10,000-result cap (paging.py)."""
        return read_all(self.query_data_source, data_source_id, body)

    def create_file_upload(self, body: dict, on_retry: RetryCallback | None = None) -> dict:
        """Create a file upload. A retried create can only leave an unused upload that expires."""
        reply = self.request("POST", "/v1/file_uploads", json=body, on_retry=on_retry)
        return replies.file_upload(reply, "create file upload")

    def send_file_upload(
        self,
        upload_id: str,
        data: bytes | memoryview,
        filename: str,
        content_type: str,
        part_number: int | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_retry: RetryCallback | None = None,
    ) -> dict:
        """Send the bytes of a single-part upload or one part of a multi-part upload."""
        fields = {"part_number": str(part_number)} if part_number is not None else {}

        def body() -> MultipartBody:
            return MultipartBody(data, filename, content_type, fields, on_progress)

        # Re-sending a part replaces it, so a send is safe to retry.
        path = f"/v1/file_uploads/{path_id(upload_id)}/send"
        reply = self.request("POST", path, body=body, on_retry=on_retry)
        return replies.need(reply, "send file upload")

    def complete_file_upload(self, upload_id: str, on_retry: RetryCallback | None = None) -> dict:
        """Complete a multi-part upload."""
        path = f"/v1/file_uploads/{path_id(upload_id)}/complete"
        reply = self.request("POST", path, on_retry=on_retry)
        return replies.need(reply, "complete file upload")

    def retrieve_file_upload(self, upload_id: str) -> dict:
        """A file upload object (status, expiry_time, number_of_parts)."""
        reply = self.request("GET", f"/v1/file_uploads/{path_id(upload_id)}")
        return replies.file_upload(reply, "retrieve file upload")

    def create_page(self, body: dict) -> dict:
        """Create a page; raises OutcomeUnknown when it may or may not exist afterwards."""
        reply = self.request("POST", "/v1/pages", json=body, idempotent=False)
        return replies.page(reply, "create page")

    def retrieve_page(self, page_id: str) -> dict:
        """A page with its properties (files carry download URLs)."""
        return replies.page(self.request("GET", f"/v1/pages/{path_id(page_id)}"), "page")

    def update_page(self, page_id: str, body: dict) -> dict:
        """Update a page's properties or `in_trash` (same body twice gives the same page)."""
        reply = self.request("PATCH", f"/v1/pages/{path_id(page_id)}", json=body)
        return replies.page(reply, "update page")


def path_id(value: str, error: type[Exception] = InvalidRecord) -> str:
    """`value` when it is a Notion id fit for a URL path (no `/`, `..`, `?`): else refused."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise error(f"{str(value)[:64]!r} is not a Notion id")
    return value


def _refused(exc: BaseException) -> bool:
    """True when a connection error is, underneath, a refused connection."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ConnectionRefusedError):
            return True
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return "Connection refused" in str(exc)


def nothing_listens(base_url: str) -> ConfigError:
    """The error for an API URL where no server answers."""
    if base_url == DEFAULT_API_URL:
        hint = "check the network connection"
    else:
        hint = (
            "start the local server with `notion-up sandbox serve` (it prints the "
            "NOTION_API_URL to use), or set NOTION_API_URL / --api-url to a server that is up"
        )
    return ConfigError(f"nothing is listening at {base_url} (connection refused)", hint=hint)


def _redirected(base_url: str, response: requests.Response) -> ConfigError:
    """The API answered a redirect: never followed (the token would go with it)."""
    target = transport.without_query(str(response.headers.get("Location", "")))[:200]
    return ConfigError(
        f"the API at {base_url} answered {response.status_code}, a redirect to {target!r}; "
        "not followed",
        hint="NOTION_API_URL (or --api-url) must be the API's own address, like "
        "https://api.notion.com (without /v1)",
    )


def _blocked(error: APIError) -> bool:
    # Notion: "public_api_request_blocked" — retrying won't help; contact Notion support.
    return error.additional_data.get("rate_limit_reason") == "public_api_request_blocked"


def api_error(response: requests.Response, deadline: float | None = None) -> APIError:
    """Notion's error object as an APIError; a non-JSON body becomes a generic one."""
    try:
        if deadline is None:
            payload = response.json()
        else:
            payload = replies.read_json(response, "error", deadline, limit=1024 * 1024)
    except (ValueError, RecursionError, MalformedReply, requests.RequestException):
        payload = None
    if not isinstance(payload, dict) or payload.get("object") != "error":
        reason = response.reason or "error"
        return APIError(response.status_code, f"http_{response.status_code}", reason)
    status = payload.get("status")
    extra = payload.get("additional_data")
    request_id = payload.get("request_id")
    error = APIError(
        status
        if isinstance(status, int) and not isinstance(status, bool)
        else response.status_code,
        str(payload.get("code", "unknown"))[:200],
        str(payload.get("message", ""))[:2000],
        request_id if isinstance(request_id, str) else None,
        extra if isinstance(extra, dict) else {},
    )
    if error.bad_id:
        error.hint = "check the database, index and page ids: a Notion id is 32 hex digits"
    return error
