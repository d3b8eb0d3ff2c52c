"""init: the two databases push needs (the file database and the global index) under a page."""

from __future__ import annotations

from notion_up.app.context import connect
from notion_up.config import Settings
from notion_up.notion.workspace import create_databases


def init(settings: Settings, parent: str) -> tuple[str, str]:
    """Create the file database and the global index under the page `parent` (an id).

    Returns their ids (file database, index), for NOTION_UP_DATABASE and NOTION_UP_INDEX.
    """
    with connect(settings, sandbox=False) as ctx:
        return create_databases(ctx.client, parent)
