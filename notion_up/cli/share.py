"""`notion-up share | unshare | rm`: public links of the service, and moving files to the trash."""

from __future__ import annotations

import json
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from notion_up.cli.options import (
    ApiUrl,
    Database,
    Debug,
    Index,
    PanelCommand,
    Profile,
    Rate,
    Sandbox,
)
from notion_up.cli.output import Output, errors_to_exit, fail, load_settings
from notion_up.config import described
from notion_up.errors import UsageError, batch_status
from notion_up.sanitize import printable

if TYPE_CHECKING:
    from notion_up.app.share import Changed


def _app() -> ModuleType:
    """The application's share and rm, loaded only when a command here runs (not for --help)."""
    from notion_up.app import share

    return share


JsonOut = Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")]
Refs = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="REF...",
        help="FILE_IDs, HASHes, hash prefixes (12 hex or more) or exact names (`notion-up ls`).",
        show_default=False,
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Say what would be moved to the trash; change nothing.")
]
ServiceUrl = Annotated[
    str | None,
    typer.Option(
        "--service-url",
        metavar="URL",
        help=described("service_url") + " Config key service_url.",
    ),
]


def _reporter(out: Output, errors: list[BaseException], debug: bool):
    def on_changed(ref: str, changed: Changed | None, error: BaseException | None) -> None:
        if changed is None:
            assert error is not None
            errors.append(error)
            if out.as_json:
                out.line(json.dumps({"ref": ref, "error": str(error)}))
            fail(error, debug)  # prints the one-line error on stderr
            return
        if out.as_json:
            out.line(json.dumps(changed.to_json()))
            return
        shown = printable(changed.name)
        if changed.link:
            out.line(f"{changed.file_id}  {changed.link}  {shown}")
        elif changed.pages:
            count = len(changed.pages) + len(changed.index_entries)
            out.line(f"{changed.file_id}  {changed.action} ({count} records)  {shown}")
        else:
            out.line(f"{changed.file_id}  {changed.action}  {shown}")

    return on_changed


def _need(refs: list[str] | None) -> list[str]:
    """The REFs given; none is a usage error."""
    if not refs:
        raise UsageError(
            "name the files: their FILE_IDs, HASHes, hash prefixes or exact names",
            hint="`notion-up ls` lists them",
        )
    return refs


def _share(
    refs: list[str] | None,
    *,
    public: bool,
    as_json: bool,
    database: str | None,
    index: str | None,
    api_url: str | None,
    rate: float | None,
    service_url: str | None,
    sandbox: bool,
    profile: str | None,
    debug: bool,
) -> None:
    """share and unshare: set is_public on each REF's records, one line (or object) each."""
    with errors_to_exit(debug):
        refs = _need(refs)
        settings = load_settings(
            profile,
            database=database,
            index=index,
            api_url=api_url,
            rate=rate,
            service_url=service_url,
        )
        errors: list[BaseException] = []
        out = Output(as_json)
        _app().share(
            settings, refs, public=public, sandbox=sandbox, on_changed=_reporter(out, errors, debug)
        )
        raise typer.Exit(int(batch_status(errors, len(refs) - len(errors))))


def share(
    refs: Refs = None,
    as_json: JsonOut = False,
    service_url: ServiceUrl = None,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Make files public: the service serves them to anyone with the link.

    Sets is_public on the file's page and its index entry; prints FILE_ID LINK NAME when a
    service URL is configured (the link is <service URL>/d/HASH), else FILE_ID shared NAME.
    """
    _share(
        refs,
        public=True,
        as_json=as_json,
        database=database,
        index=index,
        api_url=api_url,
        rate=rate,
        service_url=service_url,
        sandbox=sandbox,
        profile=profile,
        debug=debug,
    )


def unshare(
    refs: Refs = None,
    as_json: JsonOut = False,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Make files private again: their public links stop working."""
    _share(
        refs,
        public=False,
        as_json=as_json,
        database=database,
        index=index,
        api_url=api_url,
        rate=rate,
        service_url=None,
        sandbox=sandbox,
        profile=profile,
        debug=debug,
    )


def rm(
    refs: Refs = None,
    dry_run: DryRun = False,
    as_json: JsonOut = False,
    database: Database = None,
    index: Index = None,
    api_url: ApiUrl = None,
    rate: Rate = None,
    sandbox: Sandbox = False,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Move files to Notion's trash, with their index entries (split files whole).

    For a split file: the manifest, every piece and all their index entries. A name matching
    several files is refused.

    Restore them from Notion's trash within its retention period if this was a mistake.
    """
    with errors_to_exit(debug):
        refs = _need(refs)
        settings = load_settings(
            profile, database=database, index=index, api_url=api_url, rate=rate
        )
        errors: list[BaseException] = []
        out = Output(as_json)
        _app().rm(
            settings,
            refs,
            dry_run=dry_run,
            sandbox=sandbox,
            on_changed=_reporter(out, errors, debug),
        )
        if dry_run and not as_json:
            print("notion-up: dry run: nothing was moved to the trash", file=sys.stderr)
        raise typer.Exit(int(batch_status(errors, len(refs) - len(errors))))


def register(commands: typer.Typer) -> None:
    """Add `share`, `unshare` and `rm` to the command line."""
    commands.command("share", cls=PanelCommand, short_help="Make files public (a link to each).")(
        share
    )
    commands.command("unshare", cls=PanelCommand, short_help="Make files private again.")(unshare)
    commands.command("rm", cls=PanelCommand, short_help="Move files to Notion's trash.")(rm)
