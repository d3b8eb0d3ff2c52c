"""The one transport: every HTTP session of notion-up (the API's and the downloads') is made here.

- Nothing from the environment but proxies: `trust_env` is off, so `~/.netrc` never lends its
  credentials to a file URL a shared row chose, nor replaces the Bearer token; proxies are
  read from the environment and passed explicitly (NO_PROXY honoured).
- The token travels as the API session's auth, and the API's redirects are never followed.
- A download follows at most a few redirects, each hop checked: http(s) only, and no loopback
  or private address unless the API URL itself is local.
- One deadline per request: from the moment a request is sent, its status line, headers and
  body must arrive within `timeout` seconds (a download's body may take longer only while it
  keeps above a throughput floor). A watchdog thread cuts the connection of any request past
  its deadline, however slowly the bytes trickle in; it also says when a request is slow, and
  cuts everything at once when the run is being stopped.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from notion_up.errors import InvalidRecord, TransientError

# The longest a request may wait for its answer (--timeout, NOTION_UP_TIMEOUT, profile timeout).
DEFAULT_TIMEOUT = 120.0
CONNECT_TIMEOUT = 10.0
# A download slower than this (bytes per second, past its first `timeout` seconds) is cut and
# resumed with Range: a host trickling a byte a second never holds a run.
THROUGHPUT_FLOOR = 8 * 1024
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A request still unanswered after this long is reported (every this many seconds).
SLOW_AFTER = 5.0
_TICK = 0.25


class BearerAuth(requests.auth.AuthBase):
    """The Notion token as the API session's auth (never a header a redirect could carry off)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self._token.isascii() or not self._token.isprintable() or " " in self._token:
            # Said without the value: requests' own message would quote the header, token and all.
            raise requests.exceptions.InvalidHeader("the token cannot be sent in a header")
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth([redacted])"


# -- the watchdog ----------------------------------------------------------------------------
class Watch:
    """One request in flight: its deadline, and the connection to cut when it passes."""

    def __init__(
        self, timeout: float, on_slow: Callable[[float], None] | None, owner: object = None
    ) -> None:
        self.timeout = timeout
        self.owner = owner
        self.started = time.monotonic()
        # Until the request is sent, the socket timeouts bound connect and send.
        self.deadline = float("inf")
        self.on_slow = on_slow
        self.sent_at: float | None = None  # sending a large part is not waiting for Notion
        self.conn: HTTPConnection | None = None
        self.cut = False
        self.forced = False
        self.held = False

    def sent(self) -> None:
        """The request is sent: its answer must now come within `timeout`."""
        self.sent_at = time.monotonic()
        self.deadline = min(self.deadline, self.sent_at + self.timeout)

    def progress(self, got: int, floor: float) -> None:
        """`got` body bytes so far: the deadline moves on as long as they keep above `floor`."""
        if not self.forced:
            self.deadline = max(self.deadline, self.started + self.timeout + got / floor)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Within, we are the slow ones (a range waiting for room to put its bytes): the time
        does not count against the host."""
        since = time.monotonic()
        self.held = True
        try:
            yield
        finally:
            self.held = False
            if not self.forced:
                self.deadline += time.monotonic() - since

    def force(self) -> None:
        """Cut at the next tick, whatever arrives meanwhile."""
        self.forced = True
        self.deadline = 0.0


class Watchdog:
    """Cuts requests past their deadline; one daemon thread for the whole process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: set[Watch] = set()
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self._said: dict[Callable[[float], None], float] = {}  # by the watchdog thread only

    @contextmanager
    def watch(
        self, timeout: float, on_slow: Callable[[float], None] | None = None, owner: object = None
    ) -> Iterator[Watch]:
        """Watch the request made inside (its connection is registered as it is sent)."""
        watch = Watch(timeout, on_slow, owner)
        if self.stopping.is_set():
            watch.force()
        with self._lock:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="notion-up-watchdog"
                )
                self._thread.start()
        self._local.current = watch
        try:
            yield watch
        finally:
            self._local.current = None
            with self._lock:
                self._watches.discard(watch)

    def current(self) -> Watch | None:
        """The watch of the request this thread is making, if any."""
        return getattr(self._local, "current", None)

    def stop_all(self) -> None:
        """Cut every request now and every later one at once (the run is being stopped)."""
        self.stopping.set()
        with self._lock:
            for watch in self._watches:
                watch.force()

    def cut(self, owner: object) -> None:
        """Cut the requests in flight that `owner` (a client) made, at the next tick."""
        with self._lock:
            for watch in self._watches:
                if watch.owner is owner:
                    watch.force()

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake as soon as the run is being stopped."""
        self.stopping.wait(seconds)

    def _run(self) -> None:
        while True:
            time.sleep(_TICK)
            now = time.monotonic()
            with self._lock:
                watches = list(self._watches)
            # One line every SLOW_AFTER seconds per listener, for its longest wait (not one
            # per request: the set-up reads and the workers wait side by side).
            slow: dict[Callable[[float], None], float] = {}
            for watch in watches:
                if (
                    now >= watch.deadline
                    and not watch.cut
                    and not (watch.held and not watch.forced)
                ):
                    _cut(watch)
                elif watch.on_slow is not None and watch.sent_at is not None:
                    waited = now - watch.sent_at
                    if waited >= SLOW_AFTER:
                        slow[watch.on_slow] = max(waited, slow.get(watch.on_slow, 0.0))
            # Forget listeners long quiet (a client of a finished run).
            self._said = {k: t for k, t in self._said.items() if now - t < 60.0 or k in slow}
            for on_slow, waited in slow.items():
                if now - self._said.get(on_slow, 0.0) < SLOW_AFTER:
                    continue
                self._said[on_slow] = now
                try:
                    on_slow(waited)
                except Exception:  # a listener's failure must not stop the watchdog
                    pass


def _cut(watch: Watch) -> None:
    sock = getattr(watch.conn, "sock", None)
    if sock is None:
        return  # still connecting: the connect timeout bounds that; cut at the next tick
    watch.cut = True  # before the shutdown: the request's thread wakes at once and asks
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


WATCHDOG = Watchdog()


class _Watched:
    """Registers the connection a request goes out on with that request's watch."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = WATCHDOG.current()
        if watch is not None:
            # A mixin: `self` is the HTTP(S)Connection it is mixed into (below).
            watch.conn = self  # type: ignore[assignment]
        super().request(*args, **kwargs)  # type: ignore[misc]  # HTTPConnection's, in the MRO

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        watch = WATCHDOG.current()
        if watch is not None:
            watch.sent()
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]  # as request above


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter with watched connections (direct and through a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


# -- sessions --------------------------------------------------------------------------------
def _session(pool_size: int) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no ~/.netrc: credentials from the environment go nowhere
    # What trust_env would have given and is wanted: a CA bundle the user set (a company proxy).
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    adapter = _Adapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def api_session(token: str, pool_size: int, headers: dict[str, str]) -> requests.Session:
    """A session for the Notion API: the token as its auth, the given headers."""
    session = _session(pool_size)
    session.auth = BearerAuth(token)
    session.headers.update(headers)
    return session


def download_session() -> requests.Session:
    """A session for file hosts: no token, no credentials from anywhere."""
    return _session(8)


def proxies_for(url: str) -> dict[str, str]:
    """The environment's proxies for `url` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY; NO_PROXY)."""
    return requests.utils.get_environ_proxies(url)


# -- where requests may go -------------------------------------------------------------------
def is_local(url: str, private: bool = True) -> bool:
    """True when `url` names this machine (or, with `private`, a private network address)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the forms the resolver also takes: 2130706433, 127.1, 0x7f.1
            address = ipaddress.ip_address(socket.inet_aton(host))
        except (OSError, ValueError):
            return False  # a name: not resolved here (see README: Security)
    return address.is_loopback or (private and not address.is_global)


def check_hop(url: str, allow_local: bool, what: str) -> None:
    """Refuse a download URL (or a redirect's target) that is not http(s), or that is local."""
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    if scheme not in ("http", "https"):
        raise InvalidRecord(f"{what}: the file URL leads to {scheme or 'no'} scheme; refused")
    if not allow_local and is_local(url):
        raise InvalidRecord(f"{what}: the file URL leads to a local address; refused")


def get_following(
    session: requests.Session,
    url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    allow_local: bool,
    what: str,
) -> requests.Response:
    """GET `url` streamed, following at most MAX_REDIRECTS redirects, each hop checked."""
    for _ in range(MAX_REDIRECTS + 1):
        check_hop(url, allow_local, what)
        response = session.get(
            url,
            headers=headers,
            stream=True,
            allow_redirects=False,
            proxies=proxies_for(url),
            timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
        )
        if response.status_code not in _REDIRECTS or "Location" not in response.headers:
            return response
        url = urljoin(url, response.headers.get("Location", ""))
        response.close()
    raise InvalidRecord(f"{what}: the file URL redirects more than {MAX_REDIRECTS} times; refused")


# A query string (`?name=value&…`) in a URL or in the path urllib3 quotes in its errors.
def download_budget(size: int | None, timeout: float, attempts: int) -> float:
    """The monotonic time by which a file of `size` bytes must have come down, retries and
    all: each attempt's wait, and the whole file at the throughput floor."""
    return time.monotonic() + timeout * attempts + (size or 0) / THROUGHPUT_FLOOR


def check_budget(budget: float, what: str) -> None:
    """A download past its budget ends (a host alternating a little progress and a stall
    would otherwise keep resetting the count of failures)."""
    if time.monotonic() > budget:
        raise TransientError(f"{what}: the download took longer than its time budget")


_QUERY = re.compile(r"\?[^\s'\"<>()?]*=[^\s'\"<>()]*")


def without_query(text: str) -> str:
    """`text` with every URL's query string cut (a signed URL's signature is a credential)."""
    return _QUERY.sub("?…", text)


def describe(exc: BaseException) -> str:
    """A network error as one line, its URLs without their query strings."""
    return without_query(f"{type(exc).__name__}: {exc}")
