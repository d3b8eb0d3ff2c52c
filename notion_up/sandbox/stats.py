"""Request accounting: counts per endpoint and status, concurrency peaks, early retries."""

from __future__ import annotations

import socket
import threading
import time


class Stats:
    """Thread-safe counters, and the open connections (so `stop` can close them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self._counts: dict[str, dict[str, int]] = {}
        self._total = 0
        self._in_flight = 0
        self._in_flight_send = 0
        self._max_in_flight = 0
        self._max_in_flight_send = 0
        self._downloading = 0
        self._max_downloading = 0
        self._early = 0
        self._told_at = 0.0
        self._told_on: object = None
        self._pages_created = 0
        self._retry_at = 0.0

    def opened(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections.add(conn)

    def closed(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections.discard(conn)

    def open_connections(self) -> list[socket.socket]:
        with self._lock:
            return list(self.connections)

    def begin(self, endpoint: str) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            if endpoint == "send":
                self._in_flight_send += 1
                self._max_in_flight_send = max(self._max_in_flight_send, self._in_flight_send)

    def end(self, endpoint: str, status: str) -> None:
        with self._lock:
            self._in_flight -= 1
            if endpoint == "send":
                self._in_flight_send -= 1
            per = self._counts.setdefault(endpoint, {})
            per[status] = per.get(status, 0) + 1
            self._total += 1

    def download_began(self) -> None:
        """A download body started to go out (its request was counted already)."""
        with self._lock:
            self._downloading += 1
            self._max_downloading = max(self._max_downloading, self._downloading)

    def download_done(self) -> None:
        with self._lock:
            self._downloading -= 1

    def arrival(self, conn: object = None) -> None:
        """A request arrived: early if it came before the last Retry-After had passed.

        On another connection than the 429's, not within 50 ms of it: a client with several
        requests in flight sent those before the answer could reach it; they are not retries.
        """
        now = time.monotonic()
        with self._lock:
            after = self._told_at if conn is self._told_on else self._told_at + 0.05
            if self._retry_at and after <= now < self._retry_at - 0.05:
                self._early += 1

    def retry_after(self, value: str | None, conn: object = None) -> None:
        try:
            seconds = float(value) if value is not None else 0.0
        except ValueError:
            return
        with self._lock:
            self._told_at = time.monotonic()
            self._told_on = conn
            self._retry_at = self._told_at + seconds

    def page_created(self) -> None:
        with self._lock:
            self._pages_created += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": {k: dict(v) for k, v in self._counts.items()},
                "total_requests": self._total,
                "max_in_flight": self._max_in_flight,
                "max_in_flight_send": self._max_in_flight_send,
                "max_concurrent_downloads": self._max_downloading,
                "early_retries": self._early,
                "pages_created": self._pages_created,
            }

    def reset(self) -> None:
        with self._lock:
            self._counts = {}
            self._total = 0
            self._max_in_flight = self._in_flight
            self._max_in_flight_send = self._in_flight_send
            self._max_downloading = self._downloading
            self._early = 0
            self._pages_created = 0
            self._retry_at = 0.0
