"""The local journal: each push's progress in SQLite, so an interrupted push can be finished."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notion_up.state.private import private_dir, private_umask

SCHEMA = """
CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    source_path TEXT,
    size INTEGER NOT NULL,
    mtime REAL,
    mode TEXT NOT NULL,
    part_size INTEGER NOT NULL,
    part_count INTEGER NOT NULL,
    upload_id TEXT,
    upload_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    expiry_time TEXT,
    sha512 TEXT,
    salt TEXT,
    salted TEXT,
    folder_path TEXT NOT NULL DEFAULT '/',
    is_visible INTEGER NOT NULL DEFAULT 1,
    is_manifest INTEGER NOT NULL DEFAULT 0,
    files_data_source TEXT NOT NULL,
    index_data_source TEXT NOT NULL,
    user_database_id TEXT NOT NULL,
    api_url TEXT NOT NULL,
    state TEXT NOT NULL,
    page_id TEXT,
    index_id TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    spooled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS parts (
    push_id INTEGER NOT NULL REFERENCES pushes(id),
    part_number INTEGER NOT NULL,
    PRIMARY KEY (push_id, part_number)
);
CREATE TABLE IF NOT EXISTS workspace_facts (
    key TEXT PRIMARY KEY,
    facts TEXT NOT NULL,
    fetched_at REAL NOT NULL
);
-- When Notion last answered 429 for an integration's own budget (wall time), by workspace:
-- the next run paces evenly from its first request instead of learning it again.
CREATE TABLE IF NOT EXISTS rate_limits (
    key TEXT PRIMARY KEY,
    throttled_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS pushes_by_source ON pushes(source_path, size, mtime);
CREATE INDEX IF NOT EXISTS pushes_by_salted ON pushes(salted);
"""
# Columns added after the first release: (name, declaration) for journals made before them.
ADDED_COLUMNS = (
    ("spooled", "INTEGER NOT NULL DEFAULT 0"),
    # A piece of a split file: its whole file's row, and where in that file it starts.
    ("parent_id", "INTEGER"),
    ("offset", "INTEGER"),
)

# A push goes "created" -> "uploaded" -> "paged" -> "done". It has ended at "done", or off the
# line: "expired" (its upload expired before it was finished: it was started over), "dropped"
# (by `pending --drop`), "abandoned" (its input changed while it was read: nothing was
# recorded, nothing is left to finish). Every other state is unfinished.
ENDED = ("done", "expired", "dropped", "abandoned")
_UNFINISHED = "state NOT IN ({})".format(", ".join(f"'{state}'" for state in ENDED))

# The workspace a push went to (the API URL, or "sandbox") is `workspace` in code and, so that
# journals written before the name was settled still open, `api_url` in the table.
_COLUMN: dict[str, str] = {"workspace": "api_url"}
_FIELD: dict[str, str] = {column: field for field, column in _COLUMN.items()}


@dataclass(kw_only=True)
class PushEntry:
    """One row of the journal."""

    id: int
    name: str
    source_path: str | None
    size: int
    mtime: float | None
    mode: str
    part_size: int
    part_count: int
    upload_id: str | None
    upload_name: str
    content_type: str
    expiry_time: str | None
    sha512: str | None
    salt: str | None
    salted: str | None
    folder_path: str
    is_visible: int
    is_manifest: int
    files_data_source: str
    index_data_source: str
    user_database_id: str
    workspace: str
    state: str
    page_id: str | None
    index_id: str | None
    error: str | None
    created_at: float
    updated_at: float
    spooled: int = 0
    parent_id: int | None = None
    offset: int | None = None


class Journal:
    """SQLite-backed push journal; safe to call from the worker threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        private_dir(self.path.parent)
        self._lock = threading.Lock()
        with private_umask():  # the journal and its -wal/-shm files: 0600 from the start
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            have = {row[1] for row in self._db.execute("PRAGMA table_info(pushes)")}
            for name, declaration in ADDED_COLUMNS:
                if name not in have:
                    self._db.execute(f"ALTER TABLE pushes ADD COLUMN {name} {declaration}")
        os.chmod(self.path, 0o600)
        for extra in ("-wal", "-shm"):  # sqlite gives them the journal's mode; older ones too
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.path}{extra}", 0o600)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple) -> int:
        with self._lock, self._db:
            return self._db.execute(sql, _stored(args)).lastrowid or 0

    def start(self, **fields: object) -> int:
        """Record a new push (before its upload is created); returns its id."""
        now = time.time()
        fields = {**fields, "state": "created", "created_at": now, "updated_at": now}
        cols = ", ".join(_COLUMN.get(field, field) for field in fields)
        marks = ", ".join("?" for _ in fields)
        return self._write(f"INSERT INTO pushes ({cols}) VALUES ({marks})", tuple(fields.values()))

    def update(self, push_id: int, **fields: object) -> None:
        """Set some fields of a push."""
        fields["updated_at"] = time.time()
        sets = ", ".join(f"{_COLUMN.get(k, k)} = ?" for k in fields)
        self._write(f"UPDATE pushes SET {sets} WHERE id = ?", (*fields.values(), push_id))

    def part_sent(self, push_id: int, part_number: int) -> None:
        """Remember that a part was accepted."""
        self._write(
            "INSERT OR IGNORE INTO parts (push_id, part_number) VALUES (?, ?)",
            (push_id, part_number),
        )

    def sent_parts(self, push_id: int) -> set[int]:
        """The part numbers already accepted for a push."""
        with self._lock:
            rows = self._db.execute(
                "SELECT part_number FROM parts WHERE push_id = ?", (push_id,)
            ).fetchall()
        return {r[0] for r in rows}

    def get(self, push_id: int) -> PushEntry:
        """One push by id."""
        return self._select("WHERE id = ?", (push_id,))[0]

    def unfinished(self) -> list[PushEntry]:
        """Pushes begun but not finished: records not both written (or not known to be).

        A push killed before its upload's id was journalled is here too when its bytes can
        be read again (a file, or a spooled stream): finishing it starts it over.
        """
        return self._select(
            f"WHERE {_UNFINISHED} "
            "AND parent_id IS NULL "
            "AND (upload_id IS NOT NULL OR source_path IS NOT NULL) ORDER BY id",
            (),
        )

    def find_unfinished(
        self, source_path: str, size: int, mtime: float | None, workspace: str
    ) -> PushEntry | None:
        """The newest unfinished push of this exact file to this workspace, if any."""
        rows = self._select(
            f"WHERE {_UNFINISHED} "
            "AND source_path = ? AND size = ? AND mtime IS ? AND api_url = ? "
            "AND parent_id IS NULL ORDER BY id DESC LIMIT 1",
            (source_path, size, mtime, workspace),
        )
        return rows[0] if rows else None

    def find_unfinished_stream(
        self, name: str, size: int, sha512: str, workspace: str
    ) -> PushEntry | None:
        """The newest unfinished push of a stream with this name, size and SHA-512, if any."""
        rows = self._select(
            f"WHERE {_UNFINISHED} "
            "AND name = ? AND size = ? AND sha512 = ? AND api_url = ? "
            "AND (source_path IS NULL OR spooled = 1) AND parent_id IS NULL "
            "ORDER BY id DESC LIMIT 1",
            (name, size, sha512, workspace),
        )
        return rows[0] if rows else None

    def unfinished_streams(self, name: str, part_size: int, workspace: str) -> list[PushEntry]:
        """Unfinished split pushes of a stream in volumes of `part_size` by this name, newest
        first (a pipeline cut short: its re-run finds the pieces it recorded)."""
        return self._select(
            f"WHERE {_UNFINISHED} "
            "AND mode = 'split' AND source_path IS NULL AND parent_id IS NULL "
            "AND name = ? AND part_size = ? AND api_url = ? ORDER BY id DESC",
            (name, part_size, workspace),
        )

    def files_in_use(self) -> set[str]:
        """The input files unfinished pushes will read again (spool files among them)."""
        rows = self._select(
            f"WHERE {_UNFINISHED} AND source_path IS NOT NULL",
            (),
        )
        return {r.source_path for r in rows if r.source_path}

    def children(self, parent_id: int) -> list[PushEntry]:
        """The pushes of a split file's pieces and manifest, oldest first."""
        return self._select("WHERE parent_id = ? ORDER BY id", (parent_id,))

    def drop(self, key: str) -> PushEntry | None:
        """Give up an unfinished push on purpose, by journal id or upload id; the entry dropped."""
        rows = self._select(
            f"WHERE {_UNFINISHED} AND (CAST(id AS TEXT) = ? OR upload_id = ?)",
            (key, key),
        )
        if not rows:
            return None
        self.update(rows[0].id, state="dropped")
        return rows[0]

    def find_done(self, source_path: str, size: int, mtime: float) -> PushEntry | None:
        """The newest finished push of this exact file (path, size, mtime), if any."""
        rows = self._select(
            "WHERE state = 'done' AND source_path = ? AND size = ? AND mtime = ? "
            "ORDER BY id DESC LIMIT 1",
            (source_path, size, mtime),
        )
        return rows[0] if rows else None

    def mtime_of(self, salted: str) -> float | None:
        """The modification time the file recorded under this salted hash had when pushed."""
        with self._lock:
            row = self._db.execute(
                "SELECT mtime FROM pushes WHERE state = 'done' AND salted = ? "
                "AND mtime IS NOT NULL ORDER BY id DESC LIMIT 1",
                (salted,),
            ).fetchone()
        return None if row is None else float(row["mtime"])

    def facts(self, key: str, max_age: float) -> dict | None:
        """Cached workspace facts under `key`, if younger than `max_age` seconds."""
        with self._lock:
            row = self._db.execute(
                "SELECT facts, fetched_at FROM workspace_facts WHERE key = ?", (key,)
            ).fetchone()
        if row is None or time.time() - row["fetched_at"] > max_age:
            return None
        return json.loads(row["facts"])

    def store_facts(self, key: str, facts: dict) -> None:
        """Cache workspace facts under `key`."""
        self._write(
            "INSERT OR REPLACE INTO workspace_facts (key, facts, fetched_at) VALUES (?, ?, ?)",
            (key, json.dumps(facts), time.time()),
        )

    def forget_facts(self, key: str) -> None:
        """Drop cached facts (after Notion said they no longer hold)."""
        self._write("DELETE FROM workspace_facts WHERE key = ?", (key,))

    def throttled_ago(self, key: str) -> float | None:
        """Seconds since the 429 last remembered under `key`, None when none is."""
        with self._lock:
            row = self._db.execute(
                "SELECT throttled_at FROM rate_limits WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else max(0.0, time.time() - row["throttled_at"])

    def remember_throttle(self, key: str, seconds_ago: float | None) -> None:
        """Remember a 429 `seconds_ago` under `key`; None forgets it (the window model is back)."""
        if seconds_ago is None:
            self._write("DELETE FROM rate_limits WHERE key = ?", (key,))
        else:
            self._write(
                "INSERT OR REPLACE INTO rate_limits (key, throttled_at) VALUES (?, ?)",
                (key, time.time() - seconds_ago),
            )

    def recent_throughput(self, workspace: str, most: int = 8) -> list[tuple[int, float, int]]:
        """(bytes, seconds, part size) of the newest finished multi-part pushes to `workspace`,
        newest first: what `--part-size auto` judges the link by."""
        with self._lock:
            rows = self._db.execute(
                "SELECT size, updated_at - created_at AS seconds, part_size FROM pushes "
                "WHERE state = 'done' AND mode = 'multi_part' AND api_url = ? "
                "ORDER BY id DESC LIMIT ?",
                (workspace, most),
            ).fetchall()
        return [(r["size"], r["seconds"], r["part_size"]) for r in rows if r["seconds"] > 0]

    def _select(self, where: str, args: tuple) -> list[PushEntry]:
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM pushes {where}", _stored(args)).fetchall()
        return [PushEntry(**{_FIELD.get(k, k): _loaded(r[k]) for k in r.keys()}) for r in rows]


def _stored(args: tuple) -> tuple:
    """A path the file system gave with bytes that are not UTF-8 (`caf\\udce9.txt`) cannot be
    SQLite text: it is kept as its bytes, and read back as the same path."""
    return tuple(os.fsencode(a) if isinstance(a, str) and not _utf8(a) else a for a in args)


def _loaded(value: Any) -> Any:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
