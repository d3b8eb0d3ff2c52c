"""Creating local files safely: never through a planted symlink, created with their final mode.

The state folder, the lock file, the journal and the log file live in places another local user
may have prepared (a shared /tmp, a state folder made 0777): a symlink left at one of their
names must not make notion-up truncate or chmod the file it points to.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafePath(OSError):
    """A path that is a symlink (or not a regular file) where notion-up creates its own file."""


def open_private(path: Path, flags: int, mode: int = 0o600) -> int:
    """os.open that never follows a symlink at `path` and refuses anything but a regular file."""
    try:
        fd = os.open(path, flags | NOFOLLOW | CLOEXEC, mode)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafePath(exc.errno, f"{path} is a symlink; refused") from None
        raise
    try:
        info = os.fstat(fd)
        if not (info.st_mode & 0o170000) == 0o100000:
            raise UnsafePath(0, f"{path} is not a regular file; refused")
    except BaseException:
        os.close(fd)
        raise
    return fd


def private_dir(path: Path) -> Path:
    """`path` as a folder (made 0700 when missing, parents as usual); a symlink is refused."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    return path


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created within (sqlite's -wal and -shm too) are readable by their owner only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
