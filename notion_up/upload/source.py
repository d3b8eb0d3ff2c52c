"""Where bytes come from: a file on disk, bytes in memory, a spooled or a declared-size stream."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol, cast

from notion_up.errors import InputError, SourceChanged, StreamSizeError
from notion_up.localfile import Identity, UnsafePath, open_regular
from notion_up.localfile import identity as identity_of
from notion_up.notion.limits import SINGLE_PART_MAX

READ_CHUNK = 1024 * 1024


class Stream(Protocol):
    """What a Source reads from: a file, a pipe, or one of the streams here (all have
    `readinto`, which typeshed's BinaryIO lacks)."""

    def readinto(self, buffer: memoryview, /) -> int | None:
        """Fill `buffer` from the start; the bytes read (0 at the end)."""
        ...

    def read(self, size: int = -1, /) -> bytes | None:
        """Up to `size` bytes (b"" at the end)."""
        ...

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Move to `offset` (a file's streams only)."""
        ...

    def fileno(self) -> int:
        """The file descriptor (a file's streams only)."""
        ...

    def close(self) -> None:
        """Release the stream."""
        ...


@dataclass(kw_only=True)
class Source:
    """Bytes to upload, read once, in order, through `readinto`."""

    name: str
    size: int
    stream: Stream
    path: str | None = None
    mtime: float | None = None
    # A digest already computed while spooling, so the bytes are not hashed twice.
    sha512: str | None = None
    declared: bool = False
    # A stream copied to a spool file (`path`): kept after a failed push so `resume` can
    # read it again, removed once the push is recorded.
    spooled: bool = False
    keep: bool = False
    # A piece of a file (split): the bytes of `path` from `offset` on, `size` of them.
    offset: int | None = None
    # The opened file's (st_dev, st_ino): what a re-read checks it still is.
    identity: Identity | None = None
    # A stream longer than one request whose length is not known (size -1): it goes up in
    # volumes as it is read (upload/volumes.py), spooled into `spool_dir` one at a time.
    unsized: bool = False
    spool_dir: str | None = None
    _cleanup: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _read: int = 0

    def readinto(self, buffer: memoryview) -> int:
        """Fill `buffer` completely (or to the end of the data); returns the bytes read."""
        want = buffer.nbytes
        got = 0
        while got < want:
            n = self.stream.readinto(buffer[got:])
            if not n:
                break
            got += n
        self._read += got
        if self.declared and got < want:
            raise StreamSizeError(
                f"{self.name}: the stream ended after {self._read} bytes, "
                f"but --size declared {self.size}",
                hint="pass the exact size, or leave --size out",
            )
        return got

    def check_end(self) -> None:
        """After the last byte: fail when a declared-size stream has bytes left after `size`,
        or when a file was written to while it was read (its size or mtime moved)."""
        if self.declared and self.stream.read(1):
            raise StreamSizeError(
                f"{self.name}: the stream is longer than the {self.size} bytes --size declared",
                hint="pass the exact size, or leave --size out",
            )
        if self.path is not None and self.mtime is not None and self.offset is None:
            info = os.fstat(self.stream.fileno())
            if info.st_size != self.size or info.st_mtime != self.mtime:
                raise SourceChanged(
                    f"{self.path} changed while it was read ({self.size} bytes at the start, "
                    f"{info.st_size} now); nothing was recorded",
                    hint="push it again once nothing is writing to it",
                )

    def close(self) -> None:
        """Close the stream and remove any spool file."""
        try:
            self.stream.close()
        finally:
            for clean in self._cleanup:
                clean()


def open_file(
    path: str, name: str | None = None, *, same_as: Identity | None = None, follow: bool = True
) -> Source:
    """A regular file on disk, or an InputError that says what is wrong with it.

    Opened once, by the one opener: without `follow` a symlink is refused; with `same_as` (the
    identity a walk saw) a file or folder swapped since is refused. Size and mtime are the
    opened file's own.
    """
    try:
        fd, info = open_regular(path, same_as=same_as, follow=follow)
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied") from None
    except UnsafePath as exc:
        if stat.S_ISDIR(exc.mode):
            raise InputError(f"{path} is a directory", hint="use -r to push its files") from None
        if stat.S_ISLNK(exc.mode) or same_as is not None:
            raise InputError(str(exc), hint="nothing of it was sent") from None
        raise InputError(
            f"{path} is not a regular file", hint="pipe it in with `-` and --name"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return Source(
        name=name or shown_name(os.path.basename(path)),
        size=info.st_size,
        stream=open(fd, "rb", buffering=0),  # noqa: SIM115 - closed by Source.close
        path=os.path.abspath(path),
        mtime=info.st_mtime,
        identity=identity_of(info),
    )


def shown_name(name: str) -> str:
    """A file name as text to show and record: bytes that are not UTF-8 (a name the file
    system gave as surrogate escapes) decoded once, with replacement characters."""
    return os.fsencode(name).decode("utf-8", "replace")


def open_stream(
    stream: BinaryIO | Stream,
    name: str,
    size: int | None = None,
    spool_dir: str | None = None,
    on_spooled: Callable[[int], None] | None = None,
    *,
    volumes: bool = False,
) -> Source:
    """A stream of unknown size (held in memory or spooled) or of a declared `size`.

    With `volumes`, a stream longer than one request is not spooled here: it comes back
    unsized, to be cut into volumes as it is read.
    """
    stream = with_readinto(stream)
    if size is not None:
        if size < 0:
            raise StreamSizeError("--size must not be negative")
        return Source(name=name, size=size, stream=stream, declared=True)
    head = _read_up_to(stream, SINGLE_PART_MAX + 1)
    if len(head) <= SINGLE_PART_MAX:
        # Hashed now (not while sending): a re-run of the same stream can then be matched
        # with an unfinished push of it before anything is sent.
        digest = hashlib.sha512(head).hexdigest()
        return Source(name=name, size=len(head), stream=BufferStream(head), sha512=digest)
    if volumes:
        chained = _Chained(BufferStream(head), stream)
        return Source(name=name, size=-1, stream=chained, unsized=True, spool_dir=spool_dir)
    return _spool(stream, head, name, spool_dir, on_spooled)


def with_readinto(stream: BinaryIO | Stream) -> Stream:
    """`stream` itself where it has `readinto` (files, pipes, BytesIO); else its `read`
    wrapped (a file object of the Python API's own making may have nothing more)."""
    if hasattr(stream, "readinto"):
        return cast(Stream, stream)
    return _ReadOnly(stream)


class _ReadOnly(io.RawIOBase):
    """`readinto` for a stream that has only `read`."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        data = self._stream.read(len(target)) or b""
        target[: len(data)] = data
        return len(data)


class BufferStream(io.RawIOBase):
    """A read-only stream over a buffer that never copies it (BytesIO would)."""

    def __init__(self, buffer: bytearray) -> None:
        self._view = memoryview(buffer)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        n = min(len(target), self._view.nbytes - self._pos)
        target[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n


class _Chained(io.RawIOBase):
    """One stream, then another (what was read ahead, then the rest)."""

    def __init__(self, first: Stream, then: Stream) -> None:
        self._then = then
        # One read of each at a time: a buffered `readinto` of a large buffer goes on reading
        # a pipe in small steps until the buffer is full, at half the speed.
        self._reads = [getattr(s, "readinto1", None) or s.readinto for s in (first, then)]

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        """The descriptor of the stream read last (standard input's, for a pipe)."""
        return self._then.fileno()  # none: UnsupportedOperation or AttributeError

    def readinto(self, target: Any) -> int:
        while self._reads:
            n = self._reads[0](target) or 0
            if n:
                return n
            self._reads.pop(0)
        return 0


def _read_up_to(stream: Stream, limit: int) -> bytearray:
    buffer = bytearray(limit)
    view = memoryview(buffer)
    got = 0
    # One read of the source at a time where the stream allows: a buffered readinto goes on
    # past a terminal's Ctrl-D (an empty read) and waits for a second one.
    readinto = getattr(stream, "readinto1", None) or stream.readinto
    while got < limit:
        n = readinto(view[got:])
        if not n:
            break
        got += n
    view.release()
    del buffer[got:]
    return buffer


def _spool(
    stream: Stream,
    head: bytearray,
    name: str,
    spool_dir: str | None,
    on_spooled: Callable[[int], None] | None,
) -> Source:
    """Copy the stream to a spool file (0600), hashing as it goes.

    The file is removed on close unless the push failed after it began (`keep`): then
    `resume` reads it again. `spool_dir` defaults to $TMPDIR.
    """
    digest = hashlib.sha512(head)
    if spool_dir is not None:
        os.makedirs(spool_dir, mode=0o700, exist_ok=True)
    spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 - removed by Source.close
        prefix="notion-up-", suffix=".spool", dir=spool_dir, delete=False
    )
    path = spool.name
    try:
        spool.write(head)
        total = len(head)
        del head
        buffer = bytearray(READ_CHUNK * 4)
        view = memoryview(buffer)
        while True:
            n = stream.readinto(view)
            if not n:
                break
            chunk = view[:n]
            digest.update(chunk)
            spool.write(chunk)
            total += n
            if on_spooled:
                on_spooled(total)
        spool.close()
    except BaseException:
        spool.close()
        os.unlink(path)
        raise
    return spooled_source(path, name, total, digest.hexdigest())


def spooled_source(path: str, name: str, size: int, sha512: str) -> Source:
    """A stream's bytes in a spool file as a Source: the file is removed on close unless a
    failed push keeps it (`keep`) for `resume` to read again."""
    reader = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by Source.close
    mtime = os.stat(path).st_mtime
    source = Source(
        name=name, size=size, stream=reader, path=path, mtime=mtime, sha512=sha512, spooled=True
    )

    def remove() -> None:
        if not source.keep and os.path.exists(path):
            os.unlink(path)

    source._cleanup.append(remove)
    return source


class _SliceStream(io.RawIOBase):
    """The next `length` bytes of a shared stream; closing it leaves the shared stream open."""

    def __init__(self, stream: Stream, length: int) -> None:
        self._stream = stream
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(target)[: self._left]
        n = self._stream.readinto(view) or 0
        self._left -= n
        return n


def slice_source(
    source: Source,
    length: int,
    name: str,
    stream: Stream | None = None,
    offset: int | None = None,
) -> Source:
    """The next `length` bytes of `source` (or of `stream`, a wrapper of its stream) as a
    Source of their own: one piece of a split file, at `offset` in it.

    Pieces must be read in order: each continues where the previous one stopped. A stream that
    ends early fails like a declared size would.
    """
    return Source(
        name=name,
        size=length,
        stream=_SliceStream(stream or source.stream, length),
        declared=True,
        path=source.path,
        mtime=source.mtime,
        offset=offset,
    )


def open_piece(path: str, offset: int, length: int, name: str, mtime: float | None) -> Source:
    """`length` bytes of the file at `path` from `offset`: a split file's piece, read again."""
    whole = open_file(path)
    if mtime is not None and whole.mtime != mtime:
        whole.close()
        raise InputError(f"{path} changed since the push began", hint="push it again")
    whole.stream.seek(offset)
    piece = slice_source(whole, length, name, offset=offset)
    piece._cleanup.append(whole.close)
    return piece


class HashingStream(io.RawIOBase):
    """Reads through to another stream, hashing (SHA-512) everything that passes."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._digest = hashlib.sha512()

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        n = self._stream.readinto(target) or 0
        if n:
            self._digest.update(memoryview(target)[:n])
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size) or b""
        self._digest.update(data)
        return data

    def hexdigest(self) -> str:
        """The digest of everything read so far."""
        return self._digest.hexdigest()
