"""A request timeline: a small TCP relay in front of the local server that notes each request.

The relay runs in a thread of the benchmark process and copies bytes both ways unchanged, one
upstream connection per client connection (so the server's per-connection bandwidth still
applies). On the way in it reads just enough HTTP to see where each request starts (request
line, headers, Content-Length); on the way back it notes when the first byte of the answer
arrives. Times are `time.perf_counter()`, the clock `harness.run_timed` stamps the spawn with,
so they can be shown relative to the start of the measured process.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from notion_up.sandbox.http import _route

CHUNK = 256 * 1024
PART_FIELD = re.compile(rb'name="part_number"\r\n\r\n(\d+)')
UUIDISH = re.compile(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")


@dataclass
class Request:
    connection: int
    began: float  # first byte of the request seen by the relay
    method: str = ""
    path: str = ""
    length: int = 0
    body_done: float | None = None  # last byte of its body passed on
    answered: float | None = None  # first byte of the answer back from the server
    part: str = ""

    @property
    def endpoint(self) -> str:
        """The server's name for it (as in /__admin/stats), with the part number of a send."""
        name, _, _ = _route(self.method, self.path.split("?", 1)[0])
        if name == "invalid":
            name = f"{self.method} {UUIDISH.sub('{id}', self.path)}"
        return f"{name} (part {self.part})" if self.part else name


class Relay:
    """Listens on a free loopback port and relays every connection to `upstream_url`."""

    def __init__(self, upstream_url: str) -> None:
        split = urlsplit(upstream_url)
        self.upstream = (split.hostname or "127.0.0.1", split.port or 80)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def clear(self) -> None:
        with self._lock:
            self.requests = []

    def close(self) -> None:
        self.sock.close()
        with self._lock:
            for s in self._open:
                s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections += 1
                number = self._connections
                self._open += [client, upstream]
            pending: list[Request] = []
            threading.Thread(
                target=self._inbound, args=(client, upstream, number, pending), daemon=True
            ).start()
            threading.Thread(
                target=self._outbound, args=(upstream, client, pending), daemon=True
            ).start()

    def _inbound(self, src: socket.socket, dst: socket.socket, number: int, pending) -> None:
        """Client to server: find each request's start, headers and end of body."""
        head = b""
        remaining = 0
        current: Request | None = None
        try:
            while data := src.recv(CHUNK):
                now = time.perf_counter()
                view = data
                while view:
                    if remaining:
                        first = current is not None and remaining == current.length
                        if first and current.method == "POST":
                            found = PART_FIELD.search(bytes(view[:4096]))
                            if found:
                                current.part = found.group(1).decode()
                        take = min(remaining, len(view))
                        remaining -= take
                        view = view[take:]
                        if remaining == 0 and current is not None:
                            current.body_done = now
                        continue
                    if not head:
                        current = Request(number, now)
                        with self._lock:
                            self.requests.append(current)
                            pending.append(current)
                    head += view
                    end = head.find(b"\r\n\r\n")
                    if end < 0:
                        view = b""
                        break
                    lines = head[:end].decode("latin-1").split("\r\n")
                    view = head[end + 4 :]
                    head = b""
                    method, _, rest = lines[0].partition(" ")
                    current.method, current.path = method, rest.rsplit(" ", 1)[0]
                    for line in lines[1:]:
                        key, _, value = line.partition(":")
                        if key.strip().lower() == "content-length":
                            current.length = int(value.strip())
                    remaining = current.length
                    if remaining == 0:
                        current.body_done = now
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def _outbound(self, src: socket.socket, dst: socket.socket, pending) -> None:
        """Server to client: the first bytes after a request mark its answer."""
        try:
            while data := src.recv(CHUNK):
                now = time.perf_counter()
                with self._lock:
                    for request in pending:
                        if request.answered is None:
                            request.answered = now
                            break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


def limiter_holds(requests: list[Request], rate: float, lead: float = 0.02) -> list[float]:
    """Per request: how long notion-up's own limiter would have held it back (replayed).

    notion-up's `RateLimiter` (whatever model it has: the client's own code, not a copy) is
    driven by a fake clock: each request asks for its turn `lead` seconds before it was seen to
    leave. A positive answer means the limiter held it until about when it left: the request had
    waited for the limiter. An inference from the times; notion-up does not log its waits.
    """
    from notion_up.notion.retry import RateLimiter

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(rate=rate, clock=lambda: now[0], sleep=sleep)
    holds = []
    for request in sorted(requests, key=lambda r: r.began):
        now[0] = max(now[0], request.began - lead)
        holds.append(limiter.acquire())
    return holds
