"""resume and pending: the journal's unfinished pushes, finished or listed."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from notion_up.app.context import (
    Context,
    connect,
    open_journal,
    recall_limits,
    remember_limits,
    state_folder,
    workspace_of,
)
from notion_up.config import Settings
from notion_up.errors import (
    ConfigError,
    ExitStatus,
    Interrupted,
    NotionUpError,
    UsageError,
    batch_status,
)
from notion_up.events import BatchPlanned, FileDone, FileFailed, Listener, Notice, ignore
from notion_up.notion.records import Databases
from notion_up.notion.workspace import load_facts
from notion_up.state.journal import Journal, PushEntry
from notion_up.state.lock import run_lock
from notion_up.units import human_bytes
from notion_up.upload.engine import Uploader
from notion_up.upload.facts import UNKNOWN, RunFacts
from notion_up.upload.runs import EngineOptions, PushResult
from notion_up.upload.split import Splitter

OnResumed = Callable[[PushEntry, PushResult | None, NotionUpError | None], None]


@dataclass(kw_only=True)
class ResumeOutcome:
    """What resume finished, what failed, and whether it was cut short."""

    results: list[PushResult] = field(default_factory=list)
    failures: list[tuple[str, NotionUpError]] = field(default_factory=list)
    interrupted: bool = False
    # Unfinished pushes this run found (of this workspace).
    found: int = 0

    def exit_status(self) -> ExitStatus:
        """The run's exit status; raises Interrupted when it was cut short."""
        if self.interrupted:
            left = self.found - len(self.results)
            raise Interrupted(
                f"interrupted: {len(self.results)} finished, {left} left unfinished",
                hint="run `notion-up resume` again to finish them",
            )
        return batch_status([f for _, f in self.failures], len(self.results))


def resume(
    settings: Settings,
    *,
    sandbox: bool = False,
    wait_lock: bool = False,
    listener: Listener = ignore,
    on_result: OnResumed | None = None,
    cancel: threading.Event | None = None,
) -> ResumeOutcome:
    """Finish every unfinished push in the journal (of this workspace) whose upload is alive."""
    cancel = cancel or threading.Event()
    outcome = ResumeOutcome()
    journal = open_journal(settings)

    def say(text: str) -> None:
        listener(Notice(text))

    try:
        with (
            run_lock(state_folder(settings), wait_lock, say),
            connect(settings, sandbox, listener) as ctx,
        ):
            recall_limits(ctx, journal)
            entries = _unfinished(journal, ctx.workspace)
            outcome.found = len(entries)
            if not entries:
                say("nothing to resume")
            else:
                size = sum(e.size for e in entries)
                say(f"resuming {len(entries)} unfinished push(es), {human_bytes(size)} in all")
                listener(BatchPlanned(len(entries), size))
            for entry in entries:
                if cancel.is_set():
                    break
                try:
                    databases = _databases_of(ctx, entry, journal)
                except NotionUpError as exc:
                    outcome.failures.append((entry.name, exc))
                    listener(FileFailed(entry.name, exc))
                    if on_result is not None:
                        on_result(entry, None, exc)
                    continue
                # A resumed push keeps its own plan; the part size is for one started over.
                options = EngineOptions(workers=settings.workers, part_size=settings.part_size)
                with Uploader(
                    ctx.client,
                    RunFacts(databases, _limit(ctx, journal)),
                    options,
                    journal=journal,
                    listener=listener,
                    workspace=ctx.workspace,
                    cancel=cancel,
                ) as uploader:
                    try:
                        result = Splitter(uploader).resume(entry)
                    except NotionUpError as exc:
                        outcome.failures.append((entry.name, exc))
                        listener(FileFailed(entry.name, exc))
                        if on_result is not None:
                            on_result(entry, None, exc)
                    else:
                        outcome.results.append(result)
                        listener(FileDone(entry.name, result))
                        if on_result is not None:
                            on_result(entry, result, None)
            remember_limits(ctx, journal)
    finally:
        journal.close()
    outcome.interrupted = cancel.is_set()
    return outcome


def _limit(ctx: Context, journal: Journal) -> int | None:
    """The workspace's per-file limit (cached, or read), so that a push started over that is
    over it is split, not refused; None when it cannot be had."""
    settings = ctx.settings
    if not settings.database or not settings.index:
        return None
    try:
        return load_facts(
            ctx.client, str(settings.database), str(settings.index), journal
        ).max_file_size
    except NotionUpError:
        return None


def _databases_of(ctx: Context, entry: PushEntry, journal: Journal) -> Databases:
    """Where an entry's records go; for one cut short before its set-up reads were in, the
    configured databases (the push was bound for those)."""
    if entry.files_data_source != UNKNOWN:
        return Databases(entry.files_data_source, entry.index_data_source, entry.user_database_id)
    settings = ctx.settings
    if not settings.database or not settings.index:
        raise ConfigError(
            f"{entry.name}: it was cut short before its databases were known",
            hint="set NOTION_UP_DATABASE and NOTION_UP_INDEX (or the config file), or run the "
            "same push again",
        )
    return load_facts(ctx.client, str(settings.database), str(settings.index), journal).databases


def pending(
    settings: Settings, *, sandbox: bool = False, all_workspaces: bool = False
) -> list[PushEntry]:
    """The unfinished pushes `resume` (with the same settings) would finish, oldest first;
    with `all_workspaces`, every workspace's."""
    journal = open_journal(settings)
    try:
        return _unfinished(journal, None if all_workspaces else workspace_of(settings, sandbox))
    finally:
        journal.close()


def _unfinished(journal: Journal, workspace: str | None) -> list[PushEntry]:
    """The one selection `pending` and `resume` share: this workspace's (None: all)."""
    return [e for e in journal.unfinished() if workspace is None or e.workspace == workspace]


def drop_pending(settings: Settings, keys: list[str]) -> list[PushEntry]:
    """Forget unfinished pushes on purpose (by journal id or upload id); their spool files go.

    Refuses (UsageError) a key that names no unfinished push, before dropping any.
    """
    journal = open_journal(settings)
    try:
        known = {str(e.id): e for e in journal.unfinished()}
        known.update({e.upload_id: e for e in known.copy().values() if e.upload_id})
        missing = [k for k in keys if k not in known]
        if missing:
            raise UsageError(
                f"no unfinished push {missing[0]!r}", hint="`notion-up pending` lists them"
            )
        dropped = []
        for key in keys:
            entry = journal.drop(key)
            if entry is None:
                continue
            dropped.append(entry)
            if entry.spooled and entry.source_path:
                with contextlib.suppress(OSError):
                    os.unlink(entry.source_path)
        return dropped
    finally:
        journal.close()
