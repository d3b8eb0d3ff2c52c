"""The application layer: what each command does, minus parsing and rendering.

push, resume, pending, ls, pull and verify as plain functions that take typed settings and a
listener of events, and return results (or raise the core's errors). The command line and the
Python API (`notion_up.push`, ...) both call these.
"""
