"""Shared databases are hostile input (issue 13): each finding, planted and refused."""

from __future__ import annotations

import http.server
import io
import json
import os
import stat
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from rich.console import Console

from notion_up.cli.logfile import LogFile
from notion_up.cli.output import Output
from notion_up.cli.rows import RichRenderer
from notion_up.config import check_token, resolve, write_private
from notion_up.download.fetch import Fetcher
from notion_up.download.sinks import FileSink, safe_name, target_path
from notion_up.errors import (
    ConfigError,
    FileMissing,
    IntegrityError,
    InvalidRecord,
    MalformedReply,
    ManifestError,
    UsageError,
)
from notion_up.events import DownloadEnded, DownloadStarted
from notion_up.manifest import MAX_PARTS, Manifest, ManifestPart, parse_manifest
from notion_up.notion.client import NotionClient
from notion_up.notion.records import remote_file, salted_hash
from notion_up.notion.retry import RateLimiter, RetryPolicy
from notion_up.sanitize import printable
from notion_up.state.journal import Journal
from notion_up.state.lock import run_lock
from tests.helpers import content, pull_bytes, rich, run_cli

API = "https://api.notion.com"
HEX = "ab" * 32


def plant_index(ws, salted: str, page_id: str) -> str:
    """An index entry, as anyone who can write to the shared index may make one."""
    body = {
        "parent": {"type": "data_source_id", "data_source_id": ws.databases.index_data_source},
        "properties": {
            "Original Filename": {"title": [{"type": "text", "text": {"content": "x"}}]},
            "Salted SHA512 Hash": rich(salted),
            "File Page ID": rich(page_id),
        },
    }
    return ws.client.create_page(body)["id"]


def plant_row(ws, filehash: str, name: str = "bad.bin", **extra) -> str:
    props = {
        "filename": {"title": [{"type": "text", "text": {"content": name}}]},
        "filesize": {"number": 1},
        "filehash": rich(filehash),
        "salt": rich(HEX),
        "file_data": {"files": []},
        "is_visible": {"checkbox": True},
        **extra,
    }
    body = {
        "parent": {"type": "data_source_id", "data_source_id": ws.databases.files_data_source},
        "properties": props,
    }
    return ws.client.create_page(body)["id"]


# -- 1. lookup by hash -----------------------------------------------------------------------
def test_an_index_entry_pointing_a_hash_at_another_page_is_not_believed(ws):
    victim = ws.push_bytes(b"the victim's bytes", "victim.txt")
    attacker = ws.push_bytes(b"the attacker's bytes", "evil.txt")
    plant_index(ws, victim.hash.salted, attacker.file_id)
    # Planted before the real entry, so the query may return it first: neither order is trusted.
    restorer = ws.restorer()
    assert pull_bytes(restorer, victim.hash.salted) == b"the victim's bytes"
    assert restorer.check(victim.hash.salted).status == "verified"


def test_a_hash_whose_only_index_entry_lies_is_missing_not_the_attackers_file(ws):
    attacker = ws.push_bytes(b"the attacker's bytes", "evil.txt")
    wanted = salted_hash("00" * 64, HEX)
    plant_index(ws, wanted, attacker.file_id)
    with pytest.raises(FileMissing):
        ws.restorer().finder.find(wanted)
    assert ws.restorer().check(wanted).status == "missing"


def test_a_file_page_id_that_climbs_the_url_path_is_never_requested(ws):
    wanted = salted_hash("11" * 64, HEX)
    plant_index(ws, wanted, "../../v1/users/me")
    before = ws.client.stats.requests
    with pytest.raises(FileMissing):
        ws.restorer().finder.find(wanted)
    assert ws.client.stats.requests - before == 2  # the two queries, no GET of users/me


def test_a_page_outside_the_file_database_is_not_a_file(ws):
    pushed = ws.push_bytes(b"abc", "a.txt")
    entry = plant_index(ws, pushed.hash.salted, pushed.file_id)
    with pytest.raises(FileMissing, match="not in the file database"):
        ws.restorer().finder.find(entry)


# -- 2. downloads bounded by the recorded size, no decoding ----------------------------------
class _Body:
    """A file host reply: headers, and a body as long as the host likes."""

    def __init__(self, chunks, headers=None, status=200) -> None:
        self.status_code = status
        self.headers = headers or {}
        self._chunks = chunks

    def iter_content(self, size):
        yield from self._chunks

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Host(requests.Session):
    def __init__(self, reply) -> None:
        super().__init__()
        self.reply = reply
        self.headers_seen: list[dict] = []

    def get(self, url, headers=None, **kwargs):  # type: ignore[override]
        self.headers_seen.append(dict(headers or {}))
        return self.reply


def _endless():
    while True:
        yield b"x" * (1024 * 1024)


def test_a_body_longer_than_recorded_fails_at_once_without_writing_past_it(ws):
    pushed = ws.push_bytes(b"nine byte", "nine.txt")
    host = _Host(_Body(_endless()))
    restorer = ws.restorer(session_factory=lambda: host)
    written = bytearray()
    with pytest.raises(IntegrityError, match="more than the 9 bytes"):
        restorer.download(restorer.finder.find(pushed.file_id), written.extend)
    assert len(written) <= 9
    assert host.headers_seen[0]["Accept-Encoding"] == "identity"


def test_a_gzip_encoded_body_is_refused_not_inflated(ws):
    pushed = ws.push_bytes(b"nine byte", "nine.txt")
    host = _Host(_Body(iter([b"\x1f\x8b"]), {"Content-Encoding": "gzip"}))
    restorer = ws.restorer(session_factory=lambda: host)
    with pytest.raises(IntegrityError, match="encoded"):
        restorer.download(restorer.finder.find(pushed.file_id), lambda _b: None)


def test_a_huge_flagged_manifest_is_refused_before_it_is_read(ws):
    pushed = ws.push_bytes(b"{}", "big.file.json")
    restorer = ws.restorer()
    remote = replace(restorer.finder.find(pushed.file_id), size=85_000_000, is_manifest=True)
    with pytest.raises(IntegrityError, match="manifest"):
        restorer.manifest_of(remote)


# -- 3. manifests have limits ----------------------------------------------------------------
def _manifest(parts) -> bytes:
    total = sum(p.size for p in parts)
    return Manifest("a.bin", total, parts).to_bytes()


def test_a_manifest_listing_one_piece_twice_is_refused():
    piece = ManifestPart(
        part_number=1, filename="a.part1", file_id="1" * 32, file_hash="a" * 128, size=10
    )
    again = ManifestPart(
        part_number=2, filename="a.part2", file_id="1" * 32, file_hash="a" * 128, size=10
    )
    with pytest.raises(ManifestError, match="twice"):
        parse_manifest(_manifest([piece, again]))


def test_a_manifest_with_too_many_parts_is_refused():
    body = {
        "original_filename": "a",
        "total_size": 0,
        "parts": [{}] * (MAX_PARTS + 1),
    }
    with pytest.raises(ManifestError, match="more than"):
        parse_manifest(json.dumps(body).encode())


# -- 4. one hostile record does not stop verify --all ----------------------------------------
def test_a_non_ascii_filehash_gives_one_failed_line_and_the_run_goes_on(ws):
    good = [ws.push_bytes(content(100, i), f"good{i}.bin") for i in range(3)]
    plant_row(ws, "é" * 128)
    restorer = ws.restorer()
    items: list = []
    items += list(restorer.finder.list_files(on_rejected=items.append))
    verdicts = restorer.check_many(items, 2, lambda _v: None)
    statuses = sorted(v.status for v in verdicts)
    assert statuses == ["failed", "verified", "verified", "verified"]
    assert {v.file_id for v in verdicts if v.status == "verified"} == {g.file_id for g in good}


def test_malformed_record_values_are_invalid_records_not_crashes():
    base = {
        "id": "0" * 32,
        "created_time": "2026-01-01T00:00:00.000Z",
        "properties": {"filehash": rich("a" * 128), "salt": rich(HEX), "file_data": {}},
    }
    assert remote_file(base).salted == "a" * 128
    bad_values = [
        {"id": "../../v1/users/me"},
        {"properties": {**base["properties"], "filehash": rich("é" * 128)}},
        {"properties": {**base["properties"], "salt": rich("salt with spaces")}},
        {"properties": {**base["properties"], "filesize": {"number": -1}}},
        {"properties": {**base["properties"], "filesize": {"number": True}}},
        {
            "properties": {
                **base["properties"],
                "file_data": {"files": [{"type": "file", "file": {"url": "file:///etc/passwd"}}]},
            }
        },
        {"created_time": "\x1b[2J"},
    ]
    for change in bad_values:
        with pytest.raises(InvalidRecord):
            remote_file({**base, **change})


def test_a_file_url_that_is_not_http_is_refused_not_retried(ws):
    pushed = ws.push_bytes(b"abc", "a.txt")
    restorer = ws.restorer()
    remote = replace(restorer.finder.find(pushed.file_id), url="file:///etc/passwd")
    before = ws.client.stats.requests
    with pytest.raises(IntegrityError, match="not an http"):
        restorer.download(remote, lambda _b: None)
    assert ws.client.stats.requests == before


# -- 5. terminal escapes and rich markup -----------------------------------------------------
def test_control_bidi_and_format_characters_are_escaped():
    assert printable("a\x1b[31mb") == "a\\x1b[31mb"
    assert printable("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert printable("zero\u200bwidth\u2028line\x85") == "zero\\u200bwidth\\u2028line\\x85"
    assert printable("ünïcode ok") == "ünïcode ok"


def test_stdout_lines_are_sanitized(capsys):
    Output(False).line("id  \x1b]8;;https://evil.example/\x07x  \u202ename")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\\u202e" in out


@pytest.mark.parametrize("name", ["[/x]bad.bin", "[link=https://evil.example/]x[/link]"])
def test_names_in_progress_bars_are_shown_literally(name):
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200, emoji=False)
    renderer = RichRenderer(console)
    renderer.start()
    renderer(DownloadStarted(name, 10, 1))
    renderer.live.refresh()
    renderer(DownloadEnded(name, 1))
    renderer.stop()
    shown = buffer.getvalue()
    assert name in shown
    assert "\x1b]8;" not in shown  # no terminal hyperlink


@pytest.mark.slow
def test_ls_escapes_a_planted_name(sandbox):
    hostile = "x\x1b[2J\u202eevil[/x].bin"
    from notion_up.notion.client import NotionClient as Client

    client = Client(sandbox.token, sandbox.url, limiter=RateLimiter(rate=0))
    client.create_page(
        {
            "parent": {"type": "data_source_id", "data_source_id": sandbox.files_data_source_id},
            "properties": {
                "filename": {"title": [{"type": "text", "text": {"content": hostile}}]},
                "filesize": {"number": 1},
                "filehash": rich("c" * 128),
                "salt": rich(HEX),
                "file_data": {"files": []},
                "is_visible": {"checkbox": True},
            },
        }
    )
    done = run_cli(["ls"], sandbox.env())
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "\x1b" not in out and "\u202e" not in out
    assert "x\\x1b[2J\\u202eevil[/x].bin" in out


# -- 6. the token never in an error ----------------------------------------------------------
def test_a_trailing_crlf_is_dropped_and_other_whitespace_refused_without_echo():
    assert check_token("ntn_abc123\r\n", "env NOTION_TOKEN") == "ntn_abc123"
    for bad in ("ntn_ab c", "ntn_ab\tc", "ntn_ab\rc", "ntn_\x1bab"):
        with pytest.raises(ConfigError) as caught:
            check_token(bad, "env NOTION_TOKEN")
        assert bad not in str(caught.value) and "ntn_" not in str(caught.value)


def test_resolve_checks_the_token_from_every_source(tmp_path):
    settings = resolve({}, env={"NOTION_TOKEN": "ntn_secret\r"}, config_path=tmp_path / "none")
    assert settings.token == "ntn_secret"
    with pytest.raises(ConfigError):
        resolve({}, env={"NOTION_TOKEN": "ntn_se cret"}, config_path=tmp_path / "none")


def test_an_unsendable_token_is_never_in_the_clients_error(requests_mock):
    client = NotionClient("ntn_secret\rvalue", API, limiter=RateLimiter(rate=0))
    with pytest.raises(ConfigError) as caught:
        client.users_me()
    assert "ntn_secret" not in str(caught.value)


def test_a_world_readable_token_file_gets_a_warning(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("ntn_filetoken\r\n")
    token_file.chmod(0o644)
    env = {"NOTION_TOKEN_FILE": str(token_file)}
    settings = resolve({}, env=env, config_path=tmp_path / "none")
    assert settings.token == "ntn_filetoken"
    assert any("readable by other users" in w for w in settings.warnings)


@pytest.mark.slow
def test_config_set_token_dash_reads_stdin(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTION")}
    done = run_cli(["config", "set", "token", "-"], env, stdin=b"ntn_fromstdin\r\n")
    assert done.returncode == 0, done.stderr
    config = Path(env["XDG_CONFIG_HOME"]) / "notion-up" / "config.toml"
    assert 'token = "ntn_fromstdin"' in config.read_text()
    assert b"ntn_fromstdin" not in done.stderr


# -- 7. local files never through a planted symlink ------------------------------------------
def test_the_lock_file_does_not_follow_a_planted_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    victim.chmod(0o644)
    state = tmp_path / "state"
    state.mkdir()
    (state / "notion-up.lock").symlink_to(victim)
    with pytest.raises(ConfigError), run_lock(state):
        pass
    assert victim.read_text() == "keep me"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_the_log_file_does_not_follow_a_planted_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "run.log").symlink_to(victim)
    with pytest.raises(UsageError):
        LogFile(tmp_path / "run.log")
    assert victim.read_text() == "keep me"


def test_the_config_file_is_written_without_a_fixed_temp_name(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "config.toml.tmp").symlink_to(victim)
    write_private(tmp_path / "config.toml", "x = 1\n")
    assert victim.read_text() == "keep me"
    assert stat.S_IMODE((tmp_path / "config.toml").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.toml",
        "config.toml.tmp",
        "victim",
    ]


def test_the_journal_and_its_wal_files_are_private(tmp_path):
    os.umask(0o022)
    state = tmp_path / "state"
    journal = Journal(state / "journal.db")
    journal._db.execute("CREATE TABLE IF NOT EXISTS t (x)")
    journal._db.execute("INSERT INTO t VALUES (1)")
    journal._db.commit()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for path in state.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert any(p.name.endswith("-wal") for p in state.iterdir())
    journal.close()


# -- 8. the target of a pull -----------------------------------------------------------------
def test_a_file_appearing_at_the_target_during_download_is_not_replaced(tmp_path):
    target = target_path(str(tmp_path), "a.txt", force=False)
    sink = FileSink(target)
    sink.write(b"downloaded")
    target.write_text("appeared meanwhile")
    with pytest.raises(UsageError, match="appeared"):
        sink.commit()
    assert target.read_text() == "appeared meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_dangling_symlink_at_the_target_is_not_replaced(tmp_path):
    (tmp_path / "a.txt").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="exists"):
        target_path(str(tmp_path), "a.txt", force=False)


def test_names_up_to_255_bytes_can_be_pulled_and_longer_ones_get_a_fallback(tmp_path):
    name = "n" * 251 + ".bin"
    sink = FileSink(target_path(str(tmp_path), safe_name(name, "id"), force=False))
    sink.write(b"x")
    sink.commit()
    assert (tmp_path / name).read_bytes() == b"x"
    long = safe_name("é" * 10_000 + ".tar.gz", "id")
    assert len(long.encode()) <= 255 and long.endswith(".gz")
    assert safe_name("é" * 10_000 + "a", "id") != safe_name("é" * 10_000 + "b", "id")
    sink = FileSink(target_path(str(tmp_path), long, force=False))
    sink.commit()


# -- 9. garbage from the API -----------------------------------------------------------------
def _client(**kwargs) -> NotionClient:
    kwargs.setdefault("policy", RetryPolicy(max_attempts=2, base=0.001))
    return NotionClient("ntn_t", API, limiter=RateLimiter(rate=0), sleep=lambda _s: None, **kwargs)


def test_a_reply_that_is_not_json_is_malformed(requests_mock):
    requests_mock.get(f"{API}/v1/users/me", text="<html>proxy error</html>")
    with pytest.raises(MalformedReply, match="not JSON") as caught:
        _client().users_me()
    assert caught.value.exit_status == 5
    assert str(caught.value).startswith("Notion's reply was malformed")


@pytest.mark.parametrize(
    "reply",
    [[], {"results": {}}, {"results": [1]}, {"results": [], "next_cursor": 3}],
    ids=["list", "results-object", "results-of-numbers", "cursor-number"],
)
def test_a_query_reply_of_the_wrong_shape_is_malformed(requests_mock, reply):
    requests_mock.post(f"{API}/v1/data_sources/ds/query", json=reply)
    with pytest.raises(MalformedReply):
        _client().query_data_source("ds", {})


def test_a_page_without_an_id_is_malformed(requests_mock):
    requests_mock.post(f"{API}/v1/pages", json={"object": "page"})
    with pytest.raises(MalformedReply, match="'id'"):
        _client().create_page({})


def test_a_query_answering_the_same_cursor_stops(requests_mock):
    requests_mock.post(
        f"{API}/v1/data_sources/ds/query",
        json={"results": [{"id": "r1"}], "has_more": True, "next_cursor": "same"},
    )
    client = _client()
    with pytest.raises(MalformedReply, match="same cursor"):
        list(client.query_all("ds", {}))
    assert requests_mock.call_count == 2


def test_a_file_url_as_api_url_is_refused_not_retried():
    client = NotionClient("ntn_t", "file:///etc", limiter=RateLimiter(rate=0))
    with pytest.raises(ConfigError, match="not an http"):
        client.users_me()
    assert client.stats.requests == 0


class _Trickle(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the handler's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_trickling_reply_is_cut_off_at_the_deadline():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = NotionClient(
            "ntn_t",
            url,
            limiter=RateLimiter(rate=0),
            deadline=0.5,
            policy=RetryPolicy(max_attempts=1),
        )
        started = time.monotonic()
        with pytest.raises(MalformedReply, match="deadline"):
            client.users_me()
        assert time.monotonic() - started < 3
    finally:
        server.shutdown()
        server.server_close()


def test_restorer_lookups_survive_a_garbage_index(requests_mock):
    requests_mock.post(
        f"{API}/v1/data_sources/ix/query",
        json={"results": [{"properties": {"File Page ID": ["not", "a", "property"]}}]},
    )
    requests_mock.post(f"{API}/v1/data_sources/fs/query", json={"results": [{"id": 5}]})
    from notion_up.notion.records import Databases

    restorer = Fetcher(_client(), Databases("fs", "ix", "db"))
    with pytest.raises(FileMissing):
        restorer.finder.find("a" * 128)
