"""Where a downloaded file's bytes go, and where `pull` may write them.

A sink is committed only after the bytes proved intact; until then nothing is under the
target's name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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


class FileSink:
    """A temporary file beside the target, renamed to it only on commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.notion-up-tmp"
        # os.open with 0o666 lets the umask decide the mode, as for any new file.
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        """Append to the temporary file."""
        self._file.write(data)

    def commit(self) -> None:
        """Flush to disk and move into place."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self.path)

    def discard(self) -> None:
        """Remove the temporary file: nothing is left under the target name."""
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


def safe_name(name: str, fallback: str) -> str:
    """A recorded name usable as one file name here (no directories, no `..`)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "")
    return base if base not in ("", ".", "..") else fallback


def target_path(output: str | None, name: str, force: bool) -> Path:
    """Where `pull` writes: OUTPUT, or NAME inside OUTPUT when it is a directory (default .)."""
    if output is None or os.path.isdir(output) or output.endswith(os.sep):
        path = Path(output or ".") / name
    else:
        path = Path(output)
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent} is not a directory")
    if path.exists() and not force:
        raise UsageError(f"{path} exists", hint="pass --force to replace it")
    return path
