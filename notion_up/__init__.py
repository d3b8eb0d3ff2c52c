"""notion-up: put files into Notion, in parallel parts, with a hashed record of every one."""

__version__ = "0.1.0"
