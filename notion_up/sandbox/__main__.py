"""`python -m notion_up.sandbox`: see `notion_up.sandbox.command.main`."""

from notion_up.sandbox.command import main

main()
