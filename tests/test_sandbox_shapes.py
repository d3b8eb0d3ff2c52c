"""Replay the real notion-sdk-py recordings against the local server and compare JSON shapes.

For every recorded request the server implements, the equivalent request goes to the local server
(ids it created substituted for the recorded ones) and the answer must have the same status, the
same keys in the same order (recursively) and the same JSON value types; ids, timestamps and other
values may differ. Recordings the server deliberately does not support are listed in OUT_OF_SCOPE
with the reason, and the test asserts the server refuses them.

The cassettes live in shared/notion-api/ beside the clone (CI copies shared/ there too).
pyyaml is not a dependency, so a small reader for these VCR files is included.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from notion_up.sandbox import LocalNotion, ServerOptions

CASSETTES = Path(__file__).resolve().parents[1].parent / "shared" / "notion-api"
CASSETTES = CASSETTES / "notion-sdk-py-cassettes"

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
            "n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "/": "/",
            "0": "\0", "b": "\b", "e": "\x1b", " ": " ", "a": "\a",
        }  # fmt: skip
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

    def __init__(self, fallback: str) -> None:
        self.fallback = fallback
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
            ours = self.known.get(self._key(found), self.fallback)
            return ours if "-" in found else ours.replace("-", "")

        return UUID_RE.sub(swap, text)


# ---------------------------------------------------------------------------------------------
# the replay


def _cassette_names() -> list[str]:
    if not CASSETTES.is_dir():
        return []
    return sorted(p.name for p in CASSETTES.glob("*.yaml"))


needs_cassettes = pytest.mark.skipif(
    not CASSETTES.is_dir(),
    reason=f"recordings not found at {CASSETTES} (shared/notion-api must sit beside the clone)",
)


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


@needs_cassettes
def test_every_cassette_is_replayed_or_listed() -> None:
    names = _cassette_names()
    assert len(names) >= 15
    for name, index in OUT_OF_SCOPE:
        assert name in names, f"OUT_OF_SCOPE names a missing cassette: {name}"
        assert index < len(read_cassette(CASSETTES / name))


@needs_cassettes
@pytest.mark.parametrize("name", _cassette_names() or ["(none)"])
def test_replay_matches_recorded_shapes(name: str, server: LocalNotion) -> None:
    interactions = read_cassette(CASSETTES / name)
    assert interactions, name
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {server.token}", "Notion-Version": "2025-09-03"}
    )
    ws = server.ensure_workspace()
    _seed_uploads(server, session)
    ids = IdMap(ws.root_page_id)
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
        status = response["status"]["code"]
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
        reason = OUT_OF_SCOPE.get((name, index))
        if reason is not None:
            assert answer.status_code == 400, f"{where}: {reason}"
            assert ours["code"] == "validation_error", f"{where}: {reason}"
            continue
        assert answer.status_code == status, f"{where}: {answer.text}"
        recorded = json.loads(response["body"]["string"])
        errors = shape_errors(recorded, ours)
        assert not errors, f"{where}:\n" + "\n".join(errors)
        assert re.fullmatch(r"[0-9a-f-]{36}", ours["request_id"]), where
        ids.learn(recorded, ours)
    assert not server.errors, server.errors[-1]


def test_shape_errors_reports_differences() -> None:
    assert shape_errors({"a": 1, "b": [1]}, {"a": 2, "b": [3]}) == []
    assert shape_errors({"a": 1}, {"a": "1"})
    assert shape_errors({"a": 1, "b": 2}, {"b": 2, "a": 1})  # order matters
    assert shape_errors({"a": None}, {"a": {}})
    assert shape_errors([{"status": "x", "k": 1}], [{"status": "x", "k": None}])
