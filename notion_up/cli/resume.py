"""`notion-up resume` and `notion-up pending`: the journal's unfinished pushes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from notion_up.cli import options as o
from notion_up.cli.output import Output, errors_to_exit, load_settings, log_errors
from notion_up.sanitize import printable

if TYPE_CHECKING:
    from notion_up.errors import NotionUpError
    from notion_up.state.journal import PushEntry
    from notion_up.upload.runs import PushResult


def resume(
    api_url: o.ApiUrl = None,
    sandbox: o.Sandbox = False,
    profile: o.Profile = None,
    state: o.StateDir = None,
    workers: o.Workers = None,
    rate: o.Rate = None,
    timeout: o.Timeout = None,
    wait_lock: o.WaitLock = False,
    as_json: o.JsonOut = False,
    quiet: o.Quiet = False,
    verbose: o.Verbose = False,
    debug: o.Debug = False,
    stats: o.Stats = 30.0,
    no_progress: o.NoProgress = False,
    log_file: o.LogFilePath = None,
) -> None:
    """Finish every unfinished push in the journal whose upload has not expired.

    It finishes pushes that had begun (their upload created); files a push never started are
    not in the journal: run that push again (with --skip-existing) for those.
    """
    # Imported here, not at the top: `--help` and the other commands do not load the engine.
    from notion_up.app.resume import resume as run_resume
    from notion_up.cli.interrupt import InterruptHandler
    from notion_up.cli.logfile import open_log
    from notion_up.cli.render import with_log
    from notion_up.cli.renderers import choose_renderer

    with errors_to_exit(debug):
        settings = load_settings(
            profile, api_url=api_url, rate=rate, workers=workers, state_dir=state, timeout=timeout
        )
        with open_log(log_file, settings) as log, log_errors(log):
            screen = choose_renderer(quiet, verbose or debug, stats, progress=not no_progress)
            renderer = with_log(screen, log, stats)
            out = Output(as_json, log)
            out.above = screen.print_above

            def on_result(
                entry: PushEntry, result: PushResult | None, error: NotionUpError | None
            ) -> None:
                if result is not None:
                    out.result(result)
                elif error is not None:
                    out.failure(entry.name, error)

            renderer.start()
            try:
                with InterruptHandler(renderer.message, renderer.stop) as interrupt:
                    outcome = run_resume(
                        settings, sandbox=sandbox, wait_lock=wait_lock, listener=renderer,
                        on_result=on_result, cancel=interrupt.cancel,
                    )  # fmt: skip
            finally:
                renderer.stop()
            raise typer.Exit(int(interrupt.outcome(outcome.exit_status)))


def pending(
    drop: Annotated[
        list[str] | None,
        typer.Option(
            "--drop",
            metavar="ID",
            help="Forget this unfinished push (its journal ID or upload id); repeatable.",
        ),
    ] = None,
    sandbox: o.Sandbox = False,
    profile: o.Profile = None,
    state: o.StateDir = None,
    as_json: o.JsonOut = False,
    debug: o.Debug = False,
) -> None:
    """List unfinished pushes (ID, upload, state, expiry, name), or forget some with --drop.

    These are what `resume` would finish. With --sandbox, only the local sandbox's; otherwise
    every workspace's.
    """
    from notion_up.app.resume import drop_pending
    from notion_up.app.resume import pending as list_pending

    with errors_to_exit(debug, listing=True):
        settings = load_settings(profile, state_dir=state)
        out = Output(as_json)
        if drop:
            for entry in drop_pending(settings, drop):
                if as_json:
                    out.line(json.dumps({"dropped": entry.id, "name": entry.name}))
                else:
                    out.line(f"dropped {entry.id}  {printable(entry.name)}")
            return
        for e in list_pending(settings):
            if sandbox and e.api_url != "sandbox":
                continue
            if as_json:
                out.line(json.dumps({"id": e.id, "name": e.name, "state": e.state,
                                     "upload_id": e.upload_id, "expiry_time": e.expiry_time,
                                     "error": e.error, "source_path": e.source_path,
                                     "workspace": e.api_url}))  # fmt: skip
            else:
                shown = printable(e.name)
                out.line(f"{e.id}  {e.upload_id}  {e.state}  expires {e.expiry_time}  {shown}")


def register(app: typer.Typer) -> None:
    """Add `resume` and `pending` to the main app."""
    app.command("resume", cls=o.PanelCommand, short_help="Finish pushes that were cut short.")(
        resume
    )
    app.command("pending", cls=o.PanelCommand, short_help="List pushes `resume` would finish.")(
        pending
    )
