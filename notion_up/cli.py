"""The command line: parse, configure, pick a renderer, map errors to exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from notion_up import __version__, cli_batch, cli_config, cli_restore
from notion_up.cli_options import (
    ApiUrl,
    Database,
    Debug,
    Index,
    JsonOut,
    Profile,
    Quiet,
    Rate,
    Sandbox,
    StateDir,
    Verbose,
    Workers,
)
from notion_up.client import NotionClient
from notion_up.config import Settings, require, resolve, state_dir
from notion_up.engine import DEFAULT_MAX_MEMORY, EngineOptions, Job, PushResult, Uploader
from notion_up.errors import ExitStatus, Interrupted, NotionUpError
from notion_up.existing import ExistingCheck, drop_existing
from notion_up.journal import Journal
from notion_up.lock import run_lock
from notion_up.logfile import LogFile, printable
from notion_up.parts import check_part_size, parse_size
from notion_up.records import Databases
from notion_up.render import QuietRenderer, Renderer, RichRenderer, choose_renderer
from notion_up.retry import RateLimiter
from notion_up.split import uploader_for
from notion_up.workspace import create_databases, facts_key, load_facts

EXIT_TABLE = """Exit codes: 0 all pushed (or skipped), 1 some files failed, 2 usage,
3 configuration or authentication, 4 input not found or unreadable,
5 gave up on temporary errors (retry later), 6 refused by Notion's limits,
7 nothing to push (only with --error-on-nothing), 8 another run holds the state directory's
lock (without --wait-lock), 130 interrupted."""

app = typer.Typer(
    name="notion-up",
    help="Put files into Notion through the File Upload API and record every one.\n\n" + EXIT_TABLE,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
sandbox_app = typer.Typer(help="A local Notion-compatible server: try notion-up offline.")
app.add_typer(sandbox_app, name="sandbox")
cli_config.register(app)
cli_restore.register(app)


def _version(value: bool) -> None:
    if value:
        print(f"notion-up {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """notion-up: files into Notion, hashed and recorded."""


@dataclass
class Context:
    """What a command needs to talk to Notion."""

    settings: Settings
    client: NotionClient
    origin: str


def _settings(flags: dict[str, Any], profile: str | None) -> Settings:
    settings = resolve(flags, profile=profile)
    for warning in settings.warnings:
        print(f"notion-up: warning: {warning}", file=sys.stderr)
    return settings


@contextlib.contextmanager
def connect(settings: Settings, sandbox: bool) -> Iterator[Context]:
    """A client for the configured workspace, or for the sandbox server started here."""
    server = None
    origin = str(settings.api_url)
    if sandbox:
        from notion_up.config import data_dir
        from notion_up.sandbox import LocalNotion

        server = LocalNotion(state_dir=data_dir() / "sandbox")
        url = server.start()
        ws = server.ensure_workspace()
        settings.set("api_url", url, "sandbox")
        settings.set("token", server.token, "sandbox")
        settings.set("database", ws.files_database_id, "sandbox")
        settings.set("index", ws.index_database_id, "sandbox")
        origin = "sandbox"
    try:
        require(settings, "token")
        workers = int(settings.workers)
        limiter = RateLimiter(rate=float(settings.rate))
        client = NotionClient(
            str(settings.token), str(settings.api_url), limiter=limiter, pool_size=workers * 2 + 4
        )
        yield Context(settings, client, origin)
    finally:
        if server is not None:
            server.stop()


def _journal(settings: Settings) -> Journal:
    """The journal in the state directory."""
    return Journal(_state_base(settings) / "journal.sqlite")


class Output:
    """Results on stdout (plain or JSON lines); a lock keeps lines whole across threads."""

    def __init__(self, as_json: bool, log: LogFile | None = None) -> None:
        self.as_json = as_json
        self.log = log
        self._lock = threading.Lock()
        # Set when bars are drawn on a terminal: a result line for that same terminal goes
        # above the bars instead of through them.
        self.above: Callable[[str], None] | None = None

    def result(self, result: PushResult) -> None:
        """Print one pushed file."""
        if self.as_json:
            self.line(json.dumps(result.to_json()))
        else:
            # printable: a name with a newline must not break the one-line-per-file contract.
            self.line(f"{result.file_id}  {result.hash.salted}  {printable(result.name)}")

    def failure(self, name: str, error: BaseException) -> None:
        """Print one failed file (JSON only; plain failures go to stderr)."""
        if self.as_json:
            self.line(json.dumps({"name": name, "error": str(error)}))

    def line(self, text: str) -> None:
        """Write a line to stdout."""
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
        print(f"notion-up: error: {printable(str(exc))}", file=sys.stderr)
        return typer.Exit(int(exc.exit_status))
    print(f"notion-up: error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return typer.Exit(int(ExitStatus.FAILED))


@contextlib.contextmanager
def errors_to_exit(debug: bool) -> Iterator[None]:
    """Turn core errors into one line on stderr and the right exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        print("notion-up: interrupted", file=sys.stderr)
        raise typer.Exit(int(ExitStatus.INTERRUPTED)) from None
    except BrokenPipeError:
        _quiet_stdout()
        print(
            "notion-up: error: stdout was closed before all results were written", file=sys.stderr
        )
        raise typer.Exit(int(ExitStatus.FAILED)) from None
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes an exit code
        raise fail(exc, debug) from None


def _quiet_stdout() -> None:
    # Python would complain again when flushing the closed pipe at exit.
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


class InterruptHandler:
    """First Ctrl-C: stop new parts and finish cleanly. Second: quit at once."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self._previous: Any = None

    def __enter__(self) -> InterruptHandler:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, _signum: int, _frame: object) -> None:
        if self.cancel.is_set():
            os._exit(int(ExitStatus.INTERRUPTED))
        self.cancel.set()
        print(
            "notion-up: interrupted; finishing the parts in flight (Ctrl-C again to quit now)",
            file=sys.stderr,
            flush=True,
        )


# -- push ----------------------------------------------------------------------------------
@app.command()
def push(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files (directories with -r) to push; `-` reads standard input (needs --name)."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The file's name when reading standard input.")
    ] = None,
    size: Annotated[
        str | None,
        typer.Option("--size", help="Exact size of standard input: stream it without spooling."),
    ] = None,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    workers: Workers = None,
    part_size: Annotated[
        str | None,
        typer.Option("--part-size", help="Multi-part part size, 5MiB to 20MiB. Default 5MiB."),
    ] = None,
    rate: Rate = None,
    max_memory: Annotated[
        str | None,
        typer.Option(
            "--max-memory",
            help="Stop reading ahead while the process is over this size. Default 1GiB.",
        ),
    ] = None,
    as_json: JsonOut = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
    debug: Debug = False,
    stats: Annotated[
        float,
        typer.Option("--stats", help="Seconds between progress lines when not on a terminal."),
    ] = 30.0,
    sandbox: Sandbox = False,
    state: StateDir = None,
    profile: Profile = None,
    recursive: cli_batch.Recursive = False,
    include: cli_batch.Include = None,
    exclude: cli_batch.Exclude = None,
    files_from: cli_batch.FilesFrom = None,
    null: cli_batch.Null = False,
    follow_symlinks: cli_batch.FollowSymlinks = False,
    skip_existing: cli_batch.SkipExisting = False,
    check_remote: cli_batch.CheckRemote = False,
    dry_run: cli_batch.DryRun = False,
    log_file: cli_batch.LogFilePath = None,
    error_on_nothing: cli_batch.ErrorOnNothing = False,
    wait_lock: cli_batch.WaitLock = False,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Store content larger than SIZE as pieces of at most SIZE plus a manifest "
            "(for workspaces that cap one file, e.g. --split 5MiB on Notion's free plan).",
        ),
    ] = None,
) -> None:
    """Upload files (or standard input) to Notion and record each in the file database and index.

    Prints, per file, the file id (its page in the file database), the salted hash and the name.
    """
    with errors_to_exit(debug):
        flags = {
            "database": database,
            "index": index,
            "api_url": api_url,
            "workers": workers,
            "part_size": parse_size(part_size) if part_size else None,
            "rate": rate,
            "state_dir": str(state) if state else None,
        }
        settings = _settings(flags, profile)
        check_part_size(int(settings.part_size))
        batch = cli_batch.BatchFlags(
            recursive, include or [], exclude or [], files_from, null, follow_symlinks,
            skip_existing, check_remote, dry_run, error_on_nothing, wait_lock,
        )  # fmt: skip
        with cli_batch.open_log(log_file, settings) as log, cli_batch.log_errors(log):
            declared = parse_size(size) if size is not None else None
            inputs = cli_batch.gather(paths or [], batch, name, declared)
            screen = choose_renderer(quiet, verbose or debug, stats)
            renderer = cli_batch.with_log(screen, log, stats)
            out = Output(as_json, log)
            if isinstance(screen, RichRenderer):
                out.above = screen.print_above
            memory = parse_size(max_memory) if max_memory else DEFAULT_MAX_MEMORY
            split_size = parse_size(split) if split else None
            code = _run_push(settings, sandbox, inputs, batch, renderer, out, memory, split_size)
            raise typer.Exit(int(code))


def _run_push(
    settings: Settings,
    sandbox: bool,
    inputs: cli_batch.Inputs,
    batch: cli_batch.BatchFlags,
    renderer: Renderer,
    out: Output,
    max_memory: int | None,
    split_size: int | None = None,
) -> ExitStatus:
    # A dry run writes nothing, so it needs no lock and may run beside a real one.
    lock = (
        contextlib.nullcontext()
        if batch.dry_run
        else run_lock(_state_base(settings), batch.wait_lock, renderer.message)
    )
    with lock, connect(settings, sandbox) as ctx, InterruptHandler() as interrupt:
        require(settings, "database", "index")
        if renderer.verbose:
            for key, value, source in settings.describe():
                renderer.message(f"setting {key} = {value or '-'} ({source})")
        journal = _journal(settings)
        database, index = str(settings.database), str(settings.index)
        facts = load_facts(ctx.client, database, index, journal)
        existing = None
        if batch.skip_existing:
            remote = ctx.client if batch.check_remote else None
            data_source = facts.databases.files_data_source
            existing = ExistingCheck(journal, ctx.origin, data_source, remote)
        if batch.dry_run:
            try:
                would = cli_batch.dry_run(
                    inputs, int(settings.part_size), facts.max_file_size, existing, out.line,
                    out.as_json,
                )  # fmt: skip
            finally:
                journal.close()
            if would == 0:
                cli_batch.nothing_to_push(batch)
            return ExitStatus.OK
        options = EngineOptions(int(settings.workers), int(settings.part_size), max_memory)
        failures: list[BaseException] = []

        def on_result(job: Job, result: PushResult | None, error: BaseException | None) -> None:
            if result is not None:
                out.result(result)
            else:
                assert error is not None
                failures.append(error)
                out.failure(job.name, error)

        renderer.totals.files_total = inputs.count + len(inputs.expansion.skipped)
        renderer.start()
        jobs: list[Job] = []
        try:
            verbose = renderer.message if renderer.verbose else (lambda _text: None)
            cli_batch.report_left_out(inputs, renderer, verbose)
            files = inputs.expansion.files
            if existing is not None:
                files = drop_existing(files, existing, int(settings.workers), renderer)
            jobs = [inputs.stdin_job] if inputs.stdin_job else []
            jobs += [cli_batch.file_job(item) for item in files]
            if jobs:
                with uploader_for(split_size)(
                    ctx.client,
                    facts.databases,
                    options,
                    journal=journal,
                    listener=renderer,
                    max_file_size=facts.max_file_size,
                    cancel=interrupt.cancel,
                    origin=ctx.origin,
                ) as uploader:
                    uploader.push_many(jobs, on_result)
        finally:
            renderer.stop()
            if any(_stale_facts(f) for f in failures):
                journal.forget_facts(facts_key(ctx.client, database, index))
            journal.close()
        if not jobs:
            renderer.message("nothing to push")
        _summary(renderer, out, inputs.batch)
        if interrupt.cancel.is_set():
            raise Interrupted("interrupted; run `notion-up resume` to finish what was started")
        if not jobs:
            cli_batch.nothing_to_push(batch)
        return _exit_status(failures, renderer.totals.pushed)


def _state_base(settings: Settings) -> Path:
    """The state directory: the journal and the run lock live there."""
    return Path(settings.state_dir) if settings.state_dir else state_dir()


def _stale_facts(error: BaseException) -> bool:
    """True when Notion's answer says the cached schema, ids or limits may be out of date."""
    cause = getattr(error, "cause", error)
    status = getattr(cause, "status", None)
    code = getattr(cause, "code", "")
    return status in (401, 403, 404) or code == "validation_error"


def _summary(renderer: Renderer, out: Output, batch: bool | None = None) -> None:
    """The closing line on stderr and, with --json, a last summary line.

    Shown for batches (several inputs, -r, --files-from); a single file's result says it all.
    """
    t = renderer.totals
    show = t.files_total > 1 if batch is None else batch
    totals = cli_batch.summary(renderer)
    if show and not isinstance(renderer, QuietRenderer):
        renderer.message(cli_batch.summary_line(totals))
    if out.as_json and show:
        out.line(json.dumps({"summary": totals}))


def _exit_status(failures: list[BaseException], pushed: int) -> ExitStatus:
    """0 when all pushed; a failure's own code when every file failed alike; else 1."""
    if not failures:
        return ExitStatus.OK
    codes = {getattr(f, "exit_status", ExitStatus.FAILED) for f in failures}
    if pushed == 0 and len(codes) == 1:
        return ExitStatus(int(codes.pop()))
    return ExitStatus.FAILED


# -- resume / pending ----------------------------------------------------------------------
@app.command()
def resume(
    api_url: ApiUrl = None,
    rate: Rate = None,
    workers: Workers = None,
    as_json: JsonOut = False,
    quiet: Quiet = False,
    debug: Debug = False,
    sandbox: Sandbox = False,
    state: StateDir = None,
    profile: Profile = None,
    wait_lock: cli_batch.WaitLock = False,
) -> None:
    """Finish every unfinished push in the journal whose upload has not expired."""
    with errors_to_exit(debug):
        flags = {"api_url": api_url, "rate": rate, "workers": workers,
                 "state_dir": str(state) if state else None}  # fmt: skip
        settings = _settings(flags, profile)
        out = Output(as_json)
        renderer = choose_renderer(quiet, False, 30.0)
        journal = _journal(settings)
        failures: list[BaseException] = []
        done = 0
        lock = run_lock(_state_base(settings), wait_lock, renderer.message)
        with lock, connect(settings, sandbox) as ctx, InterruptHandler() as interrupt:
            entries = [e for e in journal.unfinished() if e.api_url == ctx.origin]
            if not entries:
                renderer.message("nothing to resume")
            renderer.start()
            try:
                for entry in entries:
                    if interrupt.cancel.is_set():
                        break
                    databases = Databases(
                        entry.files_data_source, entry.index_data_source, entry.user_database_id
                    )
                    with Uploader(
                        ctx.client, databases, EngineOptions(int(settings.workers),
                        entry.part_size), journal=journal, listener=renderer,
                        origin=ctx.origin, cancel=interrupt.cancel,
                    ) as uploader:  # fmt: skip
                        try:
                            out.result(uploader.resume(entry))
                            done += 1
                        except NotionUpError as exc:
                            failures.append(exc)
                            out.failure(entry.name, exc)
                            renderer.message(f"error: {entry.name}: {exc}")
            finally:
                renderer.stop()
                journal.close()
            if interrupt.cancel.is_set():
                raise Interrupted("interrupted; run `notion-up resume` again to finish")
        raise typer.Exit(int(_exit_status(failures, done)))


@app.command()
def pending(
    as_json: JsonOut = False,
    state: StateDir = None,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """List unfinished pushes and when their uploads expire."""
    with errors_to_exit(debug):
        settings = _settings({"state_dir": str(state) if state else None}, profile)
        journal = _journal(settings)
        out = Output(as_json)
        for e in journal.unfinished():
            if as_json:
                out.line(json.dumps({"name": e.name, "state": e.state, "upload_id": e.upload_id,
                                     "expiry_time": e.expiry_time, "error": e.error,
                                     "source_path": e.source_path}))  # fmt: skip
            else:
                out.line(f"{e.upload_id}  {e.state}  expires {e.expiry_time}  {e.name}")
        journal.close()


# -- init / sandbox ------------------------------------------------------------------------
def _exports(values: dict[str, str]) -> None:
    for key, value in values.items():
        print(f"export {key}={value}")


@app.command()
def init(
    parent: Annotated[str, typer.Option("--parent", help="Page id to create the databases under.")],
    api_url: ApiUrl = None,
    debug: Debug = False,
    profile: Profile = None,
) -> None:
    """Create the file database and the global index (the schema push needs) under a page."""
    with errors_to_exit(debug):
        settings = _settings({"api_url": api_url}, profile)
        with connect(settings, sandbox=False) as ctx:
            files_id, index_id = create_databases(ctx.client, parent)
        _exports({"NOTION_UP_DATABASE": files_id, "NOTION_UP_INDEX": index_id})


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0 = any free).")] = 8787,
    state: Annotated[
        Path | None,
        typer.Option("--state-dir", help="Where the server keeps its workspace and files."),
    ] = None,
    debug: Debug = False,
) -> None:
    """Run the local Notion-compatible server in the foreground; prints the export lines."""
    from notion_up.config import data_dir
    from notion_up.sandbox import LocalNotion

    with errors_to_exit(debug):
        server = LocalNotion(state_dir=state or data_dir() / "sandbox", port=port)
        url = server.start()
        ws = server.ensure_workspace()
        _exports(
            {
                "NOTION_API_URL": url,
                "NOTION_TOKEN": server.token,
                "NOTION_UP_DATABASE": ws.files_database_id,
                "NOTION_UP_INDEX": ws.index_database_id,
            }
        )
        print(f"# root page for `notion-up init --parent`: {ws.root_page_id}")
        print("# serving; Ctrl-C to stop", file=sys.stderr, flush=True)
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()


def main() -> None:
    """Entry point of the `notion-up` console script."""
    app()
