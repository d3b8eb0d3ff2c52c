"""The console script's first step: answer `--version` before loading the command line.

Loading typer, click, rich and the commands costs several times Python's own start-up; a
script that asks for the version (or a package manager checking the install) should not pay it.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the `notion-up` console script and of `python -m notion_up`."""
    if sys.argv[1:] == ["--version"]:
        from notion_up.version import __version__

        sys.stdout.write(f"notion-up {__version__}\n")
        return
    from notion_up.cli.main import main as run

    run()
