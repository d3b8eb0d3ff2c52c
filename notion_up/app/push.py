"""push: the lock, the workspace facts, skip checks, a dry run or the upload engine, the outcome."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from notion_up.app.batch import BatchFlags, Inputs, file_job, nothing_to_push, report_left_out
from notion_up.app.context import (
    Context,
    connect,
    open_journal,
    recall_limits,
    remember_limits,
    state_folder,
)
from notion_up.app.partsize import engine_options
from notion_up.config import Settings, require
from notion_up.errors import ExitStatus, Interrupted, NotionUpError, batch_status
from notion_up.events import BatchPlanned, Listener, Notice, ignore
from notion_up.notion.records import ensure_folders
from notion_up.notion.workspace import (
    Setup,
    WorkspaceFacts,
    begin_facts,
    contradicts,
    facts_key,
    fetch_facts,
    load_facts,
)
from notion_up.state.journal import Journal
from notion_up.state.lock import run_lock
from notion_up.units import human_bytes
from notion_up.upload.engine import Uploader
from notion_up.upload.existing import ExistingCheck, drop_existing
from notion_up.upload.facts import RunFacts
from notion_up.upload.pool import Job, push_all, push_job
from notion_up.upload.preview import preview
from notion_up.upload.runs import DEFAULT_MAX_MEMORY, PushResult
from notion_up.upload.split import Splitter

OnResult = Callable[[Job, PushResult | None, BaseException | None], None]


@dataclass(kw_only=True)
class PushOptions:
    """How to push, beyond the settings: batch flags, the memory cap, --split, the sandbox."""

    batch: BatchFlags = field(default_factory=BatchFlags)
    max_memory: int | None = DEFAULT_MAX_MEMORY
    split_size: int | None = None
    sandbox: bool = False
    # `push --public`: recorded as public, so the service serves it at its /d/<hash> link.
    public: bool = False
    # `push --no-split`: content over the workspace's limit is refused, not stored split.
    no_split: bool = False


@dataclass(frozen=True)
class Planned:
    """One line of a dry run: what push would do with one input."""

    data: dict
    text: str

    def to_json(self) -> dict:
        """The --json object."""
        return self.data

    def line(self) -> str:
        """The plain line."""
        return self.text


@dataclass(kw_only=True)
class PushOutcome:
    """What a push did: results, failures, a dry run's plan, and whether it was cut short."""

    results: list[PushResult] = field(default_factory=list)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    nothing: bool = False
    interrupted: bool = False
    error_on_nothing: bool = False
    # After an interruption: what `resume` will finish, and what it will not.
    left: Leftovers | None = None

    def exit_status(self) -> ExitStatus:
        """The run's exit status; raises Interrupted or NothingToPush when that is the outcome.

        0 when all pushed; a failure's own code when every file failed alike; else 1.
        """
        if self.interrupted:
            left = self.left or Leftovers()
            raise Interrupted(f"interrupted: {left.summary()}", hint=left.advice())
        if self.nothing:
            nothing_to_push(BatchFlags(error_on_nothing=self.error_on_nothing))
        return batch_status([f for _, f in self.failures], len(self.results))


@dataclass(kw_only=True)
class Leftovers:
    """What an interrupted push left: done, cut short (resume finishes them), never started."""

    pushed: int = 0
    failed: int = 0
    unfinished: list[str] = field(default_factory=list)
    split_unfinished: list[str] = field(default_factory=list)
    not_started: int = 0
    older: int = 0

    def summary(self) -> str:
        """`4 pushed, 2 cut short, 16 not started`."""
        cut = len(self.unfinished) + len(self.split_unfinished)
        text = f"{self.pushed} pushed, {cut} cut short, {self.not_started} not started"
        return text + (f", {self.failed} failed" if self.failed else "")

    def advice(self) -> str:
        """Exactly what `notion-up resume` will and will not finish."""
        said = []
        if self.unfinished:
            names = _names(self.unfinished)
            extra = f" and {self.older} older unfinished push(es)" if self.older else ""
            said.append(
                f"`notion-up resume` finishes the {len(self.unfinished)} cut short ({names}){extra}"
            )
        elif self.older:
            said.append(f"`notion-up resume` finishes {self.older} older unfinished push(es)")
        if self.split_unfinished:
            said.append(
                f"split file(s) cut short ({_names(self.split_unfinished)}) cannot be resumed: "
                "push them again"
            )
        if self.not_started:
            said.append(
                f"resume does not send the {self.not_started} file(s) never started: run the "
                "same push again with --skip-existing to send only those"
            )
        return "; ".join(said) or "nothing was left unfinished"


def _names(names: list[str], most: int = 3) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def push(
    settings: Settings,
    inputs: Inputs,
    options: PushOptions | None = None,
    *,
    listener: Listener = ignore,
    on_result: OnResult | None = None,
    cancel: threading.Event | None = None,
) -> PushOutcome:
    """Push every input (or, with --dry-run, say what would happen), under the run lock.

    Progress goes to `listener` as events; each file's end goes to `on_result` as it happens.
    """
    options = options or PushOptions()
    batch = options.batch
    outcome = PushOutcome(error_on_nothing=batch.error_on_nothing)
    cancel = cancel or threading.Event()

    def say(text: str) -> None:
        listener(Notice(text))

    # A dry run writes nothing, so it needs no lock and may run beside a real one.
    lock = (
        contextlib.nullcontext()
        if batch.dry_run
        else run_lock(state_folder(settings), batch.wait_lock, say)
    )
    started = time.time()
    with lock, connect(settings, options.sandbox, listener) as ctx:
        settings = ctx.settings  # with --sandbox, pointed at the sandbox
        require(settings, "database", "index")
        for key, value, source in settings.describe():
            listener(Notice(f"setting {key} = {value or '-'} ({source})", verbose=True))
        journal = open_journal(settings)
        recall_limits(ctx, journal)
        database, index = str(settings.database), str(settings.index)
        facts: WorkspaceFacts | Setup | None = None
        try:
            if batch.dry_run:
                facts = load_facts(ctx.client, database, index, journal)
            else:
                # Cached, or the set-up reads begun: the push creates its first upload while
                # they are under way, and waits for the schema check only to write a record.
                facts = begin_facts(
                    ctx.client, database, index, journal, on_failed=ctx.client.abort
                )
            existing = None
            if batch.skip_existing:
                remote = ctx.client if batch.check_remote else None
                data_source = located(facts).databases.files_data_source
                existing = ExistingCheck(
                    journal=journal,
                    workspace=ctx.workspace,
                    files_data_source=data_source,
                    remote=remote,
                )
            if batch.dry_run:
                limit = located(facts).max_file_size
                sizes = engine_options(
                    settings, journal, ctx.workspace, listener=listener, dry_run=True
                )
                outcome.planned = dry_run(
                    inputs, settings, sizes.part_size_of, limit, existing, options
                )
                outcome.nothing = not any(p.data["action"] == "push" for p in outcome.planned)
                return outcome
            jobs = _upload(
                ctx,
                facts=facts,
                journal=journal,
                existing=existing,
                inputs=inputs,
                options=options,
                listener=listener,
                on_result=on_result,
                cancel=cancel,
                outcome=outcome,
            )
            if cancel.is_set():
                outcome.left = leftovers(journal, ctx.workspace, started, jobs, outcome)
        finally:
            if isinstance(facts, Setup) and not cancel.is_set():
                # A run that wrote no record did not need the schema check: let it end (it is
                # what the facts cache keeps for the next run), but not for long.
                with contextlib.suppress(NotionUpError):
                    facts.settle(timeout=5.0)
            if any(contradicts(f) for _, f in outcome.failures):
                journal.forget_facts(facts_key(ctx.client, database, index))
            remember_limits(ctx, journal)
            journal.close()
    outcome.interrupted = cancel.is_set()
    return outcome


def located(facts: WorkspaceFacts | Setup) -> WorkspaceFacts:
    """The limit and where records go (waiting for the set-up reads if still under way)."""
    return facts if isinstance(facts, WorkspaceFacts) else facts.facts()


def _upload(
    ctx: Context,
    *,
    facts: WorkspaceFacts | Setup,
    journal: Journal,
    existing: ExistingCheck | None,
    inputs: Inputs,
    options: PushOptions,
    listener: Listener,
    on_result: OnResult | None,
    cancel: threading.Event,
    outcome: PushOutcome,
) -> int:
    """Push the jobs; returns how many there were (after skips)."""
    settings = ctx.settings
    engine = engine_options(settings, journal, ctx.workspace, options.max_memory, listener=listener)

    def ended(job: Job, result: PushResult | None, error: BaseException | None) -> None:
        if result is not None:
            outcome.results.append(result)
        else:
            assert error is not None
            outcome.failures.append((job.name, error))
        if on_result is not None:
            on_result(job, result, error)

    listener(BatchPlanned(inputs.count + len(inputs.expansion.skipped)))
    report_left_out(inputs, listener)
    files = inputs.expansion.files
    if existing is not None:
        files = drop_existing(files, existing, settings.workers, listener)
    jobs = [inputs.stdin_job] if inputs.stdin_job else []
    jobs += [file_job(item) for item in files]
    if not jobs:
        outcome.nothing = True
        listener(Notice("nothing to push"))
        return 0
    # The service shows only folders that have a row of their own: make the missing ones first.
    folders = [job.folder_path for job in jobs if job.folder_path.strip("/")]
    if folders:
        files_ds = located(facts).databases.files_data_source
        for path in ensure_folders(ctx.client, files_ds, folders):
            listener(Notice(f"made the folder row {path}", verbose=True))
    # Now the bytes to send are known (unless stdin's size is not).
    stdin_size = inputs.stdin_size if inputs.stdin_job else 0
    listener(BatchPlanned(inputs.count + len(inputs.expansion.skipped), _bytes(files, stdin_size)))
    known = facts if isinstance(facts, WorkspaceFacts) else None
    run_facts = RunFacts(
        known.databases if known else None,
        known.max_file_size if known else None,
        refresh=_refresher(ctx, journal) if known and known.cached else None,
        setup=facts if isinstance(facts, Setup) else None,
    )
    with Uploader(
        ctx.client,
        run_facts,
        engine,
        journal=journal,
        listener=listener,
        cancel=cancel,
        workspace=ctx.workspace,
        public=options.public,
    ) as uploader:
        pusher = Splitter(
            uploader,
            options.split_size,
            auto=not options.no_split,
            volume_size=settings.volume_size,
        )

        def push_one(job: Job) -> PushResult:
            return push_job(job, pusher.push, listener, lambda: run_facts.failed)

        push_all(
            jobs,
            push_one,
            ended,
            workers=settings.workers,
            cancel=cancel,
            run_error=lambda: run_facts.failed,
        )
    return len(jobs)


def _refresher(ctx: Context, journal: Journal) -> Callable[[], WorkspaceFacts]:
    """Fetch the workspace facts again, once per run, and cache them (for cached facts that
    Notion has just contradicted); later calls return the same fresh facts."""
    lock = threading.Lock()
    fresh: list[WorkspaceFacts] = []
    database, index = str(ctx.settings.database), str(ctx.settings.index)

    def refresh() -> WorkspaceFacts:
        with lock:
            if not fresh:
                # Forgotten first: if the fetch fails, the next run fetches again too.
                journal.forget_facts(facts_key(ctx.client, database, index))
                fresh.append(fetch_facts(ctx.client, database, index))
                journal.store_facts(facts_key(ctx.client, database, index), fresh[0].to_cache())
            return fresh[0]

    return refresh


def _bytes(files: list, stdin_size: int | None) -> int | None:
    if stdin_size is None:
        return None
    total = stdin_size
    for item in files:
        try:
            total += os.stat(item.path).st_size
        except OSError:
            continue
    return total


def leftovers(
    journal: Journal, workspace: str, started: float, jobs: int, outcome: PushOutcome
) -> Leftovers:
    """Count what an interrupted run left, from the journal: resume finishes exactly these."""
    left = Leftovers(pushed=len(outcome.results))
    for entry in journal.unfinished():
        if entry.workspace != workspace:
            continue
        if entry.created_at < started and entry.updated_at < started:
            # Untouched by this run. One this run took up again (a re-run finishing it) is
            # this run's, cut short: counted once, not also as a file never started.
            left.older += 1
        elif entry.is_visible or entry.is_manifest:
            left.unfinished.append(entry.name)
        else:
            # A hidden piece: resume can finish it, but not the split file it belongs to.
            whole = entry.name.rsplit(".part", 1)[0]
            if whole not in left.split_unfinished:
                left.split_unfinished.append(whole)
    real = [f for _, f in outcome.failures if not isinstance(f, Interrupted | KeyboardInterrupt)]
    left.failed = len(real)
    cut = len(left.unfinished) + len(left.split_unfinished)
    left.not_started = max(0, jobs - left.pushed - left.failed - cut)
    return left


def dry_run(
    inputs: Inputs,
    settings: Settings,
    part_size: int | Callable[[int], int],
    max_file_size: int | None,
    existing: ExistingCheck | None,
    options: PushOptions | None = None,
) -> list[Planned]:
    """What push would do with each input, worked out without writing anything."""
    options = options or PushOptions()
    planned: list[Planned] = []
    for skipped in inputs.expansion.skipped:
        row = {"dry_run": True, "action": "skip", "path": skipped.path, "reason": skipped.reason}
        planned.append(Planned(row, f"would skip {skipped.path}: {skipped.reason}"))
    if inputs.stdin_job is not None:
        name = inputs.stdin_job.name
        row = {"dry_run": True, "action": "push", "name": name, "path": "-"}
        text = f"would push {name} from standard input"
        if inputs.stdin_size is None and not options.no_split:
            # As the Splitter cuts it (the limit and --split can only make volumes smaller).
            volume = min(v for v in (settings.volume_size, options.split_size, max_file_size) if v)
            row["volume_size"] = volume
            text += (
                f": past 20 MB, in volumes of {volume} bytes ({human_bytes(volume)}), "
                "two at most on disk; longer than one volume, stored split"
            )
        planned.append(Planned(row, text))
    for item in inputs.expansion.files:
        seen = preview(
            item,
            part_size,
            max_file_size,
            existing,
            options.split_size,
            auto_split=not options.no_split,
        )
        planned.append(Planned(seen.to_json(), seen.line()))
    return planned
