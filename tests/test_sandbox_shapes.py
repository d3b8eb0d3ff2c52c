"""Replay the real notion-sdk-py recordings against the local server and compare JSON shapes.

For every recorded request the server implements, the equivalent request goes to the local server
(ids it created substituted for the recorded ones) and the answer must have the same status, the
same keys in the same order (recursively) and the same JSON value types; ids, timestamps and other
values may differ. Recordings the server deliberately does not support are listed in OUT_OF_SCOPE
with the reason, and the test asserts the server refuses them.

The recordings are vendored under tests/data/recordings/ (MIT-licensed upstreams; SOURCE.txt says
where each came from), so the replay runs in a plain clone.
pyyaml is not a dependency, so a small reader for these VCR files is included.
"""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from notion_up.sandbox import LocalNotion, ServerOptions

RECORDINGS = Path(__file__).resolve().parent / "data" / "recordings"
CASSETTES = RECORDINGS / "notion-sdk-py-cassettes"

# (cassette, interaction index) -> why the local server refuses it
OUT_OF_SCOPE = {
    ("test_file_uploads_create_external.yaml", 0): (
        "external_url uploads need the server to fetch a public URL; the local server answers "
        "400 validation_error instead"
    ),
}

UUID_RE = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE
)


# ---------------------------------------------------------------------------------------------
# a reader for the subset of YAML that VCR cassettes use


class _VcrYaml:
    """Block mappings, block sequences, plain and quoted (multi-line, folded) scalars."""

    def __init__(self, text: str) -> None:
        self.lines = [line.rstrip("\r") for line in text.split("\n")]
        self.i = 0

    @staticmethod
    def _indent(line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    def _skip_blank(self) -> None:
        while self.i < len(self.lines) and not self.lines[self.i].strip():
            self.i += 1

    def parse(self):
        self._skip_blank()
        return self._node(self._indent(self.lines[self.i]))

    def _node(self, indent: int):
        line = self.lines[self.i]
        if line[indent:].startswith("- ") or line[indent:] == "-":
            return self._seq(indent)
        return self._map(indent)

    def _seq(self, indent: int) -> list:
        items = []
        while True:
            self._skip_blank()
            if self.i >= len(self.lines):
                return items
            line = self.lines[self.i]
            if self._indent(line) != indent or not line[indent:].startswith("- "):
                return items
            rest = line[indent + 2 :]
            if rest[:1] not in ("'", '"') and re.match(r"[^:]+:( |$)", rest):
                self.lines[self.i] = " " * (indent + 2) + rest
                items.append(self._map(indent + 2))
            else:
                items.append(self._scalar(rest))

    def _map(self, indent: int) -> dict:
        out: dict = {}
        while True:
            self._skip_blank()
            if self.i >= len(self.lines):
                return out
            line = self.lines[self.i]
            if self._indent(line) != indent or line[indent:].startswith("- "):
                return out
            key, _, rest = line[indent:].partition(":")
            rest = rest.strip()
            if rest:
                out[key] = self._scalar(rest)
                continue
            self.i += 1
            self._skip_blank()
            if self.i >= len(self.lines):
                out[key] = None
                return out
            nxt = self.lines[self.i]
            child = self._indent(nxt)
            if child > indent or (child == indent and nxt[indent:].startswith("- ")):
                out[key] = self._node(child)
            else:
                out[key] = None

    def _scalar(self, first: str):
        """The scalar starting with `first` on the current line; consumes its lines."""
        quote = first[:1]
        if quote not in ("'", '"'):
            self.i += 1
            if re.fullmatch(r"-?\d+", first):
                return int(first)
            return {"null": None, "~": None, "true": True, "false": False}.get(first, first)
        pieces = [first[1:]]
        while True:
            joined = self._fold(pieces, quote)
            end = self._closing(joined, quote)
            if end is not None:
                self.i += 1
                return self._unescape(joined[:end], quote)
            self.i += 1
            pieces.append(self.lines[self.i])

    @staticmethod
    def _fold(pieces: list[str], quote: str) -> str:
        out = pieces[0]
        for raw in pieces[1:]:
            piece = raw.strip()
            if quote == '"' and re.search(r"(?<!\\)(\\\\)*\\$", out):
                out = out[:-1] + piece  # an escaped line break
            elif not piece:
                out = out.rstrip(" ") + "\n"
            elif out.endswith("\n"):
                out += piece
            else:
                out = out.rstrip(" ") + " " + piece
        return out

    @staticmethod
    def _closing(text: str, quote: str) -> int | None:
        j = 0
        while j < len(text):
            c = text[j]
            if quote == "'" and c == "'":
                if text[j + 1 : j + 2] == "'":
                    j += 2
                    continue
                return j
            if quote == '"':
                if c == "\\":
                    j += 2
                    continue
                if c == '"':
                    return j
            j += 1
        return None

    @staticmethod
    def _unescape(text: str, quote: str) -> str:
        if quote == "'":
            return text.replace("''", "'")
        simple = {
            "n": "\n",
            "r": "\r",
            "t": "\t",
            '"': '"',
            "\\": "\\",
            "/": "/",
            "0": "\0",
            "b": "\b",
            "e": "\x1b",
            " ": " ",
            "a": "\a",
        }
        out = []
        j = 0
        while j < len(text):
            c = text[j]
            if c != "\\":
                out.append(c)
                j += 1
                continue
            e = text[j + 1]
            if e in simple:
                out.append(simple[e])
                j += 2
            elif e in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[e]
                out.append(chr(int(text[j + 2 : j + 2 + width], 16)))
                j += 2 + width
            else:
                raise ValueError(f"unknown escape \\{e}")
        return "".join(out)


def read_cassette(path: Path) -> list[dict]:
    """The interactions of a VCR cassette."""
    return _VcrYaml(path.read_text(encoding="utf-8")).parse()["interactions"]


def test_reader_folds_and_unescapes() -> None:
    doc = _VcrYaml(
        "a:\n- x: 'it''s\n    folded'\n  y: \"q\\\"\n    \\u2699\"\n  z: 200\nb: plain\n"
    ).parse()
    assert doc == {"a": [{"x": "it's folded", "y": 'q" ⚙', "z": 200}], "b": "plain"}


# ---------------------------------------------------------------------------------------------
# comparing shapes


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_errors(recorded, ours, path: str = "$") -> list[str]:
    """Differences in keys, key order and JSON types; empty when the shapes agree."""
    if _kind(recorded) != _kind(ours):
        return [f"{path}: recorded {_kind(recorded)}, got {_kind(ours)} ({ours!r:.80})"]
    if isinstance(recorded, dict):
        if list(recorded) != list(ours):
            return [f"{path}: keys {list(ours)} != recorded {list(recorded)}"]
        errors: list[str] = []
        for key in recorded:
            errors += shape_errors(recorded[key], ours[key], f"{path}.{key}")
        return errors
    if isinstance(recorded, list):
        if recorded and not ours:
            return [f"{path}: recorded a non-empty array, got an empty one"]
        if not recorded:
            return []
        errors = []
        compared = 0
        for n, item in enumerate(ours):
            candidates = recorded
            if isinstance(item, dict) and "status" in item:  # list items: same status recorded
                candidates = [r for r in recorded if r.get("status") == item["status"]]
                if not candidates:
                    continue
            compared += 1
            attempts = [shape_errors(c, item, f"{path}[{n}]") for c in candidates]
            if all(attempts):
                errors += min(attempts, key=len)
        if not compared:
            errors.append(f"{path}: no item could be compared with the recording")
        return errors
    return []


class IdMap:
    """Recorded ids -> ids the local server made; unknown recorded ids -> the root page."""

    def __init__(self, fallback: str | None) -> None:
        self.fallback = fallback  # None: unknown recorded ids stay as recorded
        self.known: dict[str, str] = {}

    @staticmethod
    def _key(some_id: str) -> str:
        return some_id.replace("-", "").lower()

    def learn(self, recorded, ours) -> None:
        if isinstance(recorded, dict) and isinstance(ours, dict):
            if recorded.get("object") == "list":
                return  # results are different items, nothing to pair
            for key, value in recorded.items():
                if key == "request_id":
                    continue
                other = ours.get(key)
                if key.endswith("id") and isinstance(value, str) and isinstance(other, str):
                    if UUID_RE.fullmatch(value):
                        self.known.setdefault(self._key(value), other)
                else:
                    self.learn(value, other)
        elif isinstance(recorded, list) and isinstance(ours, list):
            for a, b in zip(recorded, ours, strict=False):
                self.learn(a, b)

    def substitute(self, text: str) -> str:
        def swap(match: re.Match) -> str:
            found = match.group(0)
            key = self._key(found)
            if key not in self.known and (key == "0" * 32 or key[16] not in "89ab"):
                return found  # the nil uuid and malformed ones are sent as recorded
            ours = self.known.get(key, self.fallback)
            if ours is None:
                return found
            return ours if "-" in found else ours.replace("-", "")

        return UUID_RE.sub(swap, text)


# ---------------------------------------------------------------------------------------------
# the replay


def _cassette_names() -> list[str]:
    return sorted(p.name for p in CASSETTES.glob("*.yaml"))


@pytest.fixture
def server():
    srv = LocalNotion(ServerOptions(seed=1))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _seed_uploads(srv: LocalNotion, session: requests.Session) -> None:
    """Uploads in every state the list recordings show: expired, uploaded, pending (newest)."""
    made = []
    for name in ("old_expired.txt", "uploaded.txt"):
        r = session.post(
            f"{srv.url}/v1/file_uploads",
            json={"mode": "single_part", "filename": name, "content_type": "text/plain"},
        )
        made.append(r.json()["id"])
        r = session.post(
            f"{srv.url}/v1/file_uploads/{made[-1]}/send",
            files={"file": (name, b"This is test file content", "text/plain")},
        )
        assert r.status_code == 200, r.text
    srv.expire_upload(made[0])
    for n in range(6):
        r = session.post(
            f"{srv.url}/v1/file_uploads",
            json={"filename": f"pending_{n}.txt", "content_type": "text/plain"},
        )
        assert r.status_code == 200, r.text


def _session(server: LocalNotion) -> requests.Session:
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {server.token}", "Notion-Version": "2025-09-03"}
    )
    return session


def test_every_cassette_is_replayed_or_listed() -> None:
    names = _cassette_names()
    assert len(names) >= 15
    for name, index in OUT_OF_SCOPE:
        assert name in names, f"OUT_OF_SCOPE names a missing cassette: {name}"
        assert index < len(read_cassette(CASSETTES / name))


def _recorded(response: dict) -> tuple[int, str]:
    """Status and body of a recorded response (vcrpy's two cassette layouts)."""
    if "status_code" in response:
        return response["status_code"], response["content"]
    return response["status"]["code"], response["body"]["string"]


def _replay(
    server: LocalNotion,
    session: requests.Session,
    name: str,
    interactions: list[dict],
    ids: IdMap,
    out_of_scope: dict | None = None,
) -> None:
    for index, interaction in enumerate(interactions):
        request, response = interaction["request"], interaction["response"]
        where = f"{name}[{index}] {request['method']} {request['uri']}"
        split = urlsplit(request["uri"])
        path = ids.substitute(split.path + (f"?{split.query}" if split.query else ""))
        body = request.get("body") or ""
        headers = {k.lower(): v[0] for k, v in (request.get("headers") or {}).items()}
        send_headers = {"Notion-Version": headers.get("notion-version", "2025-09-03")}
        if "content-type" in headers:
            send_headers["Content-Type"] = headers["content-type"]
        status, recorded_body = _recorded(response)
        if status == 401:  # recorded with a bad token: send the recorded (redacted) value
            send_headers["Authorization"] = headers["authorization"]
        if headers.get("content-type", "").startswith("application/json"):
            body = ids.substitute(body)  # (a multipart boundary looks like an id: leave it)
        answer = session.request(
            request["method"],
            server.url + path,
            data=body.encode("utf-8") if body else None,
            headers=send_headers,
        )
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8", where
        ours = answer.json()
        reason = (out_of_scope or {}).get((name, index))
        if reason is not None:
            assert answer.status_code == 400, f"{where}: {reason}"
            assert ours["code"] == "validation_error", f"{where}: {reason}"
            continue
        assert answer.status_code == status, f"{where}: {answer.text}"
        recorded = json.loads(recorded_body)
        errors = shape_errors(recorded, ours)
        assert not errors, f"{where}:\n" + "\n".join(errors)
        assert re.fullmatch(r"[0-9a-f-]{36}", ours["request_id"]), where
        ids.learn(recorded, ours)


@pytest.mark.parametrize("name", _cassette_names() or ["(none)"])
def test_replay_matches_recorded_shapes(name: str, server: LocalNotion) -> None:
    interactions = read_cassette(CASSETTES / name)
    assert interactions, name
    session = _session(server)
    ws = server.ensure_workspace()
    _seed_uploads(server, session)
    _replay(server, session, name, interactions, IdMap(ws.root_page_id), OUT_OF_SCOPE)
    assert not server.errors, server.errors[-1]


def test_shape_errors_reports_differences() -> None:
    assert shape_errors({"a": 1, "b": [1]}, {"a": 2, "b": [3]}) == []
    assert shape_errors({"a": 1}, {"a": "1"})
    assert shape_errors({"a": 1, "b": 2}, {"b": 2, "a": 1})  # order matters
    assert shape_errors({"a": None}, {"a": {}})
    assert shape_errors([{"status": "x", "k": 1}], [{"status": "x", "k": None}])


# ---------------------------------------------------------------------------------------------
# more-recordings/: newer real recordings (see its README.md for the facts they show)

MORE = CASSETTES.parent / "more-recordings"
RUBY = MORE / "notion_ruby_mapping"

# more-recordings VCR cassettes, each replayed after its setup (recorded ids -> ours)
MORE_VCR = (
    "notion-sdk-py/test_api_response_error_additional_data.yaml",
    "notion-sdk-py/test_build_request_error_integration.yaml",
    "ultimate-notion/test_upload_invalid_page_uuid.yaml",
    "ultimate-notion/test_get_page_by_id.yaml",
)

# notion_ruby_mapping recordings the sandbox does not cover, and why (each is still refused)
RUBY_OUT_OF_SCOPE = {
    "create_file_upload_external_url": "external_url uploads (the sandbox fetches no URLs)",
    "retrieve_a_file_upload": "an external_url upload after its import (cannot exist: 404)",
    "retrieve_block_unpermitted_block": "GET /v1/blocks/{id} is not implemented",
    "retrieve_property_files_internal": "GET /v1/pages/{id}/properties/{id} is not implemented",
    "update_block_file_file_upload": "blocks are not implemented",
    "update_block_image_file_upload": "blocks are not implemented",
    "update_block_pdf_file_upload": "blocks are not implemented",
    "update_block_video_file_upload": "blocks are not implemented",
    "update_page_set_cover_file_upload": "file covers are not implemented",
    "update_page_set_icon_file_upload": "file icons are not implemented",
}
# older error recordings: keys Notion added since (2026 404s carry additional_data)
RUBY_ADDED_SINCE = {
    "retrieve_page_unpermitted_page": ("additional_data",),  # 2025-09
    "retrieve_data_source_unpermitted_data_source": ("additional_data",),  # 2026-01
    "retrieve_database_unpermitted_database": ("additional_data", "request_id"),  # 2022
}


def _more_vcr_setup(name: str, srv: LocalNotion, session: requests.Session) -> IdMap:
    ws = srv.ensure_workspace()
    if name != "ultimate-notion/test_get_page_by_id.yaml":
        return IdMap(None)
    child = session.post(
        f"{srv.url}/v1/pages",
        json={
            "parent": {"page_id": ws.root_page_id},
            "properties": {"title": {"title": [{"text": {"content": "Getting Started"}}]}},
        },
    )
    assert child.status_code == 200, child.text
    ids = IdMap(None)  # the third page is unknown to both
    ids.known[IdMap._key("00000000-0000-4000-8000-000000000001")] = ws.root_page_id
    ids.known[IdMap._key("00000000-0000-4000-8000-000000000002")] = child.json()["id"]
    return ids


@pytest.mark.parametrize("name", MORE_VCR)
def test_more_vcr_recordings_replay(name: str, server: LocalNotion) -> None:
    session = _session(server)
    ids = _more_vcr_setup(name, server, session)
    _replay(server, session, name, read_cassette(MORE / name), ids)
    assert not server.errors, server.errors[-1]


def _curl(text: str) -> dict:
    """Method, path, headers, JSON body and form fields of a recorded curl command."""
    words = shlex.split(text.replace("\\\n", " "), comments=True)
    assert words[0] == "curl", words
    out: dict = {"method": None, "url": None, "headers": {}, "data": None, "form": []}
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("--request", "-X"):
            out["method"] = words[i + 1]
            i += 2
        elif word == "--url":
            out["url"] = words[i + 1]
            i += 2
        elif word in ("-H", "--header"):
            key, _, value = words[i + 1].partition(":")
            out["headers"][key.strip().lower()] = value.strip()
            i += 2
        elif word in ("--data", "-d"):
            out["data"] = words[i + 1]
            i += 2
        elif word in ("-F", "--form"):
            out["form"].append(words[i + 1].partition("="))
            i += 2
        else:
            out["url"] = word
            i += 1
    out["method"] = out["method"] or ("POST" if out["data"] or out["form"] else "GET")
    return out


def _ruby(name: str) -> tuple[dict, dict]:
    """The curl command as it stood when `name` was recorded, and the recorded answer."""
    command = _curl((RUBY / f"{name}.at-recording.sh").read_text(encoding="utf-8"))
    return command, json.loads((RUBY / f"{name}.json").read_text(encoding="utf-8"))


def _send_ruby(
    srv: LocalNotion, session: requests.Session, name: str, ids: IdMap, file_sizes=None
) -> tuple[requests.Response, dict]:
    command, recorded = _ruby(name)
    path = ids.substitute(urlsplit(command["url"]).path)
    headers = {"Notion-Version": command["headers"]["notion-version"]}
    kwargs: dict = {}
    if command["data"] is not None:
        headers["Content-Type"] = "application/json"
        kwargs["data"] = ids.substitute(command["data"]).encode("utf-8")
    if command["form"]:
        files, fields = {}, {}
        for key, _, value in command["form"]:
            if value.startswith("@"):
                filename = value[1:].rsplit("/", 1)[-1]
                ctype = "image/png" if filename.endswith(".png") else "application/octet-stream"
                files[key] = (filename, b"\0" * file_sizes[name], ctype)  # curl's types
            else:
                fields[key] = value
        kwargs["files"], kwargs["data"] = files, fields
    answer = session.request(command["method"], srv.url + path, headers=headers, **kwargs)
    return answer, recorded


def _check_ruby(answer: requests.Response, recorded: dict, name: str, ignore=()) -> dict:
    status = recorded["status"] if recorded.get("object") == "error" else 200
    assert answer.status_code == status, f"{name}: {answer.text}"
    ours = answer.json()
    compared = {k: v for k, v in ours.items() if k not in ignore}
    errors = shape_errors(recorded, compared)
    assert not errors, f"{name}:\n" + "\n".join(errors)
    return ours


def _minute(stamp: str) -> datetime:
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert (when.second, when.microsecond) == (0, 0), stamp
    return when


def test_every_ruby_recording_is_replayed_or_listed() -> None:
    names = sorted(p.name[: -len(".json")] for p in RUBY.glob("*.json"))
    covered = {
        "create_file_upload_video",
        "upload_file_video1",
        "upload_file_video2",
        "complete_a_file_upload",
        "create_file_upload_image",
        "upload_file_image",
        "update_page_set_file_property_file_upload",
        "retrieve_page_file_upload",
        "retrieve_page_wrong_format",
        "retrieve_data_source_wrong_format",
        "retrieve_page_unpermitted_page",
        "retrieve_data_source_unpermitted_data_source",
        "retrieve_database_unpermitted_database",
    }
    assert set(names) == covered | set(RUBY_OUT_OF_SCOPE)


def test_ruby_multi_part_flow_matches_the_recording(server: LocalNotion) -> None:
    session = _session(server)
    ids = IdMap(None)
    sizes = {"upload_file_video1": 10485760, "upload_file_video2": 11916526 - 10485760}
    answer, recorded = _send_ruby(server, session, "create_file_upload_video", ids)
    created = _check_ruby(answer, recorded, "create_file_upload_video")
    ids.learn(recorded, created)
    assert "complete_url" not in created and created["number_of_parts"] == {"total": 2, "sent": 0}
    assert created["content_type"] == "application/mp4"  # inferred from .mp4
    start = _minute(created["created_time"])
    assert _minute(created["expiry_time"]) - start == timedelta(hours=1)
    for name in ("upload_file_video1", "upload_file_video2"):
        answer, recorded = _send_ruby(server, session, name, ids, sizes)
        ours = _check_ruby(answer, recorded, name)
        assert ours["content_length"] == recorded["content_length"]  # a running total
        assert ours["status"] == "pending" and ours["expiry_time"] == created["expiry_time"]
    answer, recorded = _send_ruby(server, session, "complete_a_file_upload", ids)
    done = _check_ruby(answer, recorded, "complete_a_file_upload")
    assert done["expiry_time"] == created["expiry_time"] and done["status"] == "uploaded"
    assert not server.errors, server.errors[-1]


def test_ruby_files_property_flow_matches_the_recording(server: LocalNotion) -> None:
    session = _session(server)
    ws = server.ensure_workspace()
    ids = IdMap(None)
    answer, recorded = _send_ruby(server, session, "create_file_upload_image", ids)
    ids.learn(recorded, _check_ruby(answer, recorded, "create_file_upload_image"))
    sizes = {"upload_file_image": 15369}
    answer, recorded = _send_ruby(server, session, "upload_file_image", ids, sizes)
    sent = _check_ruby(answer, recorded, "upload_file_image")
    assert (sent["filename"], sent["content_type"]) == (recorded["filename"], "image/png")
    # the recorded page: a data source with a title (名前) and a files property
    db = session.post(
        f"{server.url}/v1/databases",
        json={
            "parent": {"page_id": ws.root_page_id},
            "initial_data_source": {"properties": {"名前": {"title": {}}, "files": {"files": {}}}},
        },
    ).json()
    page = session.post(
        f"{server.url}/v1/pages",
        json={
            "parent": {"data_source_id": db["data_sources"][0]["id"]},
            "properties": {"名前": {"title": [{"text": {"content": "File upload page"}}]}},
        },
    ).json()
    _, recorded_page = _ruby("update_page_set_file_property_file_upload")
    ids.known[IdMap._key(recorded_page["id"])] = page["id"]
    for name in ("update_page_set_file_property_file_upload", "retrieve_page_file_upload"):
        answer, recorded = _send_ruby(server, session, name, ids)
        assert answer.status_code == 200, f"{name}: {answer.text}"
        ours = answer.json()
        # the page around it differs (file cover and icon, older key orders): compare the item
        errors = shape_errors(recorded["properties"]["files"], ours["properties"]["files"])
        assert not errors, f"{name}:\n" + "\n".join(errors)
        (item,) = ours["properties"]["files"]["files"]
        assert item["name"] == "test.png"  # the name given when attaching ...
        assert item["file"]["url"].rsplit("/", 1)[-1] == "ErSxuLeq.png-medium.png"  # ... not here
        assert ours["parent"] == {
            "type": "data_source_id",
            "data_source_id": db["data_sources"][0]["id"],
            "database_id": db["id"],
        }
    assert not server.errors, server.errors[-1]


@pytest.mark.parametrize(
    "name",
    [
        "retrieve_page_wrong_format",
        "retrieve_data_source_wrong_format",
        "retrieve_page_unpermitted_page",
        "retrieve_data_source_unpermitted_data_source",
        "retrieve_database_unpermitted_database",
    ],
)
def test_ruby_error_recordings(name: str, server: LocalNotion) -> None:
    session = _session(server)
    server.ensure_workspace()
    answer, recorded = _send_ruby(server, session, name, IdMap(None))
    ours = _check_ruby(answer, recorded, name, RUBY_ADDED_SINCE.get(name, ()))
    assert ours["code"] == recorded["code"]
    recorded_words = recorded["message"].removesuffix(" your integration.")
    assert ours["message"].startswith(recorded_words), (ours["message"], recorded["message"])
    if ours["status"] == 404:
        assert set(ours["additional_data"]) == {"integration_id"}


@pytest.mark.parametrize("name", sorted(RUBY_OUT_OF_SCOPE))
def test_ruby_recordings_out_of_scope_are_refused(name: str, server: LocalNotion) -> None:
    session = _session(server)
    server.ensure_workspace()
    made = session.post(
        f"{server.url}/v1/file_uploads", json={"filename": "a.png", "content_type": "image/png"}
    ).json()
    ids = IdMap(None)
    command, _ = _ruby(name)
    for found in UUID_RE.findall(command["url"]):  # the page (or block) it names: the root page
        ids.known.setdefault(IdMap._key(found), server.ensure_workspace().root_page_id)
    for found in UUID_RE.findall(command["data"] or ""):  # the file upload it attaches
        ids.known.setdefault(IdMap._key(found), made["id"])
    answer, _ = _send_ruby(server, session, name, ids)
    why = f"{name} ({RUBY_OUT_OF_SCOPE[name]}): {answer.text}"
    if name == "retrieve_a_file_upload":
        assert answer.status_code == 404, why
        return
    assert answer.status_code == 400, why
    assert answer.json()["code"] in ("validation_error", "invalid_request_url"), why
