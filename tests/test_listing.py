"""`ls` shows what the rows say: it never fetches a URL a row names."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import run_cli

# Slow: every test here runs the real command in a subprocess.
pytestmark = pytest.mark.slow


@pytest.fixture
def counting_host():
    """A loopback HTTP server that counts every request it is sent (and answers a manifest)."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            hits.append(self.path)
            body = b'{"original_filename": "x", "total_size": 1, "parts": []}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_ls_sends_no_request_to_any_url_a_row_names(sandbox, planter, counting_host):
    url, hits = counting_host
    rows = [
        planter.row(
            f"backup-{i}.file.json",
            64,
            files=[{"type": "external", "name": "m", "external": {"url": f"{url}/admin/{i}"}}],
        )
        for i in range(20)
    ]
    ids = planter.plant(rows)
    sandbox.server.reset_stats()
    done = run_cli(["ls", "--json"], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    listed = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert {row["file_id"] for row in listed} == set(ids)
    assert {row["name"] for row in listed} == {f"backup-{i}.file.json" for i in range(20)}
    assert hits == []
    assert "download" not in sandbox.server.stats()["requests"]
