"""Progress events: how the core tells the outside what it is doing, without knowing who listens.

One protocol for uploads and downloads: a listener is any callable taking an Event. Events of
one transfer carry its `key`, unique within a run: names are not (two `notes.txt` from
different folders). The key is left out of comparisons, so a test can expect an event by value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class FileStarted:
    """A file's upload begins (its size may be unknown until a stream is spooled)."""

    name: str
    size: int | None
    parts: int
    key: int = field(default=0, compare=False)


@dataclass(frozen=True, kw_only=True)
class PartStarted:
    """A part's send begins."""

    name: str
    part_number: int
    size: int
    key: int = field(default=0, compare=False)


@dataclass(frozen=True, kw_only=True)
class BytesSent:
    """Some bytes of a part were handed to the socket (not yet acknowledged: see PartDone)."""

    name: str
    part_number: int
    nbytes: int
    key: int = field(default=0, compare=False)


@dataclass(frozen=True)
class PartDone:
    """A part was accepted by Notion."""

    name: str
    part_number: int
    key: int = field(default=0, compare=False)


@dataclass(frozen=True, kw_only=True)
class Retrying:
    """A request failed for a temporary reason and will be tried again."""

    name: str
    what: str
    attempt: int
    reason: str
    wait: float
    key: int = field(default=0, compare=False)
    # Set when the retried request is a part's send: its bytes start over.
    part_number: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Stage:
    """A step of a file that is not sending bytes: spooling, completing, recording."""

    name: str
    stage: str
    key: int = field(default=0, compare=False)


@dataclass(frozen=True)
class UploadEnded:
    """One upload ended, sent or not: a file, or a piece or the manifest of a split file."""

    name: str
    key: int = field(default=0, compare=False)


@dataclass(frozen=True)
class FileDone:
    """A file is pushed and recorded; `result` is its PushResult."""

    name: str
    result: Any


@dataclass(frozen=True)
class FileFailed:
    """A file could not be pushed."""

    name: str
    error: BaseException


@dataclass(frozen=True)
class FileSkipped:
    """A file was not pushed, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class BatchPlanned:
    """A run knows how many inputs it has (files to push or skip), and then how many bytes.

    Sent twice by a push: first with the inputs, then, once skips are known, with the bytes
    to send (None when standard input's size is not known).
    """

    files: int
    bytes: int | None = None


@dataclass(frozen=True)
class AlreadySent:
    """A resumed upload: `nbytes` of it are with Notion already (its bar starts there)."""

    name: str
    nbytes: int
    key: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Notice:
    """A line for the user that is not about one transfer (waiting for a lock, a setting).

    `verbose` notices are shown only with -v.
    """

    text: str
    verbose: bool = False


@dataclass(frozen=True)
class DownloadStarted:
    """A file's download begins (`size` as recorded; None when the record has none)."""

    name: str
    size: int | None
    key: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BytesReceived:
    """Some bytes of a download arrived and were hashed."""

    name: str
    nbytes: int
    key: int = field(default=0, compare=False)


@dataclass(frozen=True)
class DownloadEnded:
    """One download ended, whole or not."""

    name: str
    key: int = field(default=0, compare=False)


Event = (
    FileStarted
    | PartStarted
    | BytesSent
    | PartDone
    | Retrying
    | Stage
    | UploadEnded
    | FileDone
    | FileFailed
    | FileSkipped
    | BatchPlanned
    | AlreadySent
    | Notice
    | DownloadStarted
    | BytesReceived
    | DownloadEnded
)
Listener = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """A listener that drops every event."""
