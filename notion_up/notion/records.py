"""The one hash / salt / records module: SHA-512, salt, salted hash, the page and the index entry.

Every upload path (single part, multi-part, stdin) ends here: the record format lives in one place.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeGuard

from notion_up.errors import (
    APIError,
    ConfigError,
    FileMissing,
    InvalidRecord,
    NotionUpError,
    OutcomeUnknown,
    RecordError,
    UsageError,
)
from notion_up.manifest import MANIFEST_SUFFIX, MAX_MANIFEST_SIZE, is_manifest_name
from notion_up.notion.limits import PAGE_SIZE
from notion_up.notion.paging import read_all

# The property names of the service whose databases we share; not ours to rename.
FILE_SCHEMA: dict[str, str] = {
    "filename": "title",
    "filesize": "number",
    "filehash": "rich_text",
    "salt": "rich_text",
    "file_data": "files",
    "is_public": "checkbox",
    "is_visible": "checkbox",
    "is_folder": "checkbox",
    "folder_path": "rich_text",
}
# `init` also makes the checkbox split files' manifests use; push does not require it.
INIT_FILE_SCHEMA: dict[str, str] = {**FILE_SCHEMA, "is_manifest": "checkbox"}
INDEX_SCHEMA: dict[str, str] = {
    "Original Filename": "title",
    "Salted SHA512 Hash": "rich_text",
    "File Page ID": "rich_text",
    "User Database ID": "rich_text",
    "Is Public": "checkbox",
}


@dataclass(frozen=True)
class ContentHash:
    """The content's SHA-512, a fresh salt, and the salted hash recorded in Notion."""

    sha512: str
    salt: str
    salted: str


def new_salt() -> str:
    """A fresh random salt: 32 random bytes as hex."""
    return secrets.token_hex(32)


def salted_hash(sha512_hex: str, salt: str) -> str:
    """sha512((sha512_hex + salt).encode()) as hex: the value stored in `filehash`."""
    return hashlib.sha512((sha512_hex + salt).encode()).hexdigest()


def hash_content(sha512_hex: str, salt: str | None = None) -> ContentHash:
    """Salt a content digest (with a fresh salt unless one is given, as on resume)."""
    salt = salt or new_salt()
    return ContentHash(sha512_hex, salt, salted_hash(sha512_hex, salt))


def verify(sha512_hex: str, salt: str, recorded: str) -> bool:
    """True when content with this digest is the one recorded with this salt."""
    # As bytes: compare_digest refuses non-ASCII text, and a record may hold anything.
    expected = salted_hash(sha512_hex, salt).encode()
    return secrets.compare_digest(expected, str(recorded).encode("utf-8", "replace"))


@dataclass(frozen=True, kw_only=True)
class FileRecord:
    """What is written about one pushed file."""

    name: str
    size: int
    file_upload_id: str
    upload_name: str
    hash: ContentHash
    folder_path: str = "/"
    is_visible: bool = True
    # A split file's manifest row; written only when true (older databases lack the property).
    is_manifest: bool = False
    is_public: bool = False
    # The global index's `Original Filename` when it differs from the row's (a manifest's).
    index_name: str | None = None


def manifest_row(record: FileRecord, original_name: str, total_size: int) -> FileRecord:
    """A split file's manifest record as the service writes it.

    Follows weneten/notion-storage `StreamingUploader.process_stream`: the visible row carries
    the original name and the total size with `is_manifest` true; only the index entry is
    named `<name>.file.json` (its `/d/<hash>` route knows a manifest by that name).
    """
    return FileRecord(
        name=original_name,
        size=total_size,
        file_upload_id=record.file_upload_id,
        upload_name=record.upload_name,
        hash=record.hash,
        folder_path=record.folder_path,
        is_visible=record.is_visible,
        is_manifest=True,
        is_public=record.is_public,
        index_name=original_name + MANIFEST_SUFFIX,
    )


def _text(value: str) -> list[dict]:
    return [{"type": "text", "text": {"content": value}}]


def plain_text(prop: dict | None) -> str:
    """The text of a title or rich_text property value as Notion returns it ("" when absent).

    Anything of another shape (a shared database may hold anything) reads as "".
    """
    if not isinstance(prop, dict):
        return ""
    kind = prop.get("type", "rich_text")
    items = prop.get(kind) if isinstance(kind, str) else None
    if not isinstance(items, list):
        return ""
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        text = item.get("plain_text")
        if not isinstance(text, str) or not text:
            inner = item.get("text")
            text = inner.get("content") if isinstance(inner, dict) else ""
        out.append(text if isinstance(text, str) else "")
    return "".join(out)


def file_page_properties(record: FileRecord) -> dict:
    """The file-database row for `record`, with the upload attached."""
    properties = {
        "filename": {"title": _text(record.name)},
        "filesize": {"number": record.size},
        "filehash": {"rich_text": _text(record.hash.salted)},
        "salt": {"rich_text": _text(record.hash.salt)},
        "file_data": {
            "files": [
                {
                    "type": "file_upload",
                    "file_upload": {"id": record.file_upload_id},
                    "name": record.upload_name,
                }
            ]
        },
        "is_public": {"checkbox": record.is_public},
        "is_visible": {"checkbox": record.is_visible},
        "is_folder": {"checkbox": False},
        "folder_path": {"rich_text": _text(record.folder_path)},
    }
    if record.is_manifest:
        properties["is_manifest"] = {"checkbox": True}
    return properties


def index_properties(record: FileRecord, page_id: str, user_database_id: str) -> dict:
    """The global-index entry pointing at the file page."""
    return {
        "Original Filename": {"title": _text(record.index_name or record.name)},
        "Salted SHA512 Hash": {"rich_text": _text(record.hash.salted)},
        "File Page ID": {"rich_text": _text(page_id)},
        "User Database ID": {"rich_text": _text(user_database_id)},
        "Is Public": {"checkbox": record.is_public},
    }


class PageWriter(Protocol):
    """The two client calls the records need (NotionClient satisfies it)."""

    def create_page(self, body: dict) -> dict: ...

    def query_data_source(self, data_source_id: str, body: dict) -> dict: ...


@dataclass(frozen=True)
class Databases:
    """Where records go: the file and index data sources, and the id users know the files by."""

    files_data_source: str
    index_data_source: str
    user_database_id: str


def find_page(client: PageWriter, data_source: str, prop: str, value: str) -> str | None:
    """The id of the page whose rich_text `prop` equals `value`, if one exists."""
    body = {"filter": {"property": prop, "rich_text": {"equals": value}}, "page_size": 1}
    # Only the first page is asked for: the walk is lazy.
    for page in read_all(client.query_data_source, data_source, body, what="look-up"):
        page_id = page.get("id")
        return page_id if isinstance(page_id, str) and page_id else None
    return None


# As git shows commits: the hash in lines that must fit 80 columns, and the shortest prefix a
# command that takes a HASH accepts.
SHORT_HASH = 12
_HASH_PREFIX = re.compile(rf"[0-9a-f]{{{SHORT_HASH},127}}")


def short_hash(salted: str) -> str:
    """The first 12 hex digits of a salted hash."""
    return salted[:SHORT_HASH]


def full_hash_of_prefix(client: PageWriter, files_data_source: str, key: str) -> str:
    """The salted hash that `key` names when it is a prefix of 12 to 127 hex digits, but not
    32 (a file id without its dashes); `key` itself otherwise (a whole hash, a file id or a
    name is for the caller to look up).

    The prefix is looked for among the file database's own `filehash` values; no match is
    FileMissing, a prefix of two different hashes a UsageError listing them.
    """
    text = key.strip().lower()
    if not _HASH_PREFIX.fullmatch(text) or len(text) == 32:  # 32 hex digits: a file id
        return key
    found = client.query_data_source(
        files_data_source,
        {"filter": {"property": "filehash", "rich_text": {"starts_with": text}}, "page_size": 10},
    )
    hashes: list[str] = []
    for page in found.get("results") or []:
        props = page.get("properties") if isinstance(page, dict) else None
        salted = plain_text(props.get("filehash") if isinstance(props, dict) else None).strip()
        # The filter is the server's word; only a whole hash that starts so is taken.
        if re.fullmatch(r"[0-9a-f]{128}", salted) and salted.startswith(text):
            if salted not in hashes:
                hashes.append(salted)
    if not hashes:
        raise FileMissing(f"no file with a hash starting {text}", hint="`notion-up ls` lists them")
    if len(hashes) > 1:
        shown = ", ".join(h[: len(text) + 4] + "…" for h in hashes[:3])
        raise UsageError(
            f"{text} is the start of {len(hashes)} hashes ({shown})",
            hint="give more of the hash (`notion-up ls --long` shows them whole)",
        )
    return hashes[0]


def write_page_once(
    client: PageWriter, data_source: str, properties: dict, key_prop: str, key: str
) -> str:
    """Create a page, or find the one an ambiguous earlier attempt already made."""
    body = {"parent": {"type": "data_source_id", "data_source_id": data_source}}
    body["properties"] = properties
    for _ in range(5):
        try:
            return client.create_page(body)["id"]
        except OutcomeUnknown as unknown:
            if unknown.committed_id:
                return unknown.committed_id
            existing = find_page(client, data_source, key_prop, key)
            if existing:
                return existing
            last: Exception = unknown.cause
    raise last


def write_records(
    client: PageWriter,
    databases: Databases,
    record: FileRecord,
    page_id: str | None = None,
    *,
    look_first: bool = False,
    on_page: Callable[[str], None] | None = None,
) -> tuple[str, str]:
    """Write the file page (unless `page_id` says it exists) then the index entry.

    `look_first` is for finishing a push that may have been cut off after Notion committed a
    write (a crash, a lost reply): each record is looked up by its salted hash and written only
    when missing. `on_page` hears the page id before the index entry is written, so a journal
    can keep it.
    """
    try:
        if page_id is None and look_first:
            page_id = find_page(client, databases.files_data_source, "filehash", record.hash.salted)
        if page_id is None:
            page_id = write_page_once(
                client,
                databases.files_data_source,
                file_page_properties(record),
                "filehash",
                record.hash.salted,
            )
        if on_page is not None:
            on_page(page_id)
        index_id = None
        if look_first:
            index_id = find_page(
                client, databases.index_data_source, "Salted SHA512 Hash", record.hash.salted
            )
        if index_id is None:
            index_id = write_page_once(
                client,
                databases.index_data_source,
                index_properties(record, page_id, databases.user_database_id),
                "Salted SHA512 Hash",
                record.hash.salted,
            )
    except (APIError, NotionUpError) as exc:
        raise RecordError("recording failed", record.file_upload_id, page_id, exc) from exc
    return page_id, index_id


def file_sha512(path: str, chunk: int = 1024 * 1024) -> str:
    """The SHA-512 hex digest of a file on disk, read in chunks."""
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# -- reading records -------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RemoteFile:
    """A row of the file database: what finding, checking and getting its file back need."""

    file_id: str
    name: str
    size: int | None
    salted: str
    salt: str
    created: str
    url: str | None
    upload_name: str | None
    is_visible: bool = True
    is_manifest: bool = False
    is_public: bool = False
    folder_path: str = "/"
    # The attachment is a file Notion holds (an upload), not an external URL.
    hosted: bool = False

    @property
    def maybe_manifest(self) -> bool:
        """Flagged as a manifest, or (databases without the flag) named like one."""
        small = self.size is not None and self.size <= MAX_MANIFEST_SIZE
        return self.is_manifest or (small and is_manifest_name(self.name))

    @property
    def page_id(self) -> str:
        """The file's page in the file database (its FILE_ID)."""
        return self.file_id

    def to_json(self) -> dict:
        """The `ls --json` line."""
        return {
            "file_id": self.file_id,
            "name": self.name,
            "size": self.size,
            "created": self.created,
            "hash": self.salted,
            "upload_name": self.upload_name,
            "is_visible": self.is_visible,
            "is_manifest": self.is_manifest,
            "is_public": self.is_public,
            "folder_path": self.folder_path,
        }


# What a well-formed record holds (a shared database may hold anything else).
SALTED_HASH = re.compile(r"[0-9a-f]{128}")
SALT = re.compile(r"[0-9a-fA-F]{8,256}")
PAGE_ID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
CREATED = re.compile(r"[0-9T:.+\-Z]{0,40}")
MAX_RECORDED_SIZE = 1 << 50  # far above any Notion limit: a larger filesize is garbage


def is_page_id(value: object) -> TypeGuard[str]:
    """True for a Notion id (32 hex digits, with or without dashes): fit for a URL path."""
    return isinstance(value, str) and PAGE_ID.fullmatch(value.lower()) is not None


def remote_file(page: dict) -> RemoteFile:
    """Read a file-database page (the one parser).

    FileMissing when the page is not a file record; InvalidRecord (a FileMissing) when it is
    one whose values are malformed: an id, hash, salt, size or URL of the wrong shape.
    """
    if not isinstance(page, dict):
        raise InvalidRecord("a query result is not an object")
    page_id = page.get("id")
    if not is_page_id(page_id):
        raise InvalidRecord(f"a record's id {str(page_id)[:64]!r} is not a Notion id")
    props = page.get("properties")
    props = props if isinstance(props, dict) else {}
    salted, salt = plain_text(props.get("filehash")), plain_text(props.get("salt"))
    if not salted or not salt or "file_data" not in props:
        raise FileMissing(f"page {page_id} is not a notion-up file record")
    if not SALTED_HASH.fullmatch(salted):
        raise InvalidRecord(f"page {page_id}: its filehash is not 128 hex digits")
    if not SALT.fullmatch(salt):
        raise InvalidRecord(f"page {page_id}: its salt is not hex")
    url, upload_name, hosted = _attachment(page_id, props.get("file_data"))
    created = page.get("created_time", "")
    if not isinstance(created, str) or not CREATED.fullmatch(created):
        raise InvalidRecord(f"page {page_id}: its created_time is not a time")
    return RemoteFile(
        file_id=page_id,
        name=plain_text(props.get("filename")),
        size=_size(page_id, props.get("filesize")),
        salted=salted,
        salt=salt,
        created=created,
        url=url,
        upload_name=upload_name,
        is_visible=_checkbox(props.get("is_visible"), True),
        is_manifest=_checkbox(props.get("is_manifest"), False),
        is_public=_checkbox(props.get("is_public"), False),
        folder_path=plain_text(props.get("folder_path")) or "/",
        hosted=hosted,
    )


def _attachment(page_id: str, prop: object) -> tuple[str | None, str | None, bool]:
    """The first attachment's URL and name, and whether Notion hosts it (an upload)."""
    files = prop.get("files") if isinstance(prop, dict) else None
    if not isinstance(files, list) or not files:
        return None, None, False
    first = files[0]
    if not isinstance(first, dict):
        raise InvalidRecord(f"page {page_id}: its file_data is not a file")
    name = first.get("name")
    kind = first.get("type") or "file"
    inner = first.get(kind) if isinstance(kind, str) else None
    url = inner.get("url") if isinstance(inner, dict) else None
    if url is not None and (
        not isinstance(url, str) or not url.lower().startswith(("https://", "http://"))
    ):
        # file://, ftp://, javascript: — never fetched (nor retried as a network failure).
        raise InvalidRecord(f"page {page_id}: its file URL is not an http(s) URL")
    return url, name if isinstance(name, str) else None, kind == "file" and url is not None


def _size(page_id: str, prop: object) -> int | None:
    value = prop.get("number") if isinstance(prop, dict) else None
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_RECORDED_SIZE:
        raise InvalidRecord(f"page {page_id}: its filesize is not a size")
    return value


def _checkbox(prop: object, default: bool) -> bool:
    value = prop.get("checkbox", default) if isinstance(prop, dict) else default
    return value if isinstance(value, bool) else default


# -- the schema, folders, sharing and the trash (the service's formats) -----------------------
class RecordClient(PageWriter, Protocol):
    """The client calls that change records and the file database's schema."""

    def update_page(self, page_id: str, body: dict) -> dict: ...

    def retrieve_data_source(self, data_source_id: str) -> dict: ...

    def update_data_source(self, data_source_id: str, body: dict) -> dict: ...


def ensure_manifest_property(client: RecordClient, data_source: str) -> bool:
    """Add the `is_manifest` checkbox to the file database when it lacks it; True if added.

    The service does the same before its first split upload (weneten/notion-storage
    `NotionFileUploader.ensure_database_property(db, "is_manifest", "checkbox")`): databases it
    creates at registration lack the property, and without it the service zips the raw manifest
    in folder downloads and leaves the pieces behind on delete.
    """
    ds = client.retrieve_data_source(data_source)
    prop = (ds.get("properties") or {}).get("is_manifest") or {}
    if prop.get("type") == "checkbox":
        return False
    if prop:
        raise ConfigError(
            f"the file database's is_manifest property is a {prop.get('type')}, not a checkbox",
            hint="change it to a checkbox in Notion (or remove it) before pushing split files",
        )
    try:
        client.update_data_source(data_source, {"properties": {"is_manifest": {"checkbox": {}}}})
    except APIError as exc:
        if exc.status in (401, 403, 404):
            raise ConfigError(
                "the file database has no is_manifest property and this integration may not "
                f"add it ({exc.notion_message or exc.code})",
                hint="give the integration the 'Update content' capability, or add a checkbox "
                "property named is_manifest to the file database in Notion",
            ) from None
        raise
    return True


def folder_path_of(parent: str, name: str) -> str:
    """The path a folder row stands for: its `folder_path` joined with its name."""
    return parent.rstrip("/") + "/" + name if parent != "/" else "/" + name


def normal_folder(folder_path: str) -> str:
    """`/a/b` for `a/b/`, `//a//b` and the like; `/` for the root (as the service does)."""
    return "/" + "/".join(p for p in folder_path.strip("/").split("/") if p)


def folder_properties(name: str, parent: str) -> dict:
    """A folder row as weneten/notion-storage `NotionFileUploader.create_folder` writes it."""
    return {
        "filename": {"title": _text(name)},
        "filesize": {"number": 0},
        "filehash": {"rich_text": _text("")},
        "file_data": {"files": []},
        "is_public": {"checkbox": False},
        "salt": {"rich_text": _text("")},
        "folder_path": {"rich_text": _text(parent)},
        "is_folder": {"checkbox": True},
        "is_visible": {"checkbox": True},
    }


def existing_folders(client: PageWriter, data_source: str) -> set[str]:
    """The paths of the folder rows in the file database (every row, past the query cap)."""
    body: dict = {"filter": {"property": "is_folder", "checkbox": {"equals": True}}}
    body["page_size"] = PAGE_SIZE
    paths: set[str] = set()
    for page in read_all(client.query_data_source, data_source, body, what="folder rows"):
        props = page.get("properties") or {}
        parent = plain_text(props.get("folder_path")) or "/"
        paths.add(folder_path_of(parent, plain_text(props.get("filename"))))
    return paths


def ensure_folders(client: PageWriter, data_source: str, folder_paths: Iterable[str]) -> list[str]:
    """One folder row per folder (and each parent) not yet in the database; the paths made.

    The service lists only folders that have a row (weneten/notion-storage `app.py`
    `ensure_folder_structure`); rows are looked up first, so a second push makes none.
    """
    wanted = sorted({normal_folder(p) for p in folder_paths} - {"/"})
    if not wanted:
        return []
    have = existing_folders(client, data_source)
    made: list[str] = []
    for path in wanted:
        parent = "/"
        for name in path.strip("/").split("/"):
            here = folder_path_of(parent, name)
            if here not in have:
                body = {"parent": {"type": "data_source_id", "data_source_id": data_source}}
                body["properties"] = folder_properties(name, parent)
                try:
                    client.create_page(body)
                except OutcomeUnknown as unknown:
                    # It may have been made: look again rather than make a second row.
                    have = existing_folders(client, data_source)
                    if here not in have:
                        raise unknown.cause from None
                have.add(here)
                made.append(here)
            parent = here
    return made


def index_entries(client: PageWriter, index_data_source: str, salted: str) -> list[str]:
    """The ids of the global-index entries for this salted hash (normally one)."""
    body = {"filter": {"property": "Salted SHA512 Hash", "rich_text": {"equals": salted}}}
    found = read_all(client.query_data_source, index_data_source, body, what="index entries")
    return [entry["id"] for entry in found]


def set_public(
    client: RecordClient, databases: Databases, page_id: str, salted: str, public: bool
) -> list[str]:
    """Switch `is_public` on the page and `Is Public` on its index entries; the entries' ids.

    As weneten/notion-storage `NotionFileUploader.update_file_public_status` does; its
    `/d/<hash>` route reads only the index entry's flag.
    """
    entries = index_entries(client, databases.index_data_source, salted)
    if not entries:
        raise FileMissing(
            f"file {page_id} has no entry in the global index, so it has no public link",
            hint="push the file again",
        )
    client.update_page(page_id, {"properties": {"is_public": {"checkbox": public}}})
    for entry in entries:
        client.update_page(entry, {"properties": {"Is Public": {"checkbox": public}}})
    return entries


def trash_records(
    client: RecordClient, databases: Databases, page_id: str, salted: str
) -> list[str]:
    """Move a file's page and its index entries to the trash; the entries' ids.

    The index entries go first: the page is what finds them again if this is cut short.
    """
    entries = index_entries(client, databases.index_data_source, salted)
    for entry in entries:
        client.update_page(entry, {"in_trash": True})
    client.update_page(page_id, {"in_trash": True})
    return entries


def public_link(service_url: str, salted: str) -> str:
    """The service's download link for a file: `<service URL>/d/<salted hash>`."""
    return f"{service_url.rstrip('/')}/d/{salted}"
