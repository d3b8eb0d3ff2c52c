"""Every command and option of the CLI says what it is for."""

from __future__ import annotations

import pytest
import typer.main

from notion_up.cli.main import commands
from tests.helpers import cli_runner


def _commands(command, path: str = "notion-up"):
    """(path, command) for the root command and every subcommand (typer's click Command objects)."""
    yield path, command
    # typer >= 0.20 vendors click; a group is whatever has subcommands.
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, f"{path} {name}")


def test_every_command_and_option_has_help_text():
    missing = []
    for path, command in _commands(typer.main.get_command(commands)):
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if not getattr(param, "help", None) and param.name not in ("help",):
                missing.append(f"{path} {param.opts[0] if param.opts else param.name}")
    assert missing == []


def test_the_walk_sees_the_batch_and_config_commands():
    paths = {path for path, _ in _commands(typer.main.get_command(commands))}
    assert {"notion-up push", "notion-up config show", "notion-up config set"} <= paths


def test_root_help_documents_the_exit_codes():
    help_text = typer.main.get_command(commands).help or ""
    for code in ("0 all pushed", "4 input", "7 nothing to push", "8 another run", "130"):
        assert code in help_text.replace("\n", " ")


def _help(*args: str, width: int = 80) -> str:
    done = cli_runner().invoke(commands, [*args, "-h"], terminal_width=width)
    assert done.exit_code == 0, done.stdout
    return done.stdout


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(commands)
    return [path.split()[1:] for path, _ in _commands(root)]


def test_dash_h_is_help_everywhere_and_push_comes_first():
    root = _help()
    assert "-h, --help" in root
    commands = root.split("Commands:")[1].split()
    assert commands[0] == "push"
    for path in _command_paths():
        assert "Usage:" in _help(*path)


def test_command_summaries_are_whole_at_80_columns():
    for path in _command_paths():
        text = _help(*path)
        if "Commands:" in text:
            assert "..." not in text.split("Commands:")[1], path


def test_help_has_readable_metavars_and_writes_defaults_one_way():
    for path in _command_paths():
        text = _help(*path, width=200)
        for bad in ("<list[", "<str>", "<int", "<float>", "<path>", "<bool>", "{key}", "range]"):
            assert bad not in text, (path, bad)
        assert "[default:" not in text, path
        assert "Default " not in text.replace("Default: ", ""), path


def test_push_groups_its_options_into_panels():
    text = _help("push", width=120)
    panels = [
        "What to push:",
        "Where (workspace, databases, state):",
        "Speed and memory:",
        "Run:",
        "Output:",
    ]
    positions = [text.index(p) for p in panels]
    assert positions == sorted(positions)
    options = text.index("Arguments:")  # the examples above may name options too
    assert text.index("--skip-existing", options) > text.index("Run:")
    assert text.index("--part-size", options) > text.index("Speed and memory:")


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("pending", ["--sandbox", "--state-dir", "--json"]),
        ("resume", ["--stats", "--log-file", "--verbose", "--no-progress", "--sandbox"]),
        ("push", ["--stats", "--log-file", "--verbose", "--no-progress", "--sandbox"]),
        ("pull", ["--verbose", "--no-progress", "--state-dir", "--sandbox"]),
        ("verify", ["--verbose", "--no-progress", "--state-dir", "--sandbox"]),
        ("ls", ["--state-dir", "--sandbox", "--json"]),
    ],
)
def test_commands_share_the_same_options(command, options):
    text = _help(command, width=200)
    assert [o for o in options if o not in text] == []


@pytest.mark.parametrize("path", _command_paths())
def test_usage_and_arguments_read_as_written_without_braces_or_doubled_dots(path):
    text = _help(*path)
    assert "{" not in text.split("\n\n")[0] and "......" not in text, text


def test_push_help_starts_with_examples():
    text = _help("push")
    examples = text[text.index("Examples:") : text.index("Arguments:")]
    assert "notion-up push report.pdf" in examples and "--sandbox" in examples
