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

from notion_up.localfile import UnsafePath, open_regular

__all__ = ["UnsafePath", "open_private", "private_dir", "private_umask"]


def open_private(path: Path, flags: int, mode: int = 0o600) -> int:
    """os.open that never follows a symlink at `path`, never blocks on a FIFO, and refuses
    anything but a regular file (the one opener: notion_up.localfile)."""
    return open_regular(path, flags, mode)[0]


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
