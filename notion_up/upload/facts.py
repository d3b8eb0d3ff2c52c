"""What a run's engine knows of the workspace, and how it learns more while it runs.

Where records go and the per-file limit come from the set-up (or the facts cache); a cold run's
schema check may still be running when the first upload is created (`settle` waits for it, and
a failed check ends every push of the run); cached facts that Notion contradicts are fetched
again once (`refreshed`).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable

from notion_up.errors import NotionUpError
from notion_up.notion.records import Databases
from notion_up.notion.workspace import WorkspaceFacts


class RunFacts:
    """The databases and limit a run uses, kept current for every thread of the run."""

    def __init__(
        self,
        databases: Databases,
        max_file_size: int | None = None,
        refresh: Callable[[], WorkspaceFacts] | None = None,
        settle: Callable[[], None] | None = None,
    ) -> None:
        self.databases = databases
        self.max_file_size = max_file_size
        self._refresh = refresh
        self._settle = settle
        self._lock = threading.Lock()
        self.failed: NotionUpError | None = None

    def settle(self) -> None:
        """Wait for a schema check still running; raise (every time) if it failed."""
        if self.failed is not None:
            raise copy.copy(self.failed)
        if self._settle is None:
            return
        try:
            self._settle()
        except NotionUpError as exc:
            self.failed = exc
            raise
        self._settle = None

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
            self.databases, self.max_file_size = fresh.databases, fresh.max_file_size
            return changed

    def journal_fields(self) -> dict[str, object]:
        """The journal fields naming where a push's records go."""
        return {
            "files_data_source": self.databases.files_data_source,
            "index_data_source": self.databases.index_data_source,
            "user_database_id": self.databases.user_database_id,
        }
