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
    int | None, typer.Option("--workers", "-w", help="Parts sent at once. Default 4.")
]
JsonOut = Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show nothing but errors.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Say more on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]

# -- push's batch options ----------------------------------------------------------------
Recursive = Annotated[
    bool, typer.Option("--recursive", "-r", help="Push the files in directories, and below.")
]
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        help="Push only files whose relative path or name matches this glob (repeatable).",
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude", help="Leave out files whose relative path or name matches (repeatable)."
    ),
]
FilesFrom = Annotated[
    str | None,
    typer.Option(
        "--files-from", help="Read the paths to push from FILE, one per line; `-` for stdin."
    ),
]
Null = Annotated[
    bool,
    typer.Option("--null", "-0", help="--files-from is NUL-separated (as from find -print0)."),
]
FollowSymlinks = Annotated[
    bool,
    typer.Option("--follow-symlinks", help="Follow symlinks (otherwise skipped, with a reason)."),
]
SkipExisting = Annotated[
    bool,
    typer.Option(
        "--skip-existing",
        help="Skip files already pushed (same path, size, mtime and SHA-512 in the journal).",
    ),
]
CheckRemote = Annotated[
    bool,
    typer.Option(
        "--check-remote",
        help="With --skip-existing, also skip files whose content is in the file database.",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Say what would be pushed or skipped, and how; write nothing."),
]
LogFilePath = Annotated[
    Path | None,
    typer.Option(
        "--log-file", help="Append timestamped progress, results and errors to this file."
    ),
]
ErrorOnNothing = Annotated[
    bool,
    typer.Option(
        "--error-on-nothing",
        help="Exit 7 when there is nothing to push (every input filtered out or skipped).",
    ),
]
WaitLock = Annotated[
    bool,
    typer.Option(
        "--wait-lock", help="If another run uses the state directory, wait for it (else exit 8)."
    ),
]
