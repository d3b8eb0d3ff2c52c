"""One upload run: read in order, hash, send parts in a bounded pool, complete, record."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

from notion_up.errors import (
    APIError,
    InputError,
    Interrupted,
    NotionUpError,
    SourceChanged,
)
from notion_up.events import (
    AlreadySent,
    BytesSent,
    FileDone,
    FileFailed,
    FileStarted,
    Listener,
    Notice,
    PartDone,
    PartStarted,
    Retrying,
    Stage,
    UploadEnded,
    ignore,
)
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
from notion_up.notion.workspace import Setup, WorkspaceFacts, contradicts
from notion_up.state.journal import Journal, PushEntry
from notion_up.upload.budget import BufferPool, MemoryBudget
from notion_up.upload.facts import UNKNOWN, RunFacts
from notion_up.upload.parts import PartPlan, plan_parts
from notion_up.upload.runs import (
    DEFAULT_MAX_MEMORY,
    EngineOptions,
    FileRun,
    Job,
    PushResult,
    StartOver,
)
from notion_up.upload.source import Source, open_file, open_piece

# What callers import from the engine; defined in runs.py with the rest of a run's data.
__all__ = ["DEFAULT_MAX_MEMORY", "EngineOptions", "Job", "PushResult", "Uploader"]


class Uploader:
    """Pushes sources to Notion; one instance serves a whole run (shared pool and budget)."""

    def __init__(
        self,
        client: NotionClient,
        databases: Databases | None,
        options: EngineOptions | None = None,
        *,
        journal: Journal | None = None,
        listener: Listener = ignore,
        max_file_size: int | None = None,
        cancel: threading.Event | None = None,
        origin: str | None = None,
        public: bool = False,
        refresh: Callable[[], WorkspaceFacts] | None = None,
        setup: Setup | None = None,
    ) -> None:
        self.client = client
        # `push --public`: the records say so, and the service serves its /d/<hash> link.
        self.public = public
        # Which workspace the journal files this run under ("sandbox" for the local one).
        self.origin = origin or client.base_url
        # Where records go and the limit: from the cache, or from set-up reads still under way
        # while the first upload is created (`setup`); kept current by `facts` (fetched again
        # where Notion contradicts cached ones). The schemas must fit before the first record.
        self.facts = RunFacts(databases, max_file_size, refresh, setup)
        self.options = options or EngineOptions()
        self.journal = journal
        self.emit = listener
        self.cancel = cancel or threading.Event()
        workers = max(1, self.options.workers)
        # workers + 1 buffers: one being read while every worker sends.
        self.budget = MemoryBudget(
            (workers + 1) * self.options.part_size, max_rss=self.options.max_memory
        )
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="notion-up-part")
        self.buffers = BufferPool(self.options.part_size, keep=workers + 1)
        self._warm = False
        self._warm_lock = threading.Lock()
        # Each upload's events carry its own key: two files of one name must not share a bar.
        self._keys = itertools.count(1)

    def close(self) -> None:
        """Stop the part pool (pending parts are cancelled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- many files -------------------------------------------------------------------------
    def push_many(
        self,
        jobs: Iterable[Job],
        on_result: Callable[[Job, PushResult | None, BaseException | None], None],
    ) -> None:
        """Push every job, several files at once, reporting each as it ends.

        Files share the part pool, the memory budget and the client's rate limiter, so many
        small files go up concurrently without more requests in flight than the limits allow.
        Set-up reads that fail (a refused token, a wrong id or schema) fail the run, not each
        file: that error is raised once the files in flight have ended.
        """
        workers = max(1, self.options.workers)
        with ThreadPoolExecutor(workers, thread_name_prefix="notion-up-file") as files:
            futures: dict[Future, Job] = {}
            for job in jobs:
                if self.cancel.is_set() or self.facts.failed is not None:
                    break
                futures[files.submit(self.push_job, job)] = job
                # Keep the queue short so a cancel stops promptly and memory stays flat.
                self._drain(futures, on_result, most=2 * workers)
            self._drain(futures, on_result, most=0)
        if self.facts.failed is not None:
            raise self.facts.failed

    def _drain(self, futures: dict[Future, Job], on_result, most: int) -> None:
        """Report files as they end until at most `most` are unfinished.

        After Ctrl-C the files still queued are cancelled: they never start, so no upload is
        created that only `resume` could finish.
        """
        self._report_done(futures, on_result)
        while len(futures) > most:
            if self.cancel.is_set():
                for future in futures:
                    future.cancel()
            wait(list(futures), return_when=FIRST_COMPLETED, timeout=0.5)
            self._report_done(futures, on_result)

    def _report_done(self, futures: dict[Future, Job], on_result) -> None:
        for future in [f for f in futures if f.done()]:
            job = futures.pop(future)
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None and self.facts.failed is not None:
                continue  # the run's own error, raised by push_many
            on_result(job, None if error else future.result(), error)

    def push_job(self, job: Job) -> PushResult:
        """Open and push one job, emitting FileDone or FileFailed."""
        try:
            source = job.open()
            try:
                result = self.push(source, job.folder_path)
            finally:
                source.close()
        except BaseException as exc:
            if self.facts.failed is None:
                self.emit(FileFailed(job.name, exc))
            raise
        self.emit(FileDone(job.name, result))
        return result

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
        whole: tuple[str, int] | None = None,
    ) -> PushResult:
        """Upload `source`, then record it; raises a NotionUpError saying what was left behind.

        `is_visible` false and `is_manifest` true are for the pieces and manifest of a split file;
        `whole` (original name, total size) is what a manifest's row shows.
        """
        if self.cancel.is_set():
            # A file that had not begun when Ctrl-C came stays untouched: nothing to resume.
            raise Interrupted("interrupted")
        entry = self._unfinished_push_of(source)
        if entry is not None:
            # A re-run after a crash finishes what was begun rather than recording it twice.
            self.emit(
                Notice(
                    f"finishing the unfinished push of {source.name} "
                    f"(journal entry {entry.id}) instead of starting a new one"
                )
            )
            return self.resume(entry, source)
        return self._push_new(
            source, folder_path, is_visible=is_visible, is_manifest=is_manifest, whole=whole
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
            self._warm_up()
        run = FileRun(
            source.name, source.size, plan, upload, folder_path, is_visible, is_manifest,
            key=next(self._keys), source=source, salt=new_salt(), parent=parent, whole=whole,
        )  # fmt: skip
        self.emit(FileStarted(run.name, run.size, plan.count, run.key))
        try:
            return self._push_run(run)
        finally:
            self.emit(UploadEnded(run.name, run.key))

    def _push_run(self, run: FileRun) -> PushResult:
        if self.facts.failed is not None:
            self.facts.settle()  # the schema does not fit: no more uploads
        located = self.facts.known()
        if self.journal:
            run.push_id = self.journal.start(**self._journal_row(run))
        try:
            created = self.client.create_file_upload(
                run.plan.create_body(run.upload.upload_name, run.upload.content_type),
                on_retry=self._on_retry(run, "create"),
            )
        except NotionUpError:
            if not located:
                self._located(run)  # the set-up's own error says more (the token, an id)
            raise
        run.upload_id = created["id"]
        expiry = created.get("expiry_time")
        self._journal(run, upload_id=run.upload_id, expiry_time=expiry)
        if not located:
            self._located(run)
        try:
            sha512 = self._send_all(run, already_sent=set())
            if run.plan.multi:
                self.emit(Stage(run.name, "completing", run.key))
                self.client.complete_file_upload(
                    run.upload_id, on_retry=self._on_retry(run, "complete")
                )
            content = hash_content(sha512, run.salt)
            self._journal(run, state="uploaded", sha512=sha512, salted=content.salted)
            return self._record(run, content)
        except NotionUpError as exc:
            if isinstance(exc, SourceChanged):
                # Nothing was recorded and there is nothing to finish: the bytes were wrong.
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

    def _unfinished_push_of(self, source: Source) -> PushEntry | None:
        """The journal's unfinished push of this same input, if there is one to finish.

        A file is the same when its path, size and mtime are; a stream (stdin) when its name,
        size and SHA-512 are (a stream is hashed before its push begins).
        """
        if self.journal is None or source.offset is not None:
            return None  # a split file's pieces are matched by the split file's own row
        found = None
        if source.path is not None and not source.spooled:
            found = self.journal.find_unfinished(
                source.path, source.size, source.mtime, self.origin
            )
        elif source.sha512 is not None:
            found = self.journal.find_unfinished_stream(
                source.name, source.size, source.sha512, self.origin
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
            **self._source_row(source, run.folder_path),
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

    def _source_row(self, source: Source, folder_path: str) -> dict[str, object]:
        """The journal fields every push shares: its input, and where its records go."""
        return {
            "name": source.name,
            "source_path": source.path,
            "size": source.size,
            "mtime": source.mtime,
            "spooled": int(source.spooled),
            "folder_path": folder_path,
            **self.facts.journal_fields(),
            "api_url": self.origin,
        }

    def _warm_up(self) -> None:
        """Start every part worker and allocate every part buffer before the first part.

        The process then has the size its settings give it (workers + 1 buffers, all workers)
        from the first multi-part file on, instead of growing into it as a long file goes:
        memory depends on --workers and --part-size, never on how large or quick the file is.
        """
        with self._warm_lock:
            if self._warm:
                return
            self._warm = True
            workers = max(1, self.options.workers)
            # Each task waits for the others, so the pool has to start a thread for every one.
            # When the pool is busy with other files' parts its threads exist already: the
            # barrier then times out quickly, and that is fine.
            barrier = threading.Barrier(workers + 1)
            started = [self._pool.submit(barrier.wait, 0.5) for _ in range(workers)]
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(0.5)
            for future in started:
                with contextlib.suppress(threading.BrokenBarrierError):
                    future.result()
            self.buffers.reserve(workers + 1)

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
            run.name, run.size, run.upload_id, run.upload.upload_name, content, run.folder_path,
            is_visible=run.is_visible, is_manifest=run.is_manifest,
            is_public=self.public and run.is_visible,
        )  # fmt: skip
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
            run.name, run.size, page_id, run.upload_id, index_id, content, run.plan, run.upload,
            time.monotonic() - run.started, run.retries, run.folder_path,
        )  # fmt: skip

    def _write_records(
        self, run: FileRun, record: FileRecord, page_id: str | None, look_first: bool
    ) -> tuple[str, str]:
        return write_records(
            self.client, self.databases, record, page_id, look_first=look_first,
            on_page=lambda found: self._journal(run, state="paged", page_id=found),
        )  # fmt: skip

    def _journal(self, run: FileRun, **fields: object) -> None:
        if self.journal and run.push_id is not None:
            self.journal.update(run.push_id, **fields)

    def _on_retry(self, run: FileRun, what: str, part_number: int | None = None):
        def on_retry(_path: str, attempt: int, reason: str, wait_s: float) -> None:
            with run.lock:
                run.retries += 1
            self.emit(Retrying(run.name, what, attempt, reason, wait_s, run.key, part_number))

        return on_retry

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
        plan = PartPlan(entry.size, entry.mode, entry.part_size, entry.part_count)
        upload = UploadName(entry.name, entry.upload_name, entry.content_type)
        run = FileRun(
            entry.name, entry.size, plan, upload, entry.folder_path, bool(entry.is_visible),
            bool(entry.is_manifest), key=next(self._keys), push_id=entry.id,
            upload_id=entry.upload_id or "", salt=entry.salt or "", source=source, whole=whole,
        )  # fmt: skip
        self.emit(FileStarted(entry.name, entry.size, plan.count, run.key))
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
        """Push a journalled input again as a new upload (the old one is of no use)."""
        opened = source or self._reopen(entry)
        try:
            return self._push_new(
                opened, entry.folder_path, is_visible=bool(entry.is_visible),
                is_manifest=bool(entry.is_manifest), parent=entry.parent_id,
            )  # fmt: skip
        finally:
            if source is None:
                opened.close()

    def _reopen(self, entry: PushEntry) -> Source:
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
        source = run.source or self._reopen(entry)
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

    # -- the bytes --------------------------------------------------------------------------
    def _send_all(self, run: FileRun, already_sent: set[int]) -> str:
        """Read the source once, in order, hashing it; send each part not in `already_sent`.

        Returns the SHA-512 hex digest of everything read.
        """
        source = run.source
        assert source is not None
        if already_sent:
            nbytes = sum(run.plan.part_length(n) for n in already_sent)
            self.emit(AlreadySent(run.name, nbytes, run.key))
        digest = None if source.sha512 else hashlib.sha512()
        futures: list[Future] = []
        try:
            for part_number in range(1, run.plan.count + 1):
                if self.cancel.is_set():
                    raise Interrupted("interrupted")
                if run.failed.is_set():
                    break
                length = run.plan.part_length(part_number)
                taken = self.budget.acquire(length, self._stopping(run))
                if taken is None:
                    break
                view = memoryview(self.buffers.take(length))[:length]
                try:
                    if source.readinto(view) != length:
                        raise InputError(f"{run.name} got shorter while it was being read")
                    if digest is not None:
                        digest.update(view)
                except BaseException:
                    self._give_back(view, taken)
                    raise
                if part_number in already_sent:
                    self._give_back(view, taken)
                    continue
                future = self._pool.submit(self._send_part, run, part_number, view, taken)
                # A part cancelled before it ran must still give its buffer back.
                future.add_done_callback(self._release_if_cancelled(view, taken))
                futures.append(future)
            if not run.failed.is_set() and not self.cancel.is_set():
                source.check_end()
        except BaseException:
            run.failed.set()
            for future in futures:
                future.cancel()
            wait(futures)
            raise
        self._wait_parts(run, futures)
        if self.cancel.is_set():
            raise Interrupted("interrupted")
        sha512 = source.sha512 or digest.hexdigest()  # type: ignore[union-attr]
        self._journal(run, sha512=sha512)
        return sha512

    def _give_back(self, view: memoryview, taken: int) -> None:
        buffer = view.obj
        view.release()
        self.buffers.give(buffer)  # type: ignore[arg-type]
        self.budget.release(taken)

    def _release_if_cancelled(self, view: memoryview, taken: int):
        def release(future: Future) -> None:
            if future.cancelled():
                self._give_back(view, taken)

        return release

    def _stopping(self, run: FileRun):
        return lambda: run.failed.is_set() or self.cancel.is_set()

    def _wait_parts(self, run: FileRun, futures: list[Future]) -> None:
        """Wait for every part; on the first failure cancel the rest and raise it."""
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failure = next((f.exception() for f in done if f.exception()), None)
        if failure is not None:
            run.failed.set()
            for future in pending:
                future.cancel()
            wait(pending)
            raise failure

    def _send_part(self, run: FileRun, part_number: int, view: memoryview, taken: int) -> None:
        try:
            if run.failed.is_set() or self.cancel.is_set():
                return
            name, key = run.name, run.key
            self.emit(PartStarted(name, part_number, view.nbytes, key))
            self.client.send_file_upload(
                run.upload_id,
                view,
                run.upload.upload_name,
                run.upload.content_type,
                part_number if run.plan.multi else None,
                on_progress=lambda n: self.emit(BytesSent(name, part_number, n, key)),
                on_retry=self._on_retry(run, f"part {part_number}", part_number),
            )
            if run.plan.multi and self.journal and run.push_id is not None:
                self.journal.part_sent(run.push_id, part_number)
            self.emit(PartDone(name, part_number, key))
        except BaseException:
            run.failed.set()
            raise
        finally:
            self._give_back(view, taken)
