"""Download URLs of uploaded files: stateless signed tokens, like S3 presigned URLs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from .store import Store
from .values import norm_id


class DownloadLinks:
    """Signs and checks `/__files/<token>/<name>` URLs; `expire_all` voids every one so far."""

    def __init__(
        self,
        store: Store,
        base_url: Callable[[], str],
        part_files: Callable[[dict], list[tuple[Path, int]]],
    ) -> None:
        self._store = store
        self._lock = store.lock
        self._base_url = base_url
        self._part_files = part_files
        if "secret" not in store.kv:
            store.set("secret", secrets.token_hex(32))
        self._secret = store.kv["secret"].encode()
        self._url_epoch = int(store.kv.get("url_epoch", "0"))

    def expire_all(self) -> None:
        """Make every download URL handed out so far expired."""
        with self._lock:
            self._url_epoch += 1
            self._store.set("url_epoch", str(self._url_epoch))

    def sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]

    def url(self, upload_id: str, name: str, expires: float) -> str:
        payload = f"{upload_id.replace('-', '')}.{int(expires * 1000)}.{self._url_epoch}"
        return f"{self._base_url()}/__files/{payload}.{self.sign(payload)}/{quote(name, safe='')}"

    def check(self, token: str) -> str | None:
        """The upload id for a valid token, "expired", or None."""
        pieces = token.split(".")
        if len(pieces) != 4:
            return None
        payload = ".".join(pieces[:3])
        if not hmac.compare_digest(self.sign(payload), pieces[3]):
            return None
        upload_id = norm_id(pieces[0])
        try:
            expires_ms, epoch = int(pieces[1]), int(pieces[2])
        except ValueError:
            return None
        if epoch < self._url_epoch or time.time() * 1000 >= expires_ms:
            return "expired"
        return upload_id

    def spans(self, upload_id: str) -> tuple[list[tuple[Path, int]], str | None] | None:
        with self._lock:
            u = self._store.objects["upload"].get(upload_id)
            if u is None or u["status"] != "uploaded":
                return None
            return self._part_files(u), u["content_type"]


def send_span(
    conn: socket.socket,
    parts: list[tuple[Path, int]],
    start: int,
    stop: int,
    bandwidth: float | None = None,
) -> None:
    """Send bytes [start, stop) of the file made of `parts`, at most `bandwidth` bytes/s.

    Paced per connection, as a file host caps each connection: several connections at once
    together get more than one.
    """
    pace = bandwidth if bandwidth and bandwidth > 0 else None
    # Slices of ~1/20 s keep the pacing smooth without a syscall per few bytes.
    step = int(max(16 * 1024, pace / 20)) if pace else 1 << 62
    t0 = time.monotonic()
    sent = 0
    offset = 0
    for path, size in parts:
        lo, hi = max(start, offset), min(stop, offset + size)
        if lo < hi:
            with open(path, "rb") as fh:
                at = lo
                while at < hi:
                    n = min(step, hi - at)
                    conn.sendfile(fh, at - offset, n)
                    at += n
                    sent += n
                    if pace:
                        ahead = sent / pace - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
        offset += size
