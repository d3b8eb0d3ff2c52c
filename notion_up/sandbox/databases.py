"""Databases and their data sources: schemas in, objects out."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote, unquote

from .errors import MISSING, bad, invalid
from .limits import BOT_ID
from .store import Store
from .values import (
    icon_in,
    iso_time,
    iso_time_db,
    norm_id,
    plain,
    rich_text_in,
    rich_text_out,
    select_option,
)

PROPERTY_TYPES = (
    "title",
    "rich_text",
    "number",
    "checkbox",
    "files",
    "date",
    "url",
    "email",
    "phone_number",
    "select",
    "multi_select",
)


def find_prop(schema: dict[str, dict], key: str) -> dict | None:
    """The property `key` names (by name, or by id quoted or not)."""
    if key in schema:
        return schema[key]
    unquoted = unquote(key)
    for prop in schema.values():
        if prop["id"] == key or unquote(prop["id"]) == unquoted:
            return prop
    return None


class Databases:
    """Databases and data sources in the store."""

    def __init__(self, store: Store, base_url: Callable[[], str]) -> None:
        self._store = store
        self._lock = store.lock
        self._base_url = base_url

    def schema_in(self, props: object, path: str) -> dict[str, dict]:
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise bad(path, "should be an object", props)
        schema: dict[str, dict] = {}
        used_ids = {"title"}
        for name, config in props.items():
            p = f"{path}.{name}"
            if not isinstance(config, dict):
                raise bad(p, "should be an object", config)
            kind = config.get("type")
            if kind is None:
                kind = next((k for k in config if k in PROPERTY_TYPES), None)
            if kind not in PROPERTY_TYPES:
                raise bad(p, f"should have one of the types {', '.join(PROPERTY_TYPES)}", config)
            raw = config.get(kind) or {}
            if not isinstance(raw, dict):
                raise bad(f"{p}.{kind}", "should be an object", raw)
            cfg: dict = {}
            if kind == "number":
                cfg = {"format": raw.get("format", "number")}
            elif kind in ("select", "multi_select"):
                cfg = {"options": [select_option(o) for o in raw.get("options") or []]}
            if kind == "title":
                prop_id = "title"
            else:
                prop_id = quote(secrets.token_urlsafe(3)[:4], safe="")
                while prop_id in used_ids:
                    prop_id = quote(secrets.token_urlsafe(3)[:4], safe="")
            used_ids.add(prop_id)
            description = config.get("description")
            schema[name] = {
                "id": prop_id,
                "name": name,
                "description": description if isinstance(description, str) else None,
                "type": kind,
                "config": cfg,
            }
        titles = [n for n, s in schema.items() if s["type"] == "title"]
        if len(titles) > 1:
            raise invalid(f"{path} should have exactly one title property.")  # UNCONFIRMED
        if not titles:
            schema = {
                "Name": {
                    "id": "title",
                    "name": "Name",
                    "description": None,
                    "type": "title",
                    "config": {},
                },
                **schema,
            }
        return schema

    def new_database(
        self,
        parent_page: str,
        title: list[dict],
        schema: dict[str, dict],
        *,
        is_inline: bool = False,
        icon: dict | None = None,
        cover: dict | None = None,
    ) -> tuple[dict, dict]:
        now = time.time()
        db = {
            "id": str(uuid.uuid4()),
            "seq": self._store.next_seq(),
            "parent_page_id": parent_page,
            "title": title,
            "is_inline": is_inline,
            "in_trash": False,
            "created": now,
            "edited": now,
            "data_sources": [],
            "icon": icon,
            "cover": cover,
        }
        ds = self.new_data_source(db, title, schema, icon=None)
        return db, ds

    def new_data_source(
        self, db: dict, title: list[dict], schema: dict[str, dict], icon: dict | None
    ) -> dict:
        now = time.time()
        ds = {
            "id": str(uuid.uuid4()),
            "seq": self._store.next_seq(),
            "database_id": db["id"],
            "title": title,
            "properties": schema,
            "in_trash": False,
            "created": now,
            "edited": now,
            "icon": icon,
        }
        db["data_sources"].append(ds["id"])
        self._store.put("database", db)
        self._store.put("data_source", ds)
        self._store.ds_pages.setdefault(ds["id"], [])
        return ds

    def create(self, body: dict) -> dict:
        title = rich_text_in(body.get("title") or [], "body.title")
        initial = body.get("initial_data_source")
        if initial is not None and not isinstance(initial, dict):
            raise bad("body.initial_data_source", "should be an object", initial)
        if initial is not None:
            schema = self.schema_in(
                initial.get("properties"), "body.initial_data_source.properties"
            )
        else:  # pre-2025-09-03 bodies put the schema at the top level
            schema = self.schema_in(body.get("properties"), "body.properties")
        with self._lock:
            parent = self._store.parent_page(body)
            db, _ = self.new_database(
                parent,
                title,
                schema,
                is_inline=bool(body.get("is_inline", False)),
                icon=icon_in(body.get("icon"), "body.icon"),
                cover=icon_in(body.get("cover"), "body.cover"),
            )
            return self.render(db)

    def create_data_source(self, body: dict) -> dict:
        parent = body.get("parent")
        if not isinstance(parent, dict) or "database_id" not in parent:
            raise bad("body.parent.database_id", "should be defined", MISSING)
        db_id = norm_id(parent["database_id"])
        if db_id is None:
            raise bad("body.parent.database_id", "should be a valid uuid", parent["database_id"])
        title = rich_text_in(body.get("title") or [], "body.title")
        schema = self.schema_in(body.get("properties"), "body.properties")
        icon = icon_in(body.get("icon"), "body.icon")
        with self._lock:
            db = self._store.database(db_id)
            ds = self.new_data_source(db, title, schema, icon)
            return self.render_data_source(ds)

    def retrieve(self, database_id: str) -> dict:
        with self._lock:
            return self.render(self._store.database(database_id))

    def retrieve_data_source(self, ds_id: str) -> dict:
        with self._lock:
            return self.render_data_source(self._store.data_source(ds_id))

    def update_data_source(self, ds_id: str, body: dict) -> dict:
        with self._lock:
            ds = self._store.data_source(ds_id)
            trash = body.get("in_trash", body.get("archived"))
            if trash is not None:
                if not isinstance(trash, bool):
                    raise bad("body.in_trash", "should be a boolean", trash)
                ds["in_trash"] = trash
            if "title" in body:
                ds["title"] = rich_text_in(body["title"] or [], "body.title")
            if "icon" in body:
                ds["icon"] = icon_in(body["icon"], "body.icon")
            props = body.get("properties")
            if props is not None:
                if not isinstance(props, dict):
                    raise bad("body.properties", "should be an object", props)
                additions = {k: v for k, v in props.items() if v is not None}
                for name, value in props.items():
                    if value is None:
                        if ds["properties"].get(name, {}).get("type") == "title":
                            raise invalid("The title property cannot be removed.")
                        ds["properties"].pop(name, None)
                added = self.schema_in(additions, "body.properties")
                for name, prop in added.items():
                    if prop["type"] == "title" and name not in additions:
                        continue  # the default "Name" added by _schema_in
                    if prop["type"] == "title":
                        raise invalid("A data source can have only one title property.")
                    ds["properties"][name] = prop
            ds["edited"] = time.time()
            self._store.put("data_source", ds)
            return self.render_data_source(ds)

    def render(self, db: dict) -> dict:
        sources = [self._store.objects["data_source"][i] for i in db["data_sources"]]
        return {
            "object": "database",
            "id": db["id"],
            "title": rich_text_out(db["title"]),
            "description": [],
            "parent": {"type": "page_id", "page_id": db["parent_page_id"]},
            "is_inline": db["is_inline"],
            "in_trash": db["in_trash"],
            "is_locked": False,
            "created_time": iso_time_db(db["created"]),
            "last_edited_time": iso_time_db(db["edited"]),
            "data_sources": [{"id": s["id"], "name": plain(s["title"])} for s in sources],
            "icon": db["icon"],
            "cover": db["cover"],
            "url": f"{self._base_url()}/p/{db['id'].replace('-', '')}",
            "public_url": None,
            "archived": db["in_trash"],
        }

    def render_data_source(self, ds: dict) -> dict:
        db = self._store.objects["database"][ds["database_id"]]
        props = {}
        for name, prop in ds["properties"].items():
            props[name] = {
                "id": prop["id"],
                "name": name,
                "description": prop["description"],
                "type": prop["type"],
                prop["type"]: prop["config"],
            }
        return {
            "object": "data_source",
            "id": ds["id"],
            "cover": None,
            "icon": ds["icon"],
            "created_time": iso_time(ds["created"]),
            "created_by": {"object": "user", "id": BOT_ID},
            "last_edited_by": {"object": "user", "id": BOT_ID},
            "last_edited_time": iso_time(ds["edited"]),
            "title": rich_text_out(ds["title"]),
            "description": [],
            "is_inline": db["is_inline"],
            "properties": props,
            "parent": {"type": "database_id", "database_id": db["id"]},
            "database_parent": {"type": "page_id", "page_id": db["parent_page_id"]},
            "url": f"{self._base_url()}/p/{db['id'].replace('-', '')}",
            "public_url": None,
            "in_trash": ds["in_trash"],
            "archived": ds["in_trash"],
        }
