"""`notion-up ls | pull | verify`: list the file database, get files back, prove them intact."""

from __future__ import annotations

import json
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from notion_up.cli import options as o
from notion_up.cli.options import ApiUrl, Database, Debug, Index, Profile, Quiet, Rate, Sandbox
from notion_up.cli.output import Output, errors_to_exit, load_settings, shown_path
from notion_up.config import Settings, described
from notion_up.errors import ExitStatus, UsageError, batch_status
from notion_up.notion.records import short_hash
from notion_up.sanitize import printable
from notion_up.units import human_bytes

if TYPE_CHECKING:
    from notion_up.cli.display import Display
    from notion_up.cli.lines import Renderer
    from notion_up.download.fetch import Restored, Verdict
    from notion_up.download.tree import Pulled


def _app() -> ModuleType:
    """The application's download side, loaded only when a command here runs (not for --help)."""
    from notion_up.app import pull

    return pull


def _display(
    quiet: bool, verbose: bool, no_progress: bool, as_json: bool, verb: str | None = None
) -> Display:
    """The display of a download command: no Ctrl-C handler (Ctrl-C ends a download at
    once; its half-written file is discarded), no progress lines between the results."""
    from notion_up.cli.display import Display

    return Display(
        quiet=quiet, verbose=verbose, as_json=as_json, verb=verb, progress=not no_progress
    )


# Not the shared --json: with `pull -o -` the JSON line goes to stderr.
JsonOut = Annotated[
    bool, typer.Option("--json", rich_help_panel=o.OUT, help="One JSON object per file.")
]


# -- ls --------------------------------------------------------------------------------------
def ls(
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="TEXT", help="Only files whose name contains this text."),
    ] = None,
    hidden: Annotated[
        bool, typer.Option("--all", "-a", help="Include hidden rows (the pieces of split files).")
    ] = False,
    long: Annotated[
        bool,
        typer.Option(
            "--long", "-l", help="FILE_ID SIZE CREATED HASH PATH, the hash whole (wider lines)."
        ),
    ] = False,
    as_json: JsonOut = False,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    timeout: o.Timeout = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    state: o.StateDir = None,
    debug: Debug = False,
) -> None:
    """List the files in the file database, newest first: HASH SIZE CREATED PATH.

    HASH is the first 12 hex digits of the salted hash (what pull, verify, share and rm take);
    PATH is folder/name. Sizes are in binary units (KiB, MiB); --json gives every value whole.
    """
    with errors_to_exit(debug, listing=True):
        settings = load_settings(
            profile,
            database=database,
            index=index,
            api_url=api_url,
            rate=rate,
            state_dir=state,
            timeout=timeout,
        )
        out = Output(as_json)
        for f in _app().ls(settings, name, include_hidden=hidden, sandbox=sandbox):
            if as_json:
                out.line(json.dumps(f.to_json()))
            else:
                size = "-" if f.size is None else human_bytes(f.size)
                path = shown_path(f.folder_path, f.name)
                if long:
                    out.line(f"{f.file_id}  {size:>10}  {f.created}  {f.salted}  {path}")
                else:
                    when = printable(f.created[:16].replace("T", " "))
                    out.line(f"{short_hash(f.salted)}  {size:>10}  {when:<16}  {path}")


# -- pull ------------------------------------------------------------------------------------
def pull(
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="REF...",
            help="FILE_IDs, HASHes, hash prefixes (12 hex or more) or exact names, as push "
            "printed or `notion-up ls` shows.",
            show_default=False,
        ),
    ] = None,
    folder: Annotated[
        str | None,
        typer.Option(
            "--recursive",
            "-r",
            metavar="FOLDER",
            help="Every file in FOLDER and below it (`/`: all), as a tree under -o DIR.",
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="File or directory to write to (a path ending in / is created); `-` = stdout. "
            "Several files or -r: a directory. Default: here.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", "-f", help="Replace an existing file (identical ones are skipped)."
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            metavar="N",
            rich_help_panel=o.SPEED,
            help=described(
                "workers", "Files fetched at once, and connections for a large file (byte ranges)."
            ),
        ),
    ] = None,
    as_json: JsonOut = False,
    quiet: Quiet = False,
    verbose: o.Verbose = False,
    no_progress: o.NoProgress = False,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    timeout: o.Timeout = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    state: o.StateDir = None,
    debug: Debug = False,
) -> None:
    """Download files, check each against its recorded hash, and only then keep it.

    Split files are reassembled. Prints the path written (nothing on stdout with `-o -`).
    With several REFs or -r, ends with `pulled N, skipped M, failed K` on stderr.
    """
    refs = list(refs or [])
    with errors_to_exit(debug, listing=output == "-"):
        if not refs and folder is None:
            raise UsageError("name the files to pull, or a folder with -r")
        settings = load_settings(
            profile,
            database=database,
            index=index,
            api_url=api_url,
            rate=rate,
            state_dir=state,
            workers=workers,
            timeout=timeout,
        )
        if len(refs) > 1 or folder is not None:
            if output == "-":
                raise UsageError("several files cannot go to stdout", hint="use -o DIR")
            _pull_many(
                settings,
                refs,
                folder=folder,
                output=output,
                force=force,
                as_json=as_json,
                quiet=quiet,
                verbose=verbose or debug,
                no_progress=no_progress,
                sandbox=sandbox,
            )
            return
        to_stdout = output == "-"
        display = _display(quiet, verbose or debug, no_progress, as_json, verb="pulling")
        with display:
            done = _app().pull(
                settings,
                refs[0],
                None if to_stdout else output,
                force=force,
                stream=sys.stdout.buffer if to_stdout else None,
                sandbox=sandbox,
                listener=display.renderer,
            )
        _report_pull(done, display.out, to_stdout, quiet, as_json)


def _pull_many(
    settings: Settings,
    refs: list[str],
    *,
    folder: str | None,
    output: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
    verbose: bool,
    no_progress: bool,
    sandbox: bool,
) -> None:
    """Several files (or a tree) into a directory; one line each, then the summary line."""
    display = _display(quiet, verbose, no_progress, as_json, verb="pulling")
    renderer, out = display.renderer, display.out

    def heard(p: Pulled) -> None:
        if as_json:
            out.line(json.dumps(p.to_json()))
        elif p.status == "pulled":
            out.line(printable(p.path or ""))
        if p.status == "failed" or (p.status == "skipped" and verbose):
            renderer.message(f"notion-up: {p.status}: {printable(p.name)}: {printable(p.detail)}")

    with display:
        done = _app().pull_many(
            settings,
            refs,
            output,
            folder=folder,
            force=force,
            listener=renderer,
            on_pulled=heard,
            sandbox=sandbox,
        )
    counts = {s: sum(p.status == s for p in done) for s in ("pulled", "skipped", "failed")}
    if not quiet or counts["failed"]:
        print(", ".join(f"{s} {n}" for s, n in counts.items()), file=sys.stderr, flush=True)
    if counts["failed"]:
        failures = [p for p in done if p.status == "failed"]
        ok = counts["pulled"] + counts["skipped"]
        raise typer.Exit(int(batch_status(failures, ok)))


def _report_pull(done: Restored, out, to_stdout: bool, quiet: bool, as_json: bool) -> None:
    """The result on stdout, or on stderr when stdout carries the file itself."""
    line = json.dumps(done.to_json()) if as_json else done.path or ""
    if not to_stdout:
        out.line(line)
    elif as_json:
        print(line, file=sys.stderr, flush=True)
    elif not quiet:
        shown = printable(done.name)
        print(
            f"pulled {shown} ({human_bytes(done.size)}), hash verified", file=sys.stderr, flush=True
        )


# -- verify ----------------------------------------------------------------------------------
def verify(
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE_ID_OR_HASH", help="FILE_IDs or HASHes to check.", show_default=False
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Check every (visible) file in the file database.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            metavar="N",
            rich_help_panel=o.SPEED,
            help=described("workers", "Files checked at once, and connections for a large file."),
        ),
    ] = None,
    as_json: JsonOut = False,
    quiet: Quiet = False,
    verbose: o.Verbose = False,
    no_progress: o.NoProgress = False,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    timeout: o.Timeout = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    state: o.StateDir = None,
    debug: Debug = False,
) -> None:
    """Download files and check them against their recorded hashes, keeping no bytes.

    Prints one line per file (verified, mismatched, missing or failed); exits 1 on any problem.
    """
    with errors_to_exit(debug):
        if not keys and not every:
            raise UsageError("name the files to verify, or pass --all")
        settings = load_settings(
            profile,
            database=database,
            index=index,
            api_url=api_url,
            rate=rate,
            state_dir=state,
            workers=workers,
            timeout=timeout,
        )
        display = _display(quiet, verbose or debug, no_progress, as_json)
        renderer, out = display.renderer, display.out
        with display:
            verdicts = _app().verify(
                settings,
                list(keys or []),
                every=every,
                sandbox=sandbox,
                listener=renderer,
                on_verdict=lambda v: _report_verdict(out, v, renderer),
            )
        counts = {s: sum(v.status == s for v in verdicts) for s in _STATUSES}
        if not quiet or any(counts[s] for s in _STATUSES[1:]):
            print(", ".join(f"{n} {s}" for s, n in counts.items()), file=sys.stderr, flush=True)
        ok = counts["verified"] == len(verdicts)
        raise typer.Exit(int(ExitStatus.OK if ok else ExitStatus.FAILED))


_STATUSES = ("verified", "mismatched", "missing", "failed")


def _report_verdict(out, verdict: Verdict, renderer: Renderer) -> None:
    if out.as_json:
        out.line(json.dumps(verdict.to_json()))
        return
    key = verdict.file_id or verdict.key
    shown = key if len(key) <= 36 else short_hash(key)  # a whole hash: its first 12 digits
    out.line(f"{verdict.status:<10}  {shown}  {printable(verdict.name)}")
    if verdict.detail:
        renderer.message(f"notion-up: {verdict.status}: {printable(verdict.detail)}")


def register(commands: typer.Typer) -> None:
    """Add `ls`, `pull` and `verify` to the command line."""
    commands.command("ls", cls=o.PanelCommand, short_help="List the files in the file database.")(
        ls
    )
    commands.command(
        "pull", cls=o.PanelCommand, short_help="Get a file back, checked by its hash."
    )(pull)
    commands.command("verify", cls=o.PanelCommand, short_help="Check files against their hashes.")(
        verify
    )
