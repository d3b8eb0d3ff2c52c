"""`notion-up push`: parse, pick a renderer, call the application's push, print and exit."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from notion_up.cli import options as o
from notion_up.cli.output import errors_to_exit
from notion_up.config import described
from notion_up.units import human_bytes

if TYPE_CHECKING:
    from notion_up.cli.lines import Renderer
    from notion_up.cli.output import Output


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
        ),
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
    no_split: Annotated[
        bool,
        typer.Option(
            "--no-split",
            rich_help_panel=o.WHAT,
            help="Refuse content over the workspace's per-file limit instead of storing it "
            "as pieces plus a manifest (the default, as the service does).",
        ),
    ] = False,
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
            help=described("part_size"),
        ),
    ] = None,
    rate: o.Rate = None,
    timeout: o.Timeout = None,
    volume_size: Annotated[
        str | None,
        typer.Option(
            "--volume-size",
            metavar="SIZE",
            rich_help_panel=o.SPEED,
            help=described("volume_size"),
        ),
    ] = None,
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

    Prints, per file, FILE_ID (its page in the file database), HASH (the first 12 hex digits of
    the salted hash; --json for all of it) and its folder/name.

    \b
    Examples:
      notion-up push report.pdf
      notion-up push -r photos/ --skip-existing
      tar c photos | notion-up push - --name photos.tar
      notion-up push --sandbox README.md      (try it without a Notion account)
    """
    # Imported here, not at the top: `--help` and the other commands do not load the engine.
    from notion_up.app.batch import BatchFlags, gather
    from notion_up.app.push import PushOptions
    from notion_up.app.push import push as run_push
    from notion_up.cli.display import Display
    from notion_up.cli.logfile import open_log
    from notion_up.cli.output import load_settings, log_errors
    from notion_up.errors import UsageError
    from notion_up.units import parse_size
    from notion_up.upload.pool import Job
    from notion_up.upload.runs import DEFAULT_MAX_MEMORY, PushResult

    with errors_to_exit(debug):
        settings = load_settings(
            profile,
            database=database,
            index=index,
            api_url=api_url,
            workers=workers,
            part_size=part_size,
            rate=rate,
            state_dir=state,
            timeout=timeout,
            volume_size=volume_size,
        )
        batch = BatchFlags(
            recursive=recursive,
            include=include or [],
            exclude=exclude or [],
            files_from=files_from,
            null=null,
            follow_symlinks=follow_symlinks,
            skip_existing=skip_existing,
            check_remote=check_remote,
            dry_run=dry_run,
            error_on_nothing=error_on_nothing,
            wait_lock=wait_lock,
        )
        with open_log(log_file, settings) as log, log_errors(log):
            declared = parse_size(size) if size is not None else None
            spool = str(settings.state_dir / "spool")
            if sys.stdin.isatty() and (("-" in (paths or []) and name) or files_from == "-"):
                # Not a silent wait: a terminal on stdin is usually a forgotten pipe.
                print(
                    "notion-up: reading standard input from the terminal; end it with Ctrl-D "
                    "(or pipe it in: tar c dir | notion-up push - --name dir.tar)",
                    file=sys.stderr,
                    flush=True,
                )
            inputs = gather(
                paths or [], batch, name, declared, sys.stdin.buffer, spool, volumes=not no_split
            )
            display = Display(
                quiet=quiet,
                verbose=verbose or debug,
                as_json=as_json,
                interval=stats,
                log=log,
                progress=not no_progress,
                interrupts=True,
            )
            renderer, out = display.renderer, display.out
            if split and no_split:
                raise UsageError("--split and --no-split contradict each other")
            options = PushOptions(
                batch=batch,
                max_memory=parse_size(max_memory) if max_memory else DEFAULT_MAX_MEMORY,
                split_size=parse_size(split) if split else None,
                sandbox=sandbox,
                public=public,
                no_split=no_split,
            )

            def on_result(job: Job, result: PushResult | None, error: BaseException | None) -> None:
                if result is not None:
                    out.result(result, path=job.path)
                elif error is not None:
                    out.failure(job.name, error)

            if dry_run:
                outcome = run_push(settings, inputs, options, listener=renderer)
                for planned in outcome.planned:
                    out.line(json.dumps(planned.to_json()) if as_json else planned.line())
                if not quiet:
                    renderer.message(dry_run_total([p.to_json() for p in outcome.planned]))
                raise typer.Exit(int(outcome.exit_status()))
            with display:
                outcome = run_push(
                    settings,
                    inputs,
                    options,
                    listener=renderer,
                    on_result=on_result,
                    cancel=display.cancel,
                )
            print_summary(renderer, out, batch=inputs.batch)
            if sandbox and outcome.results and not quiet and not outcome.interrupted:
                renderer.message(NEXT_STEPS)
            raise typer.Exit(int(display.interrupt.outcome(outcome.exit_status)))


# After a first push into the sandbox: what happened, and what to try next.
NEXT_STEPS = (
    "pushed into the local sandbox (no Notion account used). Next: `notion-up ls --sandbox` "
    "lists it, `notion-up pull --sandbox FILE_ID` gets it back, `notion-up verify --sandbox "
    'FILE_ID` checks it; for Notion itself see README, "Using it with Notion".'
)


def dry_run_total(planned: list[dict]) -> str:
    """`would push 3 file(s), 21.0 MiB in all; would skip 1` (a stream of unknown size aside)."""
    pushed = [p for p in planned if p.get("action") == "push"]
    size = sum(p["size"] for p in pushed if isinstance(p.get("size"), int))
    text = f"would push {len(pushed)} file(s), {human_bytes(size)} in all"
    if any(p.get("path") == "-" for p in pushed):
        text += " and standard input"
    skipped = len(planned) - len(pushed)
    return text + (f"; would skip {skipped}" if skipped else "")


def print_summary(renderer: Renderer, out: Output, *, batch: bool) -> None:
    """The closing line on stderr and, with --json, a last summary line.

    Shown for batches (several inputs, -r, --files-from); a single file's result says it all.
    """
    from notion_up.cli.lines import QuietRenderer

    totals = summary(renderer)
    if batch and not isinstance(renderer, QuietRenderer):
        renderer.message(summary_line(totals))
    if out.as_json and batch:
        out.line(json.dumps({"summary": totals}))


def summary(renderer: Renderer) -> dict:
    """The run's totals as a dict: pushed, skipped, failed, bytes, seconds."""
    t = renderer.meter
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


def register(commands: typer.Typer) -> None:
    """Add `push` to the command line."""
    commands.command(
        "push", cls=o.PanelCommand, short_help="Upload files (or stdin) and record each one."
    )(push)
