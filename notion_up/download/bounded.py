"""The one bounded reader for every download: raw bytes, never more than the record allows.

A file URL comes from a record anyone with access to a shared database may have written, so
its body is not trusted to be the size recorded, nor to be small, nor to be plain bytes. Every
download goes through `bounded_chunks`: the body is refused at once when it runs past the
recorded size (nothing past it reaches the sink), and no content decoding happens (a 100 KB
gzip body may not inflate to gigabytes: the hash is of the bytes sent).
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

from notion_up.errors import IntegrityError

# Sent with every download: the host must send the stored bytes themselves.
HEADERS = {"Accept-Encoding": "identity"}


class BodyTooLong(IntegrityError):
    """The file host sent more bytes than the record says the file has."""


def check_url(url: str, what: str) -> None:
    """Refuse anything but http(s): file://, ftp:// and the like are never fetched."""
    if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
        raise IntegrityError(f"{what}: the file URL is not an http(s) URL; refused")


def check_headers(response: requests.Response, limit: int, what: str) -> None:
    """Refuse an encoded body, or one announced as longer than `limit` bytes."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise IntegrityError(f"{what}: the file host sent a {encoding[:32]!r}-encoded body")
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise BodyTooLong(f"{what}: the file host announced {length} bytes, at most {limit} due")


def bounded_chunks(
    response: requests.Response, limit: int, chunk_size: int, what: str
) -> Iterator[bytes]:
    """The body of `response` in chunks, failing before any byte past `limit` is yielded."""
    check_headers(response, limit, what)
    got = 0
    for chunk in response.iter_content(chunk_size):
        got += len(chunk)
        if got > limit:
            raise BodyTooLong(f"{what}: the file host sent more than the {limit} bytes recorded")
        yield chunk
