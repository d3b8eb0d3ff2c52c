"""Bytes on the wire: request bodies (with the bandwidth throttle), multipart/form-data, Range."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import unquote

from .errors import invalid
from .limits import CHUNK


class ClientGone(Exception):
    """The client closed the connection before sending the whole body."""


class RequestBody:
    """A request's body, read by Content-Length or chunked, at most `bandwidth` bytes/s.

    `clock` and `sleep` (time.monotonic and time.sleep by default) are injectable so tests of
    the throttle never wait.
    """

    def __init__(
        self,
        rfile,
        headers,
        bandwidth: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.rfile = rfile
        self.chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self.length: int | None = None
        self.remaining = 0
        if not self.chunked:
            try:
                self.length = max(0, int(headers.get("Content-Length") or 0))
            except ValueError:
                self.length = 0
            self.remaining = self.length
        self._chunk_left = 0
        self._eof = False
        self.bandwidth = bandwidth if bandwidth and bandwidth > 0 else None
        self._t0: float | None = None
        self.consumed = 0

    @property
    def done(self) -> bool:
        return self._eof if self.chunked else self.remaining == 0

    def chunk_size(self) -> int:
        if self.bandwidth is None:
            return CHUNK
        return int(max(16 * 1024, min(CHUNK, self.bandwidth / 20)))

    def readinto(self, view: memoryview) -> int:
        if self.bandwidth is not None and self._t0 is None:
            self._t0 = self._clock()
        if self.chunked:
            got = self._read_chunked(view)
        else:
            if self.remaining == 0:
                return 0
            n = min(len(view), self.remaining)
            got = self.rfile.readinto(view[:n])
            if not got:
                raise ClientGone()
            self.remaining -= got
        self.consumed += got
        if self.bandwidth is not None and got:
            started = self._t0 if self._t0 is not None else self._clock()
            ahead = self.consumed / self.bandwidth - (self._clock() - started)
            if ahead > 0:
                self._sleep(ahead)
        return got

    def _read_chunked(self, view: memoryview) -> int:
        if self._eof:
            return 0
        if self._chunk_left == 0:
            line = self.rfile.readline(65537)
            if not line:
                raise ClientGone()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ClientGone() from None
            if size == 0:
                while True:  # trailers
                    trailer = self.rfile.readline(65537)
                    if trailer in (b"\r\n", b"\n", b""):
                        break
                self._eof = True
                return 0
            self._chunk_left = size
        n = min(len(view), self._chunk_left)
        got = self.rfile.readinto(view[:n])
        if not got:
            raise ClientGone()
        self._chunk_left -= got
        if self._chunk_left == 0:
            self.rfile.readline(3)
        return got

    def read_all(self, cap: int) -> bytes:
        out = bytearray()
        buf = bytearray(min(self.chunk_size(), 64 * 1024))
        view = memoryview(buf)
        try:
            while True:
                got = self.readinto(view)
                if not got:
                    break
                out += view[:got]
                if len(out) > cap:
                    raise invalid("Request body too large.")
        finally:
            view.release()
        return bytes(out)

    def drain(self) -> None:
        buf = bytearray(self.chunk_size())
        view = memoryview(buf)
        try:
            while self.readinto(view):
                pass
        finally:
            view.release()


class FormError(Exception):
    pass


_PARAM_RE = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def header_params(value: str) -> tuple[str, dict[str, str]]:
    main_value = value.split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    for key, raw in _PARAM_RE.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[key.lower()] = raw
    if "filename*" in params:
        enc, _, rest = params["filename*"].partition("''")
        try:
            params["filename"] = unquote(rest, encoding=enc or "utf-8")
        except LookupError:
            params["filename"] = unquote(rest)
    return main_value, params


class FormParser:
    """A streaming multipart/form-data parser: the `file` field goes to `sink`, others to memory."""

    MAX_HEADERS = 16 * 1024
    MAX_FIELD = 64 * 1024

    def __init__(self, boundary: bytes, sink) -> None:
        self.delim = b"\r\n--" + boundary
        self.first = b"--" + boundary
        self.buf = bytearray()
        self.state = "preamble"
        self.sink = sink
        self.fields: dict[str, str] = {}
        self.file_seen = False
        self.file_size = 0
        self.file_name: str | None = None
        self.file_type: str | None = None
        # The sink (the file field), a form field's bytes, or nothing (between parts).
        self._target: object | bytearray | None = None
        self._field_name: str | None = None

    # -- feeding
    def feed(self, data: bytearray, n: int) -> None:
        if self.state == "data" and n >= len(self.delim) and len(self.buf) < len(self.delim):
            if self._fast(data, n):
                return
        with memoryview(data) as view, view[:n] as piece:
            self.buf += piece
        self._process()

    def _fast(self, data: bytearray, n: int) -> bool:
        """No delimiter in this chunk: pass it through without copying it into the buffer."""
        d = self.delim
        keep = len(d) - 1
        if self.buf and (bytes(self.buf) + bytes(data[:keep])).find(d) != -1:
            return False
        if data.find(d, 0, n) != -1:
            return False
        if self.buf:
            self._emit(bytes(self.buf))
        with memoryview(data) as view, view[: n - keep] as piece:
            self._emit(piece)
        self.buf = bytearray(data[n - keep : n])
        return True

    def _emit_buf(self, end: int) -> None:
        if end <= 0:
            return
        with memoryview(self.buf) as view, view[:end] as piece:
            self._emit(piece)
        del self.buf[:end]

    def _emit(self, piece) -> None:
        target = self._target
        if target is None:
            return
        if isinstance(target, bytearray):  # a form field, held in memory
            target += piece
            if len(target) > self.MAX_FIELD:
                raise FormError("form field too large")
        else:
            self.file_size += len(piece)
            write_all(self.sink, piece)

    def _process(self) -> None:
        while True:
            if self.state == "preamble":
                i = self.buf.find(self.first)
                if i < 0:
                    extra = len(self.buf) - len(self.first)
                    if extra > 0:
                        del self.buf[:extra]
                    return
                j = i + len(self.first)
                if len(self.buf) < j + 2:
                    del self.buf[:i]
                    return
                if self.buf[j : j + 2] == b"--":
                    self.state = "end"
                    self.buf.clear()
                    return
                k = self.buf.find(b"\r\n", j)
                if k < 0:
                    return
                del self.buf[: k + 2]
                self.state = "headers"
            elif self.state == "headers":
                if self.buf.startswith(b"\r\n"):
                    raw, cut = b"", 2
                else:
                    i = self.buf.find(b"\r\n\r\n")
                    if i < 0:
                        if len(self.buf) > self.MAX_HEADERS:
                            raise FormError("part headers too large")
                        return
                    raw, cut = bytes(self.buf[:i]), i + 4
                del self.buf[:cut]
                self._start_part(raw)
                self.state = "data"
            elif self.state == "data":
                i = self.buf.find(self.delim)
                if i < 0:
                    self._emit_buf(len(self.buf) - (len(self.delim) - 1))
                    return
                j = i + len(self.delim)
                if len(self.buf) < j + 2:
                    self._emit_buf(i)
                    return
                self._emit_buf(i)
                self._end_part()
                j = len(self.delim)
                tail = bytes(self.buf[j : j + 2])
                if tail == b"--":
                    self.state = "end"
                    self.buf.clear()
                    return
                if tail != b"\r\n":
                    raise FormError("malformed boundary line")
                del self.buf[: j + 2]
                self.state = "headers"
            else:  # end: ignore the epilogue
                self.buf.clear()
                return

    def _start_part(self, raw: bytes) -> None:
        name = filename = ctype = None
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "content-disposition":
                _, params = header_params(value)
                name = params.get("name")
                filename = params.get("filename")
            elif key == "content-type":
                ctype = value.strip()
        self._field_name = name
        if name == "file" and not self.file_seen:
            self.file_seen = True
            if filename is not None:
                filename = filename.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
            self.file_name = filename
            self.file_type = ctype
            self._target = self.sink
        elif name and name != "file":
            self._target = bytearray()
        else:
            self._target = None

    def _end_part(self) -> None:
        if isinstance(self._target, bytearray) and self._field_name:
            self.fields[self._field_name] = self._target.decode("utf-8", "replace")
        self._target = None
        self._field_name = None

    def finish(self) -> None:
        if self.state != "end":
            raise FormError("the multipart body ended before its closing boundary")


def write_all(fh, data) -> None:
    view = memoryview(data)
    try:
        while view.nbytes:
            n = fh.write(view)
            if n is None:  # pragma: no cover - non-blocking files only
                continue
            rest = view[n:]
            view.release()
            view = rest
    finally:
        view.release()


# ---------------------------------------------------------------------------------------------


def parse_range(value: str, total: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive, "unsatisfiable", or None to serve the whole file."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            n = int(last)
            if n <= 0 or total == 0:
                return "unsatisfiable"
            return max(0, total - n), total - 1
        start = int(first)
        end = int(last) if last else total - 1
    except ValueError:
        return None
    if start >= total or start < 0:
        return "unsatisfiable"
    if end < start:
        return None
    return start, min(end, total - 1)
