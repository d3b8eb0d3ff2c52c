"""What every command needs before it works: a client for the workspace, the journal, the lock."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from notion_up.config import Settings, data_dir, require
from notion_up.errors import ConfigError, UsageError
from notion_up.events import Listener, Notice, ignore
from notion_up.notion.client import NotionClient
from notion_up.notion.retry import RateLimiter
from notion_up.state.journal import Journal
from notion_up.state.private import private_dir

if TYPE_CHECKING:
    from notion_up.sandbox import LocalNotion


@dataclass
class Context:
    """A connected run: its settings, the one client, and which workspace it talks to."""

    settings: Settings
    client: NotionClient
    workspace: str


@contextlib.contextmanager
def connect(
    settings: Settings, sandbox: bool = False, listener: Listener = ignore
) -> Iterator[Context]:
    """A client for the configured workspace, or for the sandbox server started here.

    The context's settings are the ones to use inside: with `sandbox`, a copy pointed at the
    sandbox (the caller's `settings` are not changed).

    A request that keeps the run waiting, and a long wait for Notion's limits, are said to
    `listener` ("waiting for Notion (N s)").
    """
    workspace = workspace_of(settings, sandbox)
    server = None
    if sandbox:
        settings, server = _sandbox(settings)
    try:
        require(settings, "token")
        client = NotionClient(
            str(settings.token),
            settings.api_url,
            limiter=RateLimiter(rate=settings.rate, listener=listener),
            pool_size=settings.workers * 2 + 4,
            timeout=settings.timeout,
            on_notice=lambda text: listener(Notice(text)),
        )
        yield Context(settings, client, workspace)
    finally:
        if server is not None:
            server.stop()


def workspace_of(settings: Settings, sandbox: bool = False) -> str:
    """The workspace a run talks to, as the journal keys its entries: the API URL, or
    "sandbox" (whichever server runs it). Known without a request."""
    return "sandbox" if sandbox else str(settings.api_url)


def _limits_key(ctx: Context) -> str:
    # Notion's per-connection budget belongs to the integration (its token) in a workspace.
    return f"{ctx.workspace} {ctx.client.token_fingerprint}"


def recall_limits(ctx: Context, journal: Journal) -> None:
    """Start the limiter from what earlier runs learned of this workspace's budget."""
    ctx.client.limiter.recall(journal.throttled_ago(_limits_key(ctx)))


def remember_limits(ctx: Context, journal: Journal) -> None:
    """Keep what this run's limiter learned (or that it relaxed) for the next run."""
    limiter = ctx.client.limiter
    if not limiter.unlimited:
        journal.remember_throttle(_limits_key(ctx), limiter.throttled_ago())


def _sandbox(settings: Settings) -> tuple[Settings, LocalNotion | None]:
    """`settings` pointed at the sandbox: the running `sandbox serve`, or a server started here
    (returned, to be stopped). Two servers on one sandbox would disagree, so never a second."""
    for key, flag in (("database", "--database"), ("index", "--index"), ("api_url", "--api-url")):
        given = settings.values.get(key)
        if given is not None and given.source == "flag":
            raise UsageError(
                f"{flag} does not go with --sandbox: the sandbox has its own workspace",
                hint=f"drop {flag} to use the sandbox, or drop --sandbox to use {flag}",
            )
    # Imported here: only --sandbox runs pay for loading the server.
    from notion_up.sandbox import LocalNotion, SandboxBusy, ServerOptions, served

    state = data_dir() / "sandbox"
    note = served(state)
    server = None
    if note is not None:
        url, token = note["url"], str(note.get("token") or ServerOptions().token)
        files_db, index_db = note.get("files_database_id"), note.get("index_database_id")
    else:
        server = LocalNotion(state_dir=state)
        try:
            url = server.start()
        except SandboxBusy as exc:
            raise ConfigError(
                f"{exc}, which is not `sandbox serve`",
                hint="wait for that run to end, or start `notion-up sandbox serve`: commands "
                "run with --sandbox then all use it",
            ) from None
        token = server.token
        ws = server.ensure_workspace()
        files_db, index_db = ws.files_database_id, ws.index_database_id
    sandboxed = {"api_url": url, "token": token, "database": files_db, "index": index_db}
    return settings.overridden(sandboxed, "sandbox"), server


STATE_DIR_HINT = "pass --state-dir DIR (or set NOTION_UP_STATE_DIR) to a folder you can write"


def state_folder(settings: Settings) -> Path:
    """The state directory, created if missing and proved writable, before any request.

    A folder that cannot be made or written is a configuration error naming --state-dir.
    """
    path = settings.state_dir
    try:
        private_dir(path)  # 0700: what was pushed from where is the owner's business
        with tempfile.TemporaryFile(dir=path, prefix=".notion-up-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot use the state folder {path}: {reason}", hint=STATE_DIR_HINT
        ) from None
    return path


def open_journal(settings: Settings) -> Journal:
    """The journal in the state directory."""
    path = state_folder(settings) / "journal.sqlite"
    try:
        return Journal(path)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open the journal {path}: {exc}", hint=STATE_DIR_HINT) from None
