"""What a run learns about the workspace once: limits, data sources, and whether the schema fits."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from notion_up.errors import APIError, ConfigError, NotionUpError
from notion_up.notion.client import NotionClient
from notion_up.notion.records import FILE_SCHEMA, INDEX_SCHEMA, INIT_FILE_SCHEMA, Databases


@dataclass(frozen=True)
class DataSource:
    """A resolved data source and the database that holds it."""

    database_id: str
    data_source_id: str
    properties: dict | None  # None: the data source itself was not read yet


def locate_data_source(client: NotionClient, some_id: str, what: str) -> DataSource:
    """A database id (its first data source, not read yet) or a data source id (read)."""
    try:
        database = client.retrieve_database(some_id)
    except APIError as exc:
        if exc.status not in (400, 404):
            raise _explain(exc, what, some_id) from None
        database = None
    if database is not None:
        sources = database.get("data_sources") or []
        if not sources:
            raise ConfigError(f"the {what} {some_id} has no data source")
        return DataSource(database["id"], sources[0]["id"], None)
    try:
        ds = client.retrieve_data_source(some_id)
    except APIError as exc:
        raise _explain(exc, what, some_id) from None
    parent = ds.get("parent") or {}
    return DataSource(parent.get("database_id", some_id), ds["id"], ds.get("properties", {}))


def resolve_data_source(client: NotionClient, some_id: str, what: str) -> DataSource:
    """Accept a database id (use its first data source) or a data source id as given."""
    found = locate_data_source(client, some_id, what)
    return replace(found, properties=_properties(client, found, what))


def _properties(client: NotionClient, found: DataSource, what: str) -> dict:
    if found.properties is not None:
        return found.properties
    try:
        return client.retrieve_data_source(found.data_source_id).get("properties", {})
    except APIError as exc:
        raise _explain(exc, what, found.data_source_id) from None


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


@dataclass(frozen=True)
class WorkspaceFacts:
    """What a run must know before sending bytes: the per-file limit and where records go.

    `cached`: read from the facts cache, not from Notion in this run (so possibly outdated).
    """

    max_file_size: int | None
    databases: Databases
    cached: bool = False

    def to_cache(self) -> dict:
        """What the facts cache keeps."""
        return {"max_file_size": self.max_file_size, "databases": asdict(self.databases)}


def max_upload_size(client: NotionClient) -> int | None:
    """The workspace's per-file limit from GET /v1/users/me (None when not said)."""
    try:
        me = client.users_me()
    except APIError as exc:
        raise _explain(exc, "workspace", "") from None
    limits = (me.get("bot") or {}).get("workspace_limits") or {}
    value = limits.get("max_file_upload_size_in_bytes")
    return int(value) if value is not None else None


def fetch_facts(
    client: NotionClient,
    database: str,
    index: str,
    on_checked: Callable[[WorkspaceFacts], None] | None = None,
) -> WorkspaceFacts:
    """The set-up reads (see Setup), waited for: the facts, once both schemas are known to fit."""
    return Setup(client, database, index, on_checked).wait()


class Setup:
    """The set-up reads of a run, going on in a daemon thread while the run starts.

    First the limit and both databases, side by side (one round trip): `facts()` waits for
    those, `known()` says whether they are in. Then both data sources' schemas: `settle()`
    waits for that check. A push creates its first upload and sends its parts meanwhile;
    only its first record write has to wait for the check. Errors are raised in a fixed order
    (the token, the file database, the index), whichever answer came first; `on_checked`
    hears the facts once the schemas fit (to cache them), `on_failed` the error at once when
    the reads fail (a push then stops its uploads: no record of the run could be written).
    """

    def __init__(
        self,
        client: NotionClient,
        database: str,
        index: str,
        on_checked: Callable[[WorkspaceFacts], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._located = threading.Event()
        self._checked = threading.Event()
        self._facts: WorkspaceFacts | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                max_size, files, idx = side_by_side(
                    lambda: max_upload_size(client),
                    lambda: locate_data_source(client, database, "file database"),
                    lambda: locate_data_source(client, index, "index database"),
                )
                facts = WorkspaceFacts(
                    max_size, Databases(files.data_source_id, idx.data_source_id, files.database_id)
                )
                self._facts = facts
                self._located.set()
                side_by_side(
                    lambda: check_schema(
                        _properties(client, files, "file database"), FILE_SCHEMA, "file database"
                    ),
                    lambda: check_schema(
                        _properties(client, idx, "index database"), INDEX_SCHEMA, "index database"
                    ),
                )
                if on_checked is not None:
                    on_checked(facts)
            except BaseException as exc:  # raised again by every wait
                self._error = exc
                if on_failed is not None and isinstance(exc, NotionUpError):
                    on_failed(exc)
            finally:
                self._located.set()
                self._checked.set()

        threading.Thread(target=run, daemon=True, name="notion-up-setup").start()

    def known(self) -> WorkspaceFacts | None:
        """The limit and where records go, if they are in already (never waits)."""
        return self._facts

    def facts(self) -> WorkspaceFacts:
        """The limit and where records go (waits for them; raises what the reads raised)."""
        self._located.wait()
        if self._facts is None:
            assert self._error is not None
            raise copy.copy(self._error)
        return self._facts

    def wait(self) -> WorkspaceFacts:
        """The facts once both schemas are known to fit (raises what the reads raised)."""
        facts = self.facts()
        self.settle()
        return facts

    def settle(self, timeout: float | None = None) -> bool:
        """Wait for the schema check; raise (a copy of) its error if a schema does not fit.

        False when `timeout` ran out first.
        """
        if not self._checked.wait(timeout):
            return False
        if self._error is not None:
            raise copy.copy(self._error)
        return True


def side_by_side(*calls: Callable[[], Any]) -> list[Any]:
    """Run `calls` at once; their results in order, or the first one's error in that order.

    Daemon threads, not an executor: when SIGTERM or Ctrl-C ends the wait, a read still waiting
    for Notion must not hold the process (an executor's threads are joined at exit).
    """
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # handed to the waiting thread below
            errors[i] = exc

    threads = [
        threading.Thread(target=run, args=(i,), daemon=True, name="notion-up-setup")
        for i in range(len(calls))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results


class FactsCache(Protocol):
    """Where facts may be kept between runs (the journal)."""

    def facts(self, key: str, max_age: float) -> dict | None: ...

    def store_facts(self, key: str, facts: dict) -> None: ...

    def forget_facts(self, key: str) -> None: ...


# Facts are kept until Notion contradicts them (a 404, a refused token, a validation error: the
# caller forgets them, fetches them again and retries once), so a nightly run starts warm and
# spends none of its three requests per second on set-up. The age is a backstop only.
FACTS_MAX_AGE = 30 * 24 * 3600.0


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
    """Limit and databases, from the cache when there, otherwise from Notion (then cached,
    once the schemas are known to fit)."""
    found = begin_facts(client, database, index, cache, max_age)
    return found if isinstance(found, WorkspaceFacts) else found.wait()


def begin_facts(
    client: NotionClient,
    database: str,
    index: str,
    cache: FactsCache | None = None,
    max_age: float = FACTS_MAX_AGE,
    on_failed: Callable[[BaseException], None] | None = None,
) -> WorkspaceFacts | Setup:
    """The cached facts, or the set-up reads begun (cached once the schemas are known to fit;
    `on_failed` hears at once if they fail)."""
    key = facts_key(client, database, index)
    cached = cache.facts(key, max_age) if cache else None
    if cached is not None:
        databases = Databases(**cached["databases"])
        return WorkspaceFacts(cached["max_file_size"], databases, cached=True)

    def keep(facts: WorkspaceFacts) -> None:
        if cache:
            cache.store_facts(key, facts.to_cache())

    return Setup(client, database, index, keep, on_failed)


def contradicts(error: BaseException) -> bool:
    """True when Notion's answer says cached facts (ids, schema, limits) may be out of date.

    A record error carries Notion's answer as its cause.
    """
    cause = getattr(error, "cause", error)
    status = getattr(cause, "status", None)
    code = getattr(cause, "code", "")
    return status in (401, 403, 404) or code == "validation_error"


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
