"""Many files back at once: refs by id, hash, hash prefix or exact name, and whole folders.

`pull -r FOLDER -o DIR` recreates the folder tree the rows' `folder_path`s describe under DIR.
Every file is hash-checked in a temporary file beside its target before it takes the target's
name (sinks.FileSink); a file already there with the recorded content is skipped, one with
other content is refused unless forced. A shared database may name any folder: each part of a
`folder_path` becomes one safe file name, so nothing is ever written outside DIR.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from notion_up.download.fetch import Fetcher, Restored
from notion_up.download.find import Finder
from notion_up.download.sinks import FileSink, NullSink, Sink, safe_name
from notion_up.errors import ExitStatus, FileMissing, NotionUpError, UsageError
from notion_up.notion.limits import PAGE_SIZE
from notion_up.notion.records import (
    RemoteFile,
    file_sha512,
    full_hash_of_prefix,
    normal_folder,
    verify,
)
from notion_up.workpool import map_bounded

# Candidates named when a ref matches several files.
SHOWN = 10


@dataclass(frozen=True, kw_only=True)
class Pulled:
    """What became of one file: pulled, skipped (already there) or failed."""

    status: str
    file_id: str
    name: str
    path: str | None = None
    detail: str = ""
    restored: Restored | None = None
    # A failure's exit status (its error's), for the run's own.
    exit_status: int = 0

    def to_json(self) -> dict:
        """The `pull --json` line of a many-file pull."""
        line = self.restored.to_json() if self.restored else {}
        line.update(
            status=self.status,
            file_id=self.file_id,
            name=self.name,
            path=self.path,
            detail=self.detail,
        )
        return line


# -- finding ---------------------------------------------------------------------------------
def candidates(finder: Finder, ref: str) -> list[RemoteFile]:
    """Every file a ref may name: a FILE_ID, a HASH or hash prefix (>= 12 hex), or an exact name.

    A hash names every page of the file database that carries it: a row anyone may write can
    copy another's `filehash` and `salt` (a decoy), so the caller decides (pull tries each until
    one proves intact; rm and share refuse). A name that more than one file carries is refused
    with the candidates.
    """
    whole = full_hash_of_prefix(finder.client, finder.databases.files_data_source, ref)
    try:
        return finder.find_all(whole)
    except UsageError:
        pass  # neither an id nor a hash: a name
    matches = _rows(finder, {"property": "filename", "title": {"equals": ref}})
    matches = [m for m in matches if m.name == ref]
    if not matches:
        raise FileMissing(f"no file named {ref!r}", hint="`notion-up ls` lists the files")
    if len(matches) > 1:
        raise UsageError(
            f"name {ref!r} matches {len(matches)} files: {_listed(matches)}",
            hint="name the one you mean by its FILE_ID or a hash prefix",
        )
    return [finder.get(matches[0].file_id, ref, salted=matches[0].salted)]


def resolve(finder: Finder, ref: str) -> RemoteFile:
    """The one file a ref names; a hash that several pages carry is refused with their ids."""
    found = candidates(finder, ref)
    if len(found) > 1:
        raise UsageError(
            f"{ref[:16]}… is carried by {len(found)} files: {_listed(found)}",
            hint="name the one you mean by its FILE_ID",
        )
    return found[0]


def _listed(remotes: list[RemoteFile]) -> str:
    shown = ", ".join(f"{m.file_id} ({_where(m)})" for m in remotes[:SHOWN])
    more = f" and {len(remotes) - SHOWN} more" if len(remotes) > SHOWN else ""
    return shown + more


def _rows(finder: Finder, condition: dict) -> list[RemoteFile]:
    visible = {"property": "is_visible", "checkbox": {"equals": True}}
    return list(finder.rows({"filter": {"and": [visible, condition]}, "page_size": PAGE_SIZE}))


def _where(remote: RemoteFile) -> str:
    return f"{remote.folder_path.rstrip('/')}/{remote.name}"


def folder_files(finder: Finder, folder: str) -> Iterator[RemoteFile]:
    """The visible files in FOLDER and below it (`/`: every file), newest first."""
    folder = normal_folder(folder)
    conditions: list[dict] = [{"property": "is_visible", "checkbox": {"equals": True}}]
    if folder != "/":
        conditions.append({"property": "folder_path", "rich_text": {"starts_with": folder}})
    for remote in finder.rows({"filter": {"and": conditions}, "page_size": PAGE_SIZE}):
        if _within(normal_folder(remote.folder_path), folder):
            yield remote


def _within(path: str, folder: str) -> bool:
    return folder == "/" or path == folder or path.startswith(folder + "/")


def tree_path(out: Path, folder: str, remote: RemoteFile) -> Path:
    """Where a file of FOLDER goes under OUT: its folder_path below FOLDER, then its name.

    Each part becomes one safe file name (no `..`, no separators): never outside OUT.
    """
    below = normal_folder(remote.folder_path)[len(normal_folder(folder)) :]
    parts = [safe_name(p, "_") for p in below.split("/") if p not in ("", ".", "..")]
    return out.joinpath(*parts, safe_name(remote.name, remote.file_id))


def plan(
    out: Path, folder: str | None, remotes: Iterable[RemoteFile]
) -> list[tuple[RemoteFile, Path]]:
    """(remote, target) pairs, one per target: the newest row of a path wins (rows come newest
    first; an older row of the same path is an earlier version of that file)."""
    taken: dict[Path, RemoteFile] = {}
    for remote in remotes:
        if folder is None:
            target = out / safe_name(remote.name, remote.file_id)
        else:
            target = tree_path(out, folder, remote)
        taken.setdefault(target, remote)
    return [(remote, target) for target, remote in taken.items()]


# -- getting back ----------------------------------------------------------------------------
MtimeOf = Callable[[str], "float | None"]


def pull_one(
    fetcher: Fetcher,
    remote: RemoteFile,
    target: Path,
    force: bool,
    mtime_of: MtimeOf = lambda _salted: None,
) -> Pulled:
    """Get one file back to `target`: skipped when already there, refused when different.

    The file's modification time is set back to what it was when pushed, where that is known
    (the records do not carry it; this machine's journal does for what it pushed).
    """
    where = str(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        local = None
        if os.path.lexists(target) and not force:
            if not target.is_file() or target.is_symlink():
                raise UsageError(f"{target} exists and is not a file", hint="move it away")
            local = file_sha512(str(target))
            if not remote.maybe_manifest and verify(local, remote.salt, remote.salted):
                return Pulled(
                    status="skipped",
                    file_id=remote.file_id,
                    name=remote.name,
                    path=where,
                    detail="identical",
                )
        open_sink = _opener(target, force, local is not None)
        done = fetcher.restore(remote, open_sink)
        if local is not None:
            # A split file's row records its manifest's hash: its content is compared here.
            if done.sha512 != local:
                raise UsageError(f"{target} exists with other content", hint="pass --force")
            return Pulled(
                status="skipped",
                file_id=remote.file_id,
                name=remote.name,
                path=where,
                detail="identical",
            )
        mtime = mtime_of(remote.salted)
        if mtime is not None:
            os.utime(target, (mtime, mtime))
        return Pulled(
            status="pulled", file_id=remote.file_id, name=done.name, path=where, restored=done
        )
    except (NotionUpError, OSError) as exc:
        detail = str(exc) if isinstance(exc, NotionUpError) else f"{target}: {exc.strerror}"
        code = getattr(exc, "exit_status", ExitStatus.INPUT)
        return Pulled(
            status="failed",
            file_id=remote.file_id,
            name=remote.name,
            path=where,
            detail=detail,
            exit_status=int(code),
        )


def _opener(target: Path, force: bool, compare: bool) -> Callable[[str], Sink]:
    def open_sink(_name: str) -> Sink:
        # Only hashed, never written, when an existing file is to be compared with it.
        return NullSink() if compare else FileSink(target, force)

    return open_sink


def pull_all(
    fetcher: Fetcher,
    planned: list[tuple[RemoteFile, Path]],
    *,
    force: bool,
    workers: int,
    on_pulled: Callable[[Pulled], None],
    mtime_of: MtimeOf = lambda _salted: None,
) -> list[Pulled]:
    """Pull every planned file, `workers` at once; each outcome is heard as it comes."""
    outcomes: list[Pulled] = []

    def one(pair: tuple[RemoteFile, Path]) -> Pulled:
        return pull_one(fetcher, pair[0], pair[1], force, mtime_of)

    for _pair, outcome in map_bounded(one, planned, workers, name="notion-up-pull"):
        outcomes.append(outcome)
        on_pulled(outcome)
    return outcomes
