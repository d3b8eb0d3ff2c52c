"""Results on stdout, one line per error on stderr, and the one place errors become exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from notion_up.cli.interrupt import Terminated
from notion_up.cli.logfile import LogFile
from notion_up.config import Settings, resolve
from notion_up.errors import ExitStatus, NotionUpError
from notion_up.notion.records import short_hash
from notion_up.sanitize import printable

if TYPE_CHECKING:
    from notion_up.upload.runs import PushResult


def shown_path(folder_path: str | None, name: str) -> str:
    """`folder/name` within what was pushed (`name` at the top), printable on one line."""
    folder = (folder_path or "/").strip("/")
    # printable: a name with a newline must not break the one-line-per-file contract.
    return printable(f"{folder}/{name}" if folder else name)


def load_settings(profile: str | None, **flags: Any) -> Settings:
    """The effective settings from a command's flags (None: not given; a path as text).

    Their warnings (a config file others can read) go to stderr.
    """
    given = {key: str(value) if isinstance(value, Path) else value for key, value in flags.items()}
    settings = resolve(given, profile=profile)
    for warning in settings.warnings:
        print(f"notion-up: warning: {warning}", file=sys.stderr, flush=True)
    return settings


class Output:
    """Results on stdout (plain or JSON lines); a lock keeps lines whole across threads."""

    def __init__(self, as_json: bool, log: LogFile | None = None) -> None:
        self.as_json = as_json
        self.log = log
        self._lock = threading.Lock()
        # Set when bars are drawn on a terminal: a result line for that same terminal goes
        # above the bars instead of through them.
        self.above: Callable[[str], None] | None = None

    def result(self, result: PushResult, path: str | None = None) -> None:
        """Print one pushed file: `FILE_ID  SHORT_HASH  folder/name` (80 columns), or its JSON
        line with every value in full and the local `path`."""
        if self.as_json:
            self.line(json.dumps({**result.to_json(), "path": path}))
        else:
            shown = shown_path(result.folder_path, result.name)
            self.line(f"{result.file_id}  {short_hash(result.hash.salted)}  {shown}")

    def failure(self, name: str, error: BaseException) -> None:
        """Print one failed file (JSON only; plain failures go to stderr)."""
        if self.as_json:
            self.line(json.dumps({"name": name, "error": str(error)}))

    def line(self, text: str) -> None:
        """Write a line to stdout (as one line: control and format characters escaped)."""
        text = printable(text)
        with self._lock:
            if self.above is not None and sys.stdout.isatty():
                self.above(text)
            else:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            if self.log is not None:
                self.log.line(text)


def fail(exc: BaseException, debug: bool) -> typer.Exit:
    """Print one line for an error and return the Exit carrying its code."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, NotionUpError):
        print(f"notion-up: error: {printable(str(exc))}", file=sys.stderr, flush=True)
        return typer.Exit(int(exc.exit_status))
    print(
        f"notion-up: error: {type(exc).__name__}: {printable(str(exc))}",
        file=sys.stderr,
        flush=True,
    )
    return typer.Exit(int(ExitStatus.FAILED))


@contextlib.contextmanager
def errors_to_exit(debug: bool, listing: bool = False) -> Iterator[None]:
    """Turn core errors into one line on stderr and the right exit code.

    `listing` commands (ls, pending, config show) stop quietly with 0 when the reader of
    stdout has gone (`notion-up ls | head -1`), as Unix tools do; for the others lost results
    are an error.
    """
    try:
        yield
    except typer.Exit:
        raise
    except Terminated:
        print("notion-up: terminated (SIGTERM)", file=sys.stderr, flush=True)
        raise typer.Exit(int(ExitStatus.TERMINATED)) from None
    except KeyboardInterrupt:
        print("notion-up: interrupted", file=sys.stderr, flush=True)
        raise typer.Exit(int(ExitStatus.INTERRUPTED)) from None
    except BrokenPipeError:
        _quiet_stdout()
        if listing:
            raise typer.Exit(int(ExitStatus.OK)) from None
        print(
            "notion-up: error: stdout was closed before all results were written",
            file=sys.stderr,
            flush=True,
        )
        raise typer.Exit(int(ExitStatus.FAILED)) from None
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes an exit code
        raise fail(exc, debug) from None


def _quiet_stdout() -> None:
    # Python would complain again when flushing the closed pipe at exit.
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@contextlib.contextmanager
def log_errors(log: LogFile | None) -> Iterator[None]:
    """Write the one-line error (and its exit code) to the log file before it reaches stderr."""
    try:
        yield
    except NotionUpError as exc:
        if log is not None:
            log.line(f"notion-up: error: {exc} (exit {int(exc.exit_status)})")
        raise
    except typer.Exit as done:
        if log is not None:
            log.line(f"notion-up: finished (exit {done.exit_code})")
        raise
