"""The options several commands share: one definition, the same names, metavars and panels.

Defaults are written one way, in the help text as "Default: X." (settings that may come from
the environment or the config file have no default typer could show).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from notion_up.config import described

# Panels of `--help`, in this order.
WHAT = "What to push"
WHERE = "Where (workspace, databases, state)"
SPEED = "Speed and memory"
RUN = "Run"
OUT = "Output"
PANELS = (WHAT, WHERE, SPEED, RUN, OUT)


class PanelCommand(TyperCommand):
    """A command whose `--help` lists its options by panel (as rich_help_panel names them).

    Plain text: the same in a terminal, a pipe or a man page, with no box drawing.
    """

    def collect_usage_pieces(self, ctx) -> list[str]:  # noqa: ANN001 - click's types
        """`[OPTIONS] FILE_ID_OR_HASH`, `[OPTIONS] [REF...]`: not typer's `{NAME}`."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(_argument(param))
        return pieces

    def format_options(self, ctx, formatter) -> None:  # noqa: ANN001 - click's types
        """Arguments, then each panel's options, then the rest."""
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                panel = "Arguments"
                record = (_argument(param), record[1])
            else:
                panel = getattr(param, "rich_help_panel", None) or "Other options"
            sections.setdefault(panel, []).append(record)
        order = ["Arguments", *PANELS]
        # A command's own panels after the shared ones; "Other options" (--help) last.
        last = {"Other options": 100}
        for name in sorted(
            sections, key=lambda n: order.index(n) if n in order else last.get(n, 99)
        ):
            with formatter.section(name):
                formatter.write_dl(sections[name])


def _argument(param) -> str:  # noqa: ANN001 - a click Argument
    """NAME, NAME... (several), in brackets when optional; rather than typer's `NAME <list>`."""
    shown = param.metavar or str(param.name).upper()
    if param.nargs == -1 and not shown.endswith("..."):
        shown += "..."
    return shown if param.required else f"[{shown}]"


Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        metavar="ID",
        rich_help_panel=WHERE,
        help=described("database"),
    ),
]
Index = Annotated[
    str | None,
    typer.Option(
        "--index",
        metavar="ID",
        rich_help_panel=WHERE,
        help=described("index"),
    ),
]
ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        metavar="URL",
        rich_help_panel=WHERE,
        help=described("api_url"),
    ),
]
StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        metavar="DIR",
        rich_help_panel=WHERE,
        help=described("state_dir"),
    ),
]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        rich_help_panel=WHERE,
        help="Profile of the config file. Env NOTION_UP_PROFILE. Default: default.",
    ),
]
Sandbox = Annotated[
    bool,
    typer.Option(
        "--sandbox",
        rich_help_panel=WHERE,
        help="Use the built-in local server and its ready-made databases.",
    ),
]
Rate = Annotated[
    float | None,
    typer.Option(
        "--rate",
        metavar="N",
        rich_help_panel=SPEED,
        help=described("rate"),
    ),
]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        rich_help_panel=SPEED,
        help=described("timeout"),
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        metavar="N",
        rich_help_panel=SPEED,
        help=described("workers"),
    ),
]
JsonOut = Annotated[
    bool,
    typer.Option("--json", rich_help_panel=OUT, help="One JSON object per file on stdout."),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", rich_help_panel=OUT, help="Show nothing but errors.")
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", rich_help_panel=OUT, help="Say more on stderr (settings, stages)."
    ),
]
Debug = Annotated[
    bool, typer.Option("--debug", rich_help_panel=OUT, help="Show tracebacks for errors.")
]
Stats = Annotated[
    float,
    typer.Option(
        "--stats",
        metavar="SECONDS",
        show_default=False,
        rich_help_panel=OUT,
        help="Seconds between `progress:` lines without bars; 0 for none. Default: 30.",
    ),
]
NoProgress = Annotated[
    bool,
    typer.Option(
        "--no-progress",
        rich_help_panel=OUT,
        help="No bars, even on a terminal: plain lines, as in a pipe.",
    ),
]
LogFilePath = Annotated[
    Path | None,
    typer.Option(
        "--log-file",
        metavar="PATH",
        rich_help_panel=OUT,
        help="Append timestamped progress, results and errors to this file (created 0600).",
    ),
]

# -- push's batch options ----------------------------------------------------------------
Recursive = Annotated[
    bool,
    typer.Option(
        "--recursive", "-r", rich_help_panel=WHAT, help="Push the files in directories, and below."
    ),
]
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        metavar="GLOB",
        rich_help_panel=WHAT,
        help="Push only files whose relative path or name matches (repeatable).",
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="GLOB",
        rich_help_panel=WHAT,
        help="Leave out files whose relative path or name matches (repeatable; wins).",
    ),
]
FilesFrom = Annotated[
    str | None,
    typer.Option(
        "--files-from",
        metavar="FILE",
        rich_help_panel=WHAT,
        help="Read the paths to push from FILE, one per line; `-` for stdin.",
    ),
]
Null = Annotated[
    bool,
    typer.Option(
        "--null",
        "-0",
        rich_help_panel=WHAT,
        help="--files-from is NUL-separated (as from find -print0).",
    ),
]
FollowSymlinks = Annotated[
    bool,
    typer.Option(
        "--follow-symlinks",
        rich_help_panel=WHAT,
        help="Follow symlinks (otherwise skipped, with a reason).",
    ),
]
SkipExisting = Annotated[
    bool,
    typer.Option(
        "--skip-existing",
        rich_help_panel=RUN,
        help="Skip files already pushed (same path, size, mtime and SHA-512 in the journal).",
    ),
]
CheckRemote = Annotated[
    bool,
    typer.Option(
        "--check-remote",
        rich_help_panel=RUN,
        help="With --skip-existing, also skip files whose content is in the file database.",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        rich_help_panel=RUN,
        help="Say what would be pushed or skipped, and how; write nothing.",
    ),
]
ErrorOnNothing = Annotated[
    bool,
    typer.Option(
        "--error-on-nothing",
        rich_help_panel=RUN,
        help="Exit 7 when there is nothing to push (every input filtered out or skipped).",
    ),
]
WaitLock = Annotated[
    bool,
    typer.Option(
        "--wait-lock",
        rich_help_panel=RUN,
        help="If another run uses the state directory, wait for it (else exit 8).",
    ),
]
