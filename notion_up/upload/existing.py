"""Is this file already there? The journal's finished pushes, and the file database itself."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from notion_up.errors import FileMissing, QueryTooLarge
from notion_up.events import FileSkipped, Listener
from notion_up.notion.limits import PAGE_SIZE
from notion_up.notion.paging import read_all
from notion_up.notion.records import file_sha512, remote_file, verify
from notion_up.state.journal import Journal
from notion_up.upload.inputs import FileInput
from notion_up.workpool import map_bounded


class DataSourceReader(Protocol):
    """The one client call the remote check needs (NotionClient satisfies it)."""

    def query_data_source(self, data_source_id: str, body: dict) -> dict: ...


@dataclass(frozen=True)
class Recorded:
    """What a remote check keeps of a row: enough to recompute its salted hash, no more."""

    page_id: str
    salt: str
    salted: str


@dataclass(kw_only=True)
class ExistingCheck:
    """Decides whether a file can be skipped (--skip-existing, --check-remote).

    The journal check is local: a finished push of the same path, size and mtime whose
    SHA-512 the file still has. The remote check looks for rows of the same `filesize` in the
    file database and recomputes each row's salted hash from its salt and the file's SHA-512:
    one query per distinct size, or (`prepare`) the whole database read once when that is
    cheaper. Only a row carrying a file Notion holds counts: a row without one, or with an
    external URL, does not make a backup skip a file.
    """

    journal: Journal | None
    workspace: str
    files_data_source: str
    remote: DataSourceReader | None = None
    _by_size: dict[int, list[Recorded]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Queries made by the remote check (per size and bulk alike), for --stats and the bench.
    queries: int = 0

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

    def prepare(self, paths: Sequence[str]) -> bool:
        """Read the file database once, in bulk, when that takes fewer queries than one per
        distinct size the journal cannot answer for; True when it did.

        The bulk read stops as soon as it has cost as many queries as the per-size checks
        would (then those run instead): at worst twice the cheaper way, never more.
        """
        if self.remote is None:
            return False
        sizes: set[int] = set()
        for path in paths:
            with contextlib.suppress(OSError):
                info = os.stat(path)
                if self._journal_entry(path, info.st_size, info.st_mtime) is None:
                    sizes.add(info.st_size)
        if len(sizes) < 2:
            return False
        found = self._bulk(sizes, max_queries=len(sizes))
        if found is None:
            return False
        with self._lock:
            for size in sizes:
                self._by_size[size] = found.get(size, [])
        return True

    def _bulk(self, sizes: set[int], max_queries: int) -> dict[int, list[Recorded]] | None:
        spent = 0

        def query(data_source: str, body: dict) -> dict:
            nonlocal spent
            if spent >= max_queries:
                raise _TooDear
            spent += 1
            return self._query(data_source, body)

        body: dict[str, Any] = {
            "filter": {"property": "file_data", "files": {"is_not_empty": True}}
        }
        body["page_size"] = PAGE_SIZE
        found: dict[int, list[Recorded]] = {}
        try:
            for page in read_all(query, self.files_data_source, body, what="remote check"):
                row = _recorded(page)
                if row is not None and row[0] in sizes:
                    found.setdefault(row[0], []).append(row[1])
        except (_TooDear, QueryTooLarge):
            # Dearer than per size, or rows too dense in time to read in windows: per size it is.
            return None
        return found

    def _query(self, data_source: str, body: dict) -> dict:
        with self._lock:
            self.queries += 1
        # Queries are made only with a client to ask (check_remote).
        assert self.remote is not None
        return self.remote.query_data_source(data_source, body)

    def _journal_entry(self, path: str, size: int, mtime: float):
        if self.journal is None:
            return None
        entry = self.journal.find_done(os.path.abspath(path), size, mtime)
        # A push to another workspace or database does not count.
        if entry is None or entry.workspace != self.workspace:
            return None
        if entry.files_data_source != self.files_data_source or not entry.sha512:
            return None
        return entry

    def _remote_rows(self, size: int) -> list[Recorded]:
        with self._lock:
            cached = self._by_size.get(size)
        if cached is not None:
            return cached
        body: dict = {"filter": {"property": "filesize", "number": {"equals": size}}}
        body["page_size"] = PAGE_SIZE
        rows = []
        for page in read_all(self._query, self.files_data_source, body, what="size check"):
            row = _recorded(page)
            if row is not None:
                rows.append(row[1])
        with self._lock:
            self._by_size[size] = rows
        return rows


class _TooDear(Exception):
    """The bulk read has cost what the per-size checks would: they run instead."""


def _recorded(page: dict) -> tuple[int, Recorded] | None:
    """A row's size and what a check needs of it, when it holds a file Notion keeps."""
    # A row that is not a (well-formed) file record cannot be this file.
    try:
        remote = remote_file(page)
    except FileMissing:
        return None
    if not remote.hosted or remote.size is None:
        return None
    return remote.size, Recorded(remote.page_id, remote.salt, remote.salted)


def drop_existing(
    files: Sequence[FileInput], check: ExistingCheck, workers: int, emit: Listener
) -> list[FileInput]:
    """The files still to push; each one skipped is reported as a FileSkipped event.

    Checks run `workers` at a time: hashing and the remote queries dominate a nightly run
    in which most files have not changed.
    """
    check.prepare([item.path for item in files])
    kept: list[tuple[int, FileInput]] = []
    numbered = enumerate(files)
    checks = map_bounded(
        lambda pair: _reason(check, pair[1]), numbered, workers, name="notion-up-check"
    )
    for (i, item), reason in checks:
        if reason is None:
            kept.append((i, item))
        else:
            emit(FileSkipped(display_path(item), reason))
    return [item for _, item in sorted(kept, key=lambda pair: pair[0])]


def _reason(check: ExistingCheck, item: FileInput) -> str | None:
    try:
        return check.reason_to_skip(item.path)
    except OSError:
        # Unreadable now: let the push itself fail and say so, for this file alone.
        return None


def display_path(item: FileInput) -> str:
    """A file as the user knows it: its folder within what was pushed, and its name."""
    return f"{item.folder_path.rstrip('/')}/{item.name}".lstrip("/")
