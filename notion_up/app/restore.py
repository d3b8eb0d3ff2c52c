"""ls, pull and verify: find files in the file database, get them back, prove them intact."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from notion_up.app.context import Context, connect, open_journal
from notion_up.config import Settings, require
from notion_up.download.restore import Rejected, Restored, Restorer, Verdict
from notion_up.download.sinks import FileSink, Sink, StreamSink, target_path
from notion_up.events import Listener, ignore
from notion_up.notion.records import Databases, RemoteFile
from notion_up.notion.workspace import load_facts, resolve_data_source


def databases(ctx: Context, need_index: bool) -> Databases:
    """Where files are recorded; ls needs only the file database."""
    settings = ctx.settings
    if not need_index and not settings.index:
        require(settings, "database")
        files = resolve_data_source(ctx.client, str(settings.database), "file database")
        return Databases(files.data_source_id, "", files.database_id)
    require(settings, "database", "index")
    journal = open_journal(settings)
    try:
        facts = load_facts(ctx.client, str(settings.database), str(settings.index), journal)
    finally:
        journal.close()
    return facts.databases


def _restorer(ctx: Context, settings: Settings, listener: Listener) -> Restorer:
    """A restorer for pull and verify: a large file comes in `workers` ranges of a part each."""
    return Restorer(
        ctx.client,
        databases(ctx, need_index=True),
        listener=listener,
        workers=settings.workers,
        range_size=settings.part_size,
    )


def ls(
    settings: Settings,
    name: str | None = None,
    *,
    include_hidden: bool = False,
    sandbox: bool = False,
) -> Iterator[RemoteFile]:
    """The files of the file database, newest first (a name filter; hidden rows on request)."""
    with connect(settings, sandbox) as ctx:
        restorer = Restorer(ctx.client, databases(ctx, need_index=False))
        for remote in restorer.list_files(name, include_hidden=include_hidden):
            yield restorer.shown(remote)


def pull(
    settings: Settings,
    key: str,
    output: str | None = None,
    *,
    force: bool = False,
    stream: BinaryIO | None = None,
    sandbox: bool = False,
    listener: Listener = ignore,
) -> Restored:
    """Download the file with this id or hash, check it, and only then keep it.

    Into `output` (a file, or a directory to put it in under its real name; default here), or
    with `stream`, onto that stream as the bytes arrive (a mismatch is raised afterwards).
    """
    with connect(settings, sandbox, listener) as ctx:
        restorer = _restorer(ctx, settings, listener)
        open_sink: Callable[[str], Sink]
        if stream is not None:
            target = stream

            def open_sink(_name: str) -> Sink:
                return StreamSink(target)
        else:

            def open_sink(name: str) -> Sink:
                return FileSink(target_path(output, name, force), force)

            # A file is kept only once intact: a decoy carrying the same hash is passed over.
            return restorer.restore_any(key, open_sink)
        # Bytes on a stream cannot be taken back: the first file the key names, checked.
        return restorer.restore(restorer.find(key), open_sink)


def verify(
    settings: Settings,
    keys: list[str] | None = None,
    *,
    every: bool = False,
    sandbox: bool = False,
    listener: Listener = ignore,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """Download files (by id or hash; or every visible file) and check each, keeping nothing."""
    with connect(settings, sandbox, listener) as ctx:
        restorer = _restorer(ctx, settings, listener)
        items: list[str | RemoteFile | Rejected] = list(keys or [])
        if every:
            # A malformed row is one `failed` line, not the end of the run.
            items += list(restorer.list_files(on_rejected=items.append))
        return restorer.check_many(items, settings.workers, on_verdict or (lambda _v: None))
