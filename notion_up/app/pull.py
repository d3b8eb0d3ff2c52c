"""ls, pull and verify: find files in the file database, get them back, prove them intact."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from notion_up.app.context import Context, connect, open_journal
from notion_up.config import Settings, require
from notion_up.download.fetch import Fetcher, Restored, Verdict
from notion_up.download.find import Finder, Rejected
from notion_up.download.sinks import FileSink, Sink, StreamSink, target_path
from notion_up.download.tree import Pulled, candidates, folder_files, plan, pull_all, resolve
from notion_up.errors import UsageError
from notion_up.events import Listener, ignore
from notion_up.notion.records import Databases, RemoteFile, full_hash_of_prefix
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


def _fetcher(ctx: Context, settings: Settings, listener: Listener) -> Fetcher:
    """A fetcher for pull and verify: a large file comes in `workers` ranges of a part each."""
    return Fetcher(
        ctx.client,
        databases(ctx, need_index=True),
        listener=listener,
        workers=settings.workers,
        range_size=settings.part_size,
    )


def _whole(finder: Finder, key: str) -> str:
    """A key with a hash prefix (12+ hex digits, as ls shows) made the whole hash."""
    return full_hash_of_prefix(finder.client, finder.databases.files_data_source, key)


def ls(
    settings: Settings,
    name: str | None = None,
    *,
    include_hidden: bool = False,
    sandbox: bool = False,
) -> Iterator[RemoteFile]:
    """The files of the file database, newest first (a name filter; hidden rows on request).

    Rows are shown as they are: a listing never fetches a URL a row names (a shared database's
    rows may point anywhere, and one slow host would hang it). An older split row, titled
    `<name>.file.json`, is listed under that title; pull and verify read its manifest.
    """
    with connect(settings, sandbox) as ctx:
        finder = Finder(ctx.client, databases(ctx, need_index=False))
        yield from finder.list_files(name, include_hidden=include_hidden)


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
    """Download the file with this id, hash, hash prefix or name, check it, only then keep it.

    Into `output` (a file, or a directory to put it in under its real name; default here), or
    with `stream`, onto that stream as the bytes arrive (a mismatch is raised afterwards).
    """
    with connect(settings, sandbox, listener) as ctx:
        fetcher = _fetcher(ctx, settings, listener)
        found = candidates(fetcher.finder, key)
        open_sink: Callable[[str], Sink]
        if stream is not None:
            target = stream

            def open_sink(_name: str) -> Sink:
                return StreamSink(target)
        else:

            def open_sink(name: str) -> Sink:
                return FileSink(target_path(output, name, force), force)

            # A file is kept only once intact: a decoy carrying the same hash is passed over.
            return fetcher.restore_first(found, open_sink)
        # Bytes on a stream cannot be taken back: the first file the key names, checked.
        return fetcher.restore(found[0], open_sink)


def pull_many(
    settings: Settings,
    refs: list[str],
    output: str | None = None,
    *,
    folder: str | None = None,
    force: bool = False,
    sandbox: bool = False,
    listener: Listener = ignore,
    on_pulled: Callable[[Pulled], None] = lambda _p: None,
) -> list[Pulled]:
    """Get several files back into the directory `output` (default here), `workers` at once.

    REFs are ids, hashes, hash prefixes or exact names; with `folder`, every file in that
    folder and below it comes back as a tree. A file already there with the same content is
    skipped; one with other content is refused unless `force`.
    """
    out = Path(output or ".")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is not a directory", hint="pulling several files needs -o DIR")
    with connect(settings, sandbox, listener) as ctx:
        fetcher = _fetcher(ctx, settings, listener)
        remotes = [resolve(fetcher.finder, ref) for ref in refs]
        planned = plan(out, None, remotes)
        if folder is not None:
            planned += plan(out, folder, folder_files(fetcher.finder, folder))
        out.mkdir(parents=True, exist_ok=True)
        journal = open_journal(settings)
        try:
            return pull_all(
                fetcher,
                planned,
                force=force,
                workers=settings.workers,
                on_pulled=on_pulled,
                mtime_of=journal.mtime_of,
            )
        finally:
            journal.close()


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
        fetcher = _fetcher(ctx, settings, listener)
        items: Iterator[str | RemoteFile | Rejected] = iter(
            [_whole(fetcher.finder, k) for k in keys or []]
        )
        if every:
            items = itertools.chain(items, _every_row(fetcher.finder))
        return fetcher.check_many(items, settings.workers, on_verdict or (lambda _v: None))


def _every_row(finder: Finder) -> Iterator[RemoteFile | Rejected]:
    """Every visible row as it is read; a malformed one is a `failed` line, not the run's end."""
    rejected: list[Rejected] = []
    for remote in finder.list_files(on_rejected=rejected.append):
        yield from rejected
        rejected.clear()
        yield remote
    yield from rejected
