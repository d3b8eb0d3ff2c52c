"""Every command and option of the CLI says what it is for."""

from __future__ import annotations

import typer.main

from notion_up.cli.main import app


def _commands(command, path: str = "notion-up"):
    """(path, command) for the app and every subcommand (typer's click Command objects)."""
    yield path, command
    # typer >= 0.20 vendors click; a group is whatever has subcommands.
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, f"{path} {name}")


def test_every_command_and_option_has_help_text():
    missing = []
    for path, command in _commands(typer.main.get_command(app)):
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if not getattr(param, "help", None) and param.name not in ("help",):
                missing.append(f"{path} {param.opts[0] if param.opts else param.name}")
    assert missing == []


def test_the_walk_sees_the_batch_and_config_commands():
    paths = {path for path, _ in _commands(typer.main.get_command(app))}
    assert {"notion-up push", "notion-up config show", "notion-up config set"} <= paths


def test_root_help_documents_the_exit_codes():
    help_text = typer.main.get_command(app).help or ""
    for code in ("0 all pushed", "4 input", "7 nothing to push", "8 another run", "130"):
        assert code in help_text.replace("\n", " ")
