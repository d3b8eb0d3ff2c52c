"""Hashes, salts, the two record shapes, and writing a page exactly once."""

from __future__ import annotations

import hashlib
import re

import pytest

from notion_up.errors import APIError, OutcomeUnknown
from notion_up.notion.records import (
    FILE_SCHEMA,
    INDEX_SCHEMA,
    ContentHash,
    Databases,
    FileRecord,
    RecordError,
    file_page_properties,
    hash_content,
    index_properties,
    new_salt,
    salted_hash,
    verify,
    write_page_once,
    write_records,
)
from tests.helpers import salted, text

CONTENT = b"the quick brown fox\n" * 100
SHA = hashlib.sha512(CONTENT).hexdigest()
SALT = "ab" * 32


def make_record(name="report.bin", upload_name="report.bin.txt") -> FileRecord:
    return FileRecord(
        name=name,
        size=len(CONTENT),
        file_upload_id="upload-1",
        upload_name=upload_name,
        hash=hash_content(SHA, SALT),
    )


# -- hashing --------------------------------------------------------------------------------
def test_salted_hash_is_sha512_of_the_hex_digest_followed_by_the_salt():
    value = salted_hash(SHA, SALT)
    assert value == salted(SHA, SALT)
    assert re.fullmatch(r"[0-9a-f]{128}", value)


def test_salted_hash_depends_on_the_salt_and_on_the_digest():
    other_sha = hashlib.sha512(CONTENT + b"!").hexdigest()
    assert salted_hash(SHA, SALT) != salted_hash(SHA, "cd" * 32)
    assert salted_hash(SHA, SALT) != salted_hash(other_sha, SALT)


def test_hash_content_with_a_given_salt_keeps_it():
    content = hash_content(SHA, SALT)
    assert content == ContentHash(SHA, SALT, salted(SHA, SALT))


def test_hash_content_without_a_salt_makes_a_fresh_64_hex_salt_each_time():
    first = hash_content(SHA)
    second = hash_content(SHA)
    for content in (first, second):
        assert re.fullmatch(r"[0-9a-f]{64}", content.salt)
        assert content.sha512 == SHA
        assert content.salted == salted(SHA, content.salt)
    assert first.salt != second.salt
    assert first.salted != second.salted


def test_new_salt_is_64_hex_chars_and_never_repeats():
    salts = {new_salt() for _ in range(200)}
    assert len(salts) == 200
    assert all(re.fullmatch(r"[0-9a-f]{64}", s) for s in salts)


def test_verify_accepts_the_recorded_hash_and_rejects_other_content_or_salt():
    recorded = salted(SHA, SALT)
    assert verify(SHA, SALT, recorded)
    assert not verify(hashlib.sha512(b"other").hexdigest(), SALT, recorded)
    assert not verify(SHA, "00" * 32, recorded)
    assert not verify(SHA, SALT, recorded[:-1] + ("0" if recorded[-1] != "0" else "1"))


# -- record shapes --------------------------------------------------------------------------
def test_file_page_properties_have_exactly_the_shared_schema():
    record = make_record()
    props = file_page_properties(record)
    assert props == {
        "filename": {"title": text("report.bin")},
        "filesize": {"number": len(CONTENT)},
        "filehash": {"rich_text": text(salted(SHA, SALT))},
        "salt": {"rich_text": text(SALT)},
        "file_data": {
            "files": [
                {
                    "type": "file_upload",
                    "file_upload": {"id": "upload-1"},
                    "name": "report.bin.txt",
                }
            ]
        },
        "is_public": {"checkbox": False},
        "is_visible": {"checkbox": True},
        "is_folder": {"checkbox": False},
        "folder_path": {"rich_text": text("/")},
    }
    # Every property's value shape is the type the schema declares.
    assert {name: next(iter(value)) for name, value in props.items()} == FILE_SCHEMA


def test_file_page_keeps_the_real_name_while_the_attachment_carries_the_upload_name():
    props = file_page_properties(make_record("dir.tar", "dir.tar.txt"))
    assert props["filename"]["title"][0]["text"]["content"] == "dir.tar"
    assert props["file_data"]["files"][0]["name"] == "dir.tar.txt"


def test_index_properties_have_exactly_the_index_schema():
    props = index_properties(make_record(), "page-9", "db-7")
    assert props == {
        "Original Filename": {"title": text("report.bin")},
        "Salted SHA512 Hash": {"rich_text": text(salted(SHA, SALT))},
        "File Page ID": {"rich_text": text("page-9")},
        "User Database ID": {"rich_text": text("db-7")},
        "Is Public": {"checkbox": False},
    }
    assert {name: next(iter(value)) for name, value in props.items()} == INDEX_SCHEMA


# -- writing once ---------------------------------------------------------------------------
class FakeWriter:
    """A PageWriter whose create_page answers from a script; records every call."""

    def __init__(self, creates: list, found: list[str] | None = None) -> None:
        self.creates = list(creates)
        self.found = list(found or [])
        self.calls: list[tuple[str, str | None, dict]] = []
        self.pages: list[str] = []

    def create_page(self, body: dict) -> dict:
        self.calls.append(("create", None, body))
        outcome = self.creates.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        self.pages.append(outcome)
        return {"object": "page", "id": outcome}

    def query_data_source(self, data_source_id: str, body: dict) -> dict:
        self.calls.append(("query", data_source_id, body))
        return {"object": "list", "results": [{"id": i} for i in self.found]}


def transient(status=503) -> APIError:
    return APIError(status, "service_unavailable", "try later")


def kinds(writer: FakeWriter) -> list[str]:
    return [c[0] for c in writer.calls]


def test_write_page_once_sends_parent_data_source_and_properties():
    writer = FakeWriter(["page-1"])
    assert write_page_once(writer, "ds-1", {"x": {"checkbox": True}}, "k", "v") == "page-1"
    assert writer.calls == [
        (
            "create",
            None,
            {
                "parent": {"type": "data_source_id", "data_source_id": "ds-1"},
                "properties": {"x": {"checkbox": True}},
            },
        )
    ]


def test_write_page_once_trusts_a_committed_id_without_creating_again():
    writer = FakeWriter([OutcomeUnknown(transient(), committed_id="page-committed")])
    assert write_page_once(writer, "ds-1", {}, "filehash", "h") == "page-committed"
    assert kinds(writer) == ["create"]


def test_write_page_once_looks_the_key_up_after_an_unknown_outcome_and_returns_the_found_page():
    writer = FakeWriter([OutcomeUnknown(transient())], found=["page-found"])
    assert write_page_once(writer, "ds-1", {}, "filehash", "salted-h") == "page-found"
    assert kinds(writer) == ["create", "query"]
    _, ds, body = writer.calls[1]
    assert ds == "ds-1"
    assert body["filter"] == {"property": "filehash", "rich_text": {"equals": "salted-h"}}


def test_write_page_once_creates_again_when_the_lookup_finds_nothing():
    writer = FakeWriter([OutcomeUnknown(transient()), "page-2"], found=[])
    assert write_page_once(writer, "ds-1", {}, "filehash", "h") == "page-2"
    assert kinds(writer) == ["create", "query", "create"]
    assert writer.pages == ["page-2"]


def test_write_page_once_does_not_retry_a_definite_error():
    writer = FakeWriter([APIError(400, "validation_error", "bad property")])
    with pytest.raises(APIError) as caught:
        write_page_once(writer, "ds-1", {}, "filehash", "h")
    assert caught.value.code == "validation_error"
    assert kinds(writer) == ["create"]


def test_write_page_once_gives_up_with_the_last_cause_after_repeated_unknown_outcomes():
    causes = [transient() for _ in range(5)]
    writer = FakeWriter([OutcomeUnknown(c) for c in causes], found=[])
    with pytest.raises(APIError) as caught:
        write_page_once(writer, "ds-1", {}, "filehash", "h")
    assert caught.value is causes[-1]
    assert kinds(writer).count("create") == 5
    assert writer.pages == []


def test_write_records_writes_the_page_then_the_index_entry_pointing_at_it():
    writer = FakeWriter(["page-1", "index-1"])
    record = make_record()
    ids = write_records(writer, Databases("files-ds", "index-ds", "user-db"), record)
    assert ids == ("page-1", "index-1")
    (_, _, page_body), (_, _, index_body) = writer.calls
    assert page_body["parent"]["data_source_id"] == "files-ds"
    assert page_body["properties"] == file_page_properties(record)
    assert index_body["parent"]["data_source_id"] == "index-ds"
    assert index_body["properties"] == index_properties(record, "page-1", "user-db")


def test_write_records_with_a_known_page_writes_only_the_index_entry():
    writer = FakeWriter(["index-1"])
    ids = write_records(writer, Databases("f", "i", "u"), make_record(), page_id="page-old")
    assert ids == ("page-old", "index-1")
    assert len(writer.calls) == 1
    assert writer.calls[0][2]["properties"]["File Page ID"] == {"rich_text": text("page-old")}


def test_write_records_failure_says_which_upload_and_page_were_left_behind():
    writer = FakeWriter(["page-1", APIError(400, "validation_error", "nope")])
    with pytest.raises(RecordError) as caught:
        write_records(writer, Databases("f", "i", "u"), make_record())
    err = caught.value
    assert err.upload_id == "upload-1"
    assert err.page_id == "page-1"
    assert isinstance(err.cause, APIError)
    assert "upload upload-1" in str(err) and "page page-1" in str(err)
    assert "resume" in (err.hint or "")
