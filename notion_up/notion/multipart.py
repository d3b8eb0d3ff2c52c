"""A streaming multipart/form-data body that sends part bytes without copying them."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

CHUNK = 256 * 1024


def _quote(value: str) -> str:
    # The HTML form rule browsers and Notion's own clients follow: escape only quote and newlines.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """One form with text fields and a single `file` field; iterable, with a known length.

    requests sends an iterable that has `__len__` with a Content-Length and no chunking,
    so the part buffer goes to the socket as memoryview slices and is never re-encoded.
    """

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        filename: str,
        content_type: str,
        fields: dict[str, str] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.boundary = secrets.token_hex(16)
        head = []
        for name, value in (fields or {}).items():
            head.append(
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n"
            )
        head.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{_quote(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        self._head = "".join(head).encode("utf-8")
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._data = memoryview(data).cast("B")
        self._on_progress = on_progress

    @property
    def content_type(self) -> str:
        """The request's Content-Type header, boundary included."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self._data.nbytes + len(self._tail)

    def __iter__(self) -> Iterator[bytes | memoryview]:
        yield self._head
        total = self._data.nbytes
        for start in range(0, total, CHUNK):
            piece = self._data[start : start + CHUNK]
            yield piece
            if self._on_progress:
                self._on_progress(piece.nbytes)
        yield self._tail
