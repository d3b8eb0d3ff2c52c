"""Shared fixtures: an isolated home for every test, the local server, the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

NOTION_VARS = (
    "NOTION_TOKEN",
    "NOTION_TOKEN_FILE",
    "NOTION_UP_DATABASE",
    "NOTION_UP_INDEX",
    "NOTION_API_URL",
    "NOTION_UP_PROFILE",
    "NOTION_UP_WORKERS",
    "NOTION_UP_PART_SIZE",
    "NOTION_UP_RATE",
    "NOTION_UP_STATE_DIR",
    "NOTION_UP_SERVICE_URL",
)


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


@dataclass
class Sandbox:
    """A running local server with its workspace."""

    server: object
    url: str
    token: str
    files_database_id: str
    index_database_id: str
    files_data_source_id: str
    index_data_source_id: str

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for the real command pointed at this server."""
        env = {k: v for k, v in os.environ.items() if k not in NOTION_VARS}
        env.update(
            NOTION_API_URL=self.url,
            NOTION_TOKEN=self.token,
            NOTION_UP_DATABASE=self.files_database_id,
            NOTION_UP_INDEX=self.index_database_id,
        )
        env.update(extra)
        return env


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


def cli_runner():
    """typer's CliRunner with stdout and stderr apart, on every click the project allows.

    click before 8.2 mixes stderr into stdout unless asked not to; 8.2 dropped the argument.
    """
    from typer.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def run_cli(
    args: list[str],
    env: dict[str, str],
    stdin: bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run the real `notion-up` command (python -m notion_up) in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "notion_up", *args],
        input=stdin,
        env=env,
        capture_output=True,
        timeout=timeout,
    )


class Planter:
    """Rows planted straight in a sandbox's file database (thousands in a second)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @staticmethod
    def row(name: str, size: int = 0, *, visible: bool = True, files: list | None = None) -> dict:
        """A file-database row as the service writes it (no upload attached by default)."""
        import hashlib

        def text(value: str) -> list[dict]:
            return [{"type": "text", "text": {"content": value}}]

        salt = hashlib.sha256(name.encode()).hexdigest()
        return {
            "filename": {"title": text(name)},
            "filesize": {"number": size},
            "filehash": {"rich_text": text(hashlib.sha512(salt.encode()).hexdigest())},
            "salt": {"rich_text": text(salt)},
            "file_data": {"files": files or []},
            "is_visible": {"checkbox": visible},
            "folder_path": {"rich_text": text("/")},
        }

    def plant(self, rows: list[dict], per_minute: int = 100) -> list[str]:
        """Plant `rows`, created from a day ago on, `per_minute` to a minute; their ids."""
        import time

        start = time.time() - 86400
        ds = self.sandbox.files_data_source_id
        return self.sandbox.server.plant_pages(ds, rows, start=start, per_minute=per_minute)


@pytest.fixture
def planter(sandbox: Sandbox) -> Planter:
    """Plants rows in the sandbox's file database."""
    return Planter(sandbox)
