"""notion-up: put files into Notion, in parallel parts, with a hashed record of every one.

For scripts: `from notion_up import push, pull, verify, ls, resume` (see `notion_up.api`).
They are loaded on first use, so `import notion_up` stays cheap.
"""

from __future__ import annotations

from typing import Any

from notion_up.version import __version__

__all__ = ["__version__", "ls", "pull", "push", "resume", "settings", "verify"]
_API = {"ls", "pull", "push", "resume", "settings", "verify"}


def __getattr__(name: str) -> Any:
    if name in _API:
        from notion_up import api

        return getattr(api, name)
    raise AttributeError(f"module 'notion_up' has no attribute {name!r}")
