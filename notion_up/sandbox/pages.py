"""Pages: property values validated against their data source's schema, and rendered back."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from .databases import find_prop
from .downloads import DownloadLinks
from .errors import MISSING, bad, invalid, not_found
from .limits import BOT_ID, MAX_ARRAY, MAX_TEXT
from .options import ServerOptions
from .store import Store
from .uploads import Uploads
from .values import (
    icon_in,
    iso_time,
    norm_id,
    plain,
    rich_text_in,
    rich_text_out,
    select_option,
    slugify,
    to_minute,
)


class Pages:
    """Pages in the store (files properties hold references to uploads)."""

    def __init__(
        self,
        store: Store,
        options: ServerOptions,
        base_url: Callable[[], str],
        uploads: Uploads,
        links: DownloadLinks,
    ) -> None:
        self._store = store
        self._lock = store.lock
        self.options = options
        self._base_url = base_url
        self._uploads = uploads
        self._links = links
        # The created_time of the last page made under `options.page_pace`.
        self._paced = 0.0

    def props_in(self, schema: dict[str, dict] | None, props: object) -> dict[str, object]:
        """Validate and normalise a request's properties (schema None: a page under a page)."""
        if props is None:
            return {}
        if not isinstance(props, dict):
            raise bad("body.properties", "should be an object", props)
        if schema is None:
            schema = {
                "title": {"id": "title", "name": "title", "type": "title", "config": {}},
            }
        out: dict[str, object] = {}
        for key, value in props.items():
            prop = find_prop(schema, key)
            if prop is None:
                raise invalid(f"{key} is not a property that exists.")
            out[prop["name"]] = self.value_in(prop, value, f"body.properties.{key}")
        return out

    def value_in(self, prop: dict, value: object, path: str) -> object:
        kind = prop["type"]
        if isinstance(value, dict):
            if "type" in value and value["type"] != kind:
                raise bad(f"{path}.type", f'should be `"{kind}"`', value["type"])
            if kind not in value:
                raise bad(f"{path}.{kind}", "should be defined", MISSING)
            v = value[kind]
        elif isinstance(value, list) and kind in ("title", "rich_text", "files", "multi_select"):
            v = value
        else:
            raise bad(path, f"should be an object with a `{kind}` value", value)
        p = f"{path}.{kind}"
        if kind in ("title", "rich_text"):
            return rich_text_in(v, p)
        if kind == "number":
            if v is not None and (not isinstance(v, int | float) or isinstance(v, bool)):
                raise bad(p, "should be a number or `null`", v)
            if isinstance(v, float) and not math.isfinite(v):
                raise bad(p, "should be a finite number", str(v))
            return v
        if kind == "checkbox":
            if not isinstance(v, bool):
                raise bad(p, "should be a boolean", v)
            return v
        if kind == "files":
            if not isinstance(v, list):
                raise bad(p, "should be an array", v)
            if len(v) > MAX_ARRAY:
                raise bad(f"{p}.length", f"should be ≤ `{MAX_ARRAY}`", len(v))
            return [self.file_in(item, f"{p}[{i}]") for i, item in enumerate(v)]
        if kind == "date":
            if v is None:
                return None
            if not isinstance(v, dict) or not isinstance(v.get("start"), str):
                raise bad(f"{p}.start", "should be a string", v)
            end = v.get("end")
            zone = v.get("time_zone")
            if end is not None and not isinstance(end, str):
                raise bad(f"{p}.end", "should be a string or `null`", end)
            return {"start": v["start"], "end": end, "time_zone": zone}
        if kind in ("url", "email", "phone_number"):
            if v is not None and not isinstance(v, str):
                raise bad(p, "should be a string or `null`", v)
            if isinstance(v, str) and len(v) > MAX_TEXT:
                raise bad(f"{p}.length", f"should be ≤ `{MAX_TEXT}`", len(v))
            return v
        if kind == "select":
            if v is None:
                return None
            return self.select_in(prop, v, p)
        if kind == "multi_select":
            if not isinstance(v, list):
                raise bad(p, "should be an array", v)
            return [self.select_in(prop, item, f"{p}[{i}]") for i, item in enumerate(v)]
        raise invalid(f"Properties of type {kind} are not supported by the local server.")

    def select_in(self, prop: dict, v: object, path: str) -> dict:
        if not isinstance(v, dict) or not isinstance(v.get("name", v.get("id")), str):
            raise bad(f"{path}.name", "should be a string", v)
        options = prop["config"].setdefault("options", [])
        for option in options:
            if option["name"] == v.get("name") or option["id"] == v.get("id"):
                return dict(option)
        if "name" not in v:
            raise invalid(f"Select option with id {v.get('id')} does not exist.")
        option = select_option({"name": v["name"], "color": v.get("color", "default")})
        options.append(option)
        return dict(option)

    def file_in(self, item: object, path: str) -> dict:
        if not isinstance(item, dict):
            raise bad(path, "should be an object", item)
        kind = item.get("type") or next(
            (k for k in ("file_upload", "external", "file") if k in item), None
        )
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            raise bad(f"{path}.name", "should be a string", name)
        if kind == "file_upload":
            ref = item.get("file_upload")
            upload_id = norm_id(ref.get("id")) if isinstance(ref, dict) else None
            if upload_id is None:
                raise bad(f"{path}.file_upload.id", "should be a valid uuid", ref)
            return self.attachable(upload_id, name)
        if kind == "external":
            ref = item.get("external")
            if not isinstance(ref, dict) or not isinstance(ref.get("url"), str):
                raise bad(f"{path}.external.url", "should be a string", ref)
            return {"kind": "external", "url": ref["url"], "name": name or ref["url"]}
        if kind == "file":  # a Notion-hosted file as returned earlier: only ours are known
            ref = item.get("file")
            url = ref.get("url") if isinstance(ref, dict) else None
            if isinstance(url, str) and "/__files/" in url:
                token = url.split("/__files/", 1)[1].split("/", 1)[0]
                upload_id = norm_id(token.split(".", 1)[0])
                if upload_id and upload_id in self._store.objects["upload"]:
                    return self.attachable(upload_id, name, again=True)
            raise bad(f"{path}.file.url", "should be a Notion-hosted file URL", url)
        raise bad(f"{path}.type", 'should be `"file_upload"` or `"external"`', kind)

    def attachable(self, upload_id: str, name: str | None, again: bool = False) -> dict:
        u = self._store.objects["upload"].get(upload_id)
        # wordings UNCONFIRMED
        if u is None:
            raise invalid(f"Could not find file upload with ID: {upload_id}.")
        status = self._uploads.status(u)
        if status == "expired":
            raise invalid(f"The file upload with ID {upload_id} is expired.")
        if status != "uploaded" and not again:
            raise invalid(f"The file upload with ID {upload_id} has not completed uploading.")
        return {"kind": "upload", "id": upload_id, "name": name or u["filename"] or "file"}

    def attach_all(self, values: dict[str, object]) -> None:
        for value in values.values():
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and item.get("kind") == "upload":
                        u = self._store.objects["upload"][item["id"]]
                        if not u["attached"]:
                            u["attached"] = True
                            u["edited"] = time.time()
                            self._store.put("upload", u)

    def create(self, body: dict) -> dict:
        parent = body.get("parent")
        if not isinstance(parent, dict):
            raise bad("body.parent", "should be an object", parent if parent else MISSING)
        with self._lock:
            ds = None
            parent_page = None
            if "data_source_id" in parent:
                ds_id = norm_id(parent["data_source_id"])
                if ds_id is None:
                    raise bad(
                        "body.parent.data_source_id",
                        "should be a valid uuid",
                        parent["data_source_id"],
                    )
                ds = self._store.data_source(ds_id)
            elif "database_id" in parent:
                db_id = norm_id(parent["database_id"])
                if db_id is None:
                    raise bad(
                        "body.parent.database_id", "should be a valid uuid", parent["database_id"]
                    )
                db = self._store.database(db_id)
                if len(db["data_sources"]) != 1:
                    raise invalid(  # README §4.4; wording UNCONFIRMED
                        f"Database {db_id} has more than one data source; use a "
                        "`data_source_id` parent."
                    )
                ds = self._store.objects["data_source"][db["data_sources"][0]]
            elif "page_id" in parent:
                parent_page = self._store.parent_page(body)
            elif parent.get("workspace") is True:
                raise invalid(  # internal integrations cannot create workspace-level pages
                    "Internal integrations cannot create pages at the workspace level; "
                    "use a page_id, data_source_id or database_id parent."
                )
            else:
                raise bad("body.parent.page_id", "should be defined", MISSING)
            values = self.props_in(ds["properties"] if ds else None, body.get("properties"))
            children = body.get("children")
            if children is not None and not isinstance(children, list):
                raise bad("body.children", "should be an array", children)
            page = self.new_page(
                values,
                ds=ds,
                parent_page=parent_page,
                icon=icon_in(body.get("icon"), "body.icon"),
                cover=icon_in(body.get("cover"), "body.cover"),
            )
        return page

    def plant(self, ds_id: str, rows: list[dict], created: list[float]) -> list[str]:
        """Rows of a data source made at once, as if created at the given times (tests, bench)."""
        with self._store.batch():
            ds = self._store.data_source(ds_id)
            ids = []
            for props, when in zip(rows, created, strict=True):
                values = self.props_in(ds["properties"], props)
                ids.append(self.new_page(values, ds=ds, created=when)["id"])
        return ids

    def new_page(
        self,
        values: dict,
        *,
        created: float | None = None,
        ds: dict | None = None,
        parent_page: str | None = None,
        workspace: bool = False,
        icon: dict | None = None,
        cover: dict | None = None,
    ) -> dict:
        now = time.time() if created is None else created
        if created is None and self.options.page_pace > 0:
            now = max(now, self._paced + 60.0 / self.options.page_pace)
            self._paced = now
        page: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "seq": self._store.next_seq(),
            "data_source_id": ds["id"] if ds else None,
            "database_id": ds["database_id"] if ds else None,
            "parent_page_id": parent_page,
            "workspace": workspace,
            "properties": values,
            "in_trash": False,
            "created": now,
            "edited": now,
            "icon": icon,
            "cover": cover,
        }
        self._store.put("page", page)
        if ds is not None:
            self._store.ds_pages.setdefault(ds["id"], []).append(page["id"])
        self.attach_all(values)
        return page

    def parent_of(self, page: dict) -> dict:
        if page["data_source_id"]:
            return {
                "type": "data_source_id",
                "data_source_id": page["data_source_id"],
                "database_id": page["database_id"],
            }
        if page["parent_page_id"]:
            return {"type": "page_id", "page_id": page["parent_page_id"]}
        return {"type": "workspace", "workspace": True}

    def schema_of(self, page: dict) -> dict[str, dict]:
        if page["data_source_id"]:
            return self._store.objects["data_source"][page["data_source_id"]]["properties"]
        return {"title": {"id": "title", "name": "title", "type": "title", "config": {}}}

    def render(self, page: dict) -> dict:
        now = time.time()
        props = {}
        for name, prop in self.schema_of(page).items():
            props[name] = self.value_out(prop, page["properties"].get(name), now)
        title = next(
            (
                plain(page["properties"].get(n))
                for n, p in self.schema_of(page).items()
                if p["type"] == "title"
            ),
            "",
        )
        slug = slugify(title)
        hexid = page["id"].replace("-", "")
        return {
            "object": "page",
            "id": page["id"],
            # cut to the minute, as Notion gives page times (recorded)
            "created_time": iso_time(to_minute(page["created"])),
            "last_edited_time": iso_time(to_minute(page["edited"])),
            "created_by": {"object": "user", "id": BOT_ID},
            "last_edited_by": {"object": "user", "id": BOT_ID},
            "cover": page["cover"],
            "icon": page["icon"],
            "parent": self.parent_of(page),
            "in_trash": page["in_trash"],
            "is_archived": False,
            "is_locked": False,
            "properties": props,
            "url": f"{self._base_url()}/p/{slug + '-' if slug else ''}{hexid}",
            "public_url": None,
            "archived": page["in_trash"],
        }

    def value_out(self, prop: dict, value: object, now: float) -> dict:
        kind = prop["type"]
        out: dict = {"id": prop["id"], "type": kind}
        if kind in ("title", "rich_text"):
            out[kind] = rich_text_out(value if isinstance(value, list) else [])
        elif kind == "checkbox":
            out[kind] = bool(value)
        elif kind in ("files", "multi_select"):
            items = value if isinstance(value, list) else []
            if kind == "files":
                expires = now + float(self.options.url_expiry_seconds)
                out[kind] = [self.file_out(item, expires) for item in items]
            else:
                out[kind] = items
        else:
            out[kind] = value
        return out

    def file_out(self, item: dict, expires: float) -> dict:
        if item["kind"] == "external":
            return {"name": item["name"], "type": "external", "external": {"url": item["url"]}}
        # recorded: the URL ends with the upload's own filename, not the `name` given to attach it
        upload = self._store.objects["upload"][item["id"]]
        return {
            "name": item["name"],
            "type": "file",
            "file": {
                "url": self._links.url(item["id"], upload["filename"] or item["name"], expires),
                "expiry_time": iso_time(expires),
            },
        }

    def retrieve(self, page_id: str) -> dict:
        with self._lock:
            return self.render(self._store.page(page_id))

    def update(self, page_id: str, body: dict) -> dict:
        with self._lock:
            page = self._store.page(page_id)
            trash = body.get("in_trash", body.get("archived"))
            if trash is not None and not isinstance(trash, bool):
                raise bad("body.in_trash", "should be a boolean", trash)
            props = body.get("properties")
            if props and page["in_trash"] and trash is not False:
                raise invalid(
                    "Can't edit block that is archived. You must unarchive the block before "
                    "editing."
                )
            values = self.props_in(self.schema_of(page) if page["data_source_id"] else None, props)
            icon = icon_in(body["icon"], "body.icon") if "icon" in body else page["icon"]
            cover = icon_in(body["cover"], "body.cover") if "cover" in body else page["cover"]
            page["properties"].update(values)
            page["icon"], page["cover"] = icon, cover
            if trash is not None:
                page["in_trash"] = trash
            page["edited"] = time.time()
            self._store.put("page", page)
            self.attach_all(values)
            return self.render(page)

    def delete_block(self, block_id: str) -> dict:
        with self._lock:
            now = time.time()
            if block_id in self._store.objects["database"]:
                db = self._store.objects["database"][block_id]
                db["in_trash"] = True
                db["edited"] = now
                self._store.put("database", db)
                return block_object(
                    db["id"],
                    {"type": "page_id", "page_id": db["parent_page_id"]},
                    db["created"],
                    now,
                    False,
                    "child_database",
                    plain(db["title"]),
                )
            page = self._store.objects["page"].get(block_id)
            if page is None:
                raise not_found("block", block_id)
            page["in_trash"] = True
            page["edited"] = now
            self._store.put("page", page)
            children = any(
                o.get("parent_page_id") == block_id and not o["in_trash"]
                for kind in ("page", "database")
                for o in self._store.objects[kind].values()
            )
            title = next(
                (
                    plain(v)
                    for n, v in page["properties"].items()
                    if self.schema_of(page).get(n, {}).get("type") == "title"
                ),
                "",
            )
            return block_object(
                page["id"],
                self.parent_of(page),
                page["created"],
                now,
                children,
                "child_page",
                title,
            )


def block_object(
    block_id: str,
    parent: dict,
    created: float,
    edited: float,
    has_children: bool,
    kind: str,
    title: str,
) -> dict:
    return {
        "object": "block",
        "id": block_id,
        "parent": parent,
        "created_time": iso_time(to_minute(created)),
        "last_edited_time": iso_time(to_minute(edited)),
        "created_by": {"object": "user", "id": BOT_ID},
        "last_edited_by": {"object": "user", "id": BOT_ID},
        "has_children": has_children,
        "in_trash": True,
        "type": kind,
        kind: {"title": title},
        "archived": True,
    }


# ---------------------------------------------------------------------------------------------
# running it
