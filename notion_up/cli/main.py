"""The command line as typer sees it: the root options and one registration per command group."""

from __future__ import annotations

from typing import Annotated

import typer

from notion_up.cli import config, init, pull, push, resume, sandbox, share
from notion_up.cli.interrupt import exit_on_sigterm
from notion_up.version import __version__

EXIT_TABLE = """Exit codes: 0 all pushed (or skipped), 1 some files failed, 2 usage,
3 configuration or authentication, 4 input not found or unreadable,
5 gave up on temporary errors (retry later), 6 refused by Notion's limits,
7 nothing to push (only with --error-on-nothing), 8 another run holds the state directory's
lock (without --wait-lock), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."""

commands = typer.Typer(
    name="notion-up",
    help="Put files into Notion through the File Upload API and record every one.\n\n" + EXIT_TABLE,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Registration order is the order of `--help`: the main job first.
push.register(commands)
resume.register(commands)
pull.register(commands)
share.register(commands)
config.register(commands)
init.register(commands)
sandbox.register(commands)


def _version(value: bool) -> None:
    if value:
        print(f"notion-up {__version__}")
        raise typer.Exit()


@commands.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """notion-up: files into Notion, hashed and recorded."""


def main() -> None:
    """Entry point of the `notion-up` console script."""
    exit_on_sigterm()
    commands()
