"""`notion-up init`: create the two databases under a page and print the exports for them."""

from __future__ import annotations

from typing import Annotated

import typer

from notion_up.cli.options import ApiUrl, Debug, PanelCommand, Profile
from notion_up.cli.output import errors_to_exit, load_settings
from notion_up.config import check


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
    # Imported here, not at the top: `--help` and the other commands do not load the client.
    from notion_up.app.init import init as run_init

    with errors_to_exit(debug):
        page = check("parent", parent, f"--parent {parent}")
        settings = load_settings(profile, api_url=api_url)
        files_id, index_id = run_init(settings, page)
        print(f"export NOTION_UP_DATABASE={files_id}")
        print(f"export NOTION_UP_INDEX={index_id}")


def register(commands: typer.Typer) -> None:
    """Add `init` to the command line."""
    commands.command("init", cls=PanelCommand, short_help="Create the two databases under a page.")(
        init
    )
