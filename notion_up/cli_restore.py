"""`notion-up ls | pull | verify`: list the file database, get files back, prove them intact."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.progress import TaskID

from notion_up.cli_options import ApiUrl, Database, Debug, Index, Profile, Quiet, Rate, Sandbox
from notion_up.errors import ExitStatus, UsageError
from notion_up.logfile import printable
from notion_up.records import Databases
from notion_up.render import human_bytes, transfer_progress
from notion_up.restore import (
    FileSink,
    Restored,
    Restorer,
    SilentWatcher,
    Sink,
    StreamSink,
    Verdict,
    target_path,
)

# Not the shared --json: with `pull -o -` the JSON line goes to stderr.
JsonOut = Annotated[bool, typer.Option("--json", help="One JSON object per file.")]


# -- progress --------------------------------------------------------------------------------
class PlainWatcher(SilentWatcher):
    """Plain lines on stderr: what starts (for pull) and every retry."""

    def __init__(self, err: TextIO, verb: str | None) -> None:
        self.err = err
        self.verb = verb

    def _say(self, text: str) -> None:
        print(printable(text), file=self.err, flush=True)

    def started(self, name: str, size: int | None) -> None:
        """Say which file begins."""
        if self.verb:
            shown = "unknown size" if size is None else human_bytes(size)
            self._say(f"{self.verb} {name} ({shown})")

    def retrying(self, name: str, reason: str) -> None:
        """Say why a download starts again."""
        self._say(f"retrying {name}: {reason}")


class RichWatcher(SilentWatcher):
    """A bar per file being downloaded; bars disappear when their file is done."""

    def __init__(self, console: Console) -> None:
        self.progress = transfer_progress(console)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def started(self, name: str, size: int | None) -> None:
        """Add a bar."""
        with self._lock:
            self._tasks[name] = self.progress.add_task(printable(name), total=size)

    def received(self, name: str, nbytes: int) -> None:
        """Advance the file's bar."""
        task = self._tasks.get(name)
        if task is not None:
            self.progress.advance(task, nbytes)

    def retrying(self, name: str, reason: str) -> None:
        """Log the retry above the bars."""
        self.progress.console.log(f"retrying {printable(name)}: {printable(reason)}")

    def finished(self, name: str) -> None:
        """Remove the file's bar."""
        with self._lock:
            task = self._tasks.pop(name, None)
        if task is not None:
            self.progress.remove_task(task)


def choose_watcher(quiet: bool, verb: str | None, err: TextIO | None = None) -> SilentWatcher:
    """Nothing with --quiet, rich bars on a terminal, plain lines otherwise (never forced)."""
    err = err or sys.stderr
    if quiet:
        return SilentWatcher()
    if err.isatty():
        return RichWatcher(Console(file=err))
    return PlainWatcher(err, verb)


class _Drawing:
    """Start and stop a rich watcher's bars around a block."""

    def __init__(self, watcher: SilentWatcher) -> None:
        self.progress = getattr(watcher, "progress", None)

    def __enter__(self) -> None:
        if self.progress is not None:
            self.progress.start()

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


# -- shared setup ----------------------------------------------------------------------------
def _flags(database, index, api_url, rate) -> dict[str, Any]:
    return {"database": database, "index": index, "api_url": api_url, "rate": rate}


def _databases(ctx, settings, need_index: bool) -> Databases:
    """Where files are recorded; ls needs only the file database."""
    from notion_up.cli import _journal
    from notion_up.config import require
    from notion_up.workspace import load_facts, resolve_data_source

    if not need_index and not settings.index:
        require(settings, "database")
        files = resolve_data_source(ctx.client, str(settings.database), "file database")
        return Databases(files.data_source_id, "", files.database_id)
    require(settings, "database", "index")
    journal = _journal(settings)
    try:
        facts = load_facts(ctx.client, str(settings.database), str(settings.index), journal)
    finally:
        journal.close()
    return facts.databases


# -- ls --------------------------------------------------------------------------------------
def ls(
    name: Annotated[
        str | None, typer.Option("--name", help="Only files whose name contains this text.")
    ] = None,
    hidden: Annotated[
        bool, typer.Option("--all", "-a", help="Include hidden rows (the pieces of split files).")
    ] = False,
    as_json: JsonOut = False,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """List the files in the file database, newest first: FILE_ID SIZE CREATED HASH NAME."""
    from notion_up.cli import Output, _settings, connect, errors_to_exit

    with errors_to_exit(debug):
        settings = _settings(_flags(database, index, api_url, rate), profile)
        out = Output(as_json)
        with connect(settings, sandbox) as ctx:
            restorer = Restorer(ctx.client, _databases(ctx, settings, need_index=False))
            for f in restorer.list_files(name, include_hidden=hidden):
                if as_json:
                    out.line(json.dumps(f.to_json()))
                else:
                    size = "-" if f.size is None else str(f.size)
                    shown = printable(f.name)
                    out.line(f"{f.file_id}  {size:>12}  {f.created}  {f.salted}  {shown}")


# -- pull ------------------------------------------------------------------------------------
def pull(
    key: Annotated[
        str, typer.Argument(help="The FILE_ID or HASH push printed (or `notion-up ls` shows).")
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="File or directory to write to (default: the file's name here); `-` = stdout.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Replace an existing file of the same name.")
    ] = False,
    as_json: JsonOut = False,
    quiet: Quiet = False,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Download a file, check it against its recorded hash, and only then keep it.

    Split files are reassembled. Prints the path written (nothing on stdout with `-o -`).
    """
    from notion_up.cli import Output, _settings, connect, errors_to_exit

    with errors_to_exit(debug):
        settings = _settings(_flags(database, index, api_url, rate), profile)
        to_stdout = output == "-"
        watcher = choose_watcher(quiet, "pulling")
        with connect(settings, sandbox) as ctx:
            restorer = Restorer(ctx.client, _databases(ctx, settings, True), watcher=watcher)
            remote = restorer.find(key)
            open_sink = _stdout_sink if to_stdout else _file_sink(output, force)
            with _Drawing(watcher):
                done = restorer.restore(remote, open_sink)
        _report_pull(done, Output(as_json), to_stdout, quiet, as_json)


def _stdout_sink(_name: str) -> Sink:
    return StreamSink(sys.stdout.buffer)


def _file_sink(output: str | None, force: bool) -> Callable[[str], Sink]:
    def open_sink(name: str) -> Sink:
        return FileSink(target_path(output, name, force))

    return open_sink


def _report_pull(done: Restored, out, to_stdout: bool, quiet: bool, as_json: bool) -> None:
    """The result on stdout, or on stderr when stdout carries the file itself."""
    line = json.dumps(done.to_json()) if as_json else done.path or ""
    if not to_stdout:
        out.line(line)
    elif as_json:
        print(line, file=sys.stderr)
    elif not quiet:
        shown = printable(done.name)
        print(f"pulled {shown} ({human_bytes(done.size)}), hash verified", file=sys.stderr)


# -- verify ----------------------------------------------------------------------------------
def verify(
    keys: Annotated[
        list[str] | None, typer.Argument(help="FILE_IDs or HASHes to check.", show_default=False)
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Check every (visible) file in the file database.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Files checked at once. Default 4.", min=1)
    ] = None,
    as_json: JsonOut = False,
    quiet: Quiet = False,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Download files and check them against their recorded hashes, keeping no bytes.

    Prints one line per file (verified, mismatched, missing or failed); exits 1 on any problem.
    """
    from notion_up.cli import Output, _settings, connect, errors_to_exit

    with errors_to_exit(debug):
        if not keys and not every:
            raise UsageError("name the files to verify, or pass --all")
        flags = {**_flags(database, index, api_url, rate), "workers": workers}
        settings = _settings(flags, profile)
        out = Output(as_json)
        watcher = choose_watcher(quiet, None)
        with connect(settings, sandbox) as ctx:
            restorer = Restorer(ctx.client, _databases(ctx, settings, True), watcher=watcher)
            items: list = list(keys or [])
            if every:
                items += list(restorer.list_files())
            with _Drawing(watcher):
                verdicts = restorer.check_many(
                    items, int(settings.workers), lambda v: _report_verdict(out, v, quiet)
                )
        counts = {s: sum(v.status == s for v in verdicts) for s in _STATUSES}
        if not quiet or any(counts[s] for s in _STATUSES[1:]):
            print(", ".join(f"{n} {s}" for s, n in counts.items()), file=sys.stderr)
        ok = counts["verified"] == len(verdicts)
        raise typer.Exit(int(ExitStatus.OK if ok else ExitStatus.FAILED))


_STATUSES = ("verified", "mismatched", "missing", "failed")


def _report_verdict(out, verdict: Verdict, quiet: bool) -> None:
    if out.as_json:
        out.line(json.dumps(verdict.to_json()))
        return
    out.line(f"{verdict.status:<10}  {verdict.file_id or verdict.key}  {printable(verdict.name)}")
    if verdict.detail:
        print(f"notion-up: {verdict.status}: {printable(verdict.detail)}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add `ls`, `pull` and `verify` to the main app."""
    app.command("ls")(ls)
    app.command("pull")(pull)
    app.command("verify")(verify)
