"""`notion-up resume` and `notion-up pending`: the journal's unfinished pushes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from notion_up.cli import options as o
from notion_up.cli.output import Output, errors_to_exit, load_settings, log_errors, shown_path
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
    from notion_up.cli.display import Display
    from notion_up.cli.logfile import open_log
    from notion_up.cli.push import print_summary

    with errors_to_exit(debug):
        settings = load_settings(
            profile, api_url=api_url, rate=rate, workers=workers, state_dir=state, timeout=timeout
        )
        with open_log(log_file, settings) as log, log_errors(log):
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

            def on_result(
                entry: PushEntry, result: PushResult | None, error: NotionUpError | None
            ) -> None:
                if result is not None:
                    out.result(result, path=None if entry.spooled else entry.source_path)
                elif error is not None:
                    out.failure(entry.name, error)

            with display:
                outcome = run_resume(
                    settings,
                    sandbox=sandbox,
                    wait_lock=wait_lock,
                    listener=renderer,
                    on_result=on_result,
                    cancel=display.cancel,
                )
            if outcome.found:
                print_summary(renderer, out, batch=True)
            raise typer.Exit(int(display.interrupt.outcome(outcome.exit_status)))


def pending(
    drop: Annotated[
        list[str] | None,
        typer.Option(
            "--drop",
            metavar="ID",
            help="Forget this unfinished push (its journal ID or upload id); repeatable.",
        ),
    ] = None,
    all_workspaces: Annotated[
        bool,
        typer.Option(
            "--all-workspaces",
            help="List every workspace's unfinished pushes, with a WORKSPACE column.",
        ),
    ] = False,
    api_url: o.ApiUrl = None,
    sandbox: o.Sandbox = False,
    profile: o.Profile = None,
    state: o.StateDir = None,
    as_json: o.JsonOut = False,
    debug: o.Debug = False,
) -> None:
    """List the unfinished pushes `resume` would finish (ID, STATE, UPLOAD, NAME), or forget
    some with --drop.

    The same settings give the same list as `resume`: this workspace's (the sandbox's with
    --sandbox); --all-workspaces for the others too.
    """
    from notion_up.app.resume import drop_pending
    from notion_up.app.resume import pending as list_pending

    with errors_to_exit(debug, listing=True):
        settings = load_settings(profile, api_url=api_url, state_dir=state)
        out = Output(as_json)
        if drop:
            for entry in drop_pending(settings, drop):
                if as_json:
                    out.line(json.dumps({"dropped": entry.id, "name": entry.name}))
                else:
                    out.line(f"dropped {entry.id}  {printable(entry.name)}")
            return
        for e in list_pending(settings, sandbox=sandbox, all_workspaces=all_workspaces):
            if as_json:
                out.line(
                    json.dumps(
                        {
                            "id": e.id,
                            "name": e.name,
                            "state": e.state,
                            "upload_id": e.upload_id,
                            "expiry_time": e.expiry_time,
                            "error": e.error,
                            "source_path": e.source_path,
                            "workspace": e.workspace,
                        }
                    )
                )
                continue
            where = f"{_workspace(e.workspace)}  " if all_workspaces else ""
            name = shown_path(e.folder_path, e.name)
            out.line(f"{e.id:>4}  {where}{e.state:<9}  {_upload(e, time.time())}  {name}")


def _upload(entry: PushEntry, now: float) -> str:
    """What `resume` will do with an entry's upload, in a column of one width."""
    if not entry.upload_id:
        return f"{'not created, starts over':<28}"
    try:
        expiry = datetime.fromisoformat(str(entry.expiry_time).replace("Z", "+00:00"))
    except ValueError:
        return f"{'expiry unknown':<28}"
    if expiry.timestamp() <= now:
        return f"{'expired, starts over':<28}"
    return f"expires {expiry.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _workspace(api_url: str) -> str:
    """`sandbox`, or the API's host (api.notion.com)."""
    return api_url if api_url == "sandbox" else (urlsplit(api_url).netloc or api_url)


def register(commands: typer.Typer) -> None:
    """Add `resume` and `pending` to the command line."""
    commands.command("resume", cls=o.PanelCommand, short_help="Finish pushes that were cut short.")(
        resume
    )
    commands.command(
        "pending", cls=o.PanelCommand, short_help="List pushes `resume` would finish."
    )(pending)
