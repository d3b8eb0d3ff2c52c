"""The one opener of local files: never through a swapped-in symlink, never stuck on a FIFO.

Every file notion-up opens on the user's machine (a pushed file, the log, the config and token
files, the lock) is opened here: by its last name relative to a descriptor of its folder, with
O_NOFOLLOW (a symlink there is refused, not followed) and O_NONBLOCK (a FIFO or a device answers
at once instead of hanging the run); then fstat must show a regular file and, when the caller
saw the file before (a walk records `identity`), the very same file: a file or a folder swapped
for a symlink to a secret after the walk is refused, not uploaded.
"""

from __future__ import annotations

import errno
import os
import stat

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
DIRECTORY = getattr(os, "O_DIRECTORY", 0)

Identity = tuple[int, int]


class UnsafePath(OSError):
    """A path that is a symlink, not a regular file, or no longer the file that was listed."""

    def __init__(self, message: str, mode: int = 0) -> None:
        super().__init__(errno.EPERM, message)
        self.message = message
        self.mode = mode  # what was found there (st_mode), 0 when unknown

    def __str__(self) -> str:
        return self.message


def identity(info: os.stat_result) -> Identity:
    """What makes a file itself (device and inode), to see it was not swapped."""
    return info.st_dev, info.st_ino


def open_regular(
    path: str | os.PathLike,
    flags: int = os.O_RDONLY,
    mode: int = 0o600,
    *,
    same_as: Identity | None = None,
    follow: bool = False,
) -> tuple[int, os.stat_result]:
    """A descriptor of the regular file at `path`, and its fstat (size and mtime come from here).

    A symlink as the last component is refused unless `follow`; a FIFO, socket, device or
    folder is refused without blocking; with `same_as`, a file that is not that one is refused.
    OSError (UnsafePath for the refusals) otherwise.
    """
    folder, name = os.path.split(os.fspath(path))
    dir_fd = os.open(folder or ".", os.O_RDONLY | DIRECTORY | CLOEXEC)
    try:
        fd = os.open(
            name, flags | NONBLOCK | CLOEXEC | (0 if follow else NOFOLLOW), mode, dir_fd=dir_fd
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise UnsafePath(f"{path} is a symlink; refused", stat.S_IFLNK) from None
        if exc.errno == errno.ENXIO:  # a FIFO opened for writing with no reader
            raise UnsafePath(f"{path} is not a regular file; refused", stat.S_IFIFO) from None
        raise
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(f"{path} is not a regular file; refused", info.st_mode)
        if same_as is not None and identity(info) != same_as:
            raise UnsafePath(f"{path} was replaced after it was listed; refused", info.st_mode)
        os.set_blocking(fd, True)  # reads of a regular file never wait anyway
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_regular(path: str | os.PathLike, limit: int = 1024 * 1024) -> tuple[bytes, os.stat_result]:
    """The bytes of a small regular file (a config or token file) and its fstat.

    Symlinks are followed (dotfile managers link config files); a FIFO or a device is refused
    at once; a file past `limit` bytes is refused (UnsafePath).
    """
    fd, info = open_regular(path, follow=True)
    with open(fd, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise UnsafePath(f"{path} is larger than {limit} bytes; refused", info.st_mode)
    return data, info
