"""One sandbox state, one server: a running `sandbox serve` is found and used by the others.

Two servers on one state folder would each keep their own copy of the workspace in memory and
disagree (a file pushed through one is `missing` in the other). So a server holds an exclusive
lock on its state folder while it runs, and `sandbox serve` also leaves a note of where it
listens; a command run with `--sandbox` uses that server instead of starting its own, and a
second server on the same folder is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

LOCK = "server.lock"
NOTE = "serving.json"


class SandboxBusy(OSError):
    """Another process runs a server on this state folder."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        who = f"process {pid}" if pid else "another process"
        super().__init__(f"the sandbox in {state_dir} is served by {who}")
        self.state_dir = state_dir
        self.pid = pid


def claim(state_dir: Path) -> int:
    """Lock the state folder for this process's server; returns the lock's file descriptor."""
    fd = os.open(state_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SandboxBusy(state_dir, _holder(state_dir)) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def release(state_dir: Path, fd: int) -> None:
    """Give the lock back (and take down the note of a served sandbox)."""
    with contextlib.suppress(FileNotFoundError):
        (state_dir / NOTE).unlink()
    os.close(fd)


def advertise(state_dir: Path, note: dict) -> None:
    """Say where this process serves the sandbox (`url`, the workspace's database ids)."""
    tmp = state_dir / f".{NOTE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({**note, "pid": os.getpid()}, f)
    os.replace(tmp, state_dir / NOTE)


def served(state_dir: Path) -> dict | None:
    """The note of a server that runs now on this state folder, or None.

    A note whose server is gone (killed: its lock was freed with the process) is ignored.
    """
    try:
        note = json.loads((state_dir / NOTE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or not isinstance(note.get("url"), str) or not _locked(state_dir):
        return None
    return note


def _locked(state_dir: Path) -> bool:
    try:
        fd = os.open(state_dir / LOCK, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _holder(state_dir: Path) -> int | None:
    try:
        return int((state_dir / LOCK).read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None
