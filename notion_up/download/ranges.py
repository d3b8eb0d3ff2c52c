"""One large file fetched in byte ranges over several connections, hashed in order.

A file host may cap each connection (4 MB/s is common for object stores behind a CDN), so a
large file comes down as `workers` Range requests at once. The SHA-512 of the whole content is
still taken in order, by one consumer, as the prefix of arrived bytes grows:

- with a placement (a temporary file), each chunk is written at its offset as it arrives and
  the consumer reads the contiguous prefix back to hash it;
- without one (verify, stdout), chunks that arrived ahead of the prefix wait in memory until
  it reaches them, and the consumer hands them on in order.

Either way a `Window` admits a chunk only when it ends within `capacity` bytes of what has been
hashed (workers × range size): memory depends on workers and range size, never on the file's
size. The first answer decides: a host that ignores Range (200, or a Content-Range other than
the one asked for) gets the one-stream download instead, before any of its bytes is kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import requests

from notion_up.download import bounded
from notion_up.download.host import (
    Cut,
    Expired,
    check_status,
    content_range,
    failure_of,
    stalls_cut,
)
from notion_up.errors import IntegrityError, TransientError
from notion_up.events import BytesReceived, Listener, Retrying
from notion_up.notion import transport
from notion_up.notion.records import RemoteFile
from notion_up.notion.retry import RetryPolicy

# Fresh URLs fetched for one download before giving up (each expired URL costs one).
MAX_REFRESHES = 3


class Fallback(Exception):
    """The file host does not serve ranges: download the file as one stream instead."""


class _Stopped(Exception):
    """Another range failed (or the run was interrupted): this one stops quietly."""


@dataclass(frozen=True, kw_only=True)
class Placement:
    """A sink that takes bytes at their offset (a temporary file), from `base` on.

    `seen` hears the bytes in order once they are in place (a split file's whole-file hash).
    """

    write_at: Callable[[int, bytes], None]
    read_at: Callable[[int, int], bytes]
    seen: Callable[[bytes], None]
    base: int = 0


@dataclass(frozen=True, kw_only=True)
class Link:
    """What ranged fetching needs of the fetcher: connections, retries, fresh URLs, events."""

    session: Callable[[], requests.Session]
    refresh: Callable[[], str | None]
    policy: RetryPolicy
    sleep: Callable[[float], None]
    listener: Listener
    timeout: float
    chunk_size: int
    allow_local: bool = False


def plan(size: int, range_size: int) -> list[tuple[int, int]]:
    """[start, stop) of each range, in order, covering `size` bytes."""
    return [(lo, min(size, lo + range_size)) for lo in range(0, size, range_size)]


class Window:
    """Chunks between the hashed prefix and the ranges running ahead of it.

    A chunk is admitted once it ends within `capacity` bytes of the hashed prefix, so a fast
    range cannot run away from a slow one; the chunk at the prefix itself is always admitted,
    so the range holding the prefix never waits and nothing deadlocks. With a placement only
    offsets and lengths are kept (the bytes are in the file); without one, the bytes.
    """

    def __init__(self, capacity: int, placement: Placement | None = None) -> None:
        self.capacity = capacity
        self.placement = placement
        self._cond = threading.Condition()
        self._chunks: dict[int, bytes | int] = {}
        self._error: BaseException | None = None
        self.consumed = 0
        self.held = 0  # bytes kept in memory now
        self.peak_held = 0
        self.peak_buffers = 0  # chunks kept in memory at once, at most

    def put(self, offset: int, data: bytes) -> None:
        """Take the chunk at `offset` (waiting while it is too far ahead of the prefix)."""
        with self._cond:
            while self._error is None and not self._admits(offset, len(data)):
                self._cond.wait()
            if self._error is not None:
                raise _Stopped
        if self.placement is not None:
            self.placement.write_at(self.placement.base + offset, data)
        with self._cond:
            if self.placement is not None:
                self._chunks[offset] = len(data)
            else:
                self._chunks[offset] = data
                self.held += len(data)
                self.peak_held = max(self.peak_held, self.held)
                self.peak_buffers = max(self.peak_buffers, len(self._chunks))
            self._cond.notify_all()

    def _admits(self, offset: int, n: int) -> bool:
        return offset == self.consumed or offset + n <= self.consumed + self.capacity

    def take(self) -> bytes:
        """The bytes at the prefix, in order (waiting for them); a range's error is raised."""
        with self._cond:
            while self._error is None and self.consumed not in self._chunks:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            item = self._chunks.pop(self.consumed)
        if isinstance(item, int):
            assert self.placement is not None
            data = self.placement.read_at(self.placement.base + self.consumed, item)
            if len(data) != item:
                raise IntegrityError("the temporary file gave back fewer bytes than were written")
        else:
            data = item
        with self._cond:
            self.consumed += len(data)
            if not isinstance(item, int):
                self.held -= len(data)
            self._cond.notify_all()
        return data

    @property
    def stopped(self) -> bool:
        """Whether a range failed or the download was given up."""
        with self._cond:
            return self._error is not None

    def fail(self, error: BaseException) -> None:
        """Stop everything: the first error is the one `take` raises."""
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()


@dataclass
class _Span:
    """One range of the file and how much of it has arrived."""

    lo: int
    hi: int
    got: int = 0

    @property
    def done(self) -> bool:
        return self.lo + self.got >= self.hi


class RangedDownload:
    """One file fetched in ranges by a pool of `workers` connections; `run` returns its hash."""

    def __init__(
        self,
        link: Link,
        remote: RemoteFile,
        url: str,
        key: int,
        *,
        workers: int,
        range_size: int,
        write: Callable[[bytes], None],
        placement: Placement | None = None,
    ) -> None:
        if remote.size is None:
            raise IntegrityError(f"{remote.name} ({remote.file_id}): the record has no filesize")
        self.link = link
        self.remote = remote
        self.size = remote.size
        self.key = key
        self.workers = max(1, workers)
        self.write = write
        self.what = f"{remote.name} ({remote.file_id})"
        self.spans = [_Span(lo, hi) for lo, hi in plan(self.size, range_size)]
        self.window = Window(self.workers * range_size, placement)
        self._url = url
        self._generation = 0
        self._refreshes = 0
        self._url_lock = threading.Lock()
        # Set once the first answer is judged; `_probe_failure` says why it went wrong, if it did.
        self._decided = threading.Event()
        self._probe_failure: BaseException | None = None

    # -- the consumer (the calling thread) ---------------------------------------------------
    def run(self) -> tuple[str, int]:
        """Fetch and hash the whole file; Fallback when the host does not serve ranges."""
        digest = hashlib.sha512()
        placement = self.window.placement
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="notion-up-range")
        futures: list[Future] = []
        try:
            first = pool.submit(self._range, self.spans[0], True)
            futures.append(first)
            self._decided.wait()
            if self._probe_failure is not None:
                raise self._probe_failure
            futures += [pool.submit(self._range, span, False) for span in self.spans[1:]]
            done = 0
            while done < self.size:
                data = self.window.take()
                digest.update(data)
                if placement is not None:
                    placement.seen(data)
                else:
                    self.write(data)
                done += len(data)
        except BaseException as exc:
            self.window.fail(_Stopped() if isinstance(exc, _Stopped) else exc)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:
            future.result()  # every range ended cleanly (they did: the prefix reached the end)
        return digest.hexdigest(), done

    # -- the workers -------------------------------------------------------------------------
    def _range(self, span: _Span, probe: bool) -> None:
        """Fetch one range to its end, resuming after cuts with the retry policy."""
        try:
            self._fetch_span(span, probe)
        except _Stopped:
            pass
        except BaseException as exc:
            if probe and not self._decided.is_set():
                self._probe_failure = exc
            self.window.fail(exc)
            raise
        finally:
            if probe:
                self._decided.set()

    def _fetch_span(self, span: _Span, probe: bool) -> None:
        policy = self.link.policy
        failures = 0
        budget = transport.download_budget(
            span.hi - span.lo, self.link.timeout, policy.max_attempts
        )
        while not span.done:
            if self.window.stopped:
                raise _Stopped  # after a backoff: no new request once another range failed
            transport.check_budget(budget, self.remote.name)
            before = span.got
            stalled = False
            url, generation = self._current_url()
            try:
                self._fetch(url, span, probe and span.got == 0)
                if span.done:
                    return
                reason = f"the body ended at byte {span.lo + span.got}"
            except Expired as expired:
                self._refresh(generation, str(expired))
                continue
            except (Cut, requests.RequestException) as exc:
                reason, stalled = failure_of(exc)
            # Progress resets the count: a long range on a flaky link still finishes.
            failures = 1 if span.got > before and not stalled else failures + 1
            if failures >= policy.max_attempts:
                raise TransientError(
                    f"{self.remote.name}: download failed at byte {span.lo + span.got}: {reason}",
                    hint="try again later",
                )
            wait = policy.delay(failures - 1)
            at = span.lo + span.got
            self._retrying(failures, f"{reason}; resuming at byte {at}", wait)
            self.link.sleep(wait)

    def _fetch(self, url: str, span: _Span, probe: bool) -> None:
        """One GET of what is left of `span`; its bytes go to the window as they arrive."""
        start = span.lo + span.got
        bounded.check_url(url, self.what)
        headers = {**bounded.HEADERS, "Range": f"bytes={start}-{span.hi - 1}"}
        link = self.link
        with (
            transport.WATCHDOG.watch(link.timeout) as watch,
            stalls_cut(watch),
            transport.get_following(
                link.session(),
                url,
                headers=headers,
                timeout=link.timeout,
                allow_local=link.allow_local,
                what=self.what,
            ) as r,
        ):
            self._check_answer(r, span, start, probe)
            self._decided.set()
            # The range's own length bounds the body; the ranges together make the record's size.
            chunks = bounded.bounded_chunks(r, span.hi - start, self.link.chunk_size, self.what)
            for chunk in chunks:
                with watch.holding():
                    self.window.put(span.lo + span.got, chunk)
                span.got += len(chunk)
                watch.progress(span.lo + span.got - start, transport.THROUGHPUT_FLOOR)
                self.link.listener(BytesReceived(self.remote.name, len(chunk), self.key))

    def _check_answer(self, r: requests.Response, span: _Span, start: int, probe: bool) -> None:
        """Refuse (or classify) an answer that is not exactly the range asked for."""
        status = r.status_code
        if status == 416:
            raise IntegrityError(f"{self.what}: the file host has fewer bytes than recorded")
        check_status(status, self.remote.name, self.what)
        found = content_range(r) if status == 206 else None
        if found is not None and found[2] is not None and found[2] != self.size:
            if found[2] > self.size:
                raise bounded.BodyTooLong(
                    f"{self.what}: the file host has {found[2]} bytes, {self.size} recorded"
                )
            raise IntegrityError(
                f"{self.what}: the file host has {found[2]} bytes, {self.size} recorded"
            )
        if found is None or found[:2] != (start, span.hi - 1):
            if probe:
                raise Fallback()  # the whole body, or some other range: one stream instead
            raise Cut("the file host answered a different range")

    # -- shared state ------------------------------------------------------------------------
    def _current_url(self) -> tuple[str, int]:
        with self._url_lock:
            return self._url, self._generation

    def _refresh(self, generation: int, why: str) -> None:
        """A fresh URL, fetched once however many ranges found the old one refused."""
        with self._url_lock:
            if generation != self._generation:
                return  # another range refreshed it meanwhile
            self._refreshes += 1
            if self._refreshes > MAX_REFRESHES:
                raise TransientError(
                    f"{self.remote.name}: the file host keeps refusing fresh URLs ({why})",
                    hint="try again later",
                )
            self._retrying(self._refreshes, f"the URL was refused ({why}); refreshing", 0.0)
            self._url = self.link.refresh() or self._url
            self._generation += 1

    def _retrying(self, attempt: int, reason: str, wait: float) -> None:
        self.link.listener(
            Retrying(
                name=self.remote.name,
                what="download",
                attempt=attempt,
                reason=reason,
                wait=wait,
                key=self.key,
            )
        )
