"""`notion-up config show|set|init`: the configuration file and the effective settings."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer

from notion_up.cli.options import PanelCommand, Profile
from notion_up.cli.output import errors_to_exit
from notion_up.config import (
    PROFILE_KEYS,
    check_token,
    config_dir,
    init_config,
    resolve,
    set_profile_value,
)

config_commands = typer.Typer(
    help="Show the effective settings, or write the config file "
    "($XDG_CONFIG_HOME/notion-up/config.toml, kept 0600).",
    short_help="Show or write the settings (config file).",
    no_args_is_help=True,
)


@config_commands.command("show", cls=PanelCommand, short_help="Print each setting and its source.")
def show(
    profile: Profile = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Print each effective setting, its value (token redacted) and where it came from."""
    with errors_to_exit(False, listing=True):
        settings = resolve({}, profile=profile)
        for warning in settings.warnings:
            print(f"notion-up: warning: {warning}", file=sys.stderr, flush=True)
        rows = settings.describe()
        if as_json:
            print(
                json.dumps(
                    {
                        "config_file": str(settings.config_path),
                        "profile": settings.profile,
                        "settings": {
                            n: {"value": _json_value(settings, n, v), "source": s}
                            for n, v, s in rows
                        },
                    }
                )
            )
            return
        print(f"# config file: {settings.config_path} (profile: {settings.profile or 'none'})")
        width = max(len(n) for n, _, _ in rows)
        for name, value, source in rows:
            print(f"{name:<{width}}  {value or '-'}  ({source})")


def _json_value(settings, name: str, shown: str) -> object:  # noqa: ANN001 - Settings
    """A number as a number (`workers`, `part_size`, `rate`); anything else as shown."""
    setting = settings.values.get(name)
    value = setting.value if setting is not None else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return shown or None


@config_commands.command("set", cls=PanelCommand, short_help="Set one key of a profile.")
def set_value(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="One of: " + ", ".join(PROFILE_KEYS) + ".")
    ],
    value: Annotated[
        str,
        typer.Argument(
            metavar="VALUE",
            help="The value (part_size takes units: 10MiB); for the token, `-` reads it from "
            "standard input or a prompt, out of sight of other users.",
        ),
    ],
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            metavar="NAME",
            show_default=False,
            help="Profile to change (created if missing). Default: default.",
        ),
    ] = "default",
) -> None:
    """Set one key of a profile in the config file (created 0600 when missing)."""
    with errors_to_exit(False):
        path = config_dir() / "config.toml"
        if key == "token":
            if value == "-":
                value = _read_token()
            else:
                print(
                    "notion-up: warning: a token on the command line is visible to other users "
                    "(ps); next time use `notion-up config set token -`",
                    file=sys.stderr,
                )
            value = check_token(value, "config set")
        set_profile_value(path, profile, key, value)
        shown = "(redacted)" if key == "token" else value
        print(f"set {key} = {shown} in profile {profile} of {path}", file=sys.stderr, flush=True)


def _read_token() -> str:
    """The token from a prompt (no echo) on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return getpass.getpass("Notion token: ")
    return sys.stdin.readline()


@config_commands.command("init", cls=PanelCommand, short_help="Create an empty config file (0600).")
def init() -> None:
    """Create an empty config file (0600) with a `default` profile; never overwrites one.

    Run again, it leaves the file as it is, says so, and succeeds.
    """
    with errors_to_exit(False):
        path = config_dir() / "config.toml"
        if path.exists():
            print(f"notion-up: {path} exists already; kept as it is", file=sys.stderr, flush=True)
        else:
            init_config(path)
        print(path)


def register(commands: typer.Typer) -> None:
    """Add the `config` command group to the command line."""
    commands.add_typer(config_commands, name="config")
