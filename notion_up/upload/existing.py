"""Is this file already there? The journal's finished pushes, and the file database itself."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from notion_up.errors import FileMissing
from notion_up.events import FileSkipped, Listener
from notion_up.notion.paging import read_all
from notion_up.notion.records import RemoteFile, file_sha512, remote_file, verify
from notion_up.state.journal import Journal
from notion_up.upload.inputs import FileInput


class DataSourceReader(Protocol):
    """The one client call the remote check needs (NotionClient satisfies it)."""

    def query_data_source(self, data_source_id: str, body: dict) -> dict: ...


@dataclass
class ExistingCheck:
    """Decides whether a file can be skipped (--skip-existing, --check-remote).

    The journal check is local: a finished push of the same path, size and mtime whose
    SHA-512 the file still has. The remote check asks the file database for rows of the same
    `filesize` and recomputes each row's salted hash from its salt and the file's SHA-512.
    """

    journal: Journal | None
    workspace: str
    files_data_source: str
    remote: DataSourceReader | None = None
    _by_size: dict[int, list[RemoteFile]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reason_to_skip(self, path: str) -> str | None:
        """Why `path` need not be pushed again, or None when it must be."""
        info = os.stat(path)
        sha512: str | None = None
        entry = self._journal_entry(path, info.st_size, info.st_mtime)
        if entry is not None:
            sha512 = file_sha512(path)
            if sha512 == entry.sha512:
                return "already pushed (same path, size, mtime and SHA-512)"
        if self.remote is None:
            return None
        rows = self._remote_rows(info.st_size)
        if not rows:
            return None
        sha512 = sha512 or file_sha512(path)
        for row in rows:
            if verify(sha512, row.salt, row.salted):
                return f"already in the file database (page {row.page_id})"
        return None

    def _journal_entry(self, path: str, size: int, mtime: float):
        if self.journal is None:
            return None
        entry = self.journal.find_done(os.path.abspath(path), size, mtime)
        # A push to another workspace or database does not count.
        if entry is None or entry.api_url != self.workspace:
            return None
        if entry.files_data_source != self.files_data_source or not entry.sha512:
            return None
        return entry

    def _remote_rows(self, size: int) -> list[RemoteFile]:
        with self._lock:
            cached = self._by_size.get(size)
        if cached is not None:
            return cached
        rows = list(query_by_size(self.remote, self.files_data_source, size))  # type: ignore[arg-type]
        with self._lock:
            self._by_size[size] = rows
        return rows


def query_by_size(client: DataSourceReader, data_source: str, size: int) -> list[RemoteFile]:
    """Every file-database row whose `filesize` equals `size` (all pages of the query)."""
    body: dict = {"filter": {"property": "filesize", "number": {"equals": size}}, "page_size": 100}
    rows: list[RemoteFile] = []
    for page in read_all(client.query_data_source, data_source, body, what="size check"):
        # A row that is not a (well-formed) file record cannot be this file.
        with contextlib.suppress(FileMissing):
            rows.append(remote_file(page))
    return rows


def drop_existing(
    files: Sequence[FileInput], check: ExistingCheck, workers: int, emit: Listener
) -> list[FileInput]:
    """The files still to push; each one skipped is reported as a FileSkipped event.

    Checks run `workers` at a time: hashing and the remote queries dominate a nightly run
    in which most files have not changed.
    """
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="notion-up-check") as pool:
        reasons = list(pool.map(lambda item: _reason(check, item), files))
    keep = []
    for item, reason in zip(files, reasons, strict=True):
        if reason is None:
            keep.append(item)
        else:
            emit(FileSkipped(display_path(item), reason))
    return keep


def _reason(check: ExistingCheck, item: FileInput) -> str | None:
    try:
        return check.reason_to_skip(item.path)
    except OSError:
        # Unreadable now: let the push itself fail and say so, for this file alone.
        return None


def display_path(item: FileInput) -> str:
    """A file as the user knows it: its folder within what was pushed, and its name."""
    return f"{item.folder_path.rstrip('/')}/{item.name}".lstrip("/")
