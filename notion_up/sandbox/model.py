"""`LocalNotion`: the sandbox's state and its public methods, composed from one part per concern.

The HTTP handler (http.py) calls only the public methods here; each resource (uploads, databases,
pages, queries) lives in its own module and never imports this one.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from .databases import Databases
from .downloads import DownloadLinks
from .errors import ApiError
from .faults import Faults, RateLimiter, fault_error
from .http import HTTPServer, make_handler
from .limits import BOT_ID, WORKSPACE_ID, WORKSPACE_NAME
from .options import ServerOptions, merge_options, options_json
from .pages import Pages
from .queries import Queries
from .sharing import advertise as leave_note
from .sharing import claim, release
from .stats import Stats
from .store import Store
from .uploads import Uploads
from .wire import FormParser
from .workspace import Workspace, ensure_workspace


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
        # Called at a simulated crash (options.crash_write): a test kills its client here.
        self.on_crash: Callable[[], None] | None = None
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
            # Pushed files live here: the owner's alone, like the journal's folder.
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.state_dir = root
        self.url = ""
        self.errors: list[str] = []
        self._store = Store(root)
        self._lock = self._store.lock
        base_url = lambda: self.url  # noqa: E731 - known once the server listens
        self._uploads = Uploads(self._store, self.options, base_url)
        self._links = DownloadLinks(self._store, base_url, self._uploads.part_files)
        self._databases = Databases(self._store, base_url)
        self._pages = Pages(self._store, self.options, base_url, self._uploads, self._links)
        self._queries = Queries(
            self._store, self._pages.render, lambda: self.options.query_result_limit
        )
        self._stats = Stats()
        self._faults = Faults(self.options)
        self._rate_limit = RateLimiter(self.options)
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        # A kept state folder is served by one process at a time (see sharing.py).
        self._claim: int | None = None

    # -- lifecycle
    @property
    def token(self) -> str:
        return self.options.token

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL."""
        if self._httpd is not None:
            return self.url
        if self._tmp is None and self._claim is None:
            self._claim = claim(self.state_dir)
        try:
            self._httpd = HTTPServer((self.host, self.port), make_handler(self))
        except OSError:
            self._release()
            raise
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = f"http://{shown}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="notion-up-sandbox",
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
            for conn in self._stats.open_connections():
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if self._thread is not None:
                self._thread.join(timeout=5)
        with self._lock:
            self._store.close()
        self._release()
        if self._tmp is not None:
            self._tmp.cleanup()

    def advertise(self) -> None:
        """Tell other processes on this machine to use this server for its state folder."""
        ws = self.ensure_workspace()
        # The token too: a server started with its own `--token` is still usable. It is the
        # sandbox's, never a Notion token, and the note is 0600.
        note = {
            "url": self.url,
            "token": self.token,
            "files_database_id": ws.files_database_id,
            "index_database_id": ws.index_database_id,
        }
        leave_note(self.state_dir, note)

    def _release(self) -> None:
        if self._claim is not None:
            release(self.state_dir, self._claim)
            self._claim = None

    def __enter__(self) -> LocalNotion:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- accounting (called by the HTTP layer)
    def connection_opened(self, conn: socket.socket) -> None:
        self._stats.opened(conn)

    def connection_closed(self, conn: socket.socket) -> None:
        self._stats.closed(conn)

    def note_error(self, text: str) -> None:
        """Keep a traceback of a bug in the server (the last 20) for the tests to show."""
        self.errors.append(text)
        del self.errors[:-20]

    def request_started(self, endpoint: str) -> None:
        self._stats.begin(endpoint)

    def request_finished(self, endpoint: str, status: str) -> None:
        self._stats.end(endpoint, status)

    def download_began(self) -> None:
        self._stats.download_began()

    def download_done(self) -> None:
        self._stats.download_done()

    def take_download_cut(self, length: int) -> int | None:
        """Where to cut a download body of `length` bytes (counting the cut), or None."""
        opts = self.options
        with self._lock:
            if opts.download_cuts <= 0 or not 0 < opts.download_cut_after < length:
                return None
            opts.download_cuts -= 1
            return opts.download_cut_after

    def note_arrival(self, conn: object = None) -> None:
        self._stats.arrival(conn)

    def note_retry_after(self, value: str | None, conn: object = None) -> None:
        self._stats.retry_after(value, conn)

    def stats(self) -> dict:
        """Counts per endpoint and status, concurrency peaks, early retries, uploads, pages."""
        counts = self._stats.snapshot()
        pages_created = counts.pop("pages_created")
        counts["uploads"] = self._uploads.summary()
        counts["pages_created"] = pages_created
        return counts

    def reset_stats(self) -> None:
        """Zero the counters (uploads are state, not stats) and refill the rate-limit bucket."""
        self._stats.reset()
        self._rate_limit.refill()

    # -- options, rate limit and faults
    def options_json(self) -> dict:
        return options_json(self.options)

    def merge_options(self, body: dict) -> None:
        merge_options(self.options, body)

    def take_token(self) -> None:
        """Raise a 429 ApiError when the rate limit is on and the bucket is empty."""
        self._rate_limit.take()

    def decide_fault(self, endpoint: str) -> int | None:
        return self._faults.decide(endpoint)

    def decide_drop(self) -> bool:
        return self._faults.drop()

    def crash_point(self, endpoint: str) -> str | None:
        """Whether this write is the one `options.crash_write` names ("before"/"after")."""
        return self._faults.crash_point(endpoint)

    def write_count(self) -> int:
        """How many writes (creates, sends, completes, page writes...) arrived so far."""
        return self._faults.writes()

    def crashed(self) -> None:
        """A simulated crash happens now: `on_crash` (a test's kill of its client) runs."""
        if self.on_crash is not None:
            self.on_crash()

    def fault_error(self, status: int) -> ApiError:
        return fault_error(status)

    # -- users
    def users_me(self) -> dict:
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

    # -- file uploads
    def create_upload(self, body: dict) -> dict:
        return self._uploads.create(body)

    def list_uploads(self, query: dict[str, list[str]]) -> dict:
        return self._uploads.list_all(query)

    def retrieve_upload(self, upload_id: str) -> dict:
        return self._uploads.retrieve(upload_id)

    def complete_upload(self, upload_id: str) -> dict:
        return self._uploads.complete(upload_id)

    def check_sendable(self, upload_id: str) -> None:
        """Raise the ApiError a send to this upload gets before its body is read, if any."""
        with self._lock:
            self._uploads.check_sendable(self._uploads.get(upload_id))

    def part_tmp_path(self, upload_id: str) -> Path:
        """A fresh temporary file name beside the upload's parts, for a part being received."""
        part_dir = self._store.blobs / upload_id
        part_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return part_dir / f".tmp-{uuid.uuid4().hex}"

    def install_part(self, upload_id: str, form: FormParser, tmp: Path) -> dict:
        """Validate a received part (its bytes in `tmp`) and make it the upload's part."""
        return self._uploads.install_part(upload_id, form, tmp)

    def upload_sha512(self, upload_id: str) -> str:
        """SHA-512 (hex) of the upload's bytes, parts in order; raises KeyError if unknown."""
        return self._uploads.sha512(upload_id)

    def corrupt_upload(self, upload_id: str, offset: int = 0) -> None:
        """Flip the bits of one stored byte (at `offset` of the assembled file)."""
        self._uploads.corrupt(upload_id, offset)

    def expire_upload(self, upload_id: str) -> None:
        """Move the upload's expiry to now (an unattached upload then reports `expired`)."""
        self._uploads.expire(upload_id)

    # -- download URLs
    def check_download_token(self, token: str) -> str | None:
        """The upload id for a valid token, "expired", or None."""
        return self._links.check(token)

    def download_spans(self, upload_id: str) -> tuple[list[tuple[Path, int]], str | None] | None:
        """The part files and content type of an uploaded file, or None."""
        return self._links.spans(upload_id)

    def expire_download_urls(self) -> None:
        """Make every download URL handed out so far expired."""
        self._links.expire_all()

    # -- databases and data sources
    def create_database(self, body: dict) -> dict:
        return self._databases.create(body)

    def retrieve_database(self, database_id: str) -> dict:
        return self._databases.retrieve(database_id)

    def create_data_source(self, body: dict) -> dict:
        return self._databases.create_data_source(body)

    def retrieve_data_source(self, ds_id: str) -> dict:
        return self._databases.retrieve_data_source(ds_id)

    def update_data_source(self, ds_id: str, body: dict) -> dict:
        self._check_update_capability()
        return self._databases.update_data_source(ds_id, body)

    def _check_update_capability(self) -> None:
        if not self.options.update_content:
            raise ApiError(
                403, "restricted_resource", "API token does not have access to this resource."
            )

    def query_data_source(self, ds_id: str, body: dict) -> dict:
        return self._queries.query(ds_id, body)

    # -- pages and blocks
    def create_page(self, body: dict) -> dict:
        """Create the page; with `fault_after_create_rate`, maybe fail after saving it."""
        page = self._pages.create(body)
        self._stats.page_created()
        rendered = self._pages.render(page)
        error = self._faults.after_create(page["id"])
        if error is not None:
            raise error
        return rendered

    def retrieve_page(self, page_id: str) -> dict:
        return self._pages.retrieve(page_id)

    def plant_pages(
        self, ds_id: str, rows: list[dict], *, start: float, per_minute: int = 100
    ) -> list[str]:
        """Rows made straight in the store, `per_minute` to each minute from `start` on.

        For tests and benchmarks of big databases: 10,000 rows planted in a second or two,
        their `created_time`s spread as a connection creating them would (about 180 a minute).
        """
        created = [start + 60.0 * (i // max(1, per_minute)) for i in range(len(rows))]
        return self._pages.plant(ds_id, rows, created)

    def update_page(self, page_id: str, body: dict) -> dict:
        self._check_update_capability()
        return self._pages.update(page_id, body)

    def delete_block(self, block_id: str) -> dict:
        return self._pages.delete_block(block_id)

    # -- the sandbox workspace
    def ensure_workspace(self) -> Workspace:
        """The root page and the two databases, created once and kept in the state."""
        return ensure_workspace(self._store, self._pages, self._databases)
