"""One run at a time per state directory: an advisory lock file held for a whole push or resume."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from notion_up.errors import ConfigError, LockedError
from notion_up.state.private import open_private, private_dir

LOCK_NAME = "notion-up.lock"


def _holder(fd: int) -> str:
    """Who holds the lock, as the pid written in the file ('' when unknown)."""
    with contextlib.suppress(OSError, ValueError):
        os.lseek(fd, 0, os.SEEK_SET)
        pid = int(os.read(fd, 32).decode().strip() or "0")
        return f" (pid {pid})" if pid else ""
    return ""


@contextlib.contextmanager
def run_lock(
    state_dir: Path, wait: bool = False, on_wait: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """Hold the state directory's lock for the duration of the block.

    Another run holding it raises LockedError, or with `wait`, blocks until it is released
    (calling `on_wait` once with a message first). The kernel drops the lock when the process
    dies, so a killed run never leaves a stale lock behind.
    """
    private_dir(state_dir)
    path = state_dir / LOCK_NAME
    try:
        fd = open_private(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise LockedError(
                    f"another notion-up run{holder} is using {state_dir}",
                    hint="wait for it to finish, or pass --wait-lock to wait for it",
                ) from None
            if on_wait:
                on_wait(f"waiting for another notion-up run{holder} to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
