"""What a run learns about the workspace once: limits, data sources, and whether the schema fits."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Protocol

from notion_up.errors import APIError, ConfigError
from notion_up.notion.client import NotionClient
from notion_up.notion.records import FILE_SCHEMA, INDEX_SCHEMA, INIT_FILE_SCHEMA, Databases


@dataclass(frozen=True)
class DataSource:
    """A resolved data source and the database that holds it."""

    database_id: str
    data_source_id: str
    properties: dict


def resolve_data_source(client: NotionClient, some_id: str, what: str) -> DataSource:
    """Accept a database id (use its first data source) or a data source id as given."""
    try:
        database = client.retrieve_database(some_id)
    except APIError as exc:
        if exc.status not in (400, 404):
            raise _explain(exc, what, some_id) from None
        database = None
    try:
        if database is not None:
            sources = database.get("data_sources") or []
            if not sources:
                raise ConfigError(f"the {what} {some_id} has no data source")
            ds = client.retrieve_data_source(sources[0]["id"])
            return DataSource(database["id"], ds["id"], ds.get("properties", {}))
        ds = client.retrieve_data_source(some_id)
    except APIError as exc:
        raise _explain(exc, what, some_id) from None
    parent = ds.get("parent") or {}
    return DataSource(parent.get("database_id", some_id), ds["id"], ds.get("properties", {}))


def _explain(exc: APIError, what: str, some_id: str) -> ConfigError | APIError:
    if exc.status == 404:
        shared = "page" if "page" in what else "database"
        return ConfigError(
            f"the {what} {some_id} was not found: {exc.notion_message}",
            hint=f"check the id, and share the {shared} with your integration: in Notion, the "
            f"{shared}'s ••• menu → Connections",
        )
    if exc.status in (401, 403):
        return ConfigError(
            f"Notion refused the token ({exc.code}): {exc.notion_message}",
            hint="check NOTION_TOKEN",
        )
    return exc


def check_schema(properties: dict, schema: dict[str, str], what: str) -> None:
    """Fail naming the first property that is missing or of the wrong type."""
    for name, kind in schema.items():
        actual = (properties.get(name) or {}).get("type")
        if actual is None:
            raise ConfigError(
                f"the {what} has no property {name!r} ({kind})",
                hint="create the databases with `notion-up init --parent PAGE_ID`",
            )
        if actual != kind:
            raise ConfigError(
                f"the {what} property {name!r} is {actual}, not {kind}",
                hint="create the databases with `notion-up init --parent PAGE_ID`",
            )


def max_upload_size(client: NotionClient) -> int | None:
    """The workspace's per-file limit from GET /v1/users/me (None when not said)."""
    try:
        me = client.users_me()
    except APIError as exc:
        raise _explain(exc, "workspace", "") from None
    limits = (me.get("bot") or {}).get("workspace_limits") or {}
    value = limits.get("max_file_upload_size_in_bytes")
    return int(value) if value is not None else None


def open_databases(client: NotionClient, database: str, index: str) -> Databases:
    """Resolve and check both databases once per run."""
    files = resolve_data_source(client, database, "file database")
    check_schema(files.properties, FILE_SCHEMA, "file database")
    idx = resolve_data_source(client, index, "index database")
    check_schema(idx.properties, INDEX_SCHEMA, "index database")
    return Databases(files.data_source_id, idx.data_source_id, files.database_id)


@dataclass(frozen=True)
class WorkspaceFacts:
    """What a run must know before sending bytes: the per-file limit and where records go."""

    max_file_size: int | None
    databases: Databases


class FactsCache(Protocol):
    """Where facts may be kept between runs (the journal)."""

    def facts(self, key: str, max_age: float) -> dict | None: ...

    def store_facts(self, key: str, facts: dict) -> None: ...

    def forget_facts(self, key: str) -> None: ...


# Short enough that a changed schema or plan is seen soon; long enough that a script calling
# notion-up once per file does not spend five of its three-per-second requests on setup each time.
FACTS_MAX_AGE = 600.0


def facts_key(client: NotionClient, database: str, index: str) -> str:
    """A cache key for this workspace and pair of databases (the token only as a hash)."""
    material = "\0".join([client.base_url, client.token_fingerprint, database, index])
    return hashlib.sha256(material.encode()).hexdigest()


def load_facts(
    client: NotionClient,
    database: str,
    index: str,
    cache: FactsCache | None = None,
    max_age: float = FACTS_MAX_AGE,
) -> WorkspaceFacts:
    """Limit and databases, from the cache when fresh, otherwise from Notion (then cached)."""
    key = facts_key(client, database, index)
    cached = cache.facts(key, max_age) if cache else None
    if cached is not None:
        return WorkspaceFacts(cached["max_file_size"], Databases(**cached["databases"]))
    facts = WorkspaceFacts(max_upload_size(client), open_databases(client, database, index))
    if cache:
        cache.store_facts(
            key, {"max_file_size": facts.max_file_size, "databases": asdict(facts.databases)}
        )
    return facts


def _database_body(parent_page: str, title: str, schema: dict[str, str]) -> dict:
    return {
        "parent": {"type": "page_id", "page_id": parent_page},
        "title": [{"type": "text", "text": {"content": title}}],
        "is_inline": False,
        "initial_data_source": {"properties": {name: {kind: {}} for name, kind in schema.items()}},
    }


def create_databases(client: NotionClient, parent_page: str) -> tuple[str, str]:
    """Create the file database and the global index under a page; returns their ids."""
    try:
        files = client.create_database(
            _database_body(parent_page, "notion-up files", INIT_FILE_SCHEMA)
        )
        index = client.create_database(
            _database_body(parent_page, "notion-up global index", INDEX_SCHEMA)
        )
    except APIError as exc:
        raise _explain(exc, "parent page", parent_page) from None
    return files["id"], index["id"]
