"""What a run's engine knows of the workspace, and how it learns more while it runs.

Where records go and the per-file limit come from the facts cache, or from set-up reads that
may still be under way when the first upload is created (a cold run: `Setup`); the schema
check has to have passed before the first record write (`settle`), and a failed one ends every
push of the run. Cached facts that Notion contradicts are fetched again once (`refreshed`).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable

from notion_up.errors import LimitError, NotionUpError
from notion_up.notion.records import Databases
from notion_up.notion.workspace import Setup, WorkspaceFacts

# Journal fields of a push begun before the set-up reads were in (filled in as they come).
UNKNOWN = ""


class RunFacts:
    """The databases and limit a run uses, kept current for every thread of the run."""

    def __init__(
        self,
        databases: Databases | None,
        max_file_size: int | None = None,
        refresh: Callable[[], WorkspaceFacts] | None = None,
        setup: Setup | None = None,
    ) -> None:
        self._databases = databases
        self._max_file_size = max_file_size
        self._refresh = refresh
        self._setup = setup
        self._lock = threading.Lock()
        self.failed: NotionUpError | None = None

    @property
    def databases(self) -> Databases:
        """Where records go (waits for the set-up reads if they are still under way)."""
        self._located()
        assert self._databases is not None
        return self._databases

    @property
    def max_file_size(self) -> int | None:
        """The per-file limit, None when not said (waits like `databases`)."""
        self._located()
        return self._max_file_size

    def known(self) -> bool:
        """Whether the databases and the limit are in (never waits)."""
        return self._databases is not None or (
            self._setup is not None and self._setup.known() is not None
        )

    def _located(self) -> None:
        if self._databases is None and self._setup is not None:
            try:
                facts = self._setup.facts()
            except NotionUpError as exc:
                self.failed = exc  # a refused token or a wrong id: no push of the run can go
                raise
            self._databases, self._max_file_size = facts.databases, facts.max_file_size

    def settle(self) -> None:
        """Wait for the schema check still running, if any; raise (every time) if it failed."""
        if self.failed is not None:
            raise copy.copy(self.failed)
        if self._setup is None:
            return
        try:
            self._located()
            self._setup.settle()
        except NotionUpError as exc:
            self.failed = exc
            raise
        self._setup = None

    def refreshed(self) -> bool:
        """Fetch fresh facts (when these came from the cache, once a run); True if they differ.

        A failed fetch leaves Notion's first answer standing and is not tried again.
        """
        with self._lock:
            if self._refresh is None:
                return False
            try:
                fresh = self._refresh()
            except NotionUpError:
                self._refresh = None
                return False
            changed = (fresh.databases, fresh.max_file_size) != (
                self.databases,
                self.max_file_size,
            )
            self._databases, self._max_file_size = fresh.databases, fresh.max_file_size
            return changed

    def check_limit(self, size: int, name: str) -> None:
        """Refuse a file over the workspace's limit (a cached limit is first checked again)."""
        over = self.max_file_size is not None and size > self.max_file_size
        if over and self.refreshed():  # the cached limit may be from before an upgrade
            over = self.max_file_size is not None and size > self.max_file_size
        if over:
            raise LimitError(
                f"{name} is {size} bytes, over this workspace's limit of "
                f"{self.max_file_size} bytes per file",
                hint="store it in pieces with --split SIZE (or without --no-split), "
                "or use a workspace on a paid plan",
            )

    def journal_fields(self) -> dict[str, object]:
        """The journal fields naming where a push's records go (UNKNOWN while not in yet)."""
        if not self.known():
            return dict.fromkeys(
                ("files_data_source", "index_data_source", "user_database_id"), UNKNOWN
            )
        databases = self.databases
        return {
            "files_data_source": databases.files_data_source,
            "index_data_source": databases.index_data_source,
            "user_database_id": databases.user_database_id,
        }
