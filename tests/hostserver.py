"""A small scripted HTTP server on a free loopback port, for replies the sandbox will not give.

`answer(handler)` is called for every request with the BaseHTTPRequestHandler; it writes the
reply itself (status, headers, a drip, nothing at all). Every request is kept in `seen`.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

Handler = http.server.BaseHTTPRequestHandler


@dataclass
class Seen:
    """One request as the server got it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class HostServer:
    """A running server; `url` without a trailing slash. Use as a context manager."""

    answer: Callable[[Handler], None]
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                owner.seen.append(Seen(self.command, self.path, dict(self.headers)))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                try:
                    owner.answer(self)
                except OSError:
                    pass

            do_GET = do_POST = do_PATCH = do_DELETE = _any  # noqa: N815 - the handler's names

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_json(handler: Handler, status: int, body: object, **headers: str) -> None:
    """Write one complete JSON reply."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(data)


def notion_error(status: int, code: str = "error", message: str = "refused") -> dict:
    """Notion's error object."""
    return {"object": "error", "status": status, "code": code, "message": message}


FILES_ID = "f11e5000000040008000000000000001"
INDEX_ID = "1d3e7000000040008000000000000002"


def edge_env(url: str, **extra: str) -> dict[str, str]:
    """The real command's environment, pointed at `url` with a well-formed configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTION")}
    env.update(
        NOTION_API_URL=url,
        NOTION_TOKEN="ntn_EDGE_SECRET_TOKEN",
        NOTION_UP_DATABASE=FILES_ID,
        NOTION_UP_INDEX=INDEX_ID,
    )
    env.update(extra)
    return env
