"""Getting files back: download a found file and prove it intact.

A file is intact when sha512((sha512(content) + salt).encode()) equals its recorded `filehash`.
Downloads go to the file URL Notion hands out in the page (presigned: no token is ever sent
there), resume with HTTP Range after a dropped connection, and fetch the page again (through
find.py) for a fresh URL when one has expired. Split files (a manifest plus hidden pieces) are
reassembled. A file of two ranges or more comes in byte ranges over several connections (see
ranges.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import requests

from notion_up.download import bounded
from notion_up.download.find import Finder, Rejected
from notion_up.download.host import (
    Cut,
    Expired,
    check_status,
    content_length,
    content_range,
    failure_of,
    stalls_cut,
)
from notion_up.download.ranges import MAX_REFRESHES, Fallback, Link, Placement, RangedDownload
from notion_up.download.sinks import NullSink, Sink, safe_name
from notion_up.errors import (
    FileMissing,
    IntegrityError,
    Interrupted,
    InvalidRecord,
    ManifestError,
    NotionUpError,
    TransientError,
)
from notion_up.events import (
    BytesReceived,
    DownloadEnded,
    DownloadStarted,
    Listener,
    Retrying,
    ignore,
)
from notion_up.manifest import MAX_MANIFEST_SIZE, Manifest, is_manifest_name, parse_manifest
from notion_up.notion import transport
from notion_up.notion.client import NotionClient
from notion_up.notion.records import Databases, RemoteFile, verify
from notion_up.workpool import map_bounded

CHUNK = 1024 * 1024
# A range per connection; a file under two of them is one stream (no extra requests).
RANGE_SIZE = 5 * 1024 * 1024


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Restored:
    """A file got back and checked."""

    file_id: str
    name: str
    size: int
    sha512: str
    pieces: int = 0
    path: str | None = None

    def to_json(self) -> dict:
        """The `pull --json` line."""
        return {
            "file_id": self.file_id,
            "name": self.name,
            "size": self.size,
            "sha512": self.sha512,
            "pieces": self.pieces,
            "path": self.path,
            "verified": True,
        }


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What verify found for one file: verified, mismatched, missing or failed."""

    key: str
    status: str
    name: str = ""
    file_id: str = ""
    detail: str = ""

    def to_json(self) -> dict:
        """The `verify --json` line."""
        return {
            "key": self.key,
            "status": self.status,
            "file_id": self.file_id,
            "name": self.name,
            "detail": self.detail,
        }


@dataclass(kw_only=True)
class _Transfer:
    """One file's download in progress: what arrived so far, hashed as it arrived."""

    remote: RemoteFile
    write: Callable[[bytes], None]
    digest: Any
    got: int = 0
    total: int | None = None
    key: int = 0


class Fetcher:
    """Downloads, checks and reassembles files its finder finds; one serves a run (thread-safe)."""

    def __init__(
        self,
        client: NotionClient,
        databases: Databases,
        *,
        listener: Listener = ignore,
        session_factory: Callable[[], requests.Session] = transport.download_session,
        sleep: Callable[[float], None] = transport.WATCHDOG.sleep,
        chunk_size: int = CHUNK,
        timeout: float | None = None,
        workers: int = 4,
        range_size: int = RANGE_SIZE,
    ) -> None:
        self.client = client
        # Where the pieces of a split file and fresh URLs for an expired one are looked up.
        self.finder = Finder(client, databases)
        self.listener = listener
        self._keys = itertools.count(1)
        self._session_factory = session_factory
        self._sleep = sleep
        self.chunk_size = chunk_size
        # The longest a file host may keep us waiting (the client's --timeout unless given).
        self.timeout = client.timeout if timeout is None else timeout
        # A file URL on this machine or a private network only when the API is there too.
        self.allow_local = transport.is_local(client.base_url)
        self.workers = max(1, workers)
        self.range_size = max(1, range_size)
        self._local = threading.local()
        self._peaks = threading.Lock()
        # The most chunk bytes a ranged download kept in memory at once (for the memory bound).
        self.peak_buffered = 0

    # -- downloading ------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        # A separate plain session: the file host must never see the Notion token.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            self._local.session = session
        return session

    def download(
        self,
        remote: RemoteFile,
        write: Callable[[bytes], None],
        placement: Placement | None = None,
    ) -> tuple[str, int]:
        """Stream the attached file to `write`; returns (SHA-512 hex, bytes).

        A large file comes in `workers` ranges at once: into `placement` at their offsets when
        given (else to `write`, in order). Resumes with Range after a cut, and re-fetches the
        page when the URL has expired.
        """
        if not remote.url:
            raise FileMissing(f"{remote.name} ({remote.file_id}) has no file attached")
        key = next(self._keys)
        transfer = _Transfer(remote=remote, write=write, digest=hashlib.sha512(), key=key)
        url = remote.url
        self.listener(DownloadStarted(remote.name, remote.size, key))
        try:
            if self._ranged(remote):
                with contextlib.suppress(Fallback):
                    return self._download_ranges(remote, url, key, write, placement)
            self._download(transfer, url)
        finally:
            self.listener(DownloadEnded(remote.name, key))
        return transfer.digest.hexdigest(), transfer.got

    def _ranged(self, remote: RemoteFile) -> bool:
        # A manifest's row may record the whole split file's size, not the manifest's own.
        return (
            self.workers > 1
            and not remote.maybe_manifest
            and remote.size is not None
            and remote.size >= 2 * self.range_size
        )

    def _download_ranges(self, remote, url, key, write, placement) -> tuple[str, int]:
        link = Link(
            session=self._session,
            refresh=lambda: self.finder.get(remote.file_id, salted=remote.salted).url,
            policy=self.client.policy,
            sleep=self._sleep,
            listener=self.listener,
            timeout=self.timeout,
            chunk_size=self.chunk_size,
            allow_local=self.allow_local,
        )
        fetch = RangedDownload(
            link,
            remote,
            url,
            key,
            workers=self.workers,
            range_size=self.range_size,
            write=write,
            placement=placement,
        )
        try:
            return fetch.run()
        finally:
            with self._peaks:
                self.peak_buffered = max(self.peak_buffered, fetch.window.peak_held)

    def _download(self, transfer: _Transfer, url: str) -> None:
        remote = transfer.remote
        refreshes = failures = 0
        policy = self.client.policy
        budget = transport.download_budget(remote.size, self.timeout, policy.max_attempts)
        while True:
            transport.check_budget(budget, remote.name)
            before = transfer.got
            stalled = False
            try:
                if self._fetch(url, transfer):
                    break
                reason = f"the body ended at byte {transfer.got}"
            except Expired as expired:
                refreshes += 1
                if refreshes > MAX_REFRESHES:
                    raise TransientError(
                        f"{remote.name}: the file host keeps refusing fresh URLs ({expired})",
                        hint="try again later",
                    ) from None
                reason = f"the URL was refused ({expired}); refreshing"
                self._retrying(transfer, refreshes, reason, 0.0)
                url = self.finder.get(remote.file_id, salted=remote.salted).url or url
                continue
            except (Cut, requests.RequestException) as exc:
                reason, stalled = failure_of(exc)
            # Progress resets the count: a long file on a flaky link still finishes.
            failures = 1 if transfer.got > before and not stalled else failures + 1
            if failures >= self.client.policy.max_attempts:
                raise TransientError(
                    f"{remote.name}: download failed at byte {transfer.got}: {reason}",
                    hint="try again later",
                )
            wait = self.client.policy.delay(failures - 1)
            self._retrying(transfer, failures, f"{reason}; resuming at byte {transfer.got}", wait)
            self._sleep(wait)

    def _retrying(self, t: _Transfer, attempt: int, reason: str, wait: float) -> None:
        self.listener(
            Retrying(
                name=t.remote.name,
                what="download",
                attempt=attempt,
                reason=reason,
                wait=wait,
                key=t.key,
            )
        )

    def _fetch(self, url: str, t: _Transfer) -> bool:
        """One GET from where the transfer stands; True when the whole file has arrived."""
        offset = t.got
        what = f"{t.remote.name} ({t.remote.file_id})"
        bounded.check_url(url, what)
        if t.remote.size is None:
            raise IntegrityError(f"{what}: the record has no filesize; refused")
        headers = dict(bounded.HEADERS)
        if offset:
            headers["Range"] = f"bytes={offset}-"
        with (
            transport.WATCHDOG.watch(self.timeout) as watch,
            stalls_cut(watch),
            transport.get_following(
                self._session(),
                url,
                headers=headers,
                timeout=self.timeout,
                allow_local=self.allow_local,
                what=what,
            ) as r,
        ):
            status = r.status_code
            if status == 416 and offset and offset == t.total:
                return True
            check_status(status, t.remote.name, f"{t.remote.name} ({t.remote.file_id})")
            skip = 0
            if status == 206:
                span = content_range(r)
                if span is None or span[0] != offset:
                    raise Cut("the file host answered a different range")
                t.total = span[2]
            else:
                # The Range was ignored (or none was sent): the body starts at byte 0 again.
                skip = offset
                t.total = content_length(r)
            if t.total is not None and t.total > t.remote.size:
                raise bounded.BodyTooLong(
                    f"{what}: the file host has {t.total} bytes, {t.remote.size} recorded"
                )
            # Never more than the record allows: the body is refused before any byte past it.
            limit = t.remote.size - offset + skip
            for chunk in bounded.bounded_chunks(r, limit, self.chunk_size, what):
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                    if not chunk:
                        continue
                t.digest.update(chunk)
                t.write(chunk)
                t.got += len(chunk)
                watch.progress(t.got - offset, transport.THROUGHPUT_FLOOR)
                self.listener(BytesReceived(t.remote.name, len(chunk), t.key))
        return t.total is None or t.got >= t.total

    # -- checking ---------------------------------------------------------------------------
    def fetch_checked(
        self,
        remote: RemoteFile,
        write: Callable[[bytes], None],
        placement: Placement | None = None,
    ) -> tuple[str, int]:
        """Download one stored file and check it against its salted hash."""
        sha512, size = self.download(remote, write, placement)
        if not verify(sha512, remote.salt, remote.salted):
            raise IntegrityError(
                f"{remote.name} ({remote.file_id}): the downloaded bytes do not match the "
                "recorded hash",
                hint="the stored copy is damaged; push the file again from a good copy",
            )
        # A manifest's row records the whole file's size, not the manifest's (the service's
        # format); the pieces and the whole are checked against the manifest instead.
        if remote.size is not None and size != remote.size and not remote.maybe_manifest:
            raise IntegrityError(
                f"{remote.name} ({remote.file_id}): {size} bytes arrived, {remote.size} recorded"
            )
        return sha512, size

    def manifest_of(self, remote: RemoteFile) -> Manifest | None:
        """The manifest when `remote` is a split file's, else None."""
        if not remote.maybe_manifest:
            return None
        # The row records the whole file's size (the service's format) or, in rows older
        # notion-up wrote, the manifest's own: the body is bounded by the manifest cap instead.
        buffer = bytearray()
        self.fetch_checked(dataclasses.replace(remote, size=MAX_MANIFEST_SIZE), buffer.extend)
        try:
            manifest = parse_manifest(bytes(buffer))
        except ManifestError as exc:
            if remote.is_manifest:
                raise IntegrityError(f"{remote.name} ({remote.file_id}): {exc}") from None
            return None  # an ordinary file that happens to be named *.file.json
        if remote.size not in (None, len(buffer), manifest.total_size):
            raise IntegrityError(
                f"{remote.name} ({remote.file_id}): the row records {remote.size} bytes, its "
                f"manifest {manifest.total_size}"
            )
        return manifest

    def restore(self, remote: RemoteFile, open_sink: Callable[[str], Sink]) -> Restored:
        """Get a file back through a sink opened under its real name; commit only if intact.

        A split file is reassembled from its pieces, each checked, then the whole.
        """
        manifest = self.manifest_of(remote)
        name = manifest.original_filename if manifest else remote.name
        sink = open_sink(safe_name(name, remote.file_id))
        whole = hashlib.sha512()

        def write(data: bytes) -> None:
            whole.update(data)
            sink.write(data)

        placement = _placement(sink, whole.update)
        try:
            if manifest is None:
                _, size = self.fetch_checked(remote, write, placement)
            else:
                size = self._reassemble(remote, manifest, write, placement)
            sink.commit()
        except BaseException:
            sink.discard()
            raise
        return Restored(
            file_id=remote.file_id,
            name=name,
            size=size,
            sha512=whole.hexdigest(),
            pieces=len(manifest.parts) if manifest else 0,
            path=str(kept) if (kept := getattr(sink, "path", None)) else None,
        )

    def restore_any(self, key: str, open_sink: Callable[[str], Sink]) -> Restored:
        """The first file `key` names whose bytes prove intact (a decoy's do not): restored.

        A decoy may also have a broken or refused URL: any candidate's failure passes on to
        the next; the first candidate's error is raised only when none of them is intact.
        """
        return self.restore_first(self.finder.find_all(key), open_sink)

    def restore_first(
        self, remotes: list[RemoteFile], open_sink: Callable[[str], Sink]
    ) -> Restored:
        """The first of `remotes` whose bytes prove intact, restored; else the first's error."""
        errors: list[NotionUpError] = []
        for remote in remotes:
            try:
                return self.restore(remote, open_sink)
            except Interrupted:
                raise
            except NotionUpError as exc:
                errors.append(exc)
        raise errors[0]

    def _reassemble(
        self, remote: RemoteFile, manifest: Manifest, write, placement: Placement | None
    ) -> int:
        size = 0
        for part in manifest.parts:
            try:
                piece = self.finder.get(part.file_id)
            except FileMissing as exc:
                raise FileMissing(
                    f"{manifest.original_filename}: piece {part.part_number} is missing: {exc}"
                ) from None
            if piece.salted != part.file_hash:
                raise IntegrityError(
                    f"{manifest.original_filename}: piece {part.part_number} ({part.file_id}) "
                    "is not the one the manifest names (its hash differs)"
                )
            # A piece's ranges land at its place in the whole file.
            at = dataclasses.replace(placement, base=size) if placement else None
            _, got = self.fetch_checked(piece, write, at)
            if got != part.size:
                raise IntegrityError(
                    f"{manifest.original_filename}: piece {part.part_number} has {got} bytes, "
                    f"the manifest says {part.size}"
                )
            size += got
        if size != manifest.total_size:
            raise IntegrityError(
                f"{manifest.original_filename}: {size} bytes reassembled, "
                f"the manifest says {manifest.total_size}"
            )
        return size

    def shown(self, remote: RemoteFile) -> RemoteFile:
        """A listed row as users know the file: an older split row (named `<name>.file.json`,
        with the manifest's own size) under the original name and total size."""
        if not (remote.maybe_manifest and is_manifest_name(remote.name)):
            return remote
        try:
            manifest = self.manifest_of(remote)
        except NotionUpError:
            return remote
        if manifest is None:
            return remote
        name, size = manifest.original_filename, manifest.total_size
        return dataclasses.replace(remote, name=name, size=size, is_manifest=True)

    # -- verify -----------------------------------------------------------------------------
    def check(self, key: str | RemoteFile | Rejected) -> Verdict:
        """Download one file (by key, or as listed) and check it, keeping no bytes."""
        label = key if isinstance(key, str) else key.file_id
        if isinstance(key, Rejected):
            return Verdict(
                key=label, status="failed", name="", file_id=label, detail=str(key.error)
            )
        remote: RemoteFile | None = None
        try:
            if isinstance(key, str):
                done = self.restore_any(key, lambda _name: NullSink())
            else:
                remote = key
                done = self.restore(remote, lambda _name: NullSink())
        except IntegrityError as exc:
            return _verdict(label, "mismatched", remote, str(exc))
        except InvalidRecord as exc:
            return _verdict(label, "failed", remote, str(exc))
        except FileMissing as exc:
            return _verdict(label, "missing", remote, str(exc))
        except NotionUpError as exc:
            return _verdict(label, "failed", remote, str(exc))
        except Exception as exc:  # one file's surprise is that file's verdict, not the batch's end
            return _verdict(label, "failed", remote, f"unexpected error: {exc}")
        return Verdict(key=label, status="verified", name=done.name, file_id=done.file_id)

    def check_many(
        self,
        keys: Iterable[str | RemoteFile | Rejected],
        workers: int,
        on_verdict: Callable[[Verdict], None],
    ) -> list[Verdict]:
        """Check several files at once (the client's rate limiter is shared by all).

        `keys` may be a listing still being read: only a window of it is queued at a time.
        """
        verdicts: list[Verdict] = []
        for _key, verdict in map_bounded(self.check, keys, workers, name="notion-up-verify"):
            verdicts.append(verdict)
            on_verdict(verdict)
        return verdicts


def _placement(sink: Sink, seen: Callable[[bytes], None]) -> Placement | None:
    """Where ranges may land at their offsets: a sink that writes in place (a file), else None."""
    write_at = getattr(sink, "write_at", None)
    read_at = getattr(sink, "read_at", None)
    if write_at is None or read_at is None:
        return None
    return Placement(write_at=write_at, read_at=read_at, seen=seen)


def _verdict(label: str, status: str, remote: RemoteFile | None, detail: str) -> Verdict:
    name = remote.name if remote else ""
    file_id = remote.file_id if remote else ""
    return Verdict(key=label, status=status, name=name, file_id=file_id, detail=detail)
