"""`notion-up push`: parse, pick a renderer, call the application's push, print and exit."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from notion_up.cli import options as o
from notion_up.cli.output import errors_to_exit
from notion_up.units import human_bytes

if TYPE_CHECKING:
    from notion_up.cli.output import Output
    from notion_up.cli.render import Renderer


def push(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH",
            help="Files (directories with -r) to push; `-` reads standard input (needs --name).",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            rich_help_panel=o.WHAT,
            help="The file's name when reading standard input.",
        ),  # fmt: skip
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(
            "--size",
            metavar="SIZE",
            rich_help_panel=o.WHAT,
            help="Exact size of standard input (bytes or 30MiB): stream it without spooling.",
        ),
    ] = None,
    recursive: o.Recursive = False,
    include: o.Include = None,
    exclude: o.Exclude = None,
    files_from: o.FilesFrom = None,
    null: o.Null = False,
    follow_symlinks: o.FollowSymlinks = False,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            metavar="SIZE",
            rich_help_panel=o.WHAT,
            help="Store content larger than SIZE as pieces of at most SIZE plus a manifest "
            "(for workspaces that cap one file: --split 5MiB on Notion's free plan).",
        ),
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            rich_help_panel=o.WHAT,
            help="Record the files as public: the service serves them to anyone at /d/HASH.",
        ),
    ] = False,
    database: o.Database = None,
    index: o.Index = None,
    api_url: o.ApiUrl = None,
    sandbox: o.Sandbox = False,
    profile: o.Profile = None,
    state: o.StateDir = None,
    workers: o.Workers = None,
    part_size: Annotated[
        str | None,
        typer.Option(
            "--part-size",
            metavar="SIZE",
            rich_help_panel=o.SPEED,
            help="Part size of multi-part uploads, 5MiB to 20MiB, or auto (per file, to fit the "
            "link to Notion's request budget). Env NOTION_UP_PART_SIZE. Default: 5MiB.",
        ),
    ] = None,
    rate: o.Rate = None,
    max_memory: Annotated[
        str | None,
        typer.Option(
            "--max-memory",
            metavar="SIZE",
            rich_help_panel=o.SPEED,
            help="Stop reading ahead while the process is over this size. Default: 1GiB.",
        ),
    ] = None,
    skip_existing: o.SkipExisting = False,
    check_remote: o.CheckRemote = False,
    dry_run: o.DryRun = False,
    error_on_nothing: o.ErrorOnNothing = False,
    wait_lock: o.WaitLock = False,
    as_json: o.JsonOut = False,
    quiet: o.Quiet = False,
    verbose: o.Verbose = False,
    debug: o.Debug = False,
    stats: o.Stats = 30.0,
    no_progress: o.NoProgress = False,
    log_file: o.LogFilePath = None,
) -> None:
    """Upload files (or standard input) to Notion and record each in the file database and index.

    Prints, per file, the file id (its page in the file database), the salted hash and the name.
    """
    # Imported here, not at the top: `--help` and the other commands do not load the engine.
    from notion_up.app.batch import BatchFlags, gather
    from notion_up.app.push import PushOptions
    from notion_up.app.push import push as run_push
    from notion_up.cli.interrupt import InterruptHandler
    from notion_up.cli.logfile import open_log
    from notion_up.cli.output import Output, load_settings, log_errors
    from notion_up.cli.render import with_log
    from notion_up.cli.renderers import choose_renderer
    from notion_up.units import parse_size
    from notion_up.upload.runs import DEFAULT_MAX_MEMORY, Job, PushResult

    with errors_to_exit(debug):
        settings = load_settings(
            profile, database=database, index=index, api_url=api_url, workers=workers,
            part_size=part_size, rate=rate, state_dir=state,
        )  # fmt: skip
        batch = BatchFlags(
            recursive, include or [], exclude or [], files_from, null, follow_symlinks,
            skip_existing, check_remote, dry_run, error_on_nothing, wait_lock,
        )  # fmt: skip
        with open_log(log_file, settings) as log, log_errors(log):
            declared = parse_size(size) if size is not None else None
            spool = str(settings.state_dir / "spool")
            inputs = gather(paths or [], batch, name, declared, sys.stdin.buffer, spool)
            screen = choose_renderer(quiet, verbose or debug, stats, progress=not no_progress)
            renderer = with_log(screen, log, stats)
            out = Output(as_json, log)
            out.above = screen.print_above
            options = PushOptions(
                batch,
                parse_size(max_memory) if max_memory else DEFAULT_MAX_MEMORY,
                parse_size(split) if split else None,
                sandbox,
                public,
            )

            def on_result(job: Job, result: PushResult | None, error: BaseException | None) -> None:
                if result is not None:
                    out.result(result)
                elif error is not None:
                    out.failure(job.name, error)

            if dry_run:
                outcome = run_push(settings, inputs, options, listener=renderer)
                for planned in outcome.planned:
                    out.line(json.dumps(planned.to_json()) if as_json else planned.line())
                raise typer.Exit(int(outcome.exit_status()))
            renderer.start()
            try:
                with InterruptHandler(renderer.message, renderer.stop) as interrupt:
                    outcome = run_push(
                        settings, inputs, options, listener=renderer, on_result=on_result,
                        cancel=interrupt.cancel,
                    )  # fmt: skip
            finally:
                renderer.stop()
            _summary(renderer, out, inputs.batch)
            if sandbox and outcome.results and not quiet and not outcome.interrupted:
                renderer.message(NEXT_STEPS)
            raise typer.Exit(int(interrupt.outcome(outcome.exit_status)))


# After a first push into the sandbox: what happened, and what to try next.
NEXT_STEPS = (
    "pushed into the local sandbox (no Notion account used). Next: `notion-up ls --sandbox` "
    "lists it, `notion-up pull --sandbox FILE_ID` gets it back, `notion-up verify --sandbox "
    'FILE_ID` checks it; for Notion itself see README, "Using it with Notion".'
)


def _summary(renderer: Renderer, out: Output, batch: bool) -> None:
    """The closing line on stderr and, with --json, a last summary line.

    Shown for batches (several inputs, -r, --files-from); a single file's result says it all.
    """
    from notion_up.cli.render import QuietRenderer

    totals = summary(renderer)
    if batch and not isinstance(renderer, QuietRenderer):
        renderer.message(summary_line(totals))
    if out.as_json and batch:
        out.line(json.dumps({"summary": totals}))


def summary(renderer: Renderer) -> dict:
    """The run's totals as a dict: pushed, skipped, failed, bytes, seconds."""
    t = renderer.totals
    return {
        "pushed": t.pushed,
        "skipped": t.skipped,
        "failed": t.failed,
        "bytes": t.bytes_pushed,
        "seconds": round(time.monotonic() - t.started, 3),
    }


def summary_line(totals: dict) -> str:
    """`pushed 3, skipped 97, failed 0, 1.2 MiB in 4.2 s`."""
    return (
        f"pushed {totals['pushed']}, skipped {totals['skipped']}, failed {totals['failed']}, "
        f"{human_bytes(totals['bytes'])} in {totals['seconds']:.1f} s"
    )


def register(app: typer.Typer) -> None:
    """Add `push` to the main app."""
    app.command(
        "push", cls=o.PanelCommand, short_help="Upload files (or stdin) and record each one."
    )(push)
