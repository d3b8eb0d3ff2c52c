"""The command line through CliRunner against requests-mock: exit codes, stdout, secrecy."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading

import pytest
from requests_mock import ANY as requests_mock_any

from notion_up.cli.main import commands
from notion_up.notion.records import FILE_SCHEMA, INDEX_SCHEMA
from tests.helpers import cli_runner, salted, text_of

API = "https://api.notion.com"
TOKEN = "ntn_CLI_SECRET_TOKEN_9f8e7d6c5b4a"
# Database ids have Notion's form (32 hex digits): a malformed one is refused before any request.
DB_FILES = "f11e5000000040008000000000000001"
DB_INDEX = "1d3e7000000040008000000000000002"
JSON_KEYS = {
    "name",
    "size",
    "file_id",
    "file_upload_id",
    "index_id",
    "hash",
    "sha512",
    "salt",
    "parts",
    "mode",
    "content_type",
    "seconds",
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A configured environment whose config and state live under tmp_path."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("NOTION_TOKEN", TOKEN)
    monkeypatch.setenv("NOTION_UP_DATABASE", DB_FILES)
    monkeypatch.setenv("NOTION_UP_INDEX", DB_INDEX)
    monkeypatch.setenv("NOTION_API_URL", API)
    monkeypatch.setenv("NOTION_UP_RATE", "0")
    for var in ("NOTION_TOKEN_FILE", "NOTION_UP_PROFILE", "NOTION_UP_STATE_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


class FakeNotion:
    """Just enough of Notion behind requests-mock for one push."""

    def __init__(self, mocker, file_schema=FILE_SCHEMA) -> None:
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.pages: list[dict] = []
        self.sent: dict[str, list[bytes]] = {}
        m = mocker
        m.get(
            f"{API}/v1/users/me",
            json={
                "object": "user",
                "id": "bot-1",
                "type": "bot",
                "bot": {"workspace_limits": {"max_file_upload_size_in_bytes": 5 * 1024**3}},
            },
        )
        for db, ds, schema in (
            (DB_FILES, "ds-files", file_schema),
            (DB_INDEX, "ds-index", INDEX_SCHEMA),
        ):
            m.get(
                f"{API}/v1/databases/{db}",
                json={"object": "database", "id": db, "data_sources": [{"id": ds}]},
            )
            m.get(
                f"{API}/v1/data_sources/{ds}",
                json={
                    "object": "data_source",
                    "id": ds,
                    "parent": {"type": "database_id", "database_id": db},
                    "properties": {n: {"id": n, "name": n, "type": t} for n, t in schema.items()},
                },
            )
        m.post(f"{API}/v1/file_uploads", json=self.create)
        m.post(requests_mock_matcher(r"/v1/file_uploads/[^/]+/send$"), json=self.send)
        m.post(requests_mock_matcher(r"/v1/file_uploads/[^/]+/complete$"), json=self.complete)
        m.post(f"{API}/v1/pages", json=self.page)
        m.post(requests_mock_matcher(r"/v1/data_sources/[^/]+/query$"), json={"results": []})

    def create(self, request, context):
        upload_id = f"fu-{next(self.ids)}"
        return {"object": "file_upload", "id": upload_id, "status": "pending"}

    def send(self, request, context):
        upload_id = request.path.split("/")[3]
        body = b"".join(bytes(c) for c in request.body)
        boundary = request.headers["Content-Type"].split("boundary=", 1)[1].encode()
        for section in body.split(b"--" + boundary)[1:-1]:
            head, _, value = section[2:-2].partition(b"\r\n\r\n")
            if b'name="file"' in head:
                with self.lock:
                    self.sent.setdefault(upload_id, []).append(value)
        return {"object": "file_upload", "id": upload_id}

    def complete(self, request, context):
        return {"object": "file_upload", "id": request.path.split("/")[3], "status": "uploaded"}

    def page(self, request, context):
        page_id = f"page-{next(self.ids)}"
        with self.lock:
            self.pages.append({"id": page_id, **request.json()})
        return {"object": "page", "id": page_id}

    def pages_in(self, ds: str) -> list[dict]:
        return [p for p in self.pages if p["parent"]["data_source_id"] == ds]


def requests_mock_matcher(pattern: str):
    import re

    return re.compile(re.escape(API) + pattern)


def invoke(args, input=None):
    return cli_runner().invoke(commands, args, input=input)


def assert_no_token(result) -> None:
    assert TOKEN not in result.stdout
    assert TOKEN not in result.stderr


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# -- refusals before any upload ---------------------------------------------------------------
def test_missing_token_exits_3_with_one_line_naming_the_variable(env, monkeypatch, requests_mock):
    monkeypatch.delenv("NOTION_TOKEN")
    (env / "a.txt").write_text("hi")
    result = invoke(["push", str(env / "a.txt")])
    assert result.exit_code == 3
    assert result.stdout == ""
    (line,) = error_lines(result)
    assert line.startswith("notion-up: error:") and "NOTION_TOKEN" in line
    assert requests_mock.call_count == 0


def test_missing_file_exits_4_no_such_file(env, requests_mock):
    missing = env / "nope.pdf"
    result = invoke(["push", str(missing)])
    assert result.exit_code == 4
    assert result.stdout == ""
    (line,) = error_lines(result)
    assert "no such file" in line and str(missing) in line
    assert requests_mock.call_count == 0
    assert_no_token(result)


def test_a_directory_exits_4(env, requests_mock):
    (env / "folder").mkdir()
    result = invoke(["push", str(env / "folder")])
    assert result.exit_code == 4
    (line,) = error_lines(result)
    assert "is a directory" in line
    assert requests_mock.call_count == 0


def test_one_missing_file_among_good_ones_stops_before_any_upload(env, requests_mock):
    (env / "good.txt").write_text("fine")
    result = invoke(["push", str(env / "good.txt"), str(env / "missing.txt")])
    assert result.exit_code == 4
    assert requests_mock.call_count == 0


def test_stdin_without_name_exits_2(env, requests_mock):
    result = invoke(["push", "-"], input=b"data")
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert "--name" in line
    assert requests_mock.call_count == 0


def test_part_size_out_of_range_exits_2(env, requests_mock):
    (env / "a.txt").write_text("x")
    result = invoke(["push", "--part-size", "1MiB", str(env / "a.txt")])
    assert result.exit_code == 2
    assert "--part-size" in result.stderr
    assert requests_mock.call_count == 0


def test_a_rejected_token_exits_3_without_printing_it_even_with_debug(env, requests_mock):
    (env / "a.txt").write_text("x")
    # Notion refuses every request of a bad token; the create goes out beside the set-up reads.
    requests_mock.register_uri(
        requests_mock_any,
        requests_mock_any,
        status_code=401,
        json={
            "object": "error",
            "status": 401,
            "code": "unauthorized",
            "message": "API token is invalid.",
            "request_id": "r-1",
        },
    )
    result = invoke(["push", "--debug", str(env / "a.txt")])
    assert result.exit_code == 3
    assert "API token is invalid" in result.stderr
    assert result.stdout == ""
    assert_no_token(result)


def test_a_file_database_missing_a_property_exits_3_naming_it(env, requests_mock):
    schema = {k: v for k, v in FILE_SCHEMA.items() if k != "salt"}
    FakeNotion(requests_mock, file_schema=schema)
    (env / "a.txt").write_text("x")
    result = invoke(["push", str(env / "a.txt")])
    assert result.exit_code == 3
    assert "'salt'" in result.stderr
    # The schemas are checked while the upload goes up; no record is written where they do
    # not fit.
    assert "/v1/pages" not in [r.path for r in requests_mock.request_history]
    assert_no_token(result)


# -- results --------------------------------------------------------------------------------
def test_push_checks_the_workspace_then_prints_one_result_line_on_stdout(env, requests_mock):
    notion = FakeNotion(requests_mock)
    data = b"hello notion\n" * 1000
    (env / "hello.txt").write_bytes(data)
    result = invoke(["push", str(env / "hello.txt")])
    assert result.exit_code == 0, result.stderr
    calls = [(r.method, r.path) for r in requests_mock.request_history]
    # The set-up reads go side by side, the create beside them; no record is written before
    # both schemas are known to fit.
    setup = [
        ("GET", "/v1/users/me"),
        ("GET", f"/v1/databases/{DB_FILES}"),
        ("GET", f"/v1/databases/{DB_INDEX}"),
    ]
    schemas = [("GET", "/v1/data_sources/ds-files"), ("GET", "/v1/data_sources/ds-index")]
    assert sorted(c for c in calls if c[0] == "GET") == sorted([*setup, *schemas])
    for db, ds in zip(setup[1:], schemas, strict=True):
        assert calls.index(db) < calls.index(ds)
    assert calls.index(("POST", "/v1/pages")) > max(calls.index(c) for c in schemas)
    (line,) = result.stdout.splitlines()
    file_id, short, name = line.split("  ")
    (page,) = notion.pages_in("ds-files")
    (entry,) = notion.pages_in("ds-index")
    assert file_id == page["id"]
    assert name == "hello.txt"
    salt = text_of(page["properties"]["salt"])
    expected = salted(hashlib.sha512(data).hexdigest(), salt)
    assert text_of(page["properties"]["filehash"]) == expected and short == expected[:12]
    assert text_of(entry["properties"]["File Page ID"]) == file_id
    assert text_of(entry["properties"]["User Database ID"]) == DB_FILES
    assert notion.sent == {"fu-1": [data]}
    assert_no_token(result)


def test_json_lines_carry_every_documented_key(env, requests_mock):
    notion = FakeNotion(requests_mock)
    data = bytes(range(256)) * 100
    (env / "table.json").write_bytes(data)
    result = invoke(["push", "--json", str(env / "table.json")])
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    out = json.loads(line)
    assert JSON_KEYS <= set(out)
    sha = hashlib.sha512(data).hexdigest()
    assert out["name"] == "table.json"
    assert out["size"] == len(data)
    assert out["sha512"] == sha
    assert out["hash"] == hashlib.sha512((sha + out["salt"]).encode()).hexdigest()
    assert (out["parts"], out["mode"], out["content_type"]) == (
        1,
        "single_part",
        "application/json",
    )
    assert out["file_upload_id"] == "fu-1"
    (page,) = notion.pages_in("ds-files")
    (entry,) = notion.pages_in("ds-index")
    assert (out["file_id"], out["index_id"]) == (page["id"], entry["id"])
    assert isinstance(out["seconds"], int | float)
    assert_no_token(result)


def test_several_files_give_one_json_line_each_and_a_summary(env, requests_mock):
    FakeNotion(requests_mock)
    paths = []
    for i in range(3):
        path = env / f"f{i}.txt"
        path.write_text(f"file {i}\n")
        paths.append(str(path))
    result = invoke(["push", "--json", *paths])
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    results = [x for x in lines if "summary" not in x]
    assert sorted(x["name"] for x in results) == ["f0.txt", "f1.txt", "f2.txt"]
    assert all(JSON_KEYS <= set(x) for x in results)
    assert lines[-1]["summary"]["pushed"] == 3
    assert_no_token(result)


def test_stdin_with_a_name_is_pushed_under_a_carrier_name_and_recorded_by_its_own(
    env, requests_mock
):
    notion = FakeNotion(requests_mock)
    data = b"\x00binary\xff" * 500
    result = invoke(["push", "-", "--name", "dump.bin", "--json"], input=data)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["name"] == "dump.bin"
    assert out["content_type"] == "text/plain"
    assert out["sha512"] == hashlib.sha512(data).hexdigest()
    create = next(r for r in requests_mock.request_history if r.path == "/v1/file_uploads")
    assert create.json()["filename"] == "dump.bin.txt"
    (page,) = notion.pages_in("ds-files")
    assert text_of(page["properties"]["filename"]) == "dump.bin"
    assert page["properties"]["file_data"]["files"][0]["name"] == "dump.bin.txt"
    assert notion.sent[out["file_upload_id"]] == [data]
    assert_no_token(result)


def test_a_refused_upload_exits_nonzero_with_nothing_on_stdout(env, requests_mock):
    FakeNotion(requests_mock)
    requests_mock.post(
        f"{API}/v1/file_uploads",
        status_code=400,
        json={
            "object": "error",
            "status": 400,
            "code": "validation_error",
            "message": "Provided `filename` has an extension that is not supported for the "
            "File Upload API.",
            "request_id": "r-9",
        },
    )
    (env / "a.txt").write_text("x")
    result = invoke(["push", str(env / "a.txt")])
    assert result.exit_code == 6  # a limit: the type is not supported
    assert result.stdout == ""
    assert "not supported" in result.stderr
    assert_no_token(result)


# -- resume ---------------------------------------------------------------------------------
def test_resume_finishes_a_push_whose_index_entry_was_refused(env, requests_mock):
    notion = FakeNotion(requests_mock)
    refuse = {"index": True}
    real_page = notion.page

    def page(request, context):
        if request.json()["parent"]["data_source_id"] == "ds-index" and refuse["index"]:
            context.status_code = 400
            return {
                "object": "error",
                "status": 400,
                "code": "validation_error",
                "message": "index refused",
                "request_id": "r-2",
            }
        return real_page(request, context)

    requests_mock.post(f"{API}/v1/pages", json=page)
    (env / "r.txt").write_text("resume me\n")
    first = invoke(["push", str(env / "r.txt")])
    assert first.exit_code == 1
    assert first.stdout == ""
    assert "index refused" in first.stderr and "resume" in first.stderr

    listed = invoke(["pending", "--json"])
    (row,) = [json.loads(x) for x in listed.stdout.splitlines()]
    assert (row["name"], row["state"], row["upload_id"]) == ("r.txt", "paged", "fu-1")

    refuse["index"] = False
    second = invoke(["resume"])
    assert "AssertionError" not in second.stderr
    assert second.exit_code == 0, second.stderr
    (line,) = second.stdout.splitlines()
    assert line.endswith("  r.txt")
    assert len(notion.pages_in("ds-files")) == 1
    assert len(notion.pages_in("ds-index")) == 1
    assert invoke(["pending"]).stdout == ""
    assert_no_token(first)
    assert_no_token(second)


def test_resume_starts_an_expired_upload_over_and_never_asks_for_it_again(env, requests_mock):
    FakeNotion(requests_mock)
    requests_mock.post(
        requests_mock_matcher(r"/v1/file_uploads/[^/]+/send$"),
        status_code=400,
        json={
            "object": "error",
            "status": 400,
            "code": "validation_error",
            "message": "part refused",
            "request_id": "r-3",
        },
    )
    (env / "e.txt").write_text("too late\n")
    assert invoke(["push", str(env / "e.txt")]).exit_code == 1
    requests_mock.get(f"{API}/v1/file_uploads/fu-1", json={"id": "fu-1", "status": "expired"})
    first = invoke(["resume"])
    assert first.exit_code == 1, first.stderr  # the new upload's part is refused too
    assert "expired before it was finished; starting it over" in first.stderr
    retrieved = sum(r.path == "/v1/file_uploads/fu-1" for r in requests_mock.request_history)
    second = invoke(["resume"])
    assert "AssertionError" not in second.stderr
    again = sum(r.path == "/v1/file_uploads/fu-1" for r in requests_mock.request_history)
    assert again == retrieved
