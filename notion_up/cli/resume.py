"""`notion-up resume` and `notion-up pending`: the journal's unfinished pushes."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from notion_up.app.resume import drop_pending
from notion_up.app.resume import pending as list_pending
from notion_up.app.resume import resume as run_resume
from notion_up.cli import options as o
from notion_up.cli.interrupt import InterruptHandler
from notion_up.cli.output import Output, errors_to_exit, load_settings
from notion_up.cli.render import choose_renderer
from notion_up.errors import NotionUpError
from notion_up.sanitize import printable
from notion_up.state.journal import PushEntry
from notion_up.upload.engine import PushResult


def resume(
    api_url: o.ApiUrl = None,
    rate: o.Rate = None,
    workers: o.Workers = None,
    as_json: o.JsonOut = False,
    quiet: o.Quiet = False,
    debug: o.Debug = False,
    sandbox: o.Sandbox = False,
    state: o.StateDir = None,
    profile: o.Profile = None,
    wait_lock: o.WaitLock = False,
) -> None:
    """Finish every unfinished push in the journal whose upload has not expired."""
    with errors_to_exit(debug):
        flags = {"api_url": api_url, "rate": rate, "workers": workers,
                 "state_dir": str(state) if state else None}  # fmt: skip
        settings = load_settings(flags, profile)
        out = Output(as_json)
        renderer = choose_renderer(quiet, False, 30.0)

        def on_result(
            entry: PushEntry, result: PushResult | None, error: NotionUpError | None
        ) -> None:
            if result is not None:
                out.result(result)
            elif error is not None:
                out.failure(entry.name, error)

        renderer.start()
        try:
            with InterruptHandler() as interrupt:
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
    as_json: o.JsonOut = False,
    state: o.StateDir = None,
    profile: o.Profile = None,
    debug: o.Debug = False,
) -> None:
    """List unfinished pushes (ID, upload, state, expiry, name), or forget some with --drop."""
    with errors_to_exit(debug):
        settings = load_settings({"state_dir": str(state) if state else None}, profile)
        out = Output(as_json)
        if drop:
            for entry in drop_pending(settings, drop):
                if as_json:
                    out.line(json.dumps({"dropped": entry.id, "name": entry.name}))
                else:
                    out.line(f"dropped {entry.id}  {printable(entry.name)}")
            return
        for e in list_pending(settings):
            if as_json:
                out.line(json.dumps({"id": e.id, "name": e.name, "state": e.state,
                                     "upload_id": e.upload_id, "expiry_time": e.expiry_time,
                                     "error": e.error, "source_path": e.source_path}))  # fmt: skip
            else:
                shown = printable(e.name)
                out.line(f"{e.id}  {e.upload_id}  {e.state}  expires {e.expiry_time}  {shown}")


def register(app: typer.Typer) -> None:
    """Add `resume` and `pending` to the main app."""
    app.command("resume")(resume)
    app.command("pending")(pending)
