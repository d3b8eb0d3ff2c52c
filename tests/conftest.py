"""Shared fixtures: an isolated home for every test, the local server, the real command.

Plain helpers (run_cli, Sandbox, sizes, rich text, ...) are in tests/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import NOTION_VARS, Planter, Sandbox, Workspace


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own config, state and data folders, and no Notion settings."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    for var in NOTION_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """The built-in Notion-compatible server on a free loopback port, rate limit off."""
    from notion_up.sandbox import LocalNotion, ServerOptions

    server = LocalNotion(ServerOptions(seed=1), state_dir=tmp_path / "server")
    url = server.start()
    ws = server.ensure_workspace()
    try:
        yield Sandbox(
            server,
            url,
            server.token,
            ws.files_database_id,
            ws.index_database_id,
            ws.files_data_source_id,
            ws.index_data_source_id,
        )
    finally:
        server.stop()


@pytest.fixture
def planter(sandbox: Sandbox) -> Planter:
    """Plants rows in the sandbox's file database."""
    return Planter(sandbox)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """The in-process server, with a client (no rate limit, fast retries) and its databases."""
    from notion_up.notion.client import NotionClient
    from notion_up.notion.retry import RateLimiter, RetryPolicy
    from notion_up.notion.workspace import load_facts
    from notion_up.sandbox import LocalNotion, ServerOptions

    server = LocalNotion(ServerOptions(seed=7), state_dir=tmp_path / "server")
    url = server.start()
    made = server.ensure_workspace()
    client = NotionClient(
        server.token, url, limiter=RateLimiter(rate=0), policy=RetryPolicy(base=0.001)
    )
    facts = load_facts(client, made.files_database_id, made.index_database_id)
    try:
        yield Workspace(server, client, facts.databases, facts.max_file_size)
    finally:
        server.stop()
