"""The local Notion-compatible server, driven over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from notion_up.sandbox import MIB, LocalNotion, ServerOptions
from tests.helpers import text

VERSION = "2025-09-03"
ERROR_KEYS = ["object", "status", "code", "message", "request_id"]


class Api:
    """A thin requests session with the sandbox token and the Notion-Version header."""

    def __init__(self, srv: LocalNotion) -> None:
        self.srv = srv
        self.s = requests.Session()
        self.s.headers.update({"Authorization": f"Bearer {srv.token}", "Notion-Version": VERSION})

    def req(self, method: str, path: str, **kw) -> requests.Response:
        return self.s.request(method, self.srv.url + path, timeout=30, **kw)

    def ok(self, method: str, path: str, **kw) -> dict:
        r = self.req(method, path, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def create_upload(self, **body) -> dict:
        return self.ok("POST", "/v1/file_uploads", json=body)

    def send(
        self,
        upload_id: str,
        data: bytes,
        part: int | None = None,
        filename: str = "f.txt",
        content_type: str | None = "text/plain",
    ) -> requests.Response:
        file = (filename, data, content_type) if content_type else (filename, data)
        fields = {"part_number": str(part)} if part is not None else None
        return self.req(
            "POST", f"/v1/file_uploads/{upload_id}/send", files={"file": file}, data=fields
        )

    def uploaded(self, data: bytes, name: str = "f.txt") -> str:
        upload = self.create_upload(mode="single_part", filename=name, content_type="text/plain")
        r = self.send(upload["id"], data, filename=name)
        assert r.status_code == 200, r.text
        return upload["id"]

    def page(self, ds: str, props: dict) -> requests.Response:
        return self.req(
            "POST", "/v1/pages", json={"parent": {"data_source_id": ds}, "properties": props}
        )


def assert_error(r: requests.Response, status: int, code: str, contains: str = "") -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body = r.json()
    assert list(body) == ERROR_KEYS or list(body) == [
        *ERROR_KEYS[:4],
        "additional_data",
        ERROR_KEYS[4],
    ]
    assert (body["object"], body["status"], body["code"]) == ("error", status, code)
    assert contains in body["message"], body["message"]
    return body


@pytest.fixture
def srv():
    server = LocalNotion(ServerOptions(seed=1))
    server.start()
    try:
        yield server
    finally:
        assert not server.errors, server.errors[-1]
        server.stop()


@pytest.fixture
def api(srv: LocalNotion) -> Api:
    return Api(srv)


@pytest.fixture
def ws(srv: LocalNotion):
    return srv.ensure_workspace()


# -------------------------------------------------------------------------------------------------
# auth, versions, routing


def test_auth_version_and_url_errors(srv: LocalNotion, api: Api) -> None:
    url = srv.url + "/v1/users/me"
    assert_error(
        requests.get(url, headers={"Notion-Version": VERSION}),
        401,
        "unauthorized",
        "API token is invalid.",
    )
    bad = {"Authorization": "Bearer nope", "Notion-Version": VERSION}
    assert_error(requests.get(url, headers=bad), 401, "unauthorized")
    body = assert_error(
        requests.get(url, headers={"Authorization": f"Bearer {srv.token}"}), 400, "missing_version"
    )
    assert body["message"] == (
        "Notion-Version header failed validation: Notion-Version header should be defined, "
        "instead was `undefined`."
    )
    r = requests.get(
        url, headers={"Authorization": f"Bearer {srv.token}", "Notion-Version": "2024-01-01"}
    )
    assert_error(r, 400, "validation_error").get("message").startswith(
        'Notion-Version header failed validation: Notion-Version header should be "2021-05-11", '
        '"2021-05-13", "2021-08-16", "2022-02-22", "2022-06-28", "2025-09-03", or "2026-03-11"'
    )
    assert_error(api.req("GET", "/v1/invalid"), 400, "invalid_request_url", "Invalid request URL.")
    assert_error(api.req("DELETE", "/v1/users/me"), 400, "invalid_request_url")
    r = api.req(
        "POST", "/v1/file_uploads", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, "invalid_json", "Error parsing JSON body.")
    assert_error(api.req("GET", "/v1/pages/not-an-id"), 400, "validation_error", "valid uuid")
    # 2026-03-11 drops `archived`; 2025-09-03 keeps it
    upload = api.create_upload(filename="a.txt")
    assert "archived" in upload
    r = api.req("GET", f"/v1/file_uploads/{upload['id']}", headers={"Notion-Version": "2026-03-11"})
    assert r.status_code == 200 and "archived" not in r.json()


def test_users_me_reports_the_plan_limit(srv: LocalNotion, api: Api) -> None:
    me = api.ok("GET", "/v1/users/me")
    assert list(me) == ["object", "id", "name", "avatar_url", "type", "bot", "request_id"]
    assert me["bot"]["workspace_limits"] == {"max_file_upload_size_in_bytes": 5 * 1024**3}
    srv.options.max_file_upload_size = 5 * MIB
    me = api.ok("GET", "/v1/users/me")
    assert me["bot"]["workspace_limits"]["max_file_upload_size_in_bytes"] == 5 * MIB


# -------------------------------------------------------------------------------------------------
# file uploads


@pytest.mark.parametrize(
    ("body", "contains"),
    [
        ({"mode": "sideways"}, "body.mode should be one of"),
        (
            {"mode": "external_url", "external_url": "https://x/a.pdf", "filename": "a.pdf"},
            "external_url",
        ),
        ({"mode": "multi_part", "number_of_parts": 2}, "body.filename should be defined"),
        ({"filename": "notes.md"}, "Provided `filename` has an extension that is not supported"),
        ({"filename": "noext"}, "Provided `filename` has an extension that is not supported"),
        (
            {"filename": "a.txt", "content_type": "application/zip"},
            "The content type application/zip is not supported for the File Upload API.",
        ),
        ({"filename": "a.txt", "content_type": "image/png"}, "does not match"),
        ({"filename": "x" * 897 + ".txt"}, "body.filename.length should be ≤ `900`"),
        ({"mode": "multi_part", "filename": "a.txt"}, "body.number_of_parts should be defined"),
        ({"mode": "multi_part", "filename": "a.txt", "number_of_parts": 0}, "should be ≥ `1`"),
        (
            {"mode": "multi_part", "filename": "a.txt", "number_of_parts": 1001},
            "should be ≤ `1000`",
        ),
        (
            {"mode": "multi_part", "filename": "a.txt", "number_of_parts": "3"},
            "should be an integer",
        ),
        ({"mode": "single_part", "filename": "a.txt", "number_of_parts": 2}, "number_of_parts"),
    ],
)
def test_create_validation(api: Api, body: dict, contains: str) -> None:
    assert_error(api.req("POST", "/v1/file_uploads", json=body), 400, "validation_error", contains)


def test_create_infers_and_accepts(api: Api) -> None:
    assert api.create_upload()["filename"] is None  # `{}` is a valid body
    assert api.create_upload(filename="a.PNG")["content_type"] == "image/png"
    assert (
        api.create_upload(filename="report", content_type="application/pdf")["filename"]
        == "report.pdf"
    )
    assert api.create_upload(filename="x" * 896 + ".txt")["status"] == "pending"


def test_single_part_send_and_retrieve(srv: LocalNotion, api: Api) -> None:
    created = api.create_upload(mode="single_part", filename="hello.txt", content_type="text/plain")
    assert list(created) == [
        "object",
        "id",
        "created_time",
        "created_by",
        "last_edited_time",
        "expiry_time",
        "upload_url",
        "in_trash",
        "status",
        "filename",
        "content_type",
        "content_length",
        "archived",
        "request_id",
    ]
    assert created["upload_url"] == f"{srv.url}/v1/file_uploads/{created['id']}/send"
    assert (created["status"], created["content_length"]) == ("pending", None)
    data = b"This is test file content"
    r = api.send(created["id"], data, filename="hello.txt")
    assert r.status_code == 200, r.text
    sent = r.json()
    assert "upload_url" not in sent
    assert (sent["status"], sent["content_length"]) == ("uploaded", 25)
    assert sent["expiry_time"] == created["expiry_time"]
    got = api.ok("GET", f"/v1/file_uploads/{created['id']}")
    assert {k: v for k, v in got.items() if k != "request_id"} == {
        k: v for k, v in sent.items() if k != "request_id"
    }
    assert srv.upload_sha512(created["id"]) == hashlib.sha512(data).hexdigest()
    # a second send to an uploaded upload is refused
    assert_error(api.send(created["id"], data), 400, "validation_error", "pending")
    # `{}` create: the form's filename and type are used
    bare = api.create_upload()
    sent = api.send(bare["id"], b"{}", filename="data.json", content_type="application/json").json()
    assert (sent["filename"], sent["content_type"]) == ("data.json", "application/json")


def test_single_part_rules(srv: LocalNotion, api: Api) -> None:
    up = api.create_upload(filename="a.txt")
    assert_error(api.send(up["id"], b"x", part=1), 400, "validation_error", "part_number")
    assert_error(
        api.send(up["id"], b"x", content_type="audio/x-wav"),
        400,
        "validation_error",
        "audio/x-wav is not supported",
    )
    r = api.req(
        "POST", f"/v1/file_uploads/{up['id']}/send", data={"other": "1"}, files={"x": ("a", b"1")}
    )
    assert_error(r, 400, "validation_error", "body.file should be defined")
    r = api.req("POST", f"/v1/file_uploads/{up['id']}/send", json={"file": "x"})
    assert_error(r, 400, "validation_error", "multipart/form-data")
    # 20 MiB is the single-part limit
    assert_error(api.send(up["id"], b"\0" * (20 * MIB + 1)), 400, "validation_error", "single_part")
    assert api.send(up["id"], b"\0" * (20 * MIB)).json()["content_length"] == 20 * MIB
    assert_error(
        api.req("POST", f"/v1/file_uploads/{up['id']}/complete"),
        400,
        "validation_error",
        "multi_part",
    )
    assert_error(api.req("GET", f"/v1/file_uploads/{'0' * 32}"), 404, "object_not_found")


def test_multi_part_out_of_order_replaced_and_missing(srv: LocalNotion, api: Api) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1000)]
    up = api.create_upload(
        mode="multi_part", filename="big.mp4", content_type="video/mp4", number_of_parts=3
    )
    assert "complete_url" not in up  # recorded: it appears once part 1 has been sent
    assert up["number_of_parts"] == {"total": 3, "sent": 0}
    r = api.send(up["id"], parts[2], part=3, filename="big.mp4", content_type="video/mp4")
    assert r.json()["number_of_parts"] == {"total": 3, "sent": 1}
    assert r.json()["content_length"] == 1000 and r.json()["status"] == "pending"
    assert "complete_url" not in r.json()
    r = api.send(up["id"], b"j" * (6 * MIB), part=1, content_type="video/mp4")
    assert r.json()["complete_url"] == f"{srv.url}/v1/file_uploads/{up['id']}/complete"
    # too small for a middle part, too big for any part, out of range, missing
    assert_error(
        api.send(up["id"], b"x" * MIB, part=2, content_type="video/mp4"),
        400,
        "validation_error",
        "Part 2",
    )
    assert_error(
        api.send(up["id"], b"x" * (20 * MIB + 1), part=3, content_type="video/mp4"),
        400,
        "validation_error",
        "Part 3",
    )
    assert_error(
        api.send(up["id"], b"x", part=4, content_type="video/mp4"),
        400,
        "validation_error",
        "part_number",
    )
    assert_error(
        api.send(up["id"], b"x", content_type="video/mp4"), 400, "validation_error", "part_number"
    )
    body = assert_error(
        api.req("POST", f"/v1/file_uploads/{up['id']}/complete"), 400, "validation_error"
    )
    assert "1 part(s)" in body["message"] and "missing part_number: 2" in body["message"]
    assert api.send(up["id"], parts[1], part=2, content_type="video/mp4").json()[
        "number_of_parts"
    ] == {"total": 3, "sent": 3}
    # re-sending part 1 replaces it (the count stays 3)
    r = api.send(up["id"], parts[0], part=1, content_type="video/mp4")
    assert r.json()["number_of_parts"] == {"total": 3, "sent": 3}
    done = api.ok("POST", f"/v1/file_uploads/{up['id']}/complete")
    assert (done["status"], done["content_length"]) == ("uploaded", 10 * MIB + 1000)
    assert "upload_url" not in done and "complete_url" not in done
    assert srv.upload_sha512(up["id"]) == hashlib.sha512(b"".join(parts)).hexdigest()
    assert_error(api.send(up["id"], parts[2], part=3), 400, "validation_error")
    listed = [u for u in srv.stats()["uploads"] if u["id"] == up["id"]][0]
    assert listed["part_sizes"] == [5 * MIB, 5 * MIB, 1000]


def test_expiry(srv: LocalNotion, api: Api, ws) -> None:
    up = api.create_upload(filename="a.txt")
    srv.expire_upload(up["id"])
    got = api.ok("GET", f"/v1/file_uploads/{up['id']}")
    assert (got["status"], got["expiry_time"]) == ("expired", None) and "upload_url" not in got
    assert_error(api.send(up["id"], b"late"), 400, "validation_error", "expired")
    done = api.uploaded(b"done")
    srv.expire_upload(done)
    r = api.page(
        ws.files_data_source_id,
        {"file_data": {"files": [{"type": "file_upload", "file_upload": {"id": done}}]}},
    )
    assert_error(r, 400, "validation_error", "is expired")
    # attached uploads lose their expiry and never expire
    kept = api.uploaded(b"kept")
    r = api.page(
        ws.files_data_source_id,
        {"file_data": {"files": [{"file_upload": {"id": kept}, "name": "k"}]}},
    )
    assert r.status_code == 200, r.text
    srv.expire_upload(kept)
    got = api.ok("GET", f"/v1/file_uploads/{kept}")
    assert (got["status"], got["expiry_time"]) == ("uploaded", None)
    # the hour runs from the created minute, as recorded
    srv.options.expiry_seconds = 3600
    fresh = api.create_upload(filename="a.txt")
    created = datetime.fromisoformat(fresh["created_time"].replace("Z", "+00:00"))
    expiry = datetime.fromisoformat(fresh["expiry_time"].replace("Z", "+00:00"))
    assert (created.second, created.microsecond) == (0, 0)  # cut to the minute, as recorded
    assert expiry - created == timedelta(seconds=3600)
    # the window is an option; a short one is cut in proportion (a sixtieth of it, as the
    # minute is of the hour), so an upload never expires before it was made
    srv.options.expiry_seconds = 120
    before = datetime.now(UTC)
    fresh = api.create_upload(filename="a.txt")
    expiry = datetime.fromisoformat(fresh["expiry_time"].replace("Z", "+00:00"))
    after = datetime.now(UTC)
    assert before + timedelta(seconds=117) <= expiry <= after + timedelta(seconds=120)


def test_list_uploads(srv: LocalNotion, api: Api) -> None:
    ids = [api.create_upload(filename=f"{n}.txt")["id"] for n in range(5)]
    sent = api.uploaded(b"x")
    first = api.ok("GET", "/v1/file_uploads", params={"page_size": 4})
    assert list(first)[:6] == [
        "object",
        "results",
        "next_cursor",
        "has_more",
        "type",
        "file_upload",
    ]
    assert [u["id"] for u in first["results"]] == [sent, *ids[::-1][:3]]
    assert first["has_more"] and first["next_cursor"] == ids[1]
    rest = api.ok("GET", "/v1/file_uploads", params={"start_cursor": first["next_cursor"]})
    assert [u["id"] for u in rest["results"]] == [ids[1], ids[0]]
    assert (rest["has_more"], rest["next_cursor"]) == (False, None)
    pending = api.ok("GET", "/v1/file_uploads", params={"status": "pending"})
    assert sent not in [u["id"] for u in pending["results"]] and len(pending["results"]) == 5
    assert_error(
        api.req("GET", "/v1/file_uploads", params={"page_size": 101}),
        400,
        "validation_error",
        "≤ `100`",
    )
    assert_error(
        api.req("GET", "/v1/file_uploads", params={"status": "odd"}), 400, "validation_error"
    )


def test_free_plan_refuses_multi_part_and_big_files(srv: LocalNotion, api: Api) -> None:
    srv.options.max_file_upload_size = 5 * MIB
    r = api.req(
        "POST",
        "/v1/file_uploads",
        json={"mode": "multi_part", "filename": "a.txt", "number_of_parts": 2},
    )
    assert_error(r, 400, "validation_error")
    up = api.create_upload(filename="a.txt")
    body = assert_error(api.send(up["id"], b"\0" * (5 * MIB + 1)), 400, "validation_error")
    assert "file size of" in body["message"] and "exceeds the limit" in body["message"]
    assert api.send(up["id"], b"\0" * (5 * MIB)).status_code == 200
    # paid plan: the total across parts is checked against the limit too
    srv.options.max_file_upload_size = 6 * MIB
    multi = api.create_upload(mode="multi_part", filename="a.txt", number_of_parts=2)
    assert api.send(multi["id"], b"\0" * (5 * MIB), part=1).status_code == 200
    body = assert_error(api.send(multi["id"], b"\0" * (2 * MIB), part=2), 400, "validation_error")
    assert "file size of" in body["message"] and "exceeds the limit" in body["message"]


# -------------------------------------------------------------------------------------------------
# databases, pages, queries


def test_workspace_schema_and_lookups(srv: LocalNotion, api: Api, ws) -> None:
    assert srv.ensure_workspace() == ws
    files = api.ok("GET", f"/v1/data_sources/{ws.files_data_source_id}")
    assert {n: p["type"] for n, p in files["properties"].items()} == {
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
    assert files["properties"]["filename"] == {
        "id": "title",
        "name": "filename",
        "description": None,
        "type": "title",
        "title": {},
    }
    assert files["parent"] == {"type": "database_id", "database_id": ws.files_database_id}
    index = api.ok("GET", f"/v1/data_sources/{ws.index_data_source_id}")
    assert {n: p["type"] for n, p in index["properties"].items()} == {
        "Original Filename": "title",
        "Salted SHA512 Hash": "rich_text",
        "File Page ID": "rich_text",
        "User Database ID": "rich_text",
        "Is Public": "checkbox",
    }
    db = api.ok("GET", f"/v1/databases/{ws.files_database_id.replace('-', '')}")
    assert db["data_sources"] == [{"id": ws.files_data_source_id, "name": "notion-up files"}]
    assert db["parent"] == {"type": "page_id", "page_id": ws.root_page_id}
    # ids of the wrong kind are not found, with Notion's wording
    body = assert_error(
        api.req("GET", f"/v1/databases/{ws.files_data_source_id}"), 404, "object_not_found"
    )
    assert body["message"] == (
        f"Could not find database with ID: {ws.files_data_source_id}. Make sure the relevant pages "
        'and databases are shared with your integration "notion-up local".'
    )
    assert set(body["additional_data"]) == {"integration_id"}
    assert_error(
        api.req("GET", f"/v1/data_sources/{ws.files_database_id}"), 404, "object_not_found"
    )
    assert_error(
        api.req("POST", f"/v1/data_sources/{ws.files_database_id}/query", json={}),
        404,
        "object_not_found",
    )
    r = api.req(
        "POST",
        "/v1/databases",
        json={"parent": {"page_id": ws.files_database_id}, "title": text("x")},
    )
    assert_error(r, 404, "object_not_found", "Could not find page")
    made = api.ok(
        "POST",
        "/v1/databases",
        json={
            "parent": {"type": "page_id", "page_id": ws.root_page_id},
            "title": text("T"),
            "initial_data_source": {"properties": {"Name": {"title": {}}, "Size": {"number": {}}}},
        },
    )
    ds = api.ok("GET", f"/v1/data_sources/{made['data_sources'][0]['id']}")
    assert ds["properties"]["Size"]["number"] == {"format": "number"}


def test_page_create_with_every_property_type(srv: LocalNotion, api: Api, ws) -> None:
    upload = api.uploaded(b"payload bytes", name="payload.txt")
    props = {
        "filename": {"title": text("report.tar")},
        "filesize": {"number": 12345},
        "filehash": {"type": "rich_text", "rich_text": text("ab" * 64)},
        "salt": {
            "rich_text": [
                {
                    "text": {"content": "s1", "link": {"url": "https://e.x"}},
                    "annotations": {"bold": True},
                }
            ]
        },
        "file_data": {
            "files": [{"type": "file_upload", "file_upload": {"id": upload}, "name": "report.tar"}]
        },
        "is_public": {"checkbox": False},
        "is_visible": {"checkbox": True},
        "is_folder": {"checkbox": False},
        "folder_path": {"rich_text": text("/a/b")},
        "is_manifest": {"checkbox": True},
    }
    r = api.page(ws.files_data_source_id, props)
    assert r.status_code == 200, r.text
    page = r.json()
    assert list(page) == [
        "object",
        "id",
        "created_time",
        "last_edited_time",
        "created_by",
        "last_edited_by",
        "cover",
        "icon",
        "parent",
        "in_trash",
        "is_archived",
        "is_locked",
        "properties",
        "url",
        "public_url",
        "archived",
        "request_id",
    ]
    assert page["parent"] == {
        "type": "data_source_id",
        "data_source_id": ws.files_data_source_id,
        "database_id": ws.files_database_id,
    }
    p = page["properties"]
    assert p["filename"]["title"][0] == {
        "type": "text",
        "text": {"content": "report.tar", "link": None},
        "annotations": {
            "bold": False,
            "italic": False,
            "strikethrough": False,
            "underline": False,
            "code": False,
            "color": "default",
        },
        "plain_text": "report.tar",
        "href": None,
    }
    assert p["salt"]["rich_text"][0]["annotations"]["bold"] is True
    assert p["salt"]["rich_text"][0]["href"] == "https://e.x"
    assert (p["filesize"]["number"], p["is_visible"]["checkbox"], p["is_manifest"]["checkbox"]) == (
        12345,
        True,
        True,
    )
    (item,) = p["file_data"]["files"]
    assert (item["name"], item["type"]) == ("report.tar", "file")
    # the URL ends with the upload's own filename, not the name it was attached under
    assert item["file"]["url"].startswith(f"{srv.url}/__files/") and item["file"]["url"].endswith(
        "/payload.txt"
    )
    assert requests.get(item["file"]["url"], timeout=10).content == b"payload bytes"
    assert api.ok("GET", f"/v1/file_uploads/{upload}")["expiry_time"] is None
    assert api.ok("GET", f"/v1/pages/{page['id']}")["properties"]["filehash"] == p["filehash"]
    # the same upload can be attached again; a page under a page takes only a title
    assert (
        api.page(
            ws.files_data_source_id, {"file_data": {"files": [{"file_upload": {"id": upload}}]}}
        ).status_code
        == 200
    )
    child = api.ok(
        "POST",
        "/v1/pages",
        json={"parent": {"page_id": ws.root_page_id}, "properties": {"title": text("Child")}},
    )
    assert child["properties"]["title"]["title"][0]["plain_text"] == "Child"
    # a single-source database id is accepted as a parent
    r = api.req(
        "POST",
        "/v1/pages",
        json={"parent": {"database_id": ws.index_database_id}, "properties": {}},
    )
    assert r.status_code == 200 and r.json()["parent"]["data_source_id"] == ws.index_data_source_id
    assert srv.stats()["pages_created"] == 4


def test_page_validation(api: Api, ws) -> None:
    ds = ws.files_data_source_id
    assert_error(
        api.page(ds, {"filesizes": {"number": 1}}),
        400,
        "validation_error",
        "filesizes is not a property that exists.",
    )
    r = api.page(ds, {"filehash": {"rich_text": text("x" * 2001)}})
    assert_error(
        r, 400, "validation_error", "text.content.length should be ≤ `2000`, instead was `2001`"
    )
    assert api.page(ds, {"filehash": {"rich_text": text("x" * 2000)}}).status_code == 200
    assert_error(
        api.page(ds, {"filesize": {"number": "12"}}),
        400,
        "validation_error",
        "body failed validation",
    )
    assert_error(
        api.page(ds, {"filesize": {"rich_text": text("12")}}),
        400,
        "validation_error",
        "body failed validation",
    )
    assert_error(
        api.page(ds, {"is_public": {"checkbox": "yes"}}),
        400,
        "validation_error",
        "body failed validation",
    )
    assert_error(
        api.page(ds, {"filehash": {"rich_text": "abc"}}),
        400,
        "validation_error",
        "body failed validation",
    )
    pending = api.create_upload(filename="a.txt")["id"]
    r = api.page(
        ds, {"file_data": {"files": [{"type": "file_upload", "file_upload": {"id": pending}}]}}
    )
    assert_error(r, 400, "validation_error", "has not completed uploading")
    r = api.page(
        ds, {"file_data": {"files": [{"type": "file_upload", "file_upload": {"id": "0" * 32}}]}}
    )
    assert_error(r, 400, "validation_error")
    assert_error(api.page("0" * 32, {}), 404, "object_not_found")
    r = api.req(
        "POST",
        "/v1/pages",
        json={"parent": {"page_id": ws.root_page_id}, "properties": {"Name": {"title": []}}},
    )
    assert_error(r, 400, "validation_error", "Name is not a property that exists.")


def test_update_page_and_trash(api: Api, ws) -> None:
    page = api.page(ws.index_data_source_id, {"Original Filename": {"title": text("a")}}).json()
    upd = api.ok(
        "PATCH", f"/v1/pages/{page['id']}", json={"properties": {"Is Public": {"checkbox": True}}}
    )
    assert upd["properties"]["Is Public"]["checkbox"] is True
    assert upd["properties"]["Original Filename"]["title"][0]["plain_text"] == "a"
    trashed = api.ok("PATCH", f"/v1/pages/{page['id']}", json={"in_trash": True})
    assert trashed["in_trash"] is True and trashed["archived"] is True
    r = api.req(
        "PATCH", f"/v1/pages/{page['id']}", json={"properties": {"Is Public": {"checkbox": False}}}
    )
    assert_error(r, 400, "validation_error", "archived")
    found = api.ok("POST", f"/v1/data_sources/{ws.index_data_source_id}/query", json={})
    assert found["results"] == []
    assert api.ok("PATCH", f"/v1/pages/{page['id']}", json={"in_trash": False})["in_trash"] is False


def test_query_filters_sorts_and_pagination(api: Api, ws) -> None:
    ds = ws.index_data_source_id
    for n in range(105):
        props = {
            "Original Filename": {"title": text(f"file-{n:03d}.bin")},
            "Salted SHA512 Hash": {"rich_text": text(f"hash{n:03d}")},
            "Is Public": {"checkbox": n % 2 == 0},
        }
        assert api.page(ds, props).status_code == 200
    first = api.ok("POST", f"/v1/data_sources/{ds}/query", json={"page_size": 100})
    assert list(first) == [
        "object",
        "results",
        "next_cursor",
        "has_more",
        "type",
        "page_or_data_source",
        "request_id",
    ]
    assert len(first["results"]) == 100 and first["has_more"] is True
    second = api.ok(
        "POST",
        f"/v1/data_sources/{ds}/query",
        json={"page_size": 100, "start_cursor": first["next_cursor"]},
    )
    assert len(second["results"]) == 5 and (second["has_more"], second["next_cursor"]) == (
        False,
        None,
    )
    seen = {p["id"] for p in first["results"] + second["results"]}
    assert len(seen) == 105
    assert_error(
        api.req("POST", f"/v1/data_sources/{ds}/query", json={"page_size": 101}),
        400,
        "validation_error",
        "≤ `100`",
    )

    def titles(body: dict) -> list[str]:
        got = api.ok("POST", f"/v1/data_sources/{ds}/query", json=body)
        return [
            p["properties"]["Original Filename"]["title"][0]["plain_text"] for p in got["results"]
        ]

    assert titles(
        {"filter": {"property": "Salted SHA512 Hash", "rich_text": {"equals": "hash042"}}}
    ) == ["file-042.bin"]
    assert titles(
        {"filter": {"property": "Original Filename", "title": {"equals": "file-007.bin"}}}
    ) == ["file-007.bin"]
    assert (
        len(
            titles(
                {"filter": {"property": "Original Filename", "rich_text": {"contains": "FILE-10"}}}
            )
        )
        == 5
    )
    both = {
        "and": [
            {"property": "Is Public", "checkbox": {"equals": True}},
            {"property": "Salted SHA512 Hash", "rich_text": {"contains": "hash09"}},
        ]
    }
    assert sorted(titles({"filter": both})) == [f"file-09{n}.bin" for n in (0, 2, 4, 6, 8)]
    either = {
        "or": [
            {"property": "Salted SHA512 Hash", "rich_text": {"equals": "hash001"}},
            {"property": "Salted SHA512 Hash", "rich_text": {"equals": "hash003"}},
        ]
    }
    assert titles(
        {"filter": either, "sorts": [{"property": "Original Filename", "direction": "ascending"}]}
    ) == ["file-001.bin", "file-003.bin"]
    newest = titles(
        {"sorts": [{"timestamp": "created_time", "direction": "descending"}], "page_size": 2}
    )
    oldest = titles(
        {"sorts": [{"timestamp": "created_time", "direction": "ascending"}], "page_size": 2}
    )
    assert (newest, oldest) == (["file-104.bin", "file-103.bin"], ["file-000.bin", "file-001.bin"])
    assert_error(
        api.req(
            "POST",
            f"/v1/data_sources/{ds}/query",
            json={"filter": {"property": "Nope", "rich_text": {"equals": "x"}}},
        ),
        400,
        "validation_error",
    )
    assert_error(
        api.req(
            "POST",
            f"/v1/data_sources/{ds}/query",
            json={"filter": {"property": "Is Public", "rich_text": {"equals": "x"}}},
        ),
        400,
        "validation_error",
    )


def test_query_numbers_and_files(api: Api, ws) -> None:
    ds = ws.files_data_source_id
    upload = api.uploaded(b"abc")
    api.page(ds, {"filename": {"title": text("one")}, "filesize": {"number": 1}})
    api.page(
        ds,
        {
            "filename": {"title": text("two")},
            "filesize": {"number": 2},
            "file_data": {"files": [{"file_upload": {"id": upload}}]},
        },
    )

    def names(flt: dict) -> list[str]:
        got = api.ok("POST", f"/v1/data_sources/{ds}/query", json={"filter": flt})
        return [p["properties"]["filename"]["title"][0]["plain_text"] for p in got["results"]]

    assert names({"property": "filesize", "number": {"equals": 2}}) == ["two"]
    assert names({"property": "filesize", "number": {"greater_than": 0}}) == ["two", "one"]
    assert names({"property": "file_data", "files": {"is_empty": True}}) == ["one"]


# -------------------------------------------------------------------------------------------------
# downloads


def test_download_url_range_and_expiry(srv: LocalNotion, api: Api, ws) -> None:
    data = bytes(range(256)) * 40
    upload = api.uploaded(data, name="blob.txt")
    page = api.page(
        ws.files_data_source_id,
        {"file_data": {"files": [{"file_upload": {"id": upload}, "name": "my file.bin"}]}},
    ).json()
    file = page["properties"]["file_data"]["files"][0]
    assert file["name"] == "my file.bin" and file["file"]["expiry_time"] > page["created_time"]
    url = file["file"]["url"]
    whole = requests.get(url, timeout=10)
    assert (whole.status_code, whole.content, whole.headers["Content-Length"]) == (
        200,
        data,
        str(len(data)),
    )
    part = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert (part.status_code, part.content) == (206, data[10:20])
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = requests.get(url, headers={"Range": "bytes=10000-"}, timeout=10)
    assert (tail.status_code, tail.content) == (206, data[10000:])
    suffix = requests.get(url, headers={"Range": "bytes=-5"}, timeout=10)
    assert suffix.content == data[-5:]
    bad = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{len(data)}"
    assert requests.get(url + "x", timeout=10).status_code == 200  # the name is cosmetic
    tampered = url.replace("/__files/", "/__files/0")
    assert requests.get(tampered, timeout=10).status_code == 403
    srv.expire_download_urls()
    gone = requests.get(url, timeout=10)
    assert gone.status_code == 403 and "Request has expired" in gone.text
    fresh = api.ok("GET", f"/v1/pages/{page['id']}")["properties"]["file_data"]["files"][0]["file"][
        "url"
    ]
    assert requests.get(fresh, timeout=10).content == data
    srv.options.url_expiry_seconds = 0
    short = api.ok("GET", f"/v1/pages/{page['id']}")["properties"]["file_data"]["files"][0]["file"][
        "url"
    ]
    assert requests.get(short, timeout=10).status_code == 403
    assert srv.stats()["requests"]["download"]["403"] >= 2


def _download_url(api: Api, ws, data: bytes) -> str:
    upload = api.uploaded(data, name="blob.txt")
    page = api.page(
        ws.files_data_source_id,
        {"file_data": {"files": [{"file_upload": {"id": upload}, "name": "blob.bin"}]}},
    ).json()
    return page["properties"]["file_data"]["files"][0]["file"]["url"]


def test_download_knobs_ignore_range_cut_and_overrun(srv: LocalNotion, api: Api, ws) -> None:
    data = bytes(range(256)) * 400
    url = _download_url(api, ws, data)
    srv.options.ignore_range = True
    whole = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert (whole.status_code, whole.content) == (200, data)
    assert "Content-Range" not in whole.headers
    srv.options.ignore_range = False
    srv.options.download_cut_after, srv.options.download_cuts = 1000, 1
    with socket.create_connection((urlsplit(url).hostname, urlsplit(url).port), 10) as conn:
        conn.sendall(f"GET {urlsplit(url).path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        raw = b"".join(iter(lambda: conn.recv(65536), b""))
    head, _, body = raw.partition(b"\r\n\r\n")
    assert f"Content-Length: {len(data)}".encode() in head and body == data[:1000]
    assert srv.options.download_cuts == 0  # used up: the next download is whole
    assert requests.get(url, timeout=10).content == data
    srv.options.download_overrun = 7
    over = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert over.status_code == 206 and "Content-Length" not in over.headers
    assert over.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert over.content == data[10:27]  # 7 bytes past the range, ended by the close


def test_download_bandwidth_is_per_connection_and_concurrency_is_counted(
    srv: LocalNotion, api: Api, ws
) -> None:
    data = bytes(range(256)) * 1024
    url = _download_url(api, ws, data)
    srv.options.download_bandwidth = 1024 * 1024
    srv.reset_stats()
    with ThreadPoolExecutor(3) as pool:
        bodies = list(pool.map(lambda _i: requests.get(url, timeout=10).content, range(3)))
    assert bodies == [data] * 3
    assert srv.stats()["max_concurrent_downloads"] >= 2


def test_corrupt_upload_changes_the_hash(srv: LocalNotion, api: Api) -> None:
    upload = api.uploaded(b"abcdef")
    before = srv.upload_sha512(upload)
    srv.corrupt_upload(upload, offset=3)
    assert (
        srv.upload_sha512(upload)
        == hashlib.sha512(b"abc" + bytes([ord("d") ^ 0xFF]) + b"ef").hexdigest()
        != before
    )


# -------------------------------------------------------------------------------------------------
# rate limit, faults, drops


def test_rate_limit_window_spends_its_budget_at_any_pace_then_says_when_it_resets(
    srv: LocalNotion, api: Api
) -> None:
    # Notion's documented limit: a fixed budget per window, "in a single burst" if one likes.
    srv.options.rate_limit, srv.options.rate, srv.options.rate_window = True, 3.0, 2.0
    srv.reset_stats()
    codes = [api.req("GET", "/v1/users/me").status_code for _ in range(6)]
    assert codes == [200] * 6
    r = api.req("GET", "/v1/users/me")
    assert_error(
        r, 429, "rate_limited", "You have been rate limited. Please try again in a few minutes."
    )
    assert r.headers["Retry-After"] in ("1", "2")  # what is left of the 2 s window
    time.sleep(float(r.headers["Retry-After"]) + 0.05)
    assert api.req("GET", "/v1/users/me").status_code == 200


def test_rate_limit_429_retry_after_and_early_retries(srv: LocalNotion, api: Api) -> None:
    srv.options.rate_limit = True
    srv.options.rate_window = 0.0  # the token bucket of the older, still quoted text
    srv.options.rate = 1.0  # a token per second: the wait for one is at most 1 s
    srv.options.burst = 2
    srv.reset_stats()
    codes = [api.req("GET", "/v1/users/me").status_code for _ in range(2)]
    assert codes == [200, 200]
    r = api.req("GET", "/v1/users/me")
    body = assert_error(
        r, 429, "rate_limited", "You have been rate limited. Please try again in a few minutes."
    )
    assert r.headers["Retry-After"] == "1"
    assert body["additional_data"] == {
        "rate_limit_reason": "public_api_request_rate_limit",
        "retry_after": "1",
    }
    assert srv.stats()["early_retries"] == 0
    api.req("GET", "/v1/users/me")  # does not wait: early
    stats = srv.stats()
    assert stats["early_retries"] == 1
    time.sleep(float(r.headers["Retry-After"]) + 0.05)
    assert api.req("GET", "/v1/users/me").status_code == 200
    assert srv.stats()["early_retries"] == 1
    assert srv.stats()["requests"]["users_me"]["429"] >= 1


def test_workspace_limit_refuses_every_request_for_its_time_and_names_its_reason(
    srv: LocalNotion, api: Api
) -> None:
    srv.options.space_limit_for = 30.0  # rate_limit off: the workspace's limit is apart
    r = api.req("GET", "/v1/users/me")
    body = assert_error(
        r, 429, "rate_limited", "You have been rate limited. Please try again in a few minutes."
    )
    assert r.headers["Retry-After"] == "30"
    assert body["additional_data"] == {
        "rate_limit_reason": "public_api_space_request_rate_limit",
        "retry_after": "30",
    }
    again = api.req("GET", "/v1/users/me")
    assert again.status_code == 429 and again.headers["Retry-After"] in ("29", "30")
    srv.reset_stats()  # lifts it (so do its 30 s)
    assert api.req("GET", "/v1/users/me").status_code == 200


@pytest.mark.parametrize("window", [0.0, 60.0])
def test_each_budget_model_on_a_virtual_clock(window: float) -> None:
    # 3/s: a bucket with bursts of 10 lets 10 go at once and then one every 1/3 s; a window of
    # 180 per minute lets all 180 go at once, then nothing until the minute is over.
    from notion_up.sandbox.errors import ApiError
    from notion_up.sandbox.faults import RateLimiter

    now = [0.0]
    opts = ServerOptions(rate_limit=True, rate=3.0, burst=10, rate_window=window)
    limit = RateLimiter(opts, clock=lambda: now[0])

    def passes() -> bool:
        try:
            limit.take()
        except ApiError:
            return False
        return True

    at_once = 0
    while passes():
        at_once += 1
    assert at_once == (10 if window == 0 else 180)
    now[0] = 1.0
    assert sum(passes() for _ in range(20)) == (3 if window == 0 else 0)
    now[0] = 60.0
    assert sum(passes() for _ in range(200)) == (10 if window == 0 else 180)


def fault_statuses(seed: int) -> list[int]:
    with LocalNotion(
        ServerOptions(seed=seed, fault_rate=0.5, fault_endpoints=frozenset({"users_me"}))
    ) as server:
        client = Api(server)
        return [client.req("GET", "/v1/users/me").status_code for _ in range(30)]


def test_fault_injection_is_seeded() -> None:
    first = fault_statuses(7)
    assert first == fault_statuses(7)
    assert {200} < set(first) <= {200, 500, 502, 503, 504}
    assert fault_statuses(8) != first


def test_fault_bodies_use_notion_codes(srv: LocalNotion, api: Api) -> None:
    srv.options.fault_rate = 1.0
    srv.options.fault_endpoints = frozenset({"users_me"})
    expected = {
        500: ("internal_server_error", "Unexpected error occurred."),
        502: ("bad_gateway", ""),
        503: ("service_unavailable", ""),
        504: ("gateway_timeout", ""),
    }
    for status, (code, message) in expected.items():
        srv.options.fault_statuses = (status,)
        assert_error(api.req("GET", "/v1/users/me"), status, code, message)


def test_send_fault_does_not_store_the_part(srv: LocalNotion, api: Api) -> None:
    up = api.create_upload(filename="a.txt")
    srv.options.fault_rate = 1.0
    r = api.send(up["id"], os.urandom(256 * 1024))
    assert r.status_code in (500, 502, 503, 504)
    got = api.ok("GET", f"/v1/file_uploads/{up['id']}")  # retrieve is not a fault endpoint
    assert (got["status"], got["content_length"]) == ("pending", None)
    assert list((srv.state_dir / "blobs" / up["id"]).iterdir()) == []
    srv.options.fault_rate = 0.0
    assert api.send(up["id"], b"again").json()["status"] == "uploaded"


def test_drop_rate_closes_the_connection(srv: LocalNotion, api: Api) -> None:
    up = api.create_upload(filename="a.txt")
    srv.options.drop_rate = 1.0
    with pytest.raises(requests.ConnectionError):
        api.send(up["id"], os.urandom(2 * MIB))
    srv.options.drop_rate = 0.0
    assert api.ok("GET", f"/v1/file_uploads/{up['id']}")["status"] == "pending"
    assert srv.stats()["requests"]["send"] == {"dropped": 1}
    assert api.send(up["id"], b"ok").status_code == 200


def test_fault_after_create(srv: LocalNotion, api: Api, ws) -> None:
    srv.options.fault_after_create_rate = 1.0
    seen = []
    for n in range(4):
        r = api.page(ws.index_data_source_id, {"Original Filename": {"title": text(f"p{n}")}})
        seen.append(r.status_code)
        extra = r.json().get("additional_data") or {}
        if n % 2 == 0:
            assert r.status_code == 503 and r.json()["code"] == "service_unavailable"
            assert api.ok("GET", f"/v1/pages/{extra['committed_resource_id']}")["id"]
        else:
            assert "committed_resource_id" not in extra
    assert seen == [503, 503, 503, 504]
    srv.options.fault_after_create_rate = 0.0
    rows = api.ok("POST", f"/v1/data_sources/{ws.index_data_source_id}/query", json={})["results"]
    assert len(rows) == 4 and srv.stats()["pages_created"] == 4


# -------------------------------------------------------------------------------------------------
# persistence, stats, admin, the command


def test_persistence_across_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with LocalNotion(ServerOptions(), state_dir=state) as first:
        ws = first.ensure_workspace()
        api = Api(first)
        upload = api.uploaded(b"kept bytes")
        page = api.page(
            ws.files_data_source_id,
            {
                "filename": {"title": text("kept")},
                "file_data": {"files": [{"file_upload": {"id": upload}}]},
            },
        ).json()
        pending = api.create_upload(mode="multi_part", filename="m.txt", number_of_parts=2)["id"]
        assert api.send(pending, b"\0" * (5 * MIB), part=1).status_code == 200
    assert (state / "blobs" / upload).is_dir()
    with LocalNotion(ServerOptions(), state_dir=state) as second:
        assert second.ensure_workspace() == ws
        api = Api(second)
        got = api.ok("GET", f"/v1/pages/{page['id']}")
        assert got["properties"]["filename"]["title"][0]["plain_text"] == "kept"
        assert (
            requests.get(
                got["properties"]["file_data"]["files"][0]["file"]["url"], timeout=10
            ).content
            == b"kept bytes"
        )
        assert second.upload_sha512(upload) == hashlib.sha512(b"kept bytes").hexdigest()
        assert api.ok("GET", f"/v1/file_uploads/{pending}")["number_of_parts"] == {
            "total": 2,
            "sent": 1,
        }
        assert api.send(pending, b"\0" * 10, part=2).status_code == 200
        assert (
            api.ok("POST", f"/v1/file_uploads/{pending}/complete")["content_length"] == 5 * MIB + 10
        )
        found = api.ok(
            "POST",
            f"/v1/data_sources/{ws.files_data_source_id}/query",
            json={"filter": {"property": "filename", "title": {"equals": "kept"}}},
        )
        assert [p["id"] for p in found["results"]] == [page["id"]]


def test_temporary_state_is_removed_on_stop() -> None:
    server = LocalNotion()
    server.start()
    folder = server.state_dir
    assert folder.is_dir()
    server.stop()
    assert not folder.exists()


def test_stats_and_concurrent_sends(srv: LocalNotion, api: Api) -> None:
    srv.options.latency = 0.3  # every request lasts long enough to overlap
    up = api.create_upload(mode="multi_part", filename="c.txt", number_of_parts=8)
    payload = os.urandom(5 * MIB)
    barrier = threading.Barrier(8)
    results: list[int] = []

    def send(part: int) -> None:
        client = Api(srv)
        barrier.wait()
        results.append(client.send(up["id"], payload, part=part).status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 8
    srv.options.latency = 0.0
    api.ok("POST", f"/v1/file_uploads/{up['id']}/complete")
    stats = srv.stats()
    assert (
        stats["max_in_flight_send"] >= 2 and stats["max_in_flight"] >= stats["max_in_flight_send"]
    )
    assert stats["requests"]["send"] == {"200": 8}
    assert stats["requests"]["create_upload"] == {"200": 1}
    assert stats["total_requests"] == 10
    (entry,) = stats["uploads"]
    assert entry == {
        "id": up["id"],
        "mode": "multi_part",
        "status": "uploaded",
        "filename": "c.txt",
        "content_type": "text/plain",
        "part_sizes": [5 * MIB] * 8,
        "content_length": 40 * MIB,
    }
    assert srv.upload_sha512(up["id"]) == hashlib.sha512(payload * 8).hexdigest()
    srv.reset_stats()
    assert srv.stats()["total_requests"] == 0 and srv.stats()["requests"] == {}


def test_bandwidth_throttles_bodies(srv: LocalNotion, api: Api) -> None:
    import io

    from notion_up.sandbox import RequestBody

    class Clock:  # a fake clock: the throttle's sleeps add up without waiting
        now = 0.0
        slept = 0.0

        def monotonic(self) -> float:
            return self.now

        def sleep(self, seconds: float) -> None:
            self.now += seconds
            self.slept += seconds

    clock = Clock()
    body = RequestBody(
        io.BytesIO(b"x" * MIB),
        {"Content-Length": str(MIB)},
        MIB / 4,
        clock=clock.monotonic,
        sleep=clock.sleep,
    )
    assert body.read_all(2 * MIB) == b"x" * MIB
    assert clock.slept == pytest.approx(4.0, rel=0.01)  # 1 MiB at 256 KiB/s
    srv.options.bandwidth = 64 * MIB  # a throttled send still arrives whole
    up = api.create_upload(filename="a.txt")
    assert api.send(up["id"], b"\0" * MIB).json()["content_length"] == MIB


def test_admin_endpoints(srv: LocalNotion, api: Api) -> None:
    upload = api.uploaded(b"admin")
    admin = srv.url + "/__admin"
    stats = requests.get(f"{admin}/stats", timeout=10).json()
    assert set(stats) >= {
        "requests",
        "total_requests",
        "max_in_flight",
        "max_in_flight_send",
        "early_retries",
        "uploads",
        "pages_created",
    }
    assert stats["total_requests"] == 2  # admin requests are not counted
    r = requests.post(
        f"{admin}/options",
        json={"fault_rate": 1.0, "fault_endpoints": ["users_me"], "fault_statuses": [502]},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["fault_endpoints"] == ["users_me"]
    assert srv.options.fault_endpoints == frozenset(
        {"users_me"}
    ) and srv.options.fault_statuses == (502,)
    assert api.req("GET", "/v1/users/me").status_code == 502
    assert requests.post(f"{admin}/options", json={"nope": 1}, timeout=10).status_code == 400
    got = requests.get(f"{admin}/uploads/{upload}/sha512", timeout=10).json()
    assert got["sha512"] == hashlib.sha512(b"admin").hexdigest()
    assert requests.get(f"{admin}/uploads/{'0' * 32}/sha512", timeout=10).status_code == 404
    assert requests.post(f"{admin}/reset", timeout=10).status_code == 200
    assert srv.stats()["total_requests"] == 0


def test_module_command_prints_one_json_line(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notion_up.sandbox",
            "--json",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path / "s"),
            "--seed",
            "3",
            "--rate-limit",
            "--max-file-size",
            str(5 * MIB),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert set(info) == {
            "url",
            "token",
            "files_database_id",
            "files_data_source_id",
            "index_database_id",
            "index_data_source_id",
            "root_page_id",
        }
        me = requests.get(
            f"{info['url']}/v1/users/me",
            headers={"Authorization": f"Bearer {info['token']}", "Notion-Version": VERSION},
            timeout=10,
        )
        assert me.json()["bot"]["workspace_limits"]["max_file_upload_size_in_bytes"] == 5 * MIB
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_sandbox_imports_only_the_standard_library() -> None:
    """Every module the sandbox package loads is the standard library's or its own."""
    code = (
        "import importlib, pkgutil, sys\n"
        "before = set(sys.modules)\n"
        "import notion_up.sandbox as pkg\n"
        "for m in pkgutil.iter_modules(pkg.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module(f'notion_up.sandbox.{m.name}')\n"
        "new = sorted(set(sys.modules) - before)\n"
        # The parent package and its version module come with any import of notion_up.
        "ours = ('notion_up', 'notion_up.version', 'notion_up.sandbox')\n"
        "bad = [n for n in new if n not in ours and not n.startswith('notion_up.sandbox.')\n"
        "       and n.split('.')[0] not in sys.stdlib_module_names]\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_form_parser_handles_any_chunking() -> None:
    import io
    import random

    from notion_up.sandbox import FormParser

    rng = random.Random(5)
    boundary = b"XyZbound"
    checked = 0
    while checked < 300:
        payload = bytes(rng.choice(b"ab\r\n-XyZbound") for _ in range(rng.randint(0, 200)))
        if rng.random() < 0.3:
            payload += b"\r\n--XyZboun"
        if rng.random() < 0.3:
            payload = b"\r\n--XyZbou" + payload
        if b"\r\n--XyZbound" in payload + b"\r\n":
            continue  # a valid body never contains its delimiter
        checked += 1
        body = (
            b"preamble\r\n--XyZbound\r\n"
            b'Content-Disposition: form-data; name="part_number"\r\n\r\n7\r\n--XyZbound\r\n'
            b'Content-Disposition: form-data; name="file"; filename="a%22b.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\n" + payload + b"\r\n--XyZbound--\r\nepilogue"
        )
        sink = io.BytesIO()
        parser = FormParser(boundary, sink)
        i = 0
        while i < len(body):
            piece = body[i : i + rng.choice([1, 2, 3, 7, 11, 16, 64, 1000])]
            parser.feed(bytearray(piece) + bytearray(rng.randint(0, 5)), len(piece))
            i += len(piece)
        parser.finish()
        assert sink.getvalue() == payload
        assert (parser.fields, parser.file_name, parser.file_size) == (
            {"part_number": "7"},
            'a"b.txt',
            len(payload),
        )


def test_chunked_request_bodies(api: Api) -> None:
    r = api.req(
        "POST",
        "/v1/file_uploads",
        data=iter([b'{"filename":', b'"chunked.txt"}']),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["filename"] == "chunked.txt"
    assert api.ok("GET", "/v1/users/me")["object"] == "user"  # the connection stays usable


def test_the_allow_list_is_the_clients() -> None:
    """The sandbox's copy of Notion's allow-list must not drift from the client's."""
    from notion_up.notion.filetypes import ALLOWED as CLIENT_ALLOWED
    from notion_up.sandbox import ALLOWED

    # the sandbox also accepts these (the client always sends the first type it knows)
    also_accepted = {".mp4": {"application/mp4", "audio/mp4"}}
    assert set(ALLOWED) == set(CLIENT_ALLOWED)
    for ext, content_type in CLIENT_ALLOWED.items():
        assert content_type in ALLOWED[ext], ext
        assert set(ALLOWED[ext]) - {content_type} == also_accepted.get(ext, set()), ext
    assert ALLOWED[".mp4"][0] == "application/mp4"  # inferred when none is given (recorded)


def test_sandbox_modules_keep_their_layering() -> None:
    """The handler calls only public model methods; no sandbox module imports the model back."""
    import ast

    import notion_up.sandbox as pkg

    folder = Path(pkg.__file__).parent
    http = ast.parse((folder / "http.py").read_text(encoding="utf-8"))
    private = sorted(
        {
            node.attr
            for node in ast.walk(http)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute | ast.Name)
            and getattr(node.value, "attr", getattr(node.value, "id", None)) == "notion"
            and node.attr.startswith("_")
        }
    )
    assert private == []
    allowed_importers = {"model.py", "command.py", "__init__.py"}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        if path.name not in allowed_importers:
            assert "model" not in imported and "notion_up.sandbox.model" not in imported, path
