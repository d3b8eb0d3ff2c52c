"""`notion-up init` and `notion-up sandbox serve`: make the databases, run the local server."""

from __future__ import annotations

import errno
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from notion_up.cli.options import ApiUrl, Debug, PanelCommand, Profile
from notion_up.cli.output import errors_to_exit, load_settings
from notion_up.config import check, data_dir
from notion_up.errors import ConfigError, UsageError

sandbox_app = typer.Typer(
    help="A local Notion-compatible server: try notion-up offline.", no_args_is_help=True
)


def _exports(values: dict[str, str]) -> None:
    for key, value in values.items():
        print(f"export {key}={value}")


def init(
    parent: Annotated[
        str,
        typer.Option(
            "--parent",
            metavar="PAGE",
            help="The page to create the databases under: its id or its Notion link. The page "
            "must be shared with your integration (its ••• menu → Connections).",
        ),
    ],
    api_url: ApiUrl = None,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Create the file database and the global index (the schema push needs) under a page."""
    from notion_up.app.context import connect
    from notion_up.notion.workspace import create_databases

    with errors_to_exit(debug):
        page = check("parent", parent, f"--parent {parent}")
        settings = load_settings(profile, api_url=api_url)
        with connect(settings, sandbox=False) as ctx:
            files_id, index_id = create_databases(ctx.client, page)
        _exports({"NOTION_UP_DATABASE": files_id, "NOTION_UP_INDEX": index_id})


@sandbox_app.command("serve", cls=PanelCommand, short_help="Run the local server.")
def sandbox_serve(
    port: Annotated[
        int,
        typer.Option(
            "--port",
            metavar="N",
            show_default=False,
            help="Port to listen on, 0 for any free one. Default: 8787.",
        ),
    ] = 8787,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            metavar="DIR",
            help="Where the server keeps its workspace and files. "
            "Default: $XDG_DATA_HOME/notion-up/sandbox.",
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Run the local Notion-compatible server in the foreground; prints the export lines."""
    from notion_up.sandbox import LocalNotion, SandboxBusy

    with errors_to_exit(debug):
        server = LocalNotion(state_dir=state or data_dir() / "sandbox", port=port)
        try:
            url = server.start()
        except SandboxBusy as exc:
            raise ConfigError(
                str(exc), hint="stop it first, or pass --state-dir DIR for a sandbox of its own"
            ) from None
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise UsageError(
                f"port {port} is in use (another `notion-up sandbox serve`?)",
                hint="stop that one, or pick another port: --port 8788, or --port 0 for any",
            ) from None
        ws = server.ensure_workspace()
        server.advertise()  # commands run with --sandbox now use this server
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
    app.command("init", cls=PanelCommand, short_help="Create the two databases under a page.")(init)
    app.add_typer(sandbox_app, name="sandbox")
