"""Progress events: how the core tells the outside what it is doing, without knowing who listens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FileStarted:
    """A file's upload begins (its size may be unknown until a stream is spooled)."""

    name: str
    size: int | None
    parts: int


@dataclass(frozen=True)
class PartStarted:
    """A part's send begins."""

    name: str
    part_number: int
    size: int


@dataclass(frozen=True)
class BytesSent:
    """Some bytes of a part reached the socket."""

    name: str
    part_number: int
    nbytes: int


@dataclass(frozen=True)
class PartDone:
    """A part was accepted by Notion."""

    name: str
    part_number: int


@dataclass(frozen=True)
class Retrying:
    """A request failed for a temporary reason and will be tried again."""

    name: str
    what: str
    attempt: int
    reason: str
    wait: float


@dataclass(frozen=True)
class Stage:
    """A step of a file that is not sending bytes: spooling, completing, recording."""

    name: str
    stage: str


@dataclass(frozen=True)
class FileDone:
    """A file is pushed and recorded; `result` is its PushResult."""

    name: str
    result: Any


@dataclass(frozen=True)
class FileFailed:
    """A file could not be pushed."""

    name: str
    error: Exception


@dataclass(frozen=True)
class FileSkipped:
    """A file was not pushed, and why."""

    name: str
    reason: str


Event = (
    FileStarted
    | PartStarted
    | BytesSent
    | PartDone
    | Retrying
    | Stage
    | FileDone
    | FileFailed
    | FileSkipped
)
Listener = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """A listener that drops every event."""
