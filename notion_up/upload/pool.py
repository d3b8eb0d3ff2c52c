"""Many files at once: a batch's jobs pushed a few at a time, each reported as it ends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from notion_up.events import FileDone, FileFailed, Listener
from notion_up.upload.runs import PushResult
from notion_up.upload.source import Source

OnResult = Callable[["Job", PushResult | None, BaseException | None], None]
RunError = Callable[[], BaseException | None]


@dataclass(kw_only=True)
class Job:
    """One input of a batch: how to open it, and where it goes in the file database."""

    name: str
    open: Callable[[], Source]
    folder_path: str = "/"
    # The local file (None for standard input), for the --json line's `path`.
    path: str | None = None


def push_job(
    job: Job,
    push: Callable[[Source, str], PushResult],
    listener: Listener,
    run_error: RunError = lambda: None,
) -> PushResult:
    """Open and push one job, emitting FileDone or FileFailed.

    A failure of the whole run (`run_error`: the set-up reads failed) is not one file's: it is
    reported once, by whoever runs the batch, not as a FileFailed per file.
    """
    try:
        source = job.open()
        try:
            result = push(source, job.folder_path)
        finally:
            source.close()
    except BaseException as exc:
        if run_error() is None:
            listener(FileFailed(job.name, exc))
        raise
    listener(FileDone(job.name, result))
    return result


def push_all(
    jobs: Iterable[Job],
    push_one: Callable[[Job], PushResult],
    on_result: OnResult,
    *,
    workers: int,
    cancel: threading.Event,
    run_error: RunError = lambda: None,
) -> None:
    """Push every job, `workers` files at once, reporting each to `on_result` as it ends.

    After Ctrl-C (`cancel`) the files still queued are cancelled: they never start, so no
    upload is created that only `resume` could finish. A failure of the whole run
    (`run_error`) stops the batch and is raised once the files in flight have ended.
    """
    workers = max(1, workers)
    with ThreadPoolExecutor(workers, thread_name_prefix="notion-up-file") as files:
        futures: dict[Future, Job] = {}

        def report_done() -> None:
            for future in [f for f in futures if f.done()]:
                job = futures.pop(future)
                if future.cancelled():
                    continue
                error = future.exception()
                if error is not None and run_error() is not None:
                    continue  # the run's own error, raised below
                on_result(job, None if error else future.result(), error)

        def drain(most: int) -> None:
            report_done()
            while len(futures) > most:
                if cancel.is_set():
                    for future in futures:
                        future.cancel()
                wait(list(futures), return_when=FIRST_COMPLETED, timeout=0.5)
                report_done()

        for job in jobs:
            if cancel.is_set() or run_error() is not None:
                break
            futures[files.submit(push_one, job)] = job
            # Keep the queue short so a cancel stops promptly and memory stays flat.
            drain(most=2 * workers)
        drain(most=0)
    failed = run_error()
    if failed is not None:
        raise failed
