"""What every command needs before it works: a client for the workspace, the journal, the lock."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from notion_up.config import Settings, data_dir, require
from notion_up.notion.client import NotionClient
from notion_up.notion.retry import RateLimiter
from notion_up.state.journal import Journal


@dataclass
class Context:
    """A connected run: its settings, the one client, and which workspace it talks to."""

    settings: Settings
    client: NotionClient
    origin: str


@contextlib.contextmanager
def connect(settings: Settings, sandbox: bool = False) -> Iterator[Context]:
    """A client for the configured workspace, or for the sandbox server started here."""
    server = None
    origin = settings.api_url
    if sandbox:
        # Imported here: only --sandbox runs pay for loading the server.
        from notion_up.sandbox import LocalNotion

        server = LocalNotion(state_dir=data_dir() / "sandbox")
        url = server.start()
        ws = server.ensure_workspace()
        settings.set("api_url", url, "sandbox")
        settings.set("token", server.token, "sandbox")
        settings.set("database", ws.files_database_id, "sandbox")
        settings.set("index", ws.index_database_id, "sandbox")
        origin = "sandbox"
    try:
        require(settings, "token")
        client = NotionClient(
            str(settings.token),
            settings.api_url,
            limiter=RateLimiter(rate=settings.rate),
            pool_size=settings.workers * 2 + 4,
        )
        yield Context(settings, client, origin)
    finally:
        if server is not None:
            server.stop()


def open_journal(settings: Settings) -> Journal:
    """The journal in the state directory."""
    return Journal(settings.state_dir / "journal.sqlite")


def stale_facts(error: BaseException) -> bool:
    """True when Notion's answer says the cached schema, ids or limits may be out of date."""
    cause = getattr(error, "cause", error)
    status = getattr(cause, "status", None)
    code = getattr(cause, "code", "")
    return status in (401, 403, 404) or code == "validation_error"
