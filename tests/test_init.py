"""`notion-up init` creates the databases push needs; `sandbox serve` runs the local server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from notion_up.notion.records import INDEX_SCHEMA, INIT_FILE_SCHEMA
from tests.helpers import api, run_cli

# Slow: all tests here but one run the real command in a subprocess.
pytestmark = pytest.mark.slow


def _exports(text: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)=(\S+)$", text, re.M))


def test_init_creates_both_databases_with_the_exact_schema_and_push_uses_them(sandbox, tmp_path):
    root = sandbox.server.ensure_workspace().root_page_id
    env = sandbox.env()
    del env["NOTION_UP_DATABASE"], env["NOTION_UP_INDEX"]
    done = run_cli(["init", "--parent", root], env)
    assert done.returncode == 0, done.stderr.decode()
    ids = _exports(done.stdout.decode())
    assert set(ids) == {"NOTION_UP_DATABASE", "NOTION_UP_INDEX"}
    for key, schema in (
        ("NOTION_UP_DATABASE", INIT_FILE_SCHEMA),
        ("NOTION_UP_INDEX", INDEX_SCHEMA),
    ):
        database = api(sandbox, "GET", f"/v1/databases/{ids[key]}")
        source = api(sandbox, "GET", f"/v1/data_sources/{database['data_sources'][0]['id']}")
        assert {n: p["type"] for n, p in source["properties"].items()} == schema
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF")
    pushed = run_cli(["push", "--json", "--rate", "0", str(path)], {**env, **ids})
    assert pushed.returncode == 0, pushed.stderr.decode()
    assert json.loads(pushed.stdout)["name"] == "a.pdf"


def test_the_sandbox_schema_is_the_one_init_creates():
    from notion_up import sandbox

    assert sandbox.FILES_SCHEMA == INIT_FILE_SCHEMA
    assert sandbox.INDEX_SCHEMA == INDEX_SCHEMA


def test_init_under_an_unknown_page_exits_3(sandbox):
    env = sandbox.env()
    done = run_cli(["init", "--parent", "00000000-0000-4000-8000-000000000000"], env)
    assert done.returncode == 3
    assert "not found" in done.stderr.decode()


def test_sandbox_serve_prints_exports_that_push_can_use(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "notion_up", "sandbox", "serve", "--port", "0"]
        + ["--state-dir", str(tmp_path / "srv")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        ids = _exports("".join(lines))
        assert set(ids) == {
            "NOTION_API_URL",
            "NOTION_TOKEN",
            "NOTION_UP_DATABASE",
            "NOTION_UP_INDEX",
        }
        path = tmp_path / "b.txt"
        path.write_text("hello")
        env = {**os.environ, **ids}
        pushed = run_cli(["push", "--json", "--rate", "0", str(path)], env)
        assert pushed.returncode == 0, pushed.stderr.decode()
        assert json.loads(pushed.stdout)["size"] == 5
        assert ids["NOTION_TOKEN"] not in pushed.stdout.decode() + pushed.stderr.decode()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
