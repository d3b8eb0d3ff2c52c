"""Persistence: sqlite3 holds the JSON of every object; bytes live under blobs/.

The store also holds the lock every model change is made under, and the lookups that answer
Notion's 404s.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import MISSING, bad, not_found
from .values import norm_id


class Store:
    """Every object by kind and id (in memory, written through to sqlite3), and the part files."""

    def __init__(self, root: Path) -> None:
        self.lock = threading.RLock()
        self.root = root
        self.blobs = root / "blobs"
        self.blobs.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Made 0600 before SQLite opens it: its -wal and -shm files take the same mode.
        os.close(os.open(root / "state.sqlite3", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600))
        self.db = sqlite3.connect(
            str(root / "state.sqlite3"), check_same_thread=False, isolation_level=None
        )
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS objects "
            "(id TEXT PRIMARY KEY, kind TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.objects: dict[str, dict[str, dict]] = {
            k: {} for k in ("upload", "page", "database", "data_source")
        }
        self.seq = 0
        for kind, data, seq in self.db.execute("SELECT kind, data, seq FROM objects ORDER BY seq"):
            obj = json.loads(data)
            self.objects.setdefault(kind, {})[obj["id"]] = obj
            self.seq = max(self.seq, seq)
        self.kv = dict(self.db.execute("SELECT key, value FROM kv"))
        # data source id -> its pages' ids, oldest first
        self.ds_pages: dict[str, list[str]] = {}
        for page in sorted(self.objects["page"].values(), key=lambda p: p["seq"]):
            if page.get("data_source_id"):
                self.ds_pages.setdefault(page["data_source_id"], []).append(page["id"])

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def put(self, kind: str, obj: dict) -> None:
        self.objects[kind][obj["id"]] = obj
        self.db.execute(
            "INSERT OR REPLACE INTO objects (id, kind, seq, data) VALUES (?, ?, ?, ?)",
            # ASCII: a lone surrogate in a name (valid JSON) cannot be stored as UTF-8 text.
            (obj["id"], kind, obj["seq"], json.dumps(obj)),
        )

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes in one transaction (planting thousands of rows takes one commit)."""
        with self.lock:
            self.db.execute("BEGIN")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def set(self, key: str, value: str) -> None:
        self.kv[key] = value
        self.db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def part_path(self, upload_id: str, part: int) -> Path:
        return self.blobs / upload_id / f"part-{part:05d}"

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:  # pragma: no cover
            pass

    # -- lookups, answering 404 in Notion's words
    def page(self, page_id: str, *, live: bool = False) -> dict:
        page = self.objects["page"].get(page_id)
        if page is None or (live and page["in_trash"]):
            raise not_found("page", page_id)
        return page

    def database(self, database_id: str) -> dict:
        db = self.objects["database"].get(database_id)
        if db is None:
            raise not_found("database", database_id)
        return db

    def data_source(self, ds_id: str) -> dict:
        ds = self.objects["data_source"].get(ds_id)
        if ds is None:
            raise not_found("database", ds_id)  # as recorded for GET /v1/data_sources/{id}
        return ds

    def parent_page(self, body: dict, path: str = "body.parent") -> str:
        """The live page a request's `parent.page_id` names."""
        parent = body.get("parent")
        if not isinstance(parent, dict):
            raise bad(path, "should be an object", parent if parent is not None else MISSING)
        if "page_id" not in parent:
            raise bad(f"{path}.page_id", "should be defined", MISSING)
        page_id = norm_id(parent["page_id"])
        if page_id is None:
            raise bad(f"{path}.page_id", "should be a valid uuid", parent["page_id"])
        self.page(page_id, live=True)
        return page_id
