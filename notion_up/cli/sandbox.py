"""`notion-up init` and `notion-up sandbox serve`: make the databases, run the local server."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from notion_up.app.context import connect
from notion_up.cli.options import ApiUrl, Debug, Profile
from notion_up.cli.output import errors_to_exit, load_settings
from notion_up.config import data_dir
from notion_up.notion.workspace import create_databases

sandbox_app = typer.Typer(help="A local Notion-compatible server: try notion-up offline.")


def _exports(values: dict[str, str]) -> None:
    for key, value in values.items():
        print(f"export {key}={value}")


def init(
    parent: Annotated[str, typer.Option("--parent", help="Page id to create the databases under.")],
    api_url: ApiUrl = None,
    debug: Debug = False,
    profile: Profile = None,
) -> None:
    """Create the file database and the global index (the schema push needs) under a page."""
    with errors_to_exit(debug):
        settings = load_settings({"api_url": api_url}, profile)
        with connect(settings, sandbox=False) as ctx:
            files_id, index_id = create_databases(ctx.client, parent)
        _exports({"NOTION_UP_DATABASE": files_id, "NOTION_UP_INDEX": index_id})


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0 = any free).")] = 8787,
    state: Annotated[
        Path | None,
        typer.Option("--state-dir", help="Where the server keeps its workspace and files."),
    ] = None,
    debug: Debug = False,
) -> None:
    """Run the local Notion-compatible server in the foreground; prints the export lines."""
    from notion_up.sandbox import LocalNotion

    with errors_to_exit(debug):
        server = LocalNotion(state_dir=state or data_dir() / "sandbox", port=port)
        url = server.start()
        ws = server.ensure_workspace()
        _exports(
            {
                "NOTION_API_URL": url,
                "NOTION_TOKEN": server.token,
                "NOTION_UP_DATABASE": ws.files_database_id,
                "NOTION_UP_INDEX": ws.index_database_id,
            }
        )
        print(f"# root page for `notion-up init --parent`: {ws.root_page_id}")
        print("# serving; Ctrl-C to stop", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Handled explicitly: a process started in the background inherits SIGINT ignored,
        # and systemd stops services with SIGTERM.
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            server.stop()


def register(app: typer.Typer) -> None:
    """Add `init` and the `sandbox` group to the main app."""
    app.command("init")(init)
    app.add_typer(sandbox_app, name="sandbox")
