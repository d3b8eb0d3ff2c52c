"""What a push was asked to do: its inputs checked and expanded into jobs, before any request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from notion_up.errors import InputError, NothingToPush, UsageError
from notion_up.events import FileSkipped, Listener, Notice
from notion_up.upload.inputs import Expansion, FileInput, InputOptions, expand, read_file_list
from notion_up.upload.pool import Job
from notion_up.upload.source import open_stream


@dataclass(kw_only=True)
class BatchFlags:
    """The batch options of one push, as given."""

    recursive: bool = False
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    files_from: str | None = None
    null: bool = False
    follow_symlinks: bool = False
    skip_existing: bool = False
    check_remote: bool = False
    dry_run: bool = False
    error_on_nothing: bool = False
    wait_lock: bool = False

    def input_options(self) -> InputOptions:
        """How inputs.expand should treat the paths."""
        return InputOptions(
            recursive=self.recursive,
            include=tuple(self.include),
            exclude=tuple(self.exclude),
            follow_symlinks=self.follow_symlinks,
        )

    def check(self) -> None:
        """Refuse option combinations that cannot mean anything."""
        if self.check_remote and not self.skip_existing:
            raise UsageError("--check-remote needs --skip-existing")
        if self.null and not self.files_from:
            raise UsageError("-0/--null applies to --files-from only")


@dataclass(kw_only=True)
class Inputs:
    """What a push was asked to do: the files found, the stdin stream, what was left out."""

    expansion: Expansion
    stdin_job: Job | None = None
    batch: bool = False
    # The declared size of standard input (--size), when it has one.
    stdin_size: int | None = None

    @property
    def count(self) -> int:
        """Files to push (before skip checks)."""
        return len(self.expansion.files) + (self.stdin_job is not None)


def gather(
    paths: list[str],
    flags: BatchFlags,
    name: str | None = None,
    size: int | None = None,
    stdin: BinaryIO | None = None,
    spool_dir: str | None = None,
    *,
    volumes: bool = True,
) -> Inputs:
    """Every input checked and expanded before anything is sent (fails with InputError).

    `stdin` is the stream `-` stands for (and `--files-from -` reads); a long one goes up in
    volumes spooled into `spool_dir` (the state directory's, so that `resume` can read one
    again), or, without `volumes` (--no-split), is spooled there whole.
    """
    flags.check()
    listed: list[str] = []
    if flags.files_from is not None:
        if flags.files_from == "-" and "-" in paths:
            raise UsageError("standard input cannot be both the --files-from list and a file")
        listed = _read_list(flags.files_from, flags.null, stdin)
    elif not paths:
        raise UsageError("nothing given to push: name files, `-`, or use --files-from FILE")
    stdin_job = _stdin_job(paths, name, size, stdin, spool_dir, volumes)
    expansion = expand([p for p in paths if p != "-"] + listed, flags.input_options())
    batch = len(paths) + len(listed) != 1 or flags.recursive or flags.files_from is not None
    return Inputs(expansion=expansion, stdin_job=stdin_job, batch=batch, stdin_size=size)


def _read_list(source: str, nul: bool, stdin: BinaryIO | None) -> list[str]:
    if source == "-":
        if stdin is None:
            raise UsageError("--files-from - needs standard input")
        return read_file_list(stdin, nul)
    try:
        with open(source, "rb") as f:
            return read_file_list(f, nul)
    except OSError as exc:
        raise InputError(f"cannot read the --files-from list {source}: {exc.strerror}") from None


def _stdin_job(
    paths: list[str],
    name: str | None,
    size: int | None,
    stdin: BinaryIO | None,
    spool_dir: str | None,
    volumes: bool,
) -> Job | None:
    if paths.count("-") > 1:
        raise UsageError("`-` (standard input) can be given only once")
    if "-" not in paths:
        if size is not None:
            raise UsageError("--size applies to standard input (`-`) only")
        return None
    if not name:
        raise UsageError("reading standard input needs --name NAME (e.g. --name dir.tar)")
    if stdin is None:
        raise UsageError("`-` needs standard input")
    stream = stdin
    return Job(name=name, open=lambda: open_stream(stream, name, size, spool_dir, volumes=volumes))


def file_job(item: FileInput) -> Job:
    """The engine job for one file found by inputs.expand."""
    return Job(name=item.name, open=item.open, folder_path=item.folder_path, path=str(item.path))


def report_left_out(inputs: Inputs, emit: Listener) -> None:
    """Tell the listener about inputs skipped while expanding; mention filtered ones."""
    for skipped in inputs.expansion.skipped:
        emit(FileSkipped(skipped.path, skipped.reason))
    if inputs.expansion.filtered:
        left = f"{inputs.expansion.filtered} file(s) left out by --include/--exclude"
        emit(Notice(left, verbose=True))


def nothing_to_push(flags: BatchFlags) -> None:
    """Raise when the user asked for an empty run to be an error."""
    if flags.error_on_nothing:
        raise NothingToPush("nothing to push: every input was filtered out or skipped")
