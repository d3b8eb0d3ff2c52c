"""Finding files in the file database: list its rows, look one up by page id or by hash.

A hash is looked up through the global index, then the file database itself; the index is
shared and writable by others, so a page it names is taken only when it is a page of the file
database that carries the very hash asked for. `share`, `rm`, `pull` and `verify` find here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from notion_up.errors import APIError, FileMissing, InvalidRecord, UsageError
from notion_up.notion.client import NotionClient
from notion_up.notion.limits import PAGE_SIZE
from notion_up.notion.paging import read_all
from notion_up.notion.records import Databases, RemoteFile, is_page_id, plain_text, remote_file

_HASH = re.compile(r"[0-9a-f]{128}")
_PAGE_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Rejected:
    """A row of the file database that is not a well-formed record: verify reports it failed."""

    file_id: str
    error: InvalidRecord


class Finder:
    """Lists and looks up the file records of one workspace's file database (thread-safe)."""

    def __init__(self, client: NotionClient, databases: Databases) -> None:
        self.client = client
        self.databases = databases

    def list_files(
        self,
        name: str | None = None,
        include_hidden: bool = False,
        on_rejected: Callable[[Rejected], None] | None = None,
    ) -> Iterator[RemoteFile]:
        """Rows of the file database, newest first, every page of results (by cursor).

        A malformed record is left out; `on_rejected` hears of it.
        """
        conditions: list[dict] = []
        if not include_hidden:
            conditions.append({"property": "is_visible", "checkbox": {"equals": True}})
        if name:
            conditions.append({"property": "filename", "title": {"contains": name}})
        body: dict = {
            "sorts": [{"timestamp": "created_time", "direction": "descending"}],
            "page_size": PAGE_SIZE,
        }
        if len(conditions) == 1:
            body["filter"] = conditions[0]
        elif conditions:
            body["filter"] = {"and": conditions}
        return self.rows(body, on_rejected)

    def rows(
        self, body: dict, on_rejected: Callable[[Rejected], None] | None = None
    ) -> Iterator[RemoteFile]:
        """The file records a query of the file database finds (every one, past the cap)."""
        pages = read_all(
            self.client.query_data_source, self.databases.files_data_source, body, what="listing"
        )
        for page in pages:
            try:
                yield remote_file(page)
            except InvalidRecord as bad:
                if on_rejected is not None:
                    on_rejected(Rejected(str(page.get("id") or "?")[:64], bad))
            except FileMissing:
                continue

    def find(self, key: str) -> RemoteFile:
        """The file with this page id, or with this salted hash (through the global index)."""
        text = key.strip().lower()
        if _HASH.fullmatch(text):
            return self._by_hash(text)
        if _PAGE_ID.fullmatch(text.replace("-", "")) and is_page_id(text):
            return self.get(text, key)
        raise UsageError(
            f"{key!r} is neither a file id nor a hash",
            hint="use the FILE_ID or HASH that push or `notion-up ls` printed",
        )

    def find_all(self, key: str) -> list[RemoteFile]:
        """Every file `key` may name: one for a page id; for a hash, each page of the file
        database that carries it (a row may copy another's `filehash` and `salt`: a decoy).
        FileMissing when there is none."""
        text = key.strip().lower()
        if not _HASH.fullmatch(text):
            return [self.find(key)]
        found: dict[str, RemoteFile] = {}
        for page_id in self._page_of_hash(text):
            if page_id.replace("-", "").lower() in found:
                continue
            with contextlib.suppress(FileMissing):
                found[page_id.replace("-", "").lower()] = self.get(
                    page_id, text[:16] + "…", salted=text
                )
        if not found:
            raise FileMissing(f"no file with hash {text[:16]}…")
        return list(found.values())

    def _by_hash(self, salted: str) -> RemoteFile:
        """The file whose own `filehash` is `salted`, in the configured file database.

        The index (shared, writable by others) only says where to look: a page it names is
        taken only when it is a page of the file database carrying this very hash.
        """
        for page_id in self._page_of_hash(salted):
            with contextlib.suppress(FileMissing):
                return self.get(page_id, salted[:16] + "…", salted=salted)
        raise FileMissing(f"no file with hash {salted[:16]}…")

    def _page_of_hash(self, salted: str) -> Iterator[str]:
        """Pages that may hold the file with this hash: the index's, then the file database's."""
        query = self.client.query_data_source
        by_hash = {"filter": {"property": "Salted SHA512 Hash", "rich_text": {"equals": salted}}}
        for entry in read_all(query, self.databases.index_data_source, by_hash, what="index"):
            props = entry.get("properties")
            page_id = plain_text(props.get("File Page ID") if isinstance(props, dict) else None)
            if is_page_id(page_id.strip()):  # never `../../v1/users/me` into a URL path
                yield page_id.strip()
        # An index entry may be missing (a push that died between the two writes), or wrong.
        by_hash = {"filter": {"property": "filehash", "rich_text": {"equals": salted}}}
        for page in read_all(query, self.databases.files_data_source, by_hash, what="hash look-up"):
            if is_page_id(page.get("id")):
                yield page["id"]

    def get(self, page_id: str, key: str | None = None, salted: str | None = None) -> RemoteFile:
        """The file record on this page (fetched now: its URL is fresh).

        Only a page of the configured file database is a file here (and, given `salted`, only
        one whose own `filehash` is that hash).
        """
        if not is_page_id(page_id):
            raise InvalidRecord(f"{str(page_id)[:64]!r} is not a Notion id")
        try:
            page = self.client.retrieve_page(page_id)
        except APIError as exc:
            if exc.status in (400, 404):
                raise FileMissing(f"no file {key or page_id}: {exc.notion_message}") from None
            raise
        if page.get("in_trash") or page.get("archived"):
            raise FileMissing(f"file {key or page_id} is in the trash")
        if not self._in_file_database(page):
            raise FileMissing(f"no file {key or page_id}: that page is not in the file database")
        remote = remote_file(page)
        if salted is not None and remote.salted != salted:
            raise FileMissing(f"no file {key or page_id}: that page records another hash")
        return remote

    def _in_file_database(self, page: dict) -> bool:
        parent = page.get("parent")
        found = parent.get("data_source_id") if isinstance(parent, dict) else None
        return isinstance(found, str) and _same_id(found, self.databases.files_data_source)


def _same_id(a: str, b: str) -> bool:
    return a.replace("-", "").lower() == b.replace("-", "").lower()
