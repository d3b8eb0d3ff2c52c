"""A run's set-up: the reads go side by side, and their answers are kept until Notion
contradicts them (then fetched again, and the step retried once)."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest

from tests.helpers import Sandbox, cli_runner, run_cli

# Slow: all tests here but one run the real command in a subprocess.
pytestmark = pytest.mark.slow

FAST = ["--rate", "0", "--stats", "0"]
SETUP = ("users_me", "retrieve_database", "retrieve_data_source")


def push(sandbox: Sandbox, path: Path, *extra: str):
    done = run_cli(["push", "--json", str(path), *FAST, *extra], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    return [json.loads(x) for x in done.stdout.decode().splitlines()]


def setup_reads(sandbox: Sandbox) -> int:
    counts = sandbox.server.stats()["requests"]
    return sum(sum(counts.get(name, {}).values()) for name in SETUP)


def cached_facts(state: Path) -> list[tuple[str, dict]]:
    with sqlite3.connect(state / "journal.sqlite") as db:
        rows = db.execute("SELECT key, facts FROM workspace_facts").fetchall()
    return [(key, json.loads(facts)) for key, facts in rows]


def rewrite_facts(state: Path, change) -> None:
    """Plant outdated facts in the cache, as if the workspace changed since they were read."""
    ((key, facts),) = cached_facts(state)
    change(facts)
    with sqlite3.connect(state / "journal.sqlite") as db:
        db.execute("UPDATE workspace_facts SET facts = ? WHERE key = ?", (json.dumps(facts), key))


def pages_in(sandbox: Sandbox, data_source: str) -> list[dict]:
    return sandbox.server.query_data_source(data_source, {"page_size": 100})["results"]


def records_of(sandbox: Sandbox, name: str) -> tuple[int, int]:
    pages = pages_in(sandbox, sandbox.files_data_source_id)
    mine = [p for p in pages if name in json.dumps(p["properties"])]
    index = pages_in(sandbox, sandbox.index_data_source_id)
    ids = {p["id"] for p in mine}
    entries = [e for e in index if any(i in json.dumps(e["properties"]) for i in ids)]
    return len(mine), len(entries)


def test_a_cold_run_sends_its_set_up_reads_side_by_side(sandbox, tmp_path):
    sandbox.server.options.latency = 0.3
    (tmp_path / "a.txt").write_bytes(b"a" * 100)
    push(sandbox, tmp_path / "a.txt", "--state-dir", str(tmp_path / "state"))
    assert setup_reads(sandbox) == 5
    # users/me and both databases were asked at once (the rest of a 1-part push is serial).
    assert sandbox.server.stats()["max_in_flight"] >= 3


def test_cached_facts_are_kept_past_ten_minutes(sandbox, tmp_path):
    state = tmp_path / "state"
    (tmp_path / "a.txt").write_bytes(b"a" * 100)
    (tmp_path / "b.txt").write_bytes(b"b" * 100)
    push(sandbox, tmp_path / "a.txt", "--state-dir", str(state))
    with sqlite3.connect(state / "journal.sqlite") as db:
        db.execute("UPDATE workspace_facts SET fetched_at = fetched_at - 86400")
    sandbox.server.reset_stats()
    push(sandbox, tmp_path / "b.txt", "--state-dir", str(state))
    assert setup_reads(sandbox) == 0


def test_a_replaced_data_source_refreshes_the_facts_and_records_the_file_once(sandbox, tmp_path):
    state = tmp_path / "state"
    (tmp_path / "a.txt").write_bytes(b"a" * 100)
    (tmp_path / "b.txt").write_bytes(b"b" * 100)
    push(sandbox, tmp_path / "a.txt", "--state-dir", str(state))
    gone = str(uuid.uuid4())
    rewrite_facts(state, lambda f: f["databases"].update(files_data_source=gone))
    sandbox.server.reset_stats()
    (result,) = push(sandbox, tmp_path / "b.txt", "--state-dir", str(state))
    assert setup_reads(sandbox) == 5  # fetched again, once
    assert records_of(sandbox, "b.txt") == (1, 1)
    pages = pages_in(sandbox, sandbox.files_data_source_id)
    (page,) = [p for p in pages if p["id"] == result["file_id"]]
    assert page["parent"]["data_source_id"] == sandbox.files_data_source_id
    ((_, facts),) = cached_facts(state)
    assert facts["databases"]["files_data_source"] == sandbox.files_data_source_id


def test_a_cached_limit_from_before_an_upgrade_is_checked_again_not_obeyed(sandbox, tmp_path):
    state = tmp_path / "state"
    (tmp_path / "a.txt").write_bytes(b"a" * 100)
    (tmp_path / "b.txt").write_bytes(b"b" * 5000)
    push(sandbox, tmp_path / "a.txt", "--state-dir", str(state))
    rewrite_facts(state, lambda f: f.update(max_file_size=1000))
    (result,) = push(sandbox, tmp_path / "b.txt", "--state-dir", str(state))
    assert result["size"] == 5000
    ((_, facts),) = cached_facts(state)
    assert facts["max_file_size"] != 1000


def test_a_refused_token_with_cached_facts_fails_the_file_once_and_forgets_them(sandbox, tmp_path):
    state = tmp_path / "state"
    (tmp_path / "a.txt").write_bytes(b"a" * 100)
    (tmp_path / "b.txt").write_bytes(b"b" * 100)
    push(sandbox, tmp_path / "a.txt", "--state-dir", str(state))
    rewrite_facts(state, lambda f: f["databases"].update(files_data_source=str(uuid.uuid4())))
    sandbox.server.options.token = "ntn_rotated"  # and the token was revoked meanwhile
    done = run_cli(
        ["push", str(tmp_path / "b.txt"), *FAST, "--state-dir", str(state)], sandbox.env()
    )
    sandbox.server.options.token = sandbox.token
    assert done.returncode == 3, done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()
    assert cached_facts(state) == []


def test_a_cold_push_creates_its_upload_while_the_schemas_are_read_and_records_after(
    sandbox, tmp_path, monkeypatch
):
    from notion_up.cli.main import commands
    from notion_up.notion.client import NotionClient

    created = threading.Event()
    order: list[str] = []
    lock = threading.Lock()
    read_schema = NotionClient.retrieve_data_source
    create = NotionClient.create_file_upload
    create_page = NotionClient.create_page

    def note(what: str) -> None:
        with lock:
            order.append(what)

    def slow_schema(self, data_source_id):
        # Answered only once the create has gone out: a push that waited for this answer
        # before creating would never get here with one.
        seen = created.wait(10)
        reply = read_schema(self, data_source_id)
        note("schema read, create seen" if seen else "schema read, no create")
        return reply

    def creating(self, *args, **kwargs):
        created.set()
        return create(self, *args, **kwargs)

    def recording(self, body):
        note("page")
        return create_page(self, body)

    monkeypatch.setattr(NotionClient, "retrieve_data_source", slow_schema)
    monkeypatch.setattr(NotionClient, "create_file_upload", creating)
    monkeypatch.setattr(NotionClient, "create_page", recording)
    (tmp_path / "a.txt").write_bytes(b"a" * 100)
    result = cli_runner().invoke(
        commands,
        ["push", str(tmp_path / "a.txt"), *FAST, "--state-dir", str(tmp_path / "state")],
        env=sandbox.env(),
    )
    assert result.exit_code == 0, result.stderr
    assert order == ["schema read, create seen"] * 2 + ["page"] * 2  # file page, index entry


def test_a_push_cut_short_before_its_set_up_reads_came_in_is_finished_by_resume(sandbox, tmp_path):
    state = tmp_path / "state"
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"a" * 100)
    b.write_bytes(b"b" * 200)
    push(sandbox, a, "--state-dir", str(state))
    # As a push of b.txt killed at once leaves its row: begun, its databases not yet known.
    info = b.stat()
    with sqlite3.connect(state / "journal.sqlite") as db:
        db.execute(
            "INSERT INTO pushes (name, source_path, size, mtime, mode, part_size, part_count, "
            "upload_id, upload_name, content_type, salt, folder_path, files_data_source, "
            "index_data_source, user_database_id, api_url, state, created_at, updated_at) "
            "SELECT 'b.txt', ?, ?, ?, mode, ?, 1, NULL, 'b.txt', content_type, salt, '/', "
            "'', '', '', api_url, 'created', created_at, updated_at FROM pushes LIMIT 1",
            (str(b), info.st_size, info.st_mtime, info.st_size),
        )
    unset = {k: v for k, v in sandbox.env().items() if k != "NOTION_UP_DATABASE"}
    refused = run_cli(["resume", *FAST, "--state-dir", str(state)], unset)
    assert refused.returncode == 3, refused.stderr.decode()
    assert "NOTION_UP_DATABASE" in refused.stderr.decode()
    done = run_cli(["resume", *FAST, "--state-dir", str(state)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    assert records_of(sandbox, "b.txt") == (1, 1)
