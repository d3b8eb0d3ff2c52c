"""Push inputs: paths, directories, filters and file lists expanded into the files to push."""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from notion_up.errors import InputError
from notion_up.localfile import Identity
from notion_up.localfile import identity as identity_of
from notion_up.upload.source import Source, open_file, shown_name


@dataclass(frozen=True, kw_only=True)
class InputOptions:
    """How inputs are expanded: recursion, filters, symlinks."""

    recursive: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    follow_symlinks: bool = False


@dataclass(frozen=True, kw_only=True)
class FileInput:
    """One file to push: where it is, its name, and its folder within what was pushed."""

    path: str
    name: str
    folder_path: str = "/"
    # The file the walk saw (st_dev, st_ino): opening it later must find that very file.
    identity: Identity | None = None
    follow: bool = False

    def open(self) -> Source:
        """Open the file for pushing: the file that was listed, or an InputError."""
        return open_file(self.path, self.name, same_as=self.identity, follow=self.follow)


@dataclass(frozen=True)
class SkippedInput:
    """An input left out before any request, and why (e.g. a symlink)."""

    path: str
    reason: str


@dataclass
class Expansion:
    """The files to push, in order, and what was left out."""

    files: list[FileInput] = field(default_factory=list)
    skipped: list[SkippedInput] = field(default_factory=list)
    filtered: int = 0


def read_file_list(stream: BinaryIO, nul: bool = False) -> list[str]:
    """Paths from a --files-from list: one per line, or NUL-separated with -0.

    Bytes are decoded as the file system does (undecodable names survive), so a name with
    spaces, unicode or (with -0) newlines comes back as it was written.
    """
    data = stream.read()
    if nul:
        entries = data.split(b"\0")
    else:
        # Lines: a CRLF list from another system still works; blank lines mean nothing.
        entries = [line.rstrip(b"\r") for line in data.split(b"\n")]
    return [os.fsdecode(entry) for entry in entries if entry]


def expand(paths: list[str], options: InputOptions) -> Expansion:
    """Expand paths into files, checking each named input now, before anything is sent.

    A named input that is missing, unreadable, or a directory without `recursive` raises an
    InputError. Symlinks are followed only with `follow_symlinks`; otherwise they are skipped
    with a reason. Files found in a directory are filtered by the include/exclude globs.
    """
    found = Expansion()
    seen: set[str] = set()
    for path in paths:
        for item in _expand_one(path, options, found):
            key = os.path.abspath(item.path)
            if key not in seen:
                seen.add(key)
                found.files.append(item)
    return found


def _expand_one(path: str, options: InputOptions, found: Expansion) -> Iterator[FileInput]:
    if os.path.islink(path) and not options.follow_symlinks:
        found.skipped.append(SkippedInput(path, "a symlink (use --follow-symlinks to follow it)"))
        return
    if os.path.isdir(path):
        if not options.recursive:
            raise InputError(f"{path} is a directory", hint="use -r to push its files")
        yield from _walk(path, options, found)
        return
    # Fails now, before any upload, with a one-line reason; keeps which file this is.
    source = open_file(path, follow=options.follow_symlinks)
    source.close()
    name = source.name
    if not matches(name, name, options):
        found.filtered += 1
        return
    yield FileInput(path=path, name=name, identity=source.identity, follow=options.follow_symlinks)


def _walk(top: str, options: InputOptions, found: Expansion) -> Iterator[FileInput]:
    """Files under `top` in a stable order, each with its folder relative to `top`."""
    visited: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(top, followlinks=options.follow_symlinks, onerror=_raise):
        info = os.stat(root)
        if (info.st_dev, info.st_ino) in visited:
            # A symlink loop: this directory was walked already.
            dirs[:] = []
            continue
        visited.add((info.st_dev, info.st_ino))
        rel_dir = shown_name(os.path.relpath(root, top))
        folder = "/" if rel_dir == "." else "/" + rel_dir.replace(os.sep, "/")
        dirs.sort()
        if not options.follow_symlinks:
            for name in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                dirs.remove(name)
                found.skipped.append(_link_skip(os.path.join(root, name)))
        for name in sorted(files):
            item = _walk_file(root, name, folder, options, found)
            if item is not None:
                yield item


def _walk_file(
    root: str, name: str, folder: str, options: InputOptions, found: Expansion
) -> FileInput | None:
    path = os.path.join(root, name)
    name = shown_name(name)
    rel = (folder.rstrip("/") + "/" + name).lstrip("/")
    if not matches(rel, name, options):
        found.filtered += 1
        return None
    if os.path.islink(path) and not options.follow_symlinks:
        found.skipped.append(_link_skip(path))
        return None
    try:
        info = os.stat(path) if options.follow_symlinks else os.lstat(path)
    except OSError as exc:
        found.skipped.append(SkippedInput(path, f"cannot stat it: {exc.strerror}"))
        return None
    if not stat.S_ISREG(info.st_mode):
        found.skipped.append(SkippedInput(path, "not a regular file"))
        return None
    return FileInput(
        path=path,
        name=name,
        folder_path=folder,
        identity=identity_of(info),
        follow=options.follow_symlinks,
    )


def _link_skip(path: str) -> SkippedInput:
    return SkippedInput(path, "a symlink (use --follow-symlinks to follow it)")


def _raise(error: OSError) -> None:
    # os.walk swallows errors by default; an unreadable directory is an input error.
    raise InputError(f"cannot read {error.filename}: {error.strerror}")


def matches(rel_path: str, name: str, options: InputOptions) -> bool:
    """True when a file passes the filters: globs match its relative path or its name.

    With include globs, a file must match one of them; a file matching an exclude glob
    is left out even when it is included.
    """

    def hit(patterns: tuple[str, ...]) -> bool:
        return any(
            fnmatch.fnmatchcase(rel_path, p) or fnmatch.fnmatchcase(name, p) for p in patterns
        )

    if options.include and not hit(options.include):
        return False
    return not hit(options.exclude)
