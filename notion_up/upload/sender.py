"""The bytes of a push: read a source once, in order, hashing it; send its parts in a pool.

One sender serves a whole run: every file's parts share its workers, its buffers and its
memory budget, so memory depends on --workers and --part-size, never on how many files go up
at once or how large they are.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import cast

from notion_up.errors import InputError, Interrupted, TooSlow
from notion_up.events import AlreadySent, BytesSent, Listener, PartDone, PartStarted
from notion_up.notion.client import NotionClient
from notion_up.state.journal import Journal
from notion_up.units import human_bytes
from notion_up.upload.budget import BufferPool, MemoryBudget
from notion_up.upload.pace import Pace
from notion_up.upload.runs import EngineOptions, FileRun


class PartSender:
    """Sends the parts of uploads through one bounded pool of workers and buffers."""

    def __init__(
        self,
        client: NotionClient,
        options: EngineOptions,
        *,
        journal: Journal | None,
        listener: Listener,
        cancel: threading.Event,
        pace: Pace,
    ) -> None:
        self.client = client
        self.pace = pace
        self.options = options
        self.journal = journal
        self.emit = listener
        self.cancel = cancel
        workers = max(1, options.workers)
        # workers + 1 buffers: one being read while every worker sends.
        self.budget = MemoryBudget((workers + 1) * options.part_size, max_rss=options.max_memory)
        self.buffers = BufferPool(options.part_size, keep=workers + 1)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="notion-up-part")
        self._warm = False
        self._warm_lock = threading.Lock()

    def close(self) -> None:
        """Stop the part pool (pending parts are cancelled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def warm_up(self) -> None:
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

    def send_all(self, run: FileRun, already_sent: set[int]) -> str:
        """Read the run's source once, in order, hashing it; send each part not in `already_sent`.

        Returns the SHA-512 hex digest of everything read (the source's own when it was
        hashed before, as a spooled stream is).
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
                if self._late(run, part_number):
                    self.budget.release(taken)
                    raise self._too_slow(run)
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
        if digest is None:  # hashed already, while spooled
            return str(source.sha512)
        return digest.hexdigest()

    def _late(self, run: FileRun, part_number: int) -> bool:
        """Whether the parts from `part_number` on cannot be sent before the upload expires."""
        left = run.plan.count - part_number + 1
        return self.pace.late(run.deadline, left, run.plan.part_size, self.options.workers)

    def _too_slow(self, run: FileRun) -> TooSlow:
        rate = self.pace.rate or 0
        return TooSlow(
            f"{run.name}: at {human_bytes(int(rate))}/s per connection, upload {run.upload_id} "
            f"({human_bytes(run.size)}) cannot be sent before Notion expires it "
            f"({int(self.pace.window)} s after it was created); it was stopped before expiring",
            hint="leave out --no-split so that it is stored as pieces that each finish in "
            "time, or push it from a faster link",
        )

    def _give_back(self, view: memoryview, taken: int) -> None:
        buffer = cast(bytearray, view.obj)  # a view of one of self.buffers
        view.release()
        self.buffers.give(buffer)
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
            if self._late(run, part_number):
                raise self._too_slow(run)  # not sent: the upload would expire first
            name, key = run.name, run.key
            self.emit(PartStarted(name=name, part_number=part_number, size=view.nbytes, key=key))
            began = time.monotonic()
            self.client.send_file_upload(
                run.upload_id,
                view,
                run.upload.upload_name,
                run.upload.content_type,
                part_number if run.plan.multi else None,
                on_progress=lambda n: self.emit(
                    BytesSent(name=name, part_number=part_number, nbytes=n, key=key)
                ),
                on_retry=run.on_retry(self.emit, f"part {part_number}", part_number),
            )
            self.pace.part_sent(view.nbytes, time.monotonic() - began)
            if run.plan.multi and self.journal and run.push_id is not None:
                self.journal.part_sent(run.push_id, part_number)
            self.emit(PartDone(name, part_number, key))
        except BaseException:
            run.failed.set()
            raise
        finally:
            self._give_back(view, taken)
