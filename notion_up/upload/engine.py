"""One file's push: create the upload, send its bytes, complete it, record it; or finish one.

An upload reads as a recipe: 0. an unfinished push of the same input is finished instead;
1. create the upload (journalled first, so a crash leaves something to find); 2. send the parts
(`PartSender`); 3. complete a multi-part upload; 4. write the page and the index entry.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time

from notion_up.errors import APIError, Interrupted, NotionUpError, SourceChanged, TooSlow
from notion_up.events import AlreadySent, FileStarted, Listener, Notice, Stage, UploadEnded, ignore
from notion_up.notion.client import NotionClient
from notion_up.notion.filetypes import UploadName, upload_name
from notion_up.notion.records import (
    ContentHash,
    Databases,
    FileRecord,
    RecordError,
    find_page,
    hash_content,
    manifest_row,
    new_salt,
    write_records,
)
from notion_up.notion.workspace import contradicts
from notion_up.state.journal import Journal, PushEntry
from notion_up.units import human_bytes
from notion_up.upload.facts import UNKNOWN, RunFacts
from notion_up.upload.pace import KEEP_FOR, Pace
from notion_up.upload.parts import PartPlan, plan_parts
from notion_up.upload.runs import EngineOptions, FileRun, PushResult, StartOver
from notion_up.upload.sender import PartSender
from notion_up.upload.source import Source, open_file, open_piece


class Uploader:
    """Pushes one file at a time to Notion (several threads may push at once); one instance
    serves a whole run, so every file shares its part pool and memory budget."""

    def __init__(
        self,
        client: NotionClient,
        facts: RunFacts,
        options: EngineOptions | None = None,
        *,
        journal: Journal | None = None,
        listener: Listener = ignore,
        cancel: threading.Event | None = None,
        workspace: str | None = None,
        public: bool = False,
    ) -> None:
        self.client = client
        # Where records go and the limit, kept current while the run goes (see RunFacts).
        self.facts = facts
        self.options = options or EngineOptions()
        self.journal = journal
        self.emit = listener
        self.cancel = cancel or threading.Event()
        # `push --public`: the records say so, and the service serves its /d/<hash> link.
        self.public = public
        # Which workspace the journal files this run under ("sandbox" for the local one).
        self.workspace = workspace or client.base_url
        # How fast this link sends and how long an upload lives: sizes uploads to finish.
        self.pace = Pace.from_cache(journal.facts(self._pace_key(), KEEP_FOR) if journal else None)
        self.sender = PartSender(
            client,
            self.options,
            journal=journal,
            listener=listener,
            cancel=self.cancel,
            pace=self.pace,
        )
        # Each upload's events carry its own key: two files of one name must not share a bar.
        self._keys = itertools.count(1)

    def close(self) -> None:
        """Stop the part pool (pending parts are cancelled); keep the measured pace."""
        self.sender.close()
        if self.journal is not None and self.pace.rate is not None:
            self.journal.store_facts(self._pace_key(), self.pace.to_cache())

    def _pace_key(self) -> str:
        return f"pace {self.workspace}"

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def databases(self) -> Databases:
        """Where this run's records go (current: see RunFacts)."""
        return self.facts.databases

    @property
    def max_file_size(self) -> int | None:
        """The workspace's per-file limit, None when not said."""
        return self.facts.max_file_size

    # -- planning ---------------------------------------------------------------------------
    def plan(self, size: int, name: str) -> tuple[PartPlan, UploadName]:
        """The part plan and upload name for a file, refused before any request if over a limit."""
        if self.facts.known():  # else checked once the set-up reads are in, before any byte
            self.facts.check_limit(size, name)
        return plan_parts(size, self.options.part_size_of(size)), upload_name(name)

    # -- one file ---------------------------------------------------------------------------
    def push(
        self,
        source: Source,
        folder_path: str = "/",
        *,
        is_visible: bool = True,
        is_manifest: bool = False,
        parent: int | None = None,
        whole: tuple[str, int] | None = None,
    ) -> PushResult:
        """Upload `source`, then record it; raises a NotionUpError saying what was left behind.

        `is_visible` false and `is_manifest` true are for the pieces and manifest of a split file,
        `parent` the journal row of the split file they belong to; `whole` (original name, total
        size) is what a manifest's row shows.
        """
        if self.cancel.is_set():
            # A file that had not begun when Ctrl-C came stays untouched: nothing to resume.
            raise Interrupted("interrupted")
        # 0. A re-run after a crash finishes what was begun rather than recording it twice.
        entry = self.unfinished_push_of(source)
        if entry is not None:
            self.emit(
                Notice(
                    f"finishing the unfinished push of {source.name} "
                    f"(journal entry {entry.id}) instead of starting a new one"
                )
            )
            if self.journal:
                self.journal.update(entry.id)  # taken up by this run: counted once if cut short
            return self.resume(entry, source)
        return self._push_new(
            source,
            folder_path,
            is_visible=is_visible,
            is_manifest=is_manifest,
            parent=parent,
            whole=whole,
        )

    def _push_new(
        self,
        source: Source,
        folder_path: str,
        *,
        is_visible: bool,
        is_manifest: bool,
        parent: int | None = None,
        whole: tuple[str, int] | None = None,
    ) -> PushResult:
        plan, upload = self.plan(source.size, source.name)
        if plan.multi:
            self.sender.warm_up()
        run = FileRun(
            name=source.name,
            size=source.size,
            plan=plan,
            upload=upload,
            folder_path=folder_path,
            is_visible=is_visible,
            is_manifest=is_manifest,
            key=next(self._keys),
            source=source,
            salt=new_salt(),
            parent=parent,
            whole=whole,
        )
        self.emit(FileStarted(name=run.name, size=run.size, parts=plan.count, key=run.key))
        try:
            return self._push_run(run)
        finally:
            self.emit(UploadEnded(run.name, run.key))

    def _push_run(self, run: FileRun) -> PushResult:
        if self.facts.failed is not None:
            self.facts.settle()  # the schema does not fit: no more uploads
        located = self.facts.known()
        # 1. Create the upload, journalled first: a crash at any point leaves a row to finish.
        if self.journal:
            run.push_id = self.journal.start(**self._journal_row(run))
        try:
            created = self.client.create_file_upload(
                run.plan.create_body(run.upload.upload_name, run.upload.content_type),
                on_retry=run.on_retry(self.emit, "create"),
            )
        except NotionUpError:
            if not located:
                self._located(run)  # the set-up's own error says more (the token, an id)
            raise
        run.upload_id = created["id"]
        expiry = created.get("expiry_time")
        run.deadline = self.pace.created(expiry)
        self._journal(run, upload_id=run.upload_id, expiry_time=expiry)
        if not located:
            self._located(run)
        try:
            # 2. Send the bytes (hashing them as they are read).
            sha512 = self._send_all(run, already_sent=set())
            # 3. Complete a multi-part upload.
            if run.plan.multi:
                self.emit(Stage(run.name, "completing", run.key))
                self.client.complete_file_upload(
                    run.upload_id, on_retry=run.on_retry(self.emit, "complete")
                )
            # 4. Record it: the page, then the index entry.
            content = hash_content(sha512, run.salt)
            self._journal(run, state="uploaded", sha512=sha512, salted=content.salted)
            return self._record(run, content)
        except NotionUpError as exc:
            if isinstance(exc, SourceChanged | TooSlow):
                # Nothing was recorded and there is nothing to finish: the bytes were wrong,
                # or the upload cannot finish before it expires (its rest is planned anew).
                self._journal(run, state="abandoned", error=str(exc))
                raise
            if run.source is not None and run.source.spooled and self.journal:
                run.source.keep = True  # resume reads the spool file again
            if exc is self.facts.failed:
                raise  # journalled as abandoned: there is nothing to finish
            if not isinstance(exc, RecordError):
                self._journal(run, error=str(exc))
                exc.hint = run.left_behind(self.journal is not None, expiry, exc.hint)
            raise

    def _located(self, run: FileRun) -> None:
        """The set-up reads are in (waits for them): where the records go, and the limit.

        The upload was created meanwhile; a file over the limit goes no further (no byte sent).
        """
        try:
            self.facts.check_limit(run.size, run.name)  # waits for the set-up reads
            self._journal(run, **self.facts.journal_fields())
        except NotionUpError as exc:
            self._journal(run, state="abandoned", error=str(exc))
            raise

    def _settle(self, run: FileRun) -> None:
        """Wait for the schema check, if one runs; a failed one ends this push for good."""
        try:
            self.facts.settle()
        except NotionUpError as exc:
            # The records cannot be written where the schema does not fit: nothing to finish.
            self._journal(run, state="abandoned", error=str(exc))
            raise

    def unfinished_push_of(self, source: Source) -> PushEntry | None:
        """The journal's unfinished push of this same input, if there is one to finish.

        A file is the same when its path, size and mtime are; a stream (stdin) when its name,
        size and SHA-512 are (a stream is hashed before its push begins).
        """
        if self.journal is None or source.offset is not None:
            return None  # a split file's pieces are matched by the split file's own row
        found = None
        if source.path is not None and not source.spooled:
            found = self.journal.find_unfinished(
                source.path, source.size, source.mtime, self.workspace
            )
        elif source.sha512 is not None:
            found = self.journal.find_unfinished_stream(
                source.name, source.size, source.sha512, self.workspace
            )
        # Only one bound for this file database (a push cut short before the set-up reads
        # were in is, whichever it was bound for): asked only when there is one to finish.
        if found is None or found.files_data_source in (UNKNOWN, self.databases.files_data_source):
            return found
        return None

    def _journal_row(self, run: FileRun) -> dict[str, object]:
        """The journal's first record of a push: enough to finish it from another process."""
        source = run.source
        assert source is not None
        return {
            **self.source_row(source, run.folder_path),
            "mode": run.plan.mode,
            "part_size": run.plan.part_size,
            "part_count": run.plan.count,
            "upload_name": run.upload.upload_name,
            "content_type": run.upload.content_type,
            "salt": run.salt,
            "is_visible": int(run.is_visible),
            "is_manifest": int(run.is_manifest),
            "offset": source.offset,
            "parent_id": run.parent,
            # Known before sending for streams (hashed while spooled or buffered).
            "sha512": source.sha512,
        }

    def source_row(self, source: Source, folder_path: str) -> dict[str, object]:
        """The journal fields every push shares: its input, and where its records go."""
        return {
            "name": source.name,
            "source_path": source.path,
            "size": source.size,
            "mtime": source.mtime,
            "spooled": int(source.spooled),
            "folder_path": folder_path,
            **self.facts.journal_fields(),
            "workspace": self.workspace,
        }

    def _record(
        self,
        run: FileRun,
        content: ContentHash,
        page_id: str | None = None,
        look_first: bool = False,
    ) -> PushResult:
        """Write the page (unless `page_id` says it exists) and the index entry; the result.

        The page id is journalled as soon as it is known, before the index entry is written;
        `look_first` (finishing a push) writes only the records that are not there already.
        """
        self._settle(run)
        self.emit(Stage(run.name, "recording", run.key))
        record = FileRecord(
            name=run.name,
            size=run.size,
            file_upload_id=run.upload_id,
            upload_name=run.upload.upload_name,
            hash=content,
            folder_path=run.folder_path,
            is_visible=run.is_visible,
            is_manifest=run.is_manifest,
            is_public=self.public and run.is_visible,
        )
        if run.is_manifest and run.whole is not None:
            record = manifest_row(record, *run.whole)
        try:
            try:
                page_id, index_id = self._write_records(run, record, page_id, look_first)
            except RecordError as exc:
                files = self.databases.files_data_source
                if not (contradicts(exc) and self.facts.refreshed()):
                    raise
                # Notion says the cached facts are out of date: once more, with fresh ones,
                # writing only what is not there yet.
                self.emit(Notice(f"{run.name}: the workspace changed; recording it again"))
                self._journal(run, **self.facts.journal_fields())
                kept = exc.page_id if files == self.databases.files_data_source else None
                page_id, index_id = self._write_records(run, record, kept or page_id, True)
        except RecordError as exc:
            if exc.page_id:
                self._journal(run, state="paged", page_id=exc.page_id)
            self._journal(run, error=str(exc.cause))
            raise
        self._journal(run, state="done", page_id=page_id, index_id=index_id, error=None)
        return PushResult(
            name=run.name,
            size=run.size,
            file_id=page_id,
            file_upload_id=run.upload_id,
            index_id=index_id,
            hash=content,
            plan=run.plan,
            upload=run.upload,
            seconds=time.monotonic() - run.started,
            retries=run.retries,
            folder_path=run.folder_path,
        )

    def _write_records(
        self, run: FileRun, record: FileRecord, page_id: str | None, look_first: bool
    ) -> tuple[str, str]:
        return write_records(
            self.client,
            self.databases,
            record,
            page_id,
            look_first=look_first,
            on_page=lambda found: self._journal(run, state="paged", page_id=found),
        )

    def _journal(self, run: FileRun, **fields: object) -> None:
        if self.journal and run.push_id is not None:
            self.journal.update(run.push_id, **fields)

    # -- resume -----------------------------------------------------------------------------
    def resume(
        self,
        entry: PushEntry,
        source: Source | None = None,
        whole: tuple[str, int] | None = None,
    ) -> PushResult:
        """Finish a journalled push: resend missing parts, complete, write missing records.

        Records are looked up before they are written (the push may have died after Notion
        committed one). A push whose upload was never created or has expired starts over from
        its input (`source`, or the file or spool file the journal names), saying so.
        """
        plan = PartPlan(
            size=entry.size, mode=entry.mode, part_size=entry.part_size, count=entry.part_count
        )
        upload = UploadName(entry.name, entry.upload_name, entry.content_type)
        run = FileRun(
            name=entry.name,
            size=entry.size,
            plan=plan,
            upload=upload,
            folder_path=entry.folder_path,
            is_visible=bool(entry.is_visible),
            is_manifest=bool(entry.is_manifest),
            key=next(self._keys),
            push_id=entry.id,
            upload_id=entry.upload_id or "",
            salt=entry.salt or "",
            source=source,
            whole=whole,
        )
        self.emit(FileStarted(name=entry.name, size=entry.size, parts=plan.count, key=run.key))
        try:
            result = self._resume_run(run, entry)
        except StartOver as again:
            self._journal(run, state="expired", error=again.reason)
            self.emit(Notice(f"{entry.name}: {again.reason}; starting it over"))
            result = self._start_over(entry, source)
        finally:
            self.emit(UploadEnded(run.name, run.key))
        if entry.spooled and entry.source_path:
            with contextlib.suppress(OSError):
                os.unlink(entry.source_path)
        return result

    def _start_over(self, entry: PushEntry, source: Source | None) -> PushResult:
        """Push a journalled input again as a new upload (the old one is of no use).

        Not when the measured pace says a new upload of that size would expire too: starting
        it over would only repeat the failure (TooSlow; a split push re-plans it smaller).
        """
        most = self.pace.most_bytes(self.options.part_size, self.options.workers)
        if most is not None and entry.size > most:
            raise TooSlow(
                f"{entry.name}: its upload expired, and at the measured "
                f"{human_bytes(int(self.pace.rate or 0))}/s per connection a new upload of "
                f"{human_bytes(entry.size)} would expire too",
                hint="push it again without --no-split: it is stored as pieces that each "
                "finish in time",
            )
        opened = source or self.reopen(entry)
        try:
            return self._push_new(
                opened,
                entry.folder_path,
                is_visible=bool(entry.is_visible),
                is_manifest=bool(entry.is_manifest),
                parent=entry.parent_id,
            )
        finally:
            if source is None:
                opened.close()

    def reopen(self, entry: PushEntry) -> Source:
        """The journalled input, unchanged, or an error saying how to get rid of the entry."""
        if entry.offset is not None and entry.source_path:
            return open_piece(entry.source_path, entry.offset, entry.size, entry.name, entry.mtime)
        if not entry.source_path or not os.path.exists(entry.source_path):
            raise NotionUpError(
                f"{entry.name}: the stream it came from is gone",
                hint=f"push it again, or forget it with `notion-up pending --drop {entry.id}`",
            )
        source = open_file(entry.source_path, entry.name)
        if source.size != entry.size or source.mtime != entry.mtime:
            source.close()
            raise NotionUpError(
                f"{entry.source_path} changed since the push began",
                hint=f"push it again, or forget it with `notion-up pending --drop {entry.id}`",
            )
        source.spooled = bool(entry.spooled)
        return source

    def _upload_status(self, upload_id: str) -> str:
        """The upload's status; "gone" when Notion no longer knows it."""
        try:
            return str(self.client.retrieve_file_upload(upload_id).get("status"))
        except APIError as exc:
            if exc.status == 404:
                return "gone"
            raise

    def _resume_run(self, run: FileRun, entry: PushEntry) -> PushResult:
        sha512 = entry.sha512
        if entry.state not in ("created", "uploaded", "paged"):
            raise NotionUpError(f"{entry.name}: nothing to resume (the push is {entry.state})")
        if not run.upload_id:
            raise StartOver("its upload was never created (the run stopped first)")
        checked = False
        if entry.state == "created":
            status = self._upload_status(run.upload_id)
            checked = True
            if status in ("expired", "gone"):
                raise StartOver(f"upload {run.upload_id} expired before it was finished")
            if status != "uploaded" or sha512 is None:
                sha512 = self._resend(run, entry, done=status == "uploaded")
            if status != "uploaded" and run.plan.multi:
                self.client.complete_file_upload(run.upload_id)
        else:
            # Every byte is with Notion already: only records are left to write.
            self.emit(AlreadySent(run.name, run.size, run.key))
        if sha512 is None or not run.salt:
            raise NotionUpError(f"{entry.name}: the journal lacks its hash", hint="push it again")
        content = hash_content(sha512, run.salt)
        self._journal(run, state="uploaded", sha512=sha512, salted=content.salted)
        page_id = entry.page_id or find_page(
            self.client, self.databases.files_data_source, "filehash", content.salted
        )
        if page_id is None and not checked:
            # Not attached yet: the upload must still be alive to be attached now.
            if self._upload_status(run.upload_id) in ("expired", "gone"):
                raise StartOver(f"upload {run.upload_id} expired before it was recorded")
        return self._record(run, content, page_id, look_first=True)

    def _resend(self, run: FileRun, entry: PushEntry, done: bool) -> str:
        """Re-read the unchanged input, sending the parts Notion does not have yet."""
        opened = run.source is None
        source = run.source or self.reopen(entry)
        run.source = source
        try:
            sent = set(range(1, run.plan.count + 1)) if done else set()
            if not done and run.plan.multi and self.journal:
                sent = self.journal.sent_parts(entry.id)
            sha512 = self._send_all(run, already_sent=sent)
        finally:
            if opened:
                source.close()
        if entry.sha512 and sha512 != entry.sha512:
            raise NotionUpError(
                f"{entry.source_path or entry.name} changed since the push began "
                "(its SHA-512 differs)",
                hint="push it again",
            )
        return sha512

    def _send_all(self, run: FileRun, already_sent: set[int]) -> str:
        """Send the parts not in `already_sent`; the SHA-512 of the whole source, journalled."""
        sha512 = self.sender.send_all(run, already_sent)
        self._journal(run, sha512=sha512)
        return sha512
