"""share, unshare and rm: switch a file's public link, or move its records to the trash.

The formats are those of the service whose databases we share (weneten/notion-storage): a
public file is `is_public` on its page and `Is Public` on its index entry, served at
`<service URL>/d/<salted hash>`; deleting moves the page and its index entry to the trash, and
for a split file the manifest's, every piece's and all their index entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from notion_up.app.context import connect
from notion_up.app.pull import databases
from notion_up.config import Settings
from notion_up.download.fetch import Fetcher
from notion_up.download.tree import resolve as resolve_ref
from notion_up.errors import APIError, NotionUpError
from notion_up.notion.records import (
    RemoteFile,
    index_entries,
    public_link,
    set_public,
    trash_records,
)


@dataclass(frozen=True, kw_only=True)
class Changed:
    """What one REF's file became (or, with --dry-run, would become)."""

    action: str
    file_id: str
    name: str
    hash: str
    link: str | None = None
    pages: list[str] = field(default_factory=list)
    index_entries: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict:
        """The --json line."""
        return {
            "action": self.action,
            "file_id": self.file_id,
            "name": self.name,
            "hash": self.hash,
            "link": self.link,
            "pages": self.pages,
            "index_entries": self.index_entries,
            "dry_run": self.dry_run,
        }


OnChanged = Callable[[str, Changed | None, BaseException | None], None]


def resolve(fetcher: Fetcher, ref: str) -> RemoteFile:
    """The one file a REF names: a FILE_ID, a HASH, a hash prefix, or an exact (visible) name.

    A name that more than one file carries is refused: acting on the wrong one would not be
    undone by running the command again.
    """
    return resolve_ref(fetcher.finder, ref)


def _each(settings: Settings, refs: list[str], sandbox: bool, on_changed: OnChanged, act) -> int:
    """Run `act(fetcher, remote)` for every REF; the number of failures (each reported)."""
    failures = 0
    with connect(settings, sandbox) as ctx:
        fetcher = Fetcher(ctx.client, databases(ctx, need_index=True))
        for ref in refs:
            try:
                changed = act(fetcher, resolve(fetcher, ref))
            except NotionUpError as exc:
                failures += 1
                on_changed(ref, None, exc)
            else:
                on_changed(ref, changed, None)
    return failures


def share(
    settings: Settings,
    refs: list[str],
    public: bool = True,
    *,
    sandbox: bool = False,
    on_changed: OnChanged,
) -> int:
    """Make files public (or private again); the link is given when a service URL is set."""
    service_url = settings.service_url

    def act(fetcher: Fetcher, remote: RemoteFile) -> Changed:
        shown = fetcher.shown(remote)
        entries = set_public(
            fetcher.client, fetcher.finder.databases, remote.file_id, remote.salted, public
        )
        link = public_link(service_url, remote.salted) if service_url and public else None
        action = "shared" if public else "unshared"
        return Changed(
            action=action,
            file_id=remote.file_id,
            name=shown.name,
            hash=remote.salted,
            link=link,
            pages=[],
            index_entries=entries,
        )

    return _each(settings, refs, sandbox, on_changed, act)


def rm(
    settings: Settings,
    refs: list[str],
    *,
    dry_run: bool = False,
    sandbox: bool = False,
    on_changed: OnChanged,
) -> int:
    """Move files' records to the trash: the page and its index entries, and for a split file
    every piece's too (pieces first: the manifest is what finds them again)."""

    def act(fetcher: Fetcher, remote: RemoteFile) -> Changed:
        client, dbs = fetcher.client, fetcher.finder.databases
        manifest = fetcher.manifest_of(remote)
        name = manifest.original_filename if manifest else remote.name
        records = [(p.file_id, p.file_hash) for p in manifest.parts] if manifest else []
        records.append((remote.file_id, remote.salted))
        pages: list[str] = []
        entries: list[str] = []
        for page_id, salted in records:
            if dry_run:
                pages.append(page_id)
                entries += index_entries(client, dbs.index_data_source, salted)
                continue
            try:
                entries += trash_records(client, dbs, page_id, salted)
            except APIError as exc:
                # A piece a cut-short earlier rm already trashed (or Notion lost) is done.
                if exc.status != 404 or page_id == remote.file_id:
                    raise
            pages.append(page_id)
        action = "would trash" if dry_run else "trashed"
        return Changed(
            action=action,
            file_id=remote.file_id,
            name=name,
            hash=remote.salted,
            link=None,
            pages=pages,
            index_entries=entries,
            dry_run=dry_run,
        )

    return _each(settings, refs, sandbox, on_changed, act)
