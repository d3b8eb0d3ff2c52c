"""What the tests share: sizes and bytes, the real command, the local server's workspace,
Notion's rich text, and a slow push to interrupt. Fixtures built on these are in conftest.py;
no test module imports another (tests/test_architecture.py checks it)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from notion_up.download.fetch import Fetcher
from notion_up.download.sinks import StreamSink
from notion_up.events import BytesReceived, Retrying
from notion_up.notion.client import NotionClient
from notion_up.notion.records import salted_hash
from notion_up.upload.engine import Uploader
from notion_up.upload.facts import RunFacts
from notion_up.upload.runs import PushResult
from notion_up.upload.source import open_stream

KiB = 1024
MiB = 1024 * KiB
MB = 1000 * 1000

# Every variable notion-up reads: each test starts with none of them set.
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

# File names a shell, a terminal or a naive parser gets wrong.
ODD_NAMES = ["with space.txt", "ünïcødé ☃.txt", "new\nline.txt", "tab\tand 'quote'.txt"]


# -- bytes and files -------------------------------------------------------------------------------
def content(size: int, seed: int = 0) -> bytes:
    """`size` pseudo-random bytes (cheap to make, different per seed)."""
    block = hashlib.shake_256(f"seed {seed}".encode()).digest(min(size, MiB) or 1)
    return (block * (size // len(block) + 1))[:size]


def make_file(path: Path, size: int, seed: int = 0) -> str:
    """Write `size` pseudo-random bytes; return their SHA-512."""
    digest = hashlib.sha512()
    block = hashlib.shake_256(f"{seed}".encode()).digest(MiB)
    with open(path, "wb") as f:
        left = size
        while left:
            piece = block[: min(left, MiB)]
            f.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    """Write each relative path in `files` under `root`, making folders as needed."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def salted(sha512_hex: str, salt: str) -> str:
    """The salted hash computed here, apart from the code under test: sha512(hexdigest + salt)."""
    return hashlib.sha512((sha512_hex + salt).encode()).hexdigest()


# -- Notion's rich text ----------------------------------------------------------------------------
def text(value: str) -> list[dict]:
    """A rich-text array holding `value`, as a title or rich_text property takes it."""
    return [{"type": "text", "text": {"content": value}}]


def rich(value: str) -> dict:
    """A rich_text property value holding `value`."""
    return {"rich_text": text(value)}


def text_of(prop: dict) -> str:
    """The text of a title or rich_text property value, as sent or as Notion returns it."""
    if "type" in prop:  # Notion's answer: {"id", "type", <type>: [... plain_text ...]}
        return "".join(t["plain_text"] for t in prop[prop["type"]])
    (kind,) = prop  # what was sent: the type is the only key
    return "".join(t["text"]["content"] for t in prop[kind])


# -- the local server and the real command ---------------------------------------------------------
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


class Planter:
    """Rows planted straight in a sandbox's file database (thousands in a second)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @staticmethod
    def row(name: str, size: int = 0, *, visible: bool = True, files: list | None = None) -> dict:
        """A file-database row as the service writes it (no upload attached by default)."""
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
        start = time.time() - 86400
        ds = self.sandbox.files_data_source_id
        return self.sandbox.server.plant_pages(ds, rows, start=start, per_minute=per_minute)


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


def run_in_process(sandbox: Sandbox, *args: str, stdin: bytes | None = None):
    """The command line in this process (typer's runner) against `sandbox`, rate limit off."""
    from notion_up.cli.main import commands

    env = {
        "NOTION_API_URL": sandbox.url,
        "NOTION_TOKEN": sandbox.token,
        "NOTION_UP_DATABASE": sandbox.files_database_id,
        "NOTION_UP_INDEX": sandbox.index_database_id,
    }
    return cli_runner().invoke(commands, [*args, "--rate", "0"], input=stdin, env=env)


def push_in_process(sandbox: Sandbox, *args: str, stdin: bytes | None = None) -> dict:
    """`push --json` in this process; the last result line, parsed."""
    result = run_in_process(sandbox, "push", "--json", *args, stdin=stdin)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def api(sandbox: Sandbox, method: str, path: str, **kwargs) -> dict:
    """One request straight to the sandbox's API, as another Notion client would make it."""
    headers = {"Authorization": f"Bearer {sandbox.token}", "Notion-Version": "2025-09-03"}
    response = requests.request(method, sandbox.url + path, headers=headers, timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


def check_recorded(sandbox: Sandbox, line: dict, name: str, size: int, sha512: str) -> None:
    """The upload holds the bytes; page and index entry exist and point at each other."""
    assert sandbox.server.upload_sha512(line["file_upload_id"]) == sha512
    page = api(sandbox, "GET", f"/v1/pages/{line['file_id']}")
    props = page["properties"]
    assert text_of(props["filename"]) == name
    assert props["filesize"]["number"] == size
    assert text_of(props["filehash"]) == line["hash"]
    assert salted_hash(sha512, text_of(props["salt"])) == line["hash"]
    assert [f["name"] for f in props["file_data"]["files"]] == [line["upload_name"]]
    assert props["is_visible"]["checkbox"] is True
    entry = api(sandbox, "GET", f"/v1/pages/{line['index_id']}")
    iprops = entry["properties"]
    assert text_of(iprops["File Page ID"]) == line["file_id"]
    assert text_of(iprops["Salted SHA512 Hash"]) == line["hash"]
    assert text_of(iprops["Original Filename"]) == name
    assert text_of(iprops["User Database ID"]) == sandbox.files_database_id


def count_pages(sandbox: Sandbox, data_source: str, prop: str, value: str) -> int:
    """How many pages of `data_source` have `value` in the rich_text property `prop`."""
    body = {"filter": {"property": prop, "rich_text": {"equals": value}}}
    return len(api(sandbox, "POST", f"/v1/data_sources/{data_source}/query", json=body)["results"])


# -- a slow push, to interrupt ---------------------------------------------------------------------
def journal_parts(state: Path) -> int:
    """Parts the journal in `state` has recorded as sent (0 before it exists)."""
    db = state / "journal.sqlite"
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=5) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM parts").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def start_slow_push(sandbox, tmp_path, size=41 * MiB, bandwidth=3 * MiB, parts_first=1):
    """A real push of a large file over a slow link, once `parts_first` parts are journalled."""
    sandbox.server.options.bandwidth = bandwidth
    path = tmp_path / "video.mov"
    sha512 = make_file(path, size, seed=11)
    state = tmp_path / "state"
    env = sandbox.env(NOTION_UP_STATE_DIR=str(state))
    proc = subprocess.Popen(
        [sys.executable, "-m", "notion_up", "push", "--rate", "0", "-w", "2", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while journal_parts(state) < parts_first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert journal_parts(state) >= parts_first
    return proc, env, sha512


# -- the in-process workspace (the `ws` fixture) ---------------------------------------------------
class Workspace:
    """The in-process server, a client without rate limit, and push/restore helpers."""

    def __init__(self, server, client: NotionClient, databases, max_file_size) -> None:
        self.server = server
        self.client = client
        self.databases = databases
        self.max_file_size = max_file_size

    def uploader(self, **kwargs) -> Uploader:
        facts = RunFacts(self.databases, self.max_file_size)
        return Uploader(self.client, facts, **kwargs)

    def push_bytes(self, data: bytes, name: str) -> PushResult:
        with self.uploader() as up:
            return up.push(open_stream(io.BytesIO(data), name))

    def restorer(self, **kwargs) -> Fetcher:
        kwargs.setdefault("sleep", lambda _s: None)
        return Fetcher(self.client, self.databases, **kwargs)


class Recorder:
    """Keeps what a download reported (a listener of events)."""

    def __init__(self) -> None:
        self.retries: list[str] = []
        self.nbytes = 0

    def __call__(self, event) -> None:
        if isinstance(event, BytesReceived):
            self.nbytes += event.nbytes
        elif isinstance(event, Retrying):
            self.retries.append(event.reason)


def pull_bytes(restorer: Fetcher, key: str) -> bytes:
    """The bytes of the file `key` names, pulled into memory."""
    out = io.BytesIO()
    restorer.restore(restorer.finder.find(key), lambda _name: StreamSink(out))
    return out.getvalue()
