"""A local Notion-compatible HTTP server for tests, benchmarks and `notion-up sandbox`.

Standard library only: it never imports requests, typer, rich or a notion_up module outside this
package, so it can run as a subprocess (`python -m notion_up.sandbox`) or in-process
(`LocalNotion`).

Where each concern lives:

* `model` - `LocalNotion`, the state and the public methods the HTTP layer calls;
  `http` - the server, the routes table and the handler; `command` - `serve_forever`, `main`.
* `wire` - request bodies and the bandwidth throttle, the multipart/form-data parser, Range.
* `store` - the on-disk store (sqlite3 + part files) and its 404 lookups; `sharing` - one
  server per state folder (a lock), and the note a running `sandbox serve` leaves for others.
* `errors` - `ApiError` and Notion-shaped error helpers; `limits` - documented limits and ids;
  `versions` - how shapes differ between Notion-Version headers.
* `faults` - injected 5xx, dropped connections, the rate limit (documented fixed window, or a
  token bucket); `stats` - request accounting.
* `uploads` (File Upload API), `downloads` (signed file URLs), `databases` (databases, data
  sources, schemas), `pages` (pages, property validation), `queries` (filters, sorts, cursors),
  `workspace` (the root page and the two databases), `filetypes` (the allow-list), `values`
  (ids, timestamps, rich text), `options` (`ServerOptions`).

What it implements (Notion-Version 2025-09-03 shapes, key order as in the notion-sdk-py
recordings in tests/data/recordings/notion-sdk-py-cassettes):

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

Choices where Notion's behaviour is not documented (all UNCONFIRMED wording; the recordings
under tests/data/recordings say what is confirmed): the single-part limit is 20 MiB
(20 * 1024 * 1024 bytes; the docs say "20MB"); re-sending a part replaces it; a part_number on a
single_part send is refused; complete on a single_part upload is refused; messages of the size,
part, expiry, attach and filter errors are plausible guesses in Notion's style (each is marked
below).
External-URL uploads, blocks (children), comments, search and older API versions' shapes are not
implemented; every accepted Notion-Version gets the 2025-09-03 shapes (2026-03-11 drops
`archived`).
"""

from .filetypes import ALLOWED
from .limits import MIB
from .model import LocalNotion
from .options import ServerOptions
from .sharing import SandboxBusy, served
from .wire import FormParser, RequestBody
from .workspace import FILES_SCHEMA, INDEX_SCHEMA

__all__ = [
    "ALLOWED",
    "SandboxBusy",
    "served",
    "FILES_SCHEMA",
    "INDEX_SCHEMA",
    "MIB",
    "FormParser",
    "LocalNotion",
    "RequestBody",
    "ServerOptions",
]
