"""The sandbox workspace: a root page and the two databases `notion-up init` would make."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .databases import Databases
from .limits import WORKSPACE_NAME
from .pages import Pages
from .store import Store
from .values import text_value

# The sandbox's databases, as `notion-up init` would make them. Deliberately a copy of
# records.FILE_SCHEMA/INDEX_SCHEMA: the sandbox imports no client code (it runs stdlib-only as a
# subprocess); a test in tests/test_init.py fails when the two drift apart.
FILES_SCHEMA: dict[str, str] = {
    "filename": "title",
    "filesize": "number",
    "filehash": "rich_text",
    "salt": "rich_text",
    "file_data": "files",
    "is_public": "checkbox",
    "is_visible": "checkbox",
    "is_folder": "checkbox",
    "folder_path": "rich_text",
    "is_manifest": "checkbox",
}
INDEX_SCHEMA: dict[str, str] = {
    "Original Filename": "title",
    "Salted SHA512 Hash": "rich_text",
    "File Page ID": "rich_text",
    "User Database ID": "rich_text",
    "Is Public": "checkbox",
}


@dataclass(frozen=True, kw_only=True)
class Workspace:
    """The sandbox's root page and its two databases (with their data sources)."""

    root_page_id: str
    files_database_id: str
    files_data_source_id: str
    index_database_id: str
    index_data_source_id: str


def ensure_workspace(store: Store, pages: Pages, databases: Databases) -> Workspace:
    """The root page and the two databases, created once and kept in the state."""
    with store.lock:
        known = store.kv.get("workspace")
        if known:
            ws = Workspace(**json.loads(known))
            objs = store.objects
            if (
                ws.root_page_id in objs["page"]
                and ws.files_database_id in objs["database"]
                and ws.index_database_id in objs["database"]
                and ws.files_data_source_id in objs["data_source"]
                and ws.index_data_source_id in objs["data_source"]
            ):
                return ws
        root = pages.new_page({"title": text_value(WORKSPACE_NAME)}, workspace=True)
        made = []
        for title, schema in (
            ("notion-up files", FILES_SCHEMA),
            ("notion-up global index", INDEX_SCHEMA),
        ):
            config: dict[str, dict] = {name: {kind: {}} for name, kind in schema.items()}
            db, ds = databases.new_database(
                root["id"], text_value(title), databases.schema_in(config, "schema")
            )
            made.append((db["id"], ds["id"]))
        ws = Workspace(
            root_page_id=root["id"],
            files_database_id=made[0][0],
            files_data_source_id=made[0][1],
            index_database_id=made[1][0],
            index_data_source_id=made[1][1],
        )
        store.set("workspace", json.dumps(asdict(ws)))
        return ws
