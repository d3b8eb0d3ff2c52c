"""What a push is made of: the engine's options, one file's state while it goes up, its result."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from notion_up.events import Listener, Retrying
from notion_up.notion.filetypes import UploadName
from notion_up.notion.records import ContentHash
from notion_up.upload.parts import DEFAULT_PART_SIZE, PartPlan
from notion_up.upload.source import Source

# Far above what the engine needs (workers + 1 parts): it only bites when something else in
# the process, or a huge --workers × --part-size, has grown it.
DEFAULT_MAX_MEMORY = 1024**3


@dataclass(kw_only=True)
class EngineOptions:
    """Knobs of the upload engine."""

    workers: int = 4
    # The largest part of the run (buffers are this size); `part_size_for` may cut a file's.
    part_size: int = DEFAULT_PART_SIZE
    max_memory: int | None = None
    part_size_for: Callable[[int], int] | None = None

    def part_size_of(self, size: int) -> int:
        """The part size for a file of `size` bytes (never above `part_size`)."""
        chosen = self.part_size_for(size) if self.part_size_for else self.part_size
        return min(chosen, self.part_size)


@dataclass(kw_only=True)
class PushResult:
    """What one pushed file became in Notion."""

    name: str
    size: int
    file_id: str
    file_upload_id: str
    index_id: str
    hash: ContentHash
    plan: PartPlan
    upload: UploadName
    seconds: float
    retries: int
    folder_path: str = "/"

    def to_json(self) -> dict:
        """The --json line for this file."""
        return {
            "name": self.name,
            "size": self.size,
            "file_id": self.file_id,
            "file_upload_id": self.file_upload_id,
            "index_id": self.index_id,
            "hash": self.hash.salted,
            "sha512": self.hash.sha512,
            "salt": self.hash.salt,
            "parts": self.plan.count,
            "part_size": self.plan.part_size,
            "mode": self.plan.mode,
            "content_type": self.upload.content_type,
            "upload_name": self.upload.upload_name,
            "carrier": self.upload.carrier,
            "folder_path": self.folder_path,
            "seconds": round(self.seconds, 3),
            "bytes_per_second": round(self.size / self.seconds) if self.seconds > 0 else None,
            "retries": self.retries,
        }


class StartOver(Exception):
    """A journalled push that cannot be finished, only begun again (its upload is no use)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(kw_only=True)
class FileRun:
    """The state of one file while it is being pushed."""

    name: str
    size: int
    plan: PartPlan
    upload: UploadName
    folder_path: str
    is_visible: bool
    is_manifest: bool
    key: int
    source: Source | None = None
    # A manifest's row shows the whole file: its original name and total size.
    whole: tuple[str, int] | None = None
    push_id: int | None = None
    upload_id: str = ""
    salt: str = ""
    retries: int = 0
    started: float = field(default_factory=time.monotonic)
    failed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The journal row of the split file this is a piece (or the manifest) of.
    parent: int | None = None
    # When the upload expires (time.monotonic()), from its create's expiry_time.
    deadline: float | None = None

    def on_retry(self, emit: Listener, what: str, part_number: int | None = None):
        """A client `on_retry` callback that counts the retry and reports it as an event."""

        def on_retry(_path: str, attempt: int, reason: str, wait_s: float) -> None:
            with self.lock:
                self.retries += 1
            emit(
                Retrying(
                    name=self.name,
                    what=what,
                    attempt=attempt,
                    reason=reason,
                    wait=wait_s,
                    key=self.key,
                    part_number=part_number,
                )
            )

        return on_retry

    def left_behind(self, journalled: bool, expiry: str | None, hint: str | None) -> str:
        """What a failed push left, and how to finish it (after `hint`, if any)."""
        left = f"upload {self.upload_id} is unfinished"
        if journalled and self.source and self.source.path:
            left += f"; run `notion-up resume` before it expires ({expiry or 'in one hour'})"
        elif journalled and self.source and self.source.sha512:
            left += "; run the same push again with the same input to finish it"
        return f"{hint}; {left}" if hint else left
