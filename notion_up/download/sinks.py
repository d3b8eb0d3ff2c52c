"""Where a downloaded file's bytes go, and where `pull` may write them.

A sink is committed only after the bytes proved intact; until then nothing is under the
target's name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import threading
from pathlib import Path
from typing import BinaryIO, Protocol

from notion_up.errors import UsageError


class Sink(Protocol):
    """Where a restored file's bytes go; `commit` only after the check passed."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def discard(self) -> None: ...


class NullSink:
    """Keeps nothing: for verify."""

    path: Path | None = None

    def write(self, data: bytes) -> None:
        """Drop the bytes."""

    def commit(self) -> None:
        """Nothing to keep."""

    def discard(self) -> None:
        """Nothing to remove."""


class StreamSink:
    """Writes straight to a stream (stdout): a mismatch can only be reported afterwards."""

    path: Path | None = None

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def write(self, data: bytes) -> None:
        """Pass the bytes on."""
        self.stream.write(data)

    def commit(self) -> None:
        """Flush what was written."""
        self.stream.flush()

    def discard(self) -> None:
        """Flush too: what went out cannot be taken back."""
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()


# A file name's limit on common file systems (ext4, xfs, btrfs, apfs: 255 bytes).
NAME_MAX = 255


class FileSink:
    """A temporary file beside the target, moved to it only on commit.

    Without `force`, commit never replaces anything that appeared at the target meanwhile
    (a file, a dangling symlink): the temporary file is linked to the target name, which fails
    when the name is taken, and only then removed.
    """

    def __init__(self, path: Path, force: bool = False) -> None:
        self.path = path
        self.force = force
        # Short and fixed-length, whatever the target's name: a 255-byte name can be pulled.
        self._tmp = path.parent / f".notion-up-{secrets.token_hex(8)}.tmp"
        # os.open with 0o666 lets the umask decide the mode, as for any new file.
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        self._fd: int | None = os.open(self._tmp, flags, 0o666)
        # Positional writes only (pwrite): ranges land at their offsets from several threads
        # at once, and `write` appends after the furthest byte written so far.
        self._end = 0
        self._lock = threading.Lock()

    def _fileno(self) -> int:
        if self._fd is None:
            raise ValueError("the temporary file is closed")
        return self._fd

    def write(self, data: bytes) -> None:
        """Append to the temporary file."""
        with self._lock:
            offset = self._end
            self._end += len(data)
        self.write_at(offset, data)

    def write_at(self, offset: int, data: bytes) -> None:
        """Write `data` at `offset` of the temporary file (thread-safe)."""
        fd = self._fileno()
        view = memoryview(data)
        while view.nbytes:
            n = os.pwrite(fd, view, offset)
            view, offset = view[n:], offset + n
        with self._lock:
            self._end = max(self._end, offset)

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes of the temporary file from `offset` (what was written there)."""
        fd = self._fileno()
        pieces = []
        while size > 0:
            piece = os.pread(fd, size, offset)
            if not piece:
                break
            pieces.append(piece)
            offset, size = offset + len(piece), size - len(piece)
        return b"".join(pieces)

    def commit(self) -> None:
        """Flush to disk and move into place."""
        fd = self._fileno()
        os.fsync(fd)
        self._close()
        if self.force:
            os.replace(self._tmp, self.path)  # replaces a symlink itself, never its target
            return
        try:
            os.link(self._tmp, self.path, follow_symlinks=False)
        except FileExistsError:
            self.discard()
            raise UsageError(
                f"{self.path} appeared while it was being downloaded", hint="pass --force"
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                self.discard()
                raise
            # A file system without hard links: the narrowest check there is, then rename.
            if os.path.lexists(self.path):
                self.discard()
                raise UsageError(f"{self.path} exists", hint="pass --force") from None
            os.rename(self._tmp, self.path)
            return
        os.unlink(self._tmp)

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def discard(self) -> None:
        """Remove the temporary file: nothing is left under the target name."""
        with contextlib.suppress(OSError):
            self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


def safe_name(name: str, fallback: str) -> str:
    """A recorded name usable as one file name here (no directories, no `..`, not too long).

    A name longer than a file name may be (255 bytes) keeps its start and its extension, with a
    short digest of the whole name between them so that two long names stay apart.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "")
    if base in ("", ".", ".."):
        return fallback
    if len(os.fsencode(base)) <= NAME_MAX:
        return base
    digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    stem, dot, ext = base.rpartition(".")
    suffix = f".{ext}" if dot and stem and len(os.fsencode(ext)) <= 16 else ""
    keep = NAME_MAX - len(suffix) - len(digest) - 1
    head = os.fsencode(base)[:keep].decode("utf-8", "ignore")
    while len(os.fsencode(head)) > keep:  # a name not in UTF-8 (surrogate escapes)
        head = head[:-1]
    return f"{head}-{digest}{suffix}"


def target_path(output: str | None, name: str, force: bool) -> Path:
    """Where `pull` writes: OUTPUT, or NAME inside OUTPUT when it is a directory (default .).

    An OUTPUT ending in `/` names a directory: created when missing (as `aws s3 cp` and
    `rclone copy` do); without the `/`, a missing parent is an error.
    """
    if output is not None and output.endswith(os.sep) and not os.path.isdir(output):
        try:
            os.makedirs(output, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the directory {output}: {exc.strerror}") from None
    if output is None or os.path.isdir(output) or output.endswith(os.sep):
        path = Path(output or ".") / name
    else:
        path = Path(output)
    if not path.parent.is_dir():
        raise UsageError(
            f"{path.parent} is not a directory",
            hint=f"end the path with / to create it: -o {path.parent}/",
        )
    if os.path.lexists(path) and not force:  # a dangling symlink is there too
        raise UsageError(f"{path} exists", hint="pass --force to replace it")
    return path
