"""The options several commands share: one definition, the same names and environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Database = Annotated[
    str | None,
    typer.Option(
        "--database", help="File database id (or data source id). Env NOTION_UP_DATABASE."
    ),
]
Index = Annotated[
    str | None,
    typer.Option("--index", help="Global index database id. Env NOTION_UP_INDEX."),
]
ApiUrl = Annotated[str | None, typer.Option("--api-url", help="API base URL. Env NOTION_API_URL.")]
StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", help="Where the journal lives. Env NOTION_UP_STATE_DIR."),
]
Profile = Annotated[
    str | None, typer.Option("--profile", help="Profile of the config file. Env NOTION_UP_PROFILE.")
]
Sandbox = Annotated[
    bool,
    typer.Option("--sandbox", help="Use the built-in local server and its ready-made databases."),
]
Rate = Annotated[
    float | None,
    typer.Option("--rate", help="Requests per second for the whole run (0 = no limit). Default 3."),
]
Workers = Annotated[
    int | None, typer.Option("--workers", "-w", help="Parts sent at once. Default 4.", min=1)
]
JsonOut = Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show nothing but errors.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Say more on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
