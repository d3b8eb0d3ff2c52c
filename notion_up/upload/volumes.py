"""A stream of unknown length cut into volumes as it is read, with at most two on disk.

A reader thread copies the stream into volume files (0600, in the spool folder), hashing each
volume as it goes (one pass: each piece's digest is what is recorded and checked), while the
volumes already read are uploaded: reading overlaps sending. A volume's file is removed once
the caller is done with it (`done`); the reader waits for that before it starts a third, so
local disk stays within two volumes whatever the stream's length."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from notion_up.errors import InputError
from notion_up.upload.source import READ_CHUNK, Source, Stream, spooled_source

ON_DISK = 2
# Read buffers in flight between the copy and the hash (each READ_CHUNK × 4).
BUFFERS = 3
PREFIX, SUFFIX = "notion-up-", ".volume"
# Linux's F_SETPIPE_SZ: a pipe holding 1 MiB lets `tar` or `cat` write ahead in larger steps
# (a 64 KiB pipe costs a wake-up per 64 KiB on both sides).
_F_SETPIPE_SZ = 1031
_PIPE_SIZE = 1024 * 1024


def _widen_pipe(stream: Stream) -> None:
    """Ask for a larger pipe buffer when `stream` is a pipe (a hint: refused, nothing changes)."""
    with contextlib.suppress(AttributeError, OSError, ValueError, io.UnsupportedOperation):
        fd = stream.fileno()  # a stream without a descriptor is not a pipe
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            import fcntl  # POSIX only: imported where it is used

            fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)


def sweep(spool_dir: str | None, in_use: set[str]) -> int:
    """Remove volume files a killed run left in `spool_dir` (none that `in_use` names: an
    unfinished push reads those again); how many went. Only under the run lock."""
    if spool_dir is None or not os.path.isdir(spool_dir):
        return 0
    gone = 0
    for entry in os.scandir(spool_dir):
        stale = entry.name.startswith(PREFIX) and entry.name.endswith(SUFFIX)
        if stale and os.path.abspath(entry.path) not in in_use:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                gone += 1
    return gone


@dataclass(kw_only=True)
class Volume:
    """One volume of a stream: its bytes in a spool file, where it starts, its digest."""

    number: int
    path: str
    offset: int
    size: int
    sha512: str
    # The stream ended within (or right after) this volume.
    last: bool


class VolumeReader:
    """Reads `stream` into volumes of `volume_size` bytes in a thread of its own."""

    def __init__(self, stream: Stream, volume_size: int, spool_dir: str | None) -> None:
        if volume_size <= 0:
            raise ValueError("volume_size must be more than 0")
        self._stream = stream
        _widen_pipe(stream)
        # One read of the source at a time: a buffered `readinto` of a large buffer goes on
        # reading a pipe in small steps until the buffer is full, at half the speed.
        self._readinto = getattr(stream, "readinto1", None) or stream.readinto
        self.volume_size = volume_size
        self._spool_dir = spool_dir
        self._slots = threading.Semaphore(ON_DISK)
        # A volume is handed over only once it is known whether another follows.
        self._ready: queue.Queue[Volume | BaseException] = queue.Queue()
        self._stop = threading.Event()
        self.total = 0
        self._paths: set[str] = set()
        self._paths_lock = threading.Lock()
        self.peak_on_disk = 0
        self._thread = threading.Thread(target=self._run, name="notion-up-volumes", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Volume]:
        """The volumes in order, each as soon as it is read (raises what reading raised)."""
        while True:
            item = self._ready.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.last:
                return

    def adopt(self, volume: Volume, name: str) -> Source:
        """The (only) volume as a spooled stream's Source, its file now the Source's: removed
        on close unless a failed push keeps it for `resume` (see upload/source.py)."""
        with self._paths_lock:
            self._paths.discard(volume.path)
        self._slots.release()
        return spooled_source(volume.path, name, volume.size, volume.sha512)

    def done(self, volume: Volume) -> None:
        """The caller is done with `volume`: its file goes, and the reader may start another."""
        self._remove(volume.path)
        self._slots.release()

    def close(self) -> None:
        """Stop reading and remove every volume file still on disk."""
        self._stop.set()
        for _ in range(ON_DISK):  # wake a reader waiting for a slot
            self._slots.release()
        with self._paths_lock:
            left = list(self._paths)
        for path in left:
            self._remove(path)

    # -- the reader thread ---------------------------------------------------------------------
    def _run(self) -> None:
        try:
            held: list[Volume] = []  # a full volume, handed over once another byte is read
            number = 0

            def hand_over() -> None:
                if held:
                    self._ready.put(held.pop())

            while self._take_slot():
                number += 1
                start = self.total
                path, size, digest = self._fill(on_first_bytes=hand_over)
                if size == 0 and held:
                    # The stream ended right after the held volume: that one is the last.
                    self._remove(path)
                    self._slots.release()
                    held[0].last = True
                    hand_over()
                    return
                volume = Volume(
                    number=number,
                    path=path,
                    offset=start,
                    size=size,
                    sha512=digest,
                    last=size < self.volume_size,
                )
                if volume.last:
                    self._ready.put(volume)
                    return
                held.append(volume)
        except OSError as exc:  # the pipe died: said once, by the consumer
            self._ready.put(
                InputError(
                    f"reading the stream failed after {self.total} bytes: {exc.strerror or exc}"
                )
            )
        except BaseException as exc:  # handed to the consumer, who raises it
            self._ready.put(exc)

    def _take_slot(self) -> bool:
        while not self._slots.acquire(timeout=0.5):
            if self._stop.is_set():
                return False
        return not self._stop.is_set()

    def _fill(self, on_first_bytes) -> tuple[str, int, str]:
        """Copy up to one volume of the stream into a new spool file (0600); `on_first_bytes`
        is called once it is known that the stream goes on."""
        if self._spool_dir is not None:
            os.makedirs(self._spool_dir, mode=0o700, exist_ok=True)
        spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 - removed by done/close
            prefix=PREFIX, suffix=SUFFIX, dir=self._spool_dir, delete=False
        )
        with self._paths_lock:
            self._paths.add(spool.name)
            self.peak_on_disk = max(self.peak_on_disk, len(self._paths))
        digest = hashlib.sha512()
        # SHA-512 runs in a thread of its own beside the copy (hashlib lets go of the GIL):
        # reading the pipe, writing the spool and hashing overlap, a few buffers apart.
        free: queue.Queue[bytearray] = queue.Queue()
        full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
        for _ in range(BUFFERS):
            free.put(bytearray(READ_CHUNK * 4))

        def hash_them() -> None:
            while (item := full.get()) is not None:
                digest.update(memoryview(item[0])[: item[1]])
                free.put(item[0])

        hasher = threading.Thread(target=hash_them, name="notion-up-volume-hash", daemon=True)
        hasher.start()
        size = 0
        try:
            with spool:
                while size < self.volume_size and not self._stop.is_set():
                    buffer = free.get()
                    view = memoryview(buffer)[: min(len(buffer), self.volume_size - size)]
                    n = self._readinto(view)
                    if not n:
                        break
                    if size == 0:
                        on_first_bytes()
                    spool.write(view[:n])
                    full.put((buffer, n))
                    size += n
        finally:
            full.put(None)
            hasher.join()
        self.total += size
        return spool.name, size, digest.hexdigest()

    def _remove(self, path: str) -> None:
        with self._paths_lock:
            self._paths.discard(path)
        with contextlib.suppress(OSError):
            os.unlink(path)
