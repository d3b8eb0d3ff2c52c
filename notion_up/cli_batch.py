"""The batch side of `push`: its options, inputs to jobs, the log file, dry runs and the summary."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from notion_up.config import Settings
from notion_up.engine import Job
from notion_up.errors import InputError, NothingToPush, NotionUpError, UsageError
from notion_up.events import Event, FileSkipped, Listener
from notion_up.existing import ExistingCheck
from notion_up.inputs import Expansion, FileInput, InputOptions, expand, read_file_list
from notion_up.logfile import LogFile
from notion_up.preview import preview
from notion_up.render import PlainRenderer, QuietRenderer, Renderer, human_bytes
from notion_up.source import open_file, open_stream

# -- options -------------------------------------------------------------------------------
Recursive = Annotated[
    bool, typer.Option("--recursive", "-r", help="Push the files in directories, and below.")
]
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        help="Push only files whose relative path or name matches this glob (repeatable).",
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude", help="Leave out files whose relative path or name matches (repeatable)."
    ),
]
FilesFrom = Annotated[
    str | None,
    typer.Option(
        "--files-from", help="Read the paths to push from FILE, one per line; `-` for stdin."
    ),
]
Null = Annotated[
    bool,
    typer.Option("--null", "-0", help="--files-from is NUL-separated (as from find -print0)."),
]
FollowSymlinks = Annotated[
    bool,
    typer.Option("--follow-symlinks", help="Follow symlinks (otherwise skipped, with a reason)."),
]
SkipExisting = Annotated[
    bool,
    typer.Option(
        "--skip-existing",
        help="Skip files already pushed (same path, size, mtime and SHA-512 in the journal).",
    ),
]
CheckRemote = Annotated[
    bool,
    typer.Option(
        "--check-remote",
        help="With --skip-existing, also skip files whose content is in the file database.",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Say what would be pushed or skipped, and how; write nothing."),
]
LogFilePath = Annotated[
    Path | None,
    typer.Option(
        "--log-file", help="Append timestamped progress, results and errors to this file."
    ),
]
ErrorOnNothing = Annotated[
    bool,
    typer.Option(
        "--error-on-nothing",
        help="Exit 7 when there is nothing to push (every input filtered out or skipped).",
    ),
]
WaitLock = Annotated[
    bool,
    typer.Option(
        "--wait-lock", help="If another run uses the state directory, wait for it (else exit 8)."
    ),
]


@dataclass
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
            self.recursive, tuple(self.include), tuple(self.exclude), self.follow_symlinks
        )

    def check(self) -> None:
        """Refuse option combinations that cannot mean anything."""
        if self.check_remote and not self.skip_existing:
            raise UsageError("--check-remote needs --skip-existing")
        if self.null and not self.files_from:
            raise UsageError("-0/--null applies to --files-from only")


@dataclass
class Inputs:
    """What a push was asked to do: the files found, the stdin stream, what was left out."""

    expansion: Expansion
    stdin_job: Job | None = None
    batch: bool = False

    @property
    def count(self) -> int:
        """Files to push (before skip checks)."""
        return len(self.expansion.files) + (self.stdin_job is not None)


def gather(paths: list[str], flags: BatchFlags, name: str | None, size: int | None) -> Inputs:
    """Every input checked and expanded before anything is sent (fails with InputError)."""
    flags.check()
    listed: list[str] = []
    if flags.files_from is not None:
        if flags.files_from == "-" and "-" in paths:
            raise UsageError("standard input cannot be both the --files-from list and a file")
        listed = _read_list(flags.files_from, flags.null)
    elif not paths:
        raise UsageError("nothing given to push: name files, `-`, or use --files-from FILE")
    stdin_job = _stdin_job(paths, name, size)
    expansion = expand([p for p in paths if p != "-"] + listed, flags.input_options())
    batch = len(paths) + len(listed) != 1 or flags.recursive or flags.files_from is not None
    return Inputs(expansion, stdin_job, batch)


def _read_list(source: str, nul: bool) -> list[str]:
    if source == "-":
        return read_file_list(sys.stdin.buffer, nul)
    try:
        with open(source, "rb") as f:
            return read_file_list(f, nul)
    except OSError as exc:
        raise InputError(f"cannot read the --files-from list {source}: {exc.strerror}") from None


def _stdin_job(paths: list[str], name: str | None, size: int | None) -> Job | None:
    if paths.count("-") > 1:
        raise UsageError("`-` (standard input) can be given only once")
    if "-" not in paths:
        if size is not None:
            raise UsageError("--size applies to standard input (`-`) only")
        return None
    if not name:
        raise UsageError("reading standard input needs --name NAME (e.g. --name dir.tar)")
    return Job(name, lambda: open_stream(sys.stdin.buffer, name, size))


def file_job(item: FileInput) -> Job:
    """The engine job for one file found by inputs.expand."""
    return Job(item.name, lambda: open_file(item.path), item.folder_path)


def report_left_out(inputs: Inputs, emit: Listener, verbose: Callable[[str], None]) -> None:
    """Tell the listener about inputs skipped while expanding; mention filtered ones."""
    for skipped in inputs.expansion.skipped:
        emit(FileSkipped(skipped.path, skipped.reason))
    if inputs.expansion.filtered:
        verbose(f"{inputs.expansion.filtered} file(s) left out by --include/--exclude")


def nothing_to_push(flags: BatchFlags) -> None:
    """Raise when the user asked for an empty run to be an error."""
    if flags.error_on_nothing:
        raise NothingToPush("nothing to push: every input was filtered out or skipped")


# -- dry run -------------------------------------------------------------------------------
def dry_run(
    inputs: Inputs,
    part_size: int,
    max_file_size: int | None,
    existing: ExistingCheck | None,
    write: Callable[[str], None],
    as_json: bool,
) -> int:
    """Print what push would do with each input; returns how many would be pushed."""
    would_push = 0
    for skipped in inputs.expansion.skipped:
        row = {"dry_run": True, "action": "skip", "path": skipped.path, "reason": skipped.reason}
        write(json.dumps(row) if as_json else f"would skip {skipped.path}: {skipped.reason}")
    if inputs.stdin_job is not None:
        name = inputs.stdin_job.name
        row = {"dry_run": True, "action": "push", "name": name, "path": "-"}
        write(json.dumps(row) if as_json else f"would push {name} from standard input")
        would_push += 1
    for item in inputs.expansion.files:
        seen = preview(item, part_size, max_file_size, existing)
        write(json.dumps(seen.to_json()) if as_json else seen.line())
        would_push += seen.action == "push"
    return would_push


# -- log file and summary ------------------------------------------------------------------
@contextlib.contextmanager
def open_log(path: Path | None, settings: Settings) -> Iterator[LogFile | None]:
    """The --log-file stream for this run (None without one); the token is never written."""
    if path is None:
        yield None
        return
    log = LogFile(path, secrets=[str(settings.token or "")])
    log.line(f"notion-up started: {' '.join(sys.argv[1:])}")
    try:
        yield log
    finally:
        log.close()


class LoggingRenderer(Renderer):
    """The chosen renderer, plus plain lines in the log file (whatever stderr shows)."""

    def __init__(self, screen: Renderer, log: LogFile, interval: float) -> None:
        super().__init__(screen.err, screen.verbose)
        self.screen = screen
        self.log = PlainRenderer(log, screen.verbose, interval)  # type: ignore[arg-type]
        self.totals = screen.totals

    def __call__(self, event: Event) -> None:
        self.screen(event)
        self.log(event)

    def message(self, text: str) -> None:
        """A line in the log, and on stderr unless --quiet."""
        if not isinstance(self.screen, QuietRenderer):
            self.screen.message(text)
        self.log.message(text)

    def start(self) -> None:
        self.screen.start()
        self.log.start()

    def stop(self) -> None:
        self.screen.stop()
        self.log.stop()


def with_log(renderer: Renderer, log: LogFile | None, interval: float) -> Renderer:
    """`renderer`, or it and the log file together."""
    return renderer if log is None else LoggingRenderer(renderer, log, interval)


@contextlib.contextmanager
def log_errors(log: LogFile | None) -> Iterator[None]:
    """Write the one-line error (and its exit code) to the log file before it reaches stderr."""
    try:
        yield
    except NotionUpError as exc:
        if log is not None:
            log.line(f"notion-up: error: {exc} (exit {int(exc.exit_status)})")
        raise
    except typer.Exit as done:
        if log is not None:
            log.line(f"notion-up: finished (exit {done.exit_code})")
        raise


def summary(renderer: Renderer) -> dict:
    """The run's totals as a dict: pushed, skipped, failed, bytes, seconds."""
    t = renderer.totals
    started = t.started
    return {
        "pushed": t.pushed,
        "skipped": t.skipped,
        "failed": t.failed,
        "bytes": t.bytes_pushed,
        "seconds": round(time.monotonic() - started, 3),
    }


def summary_line(totals: dict) -> str:
    """`pushed 3, skipped 97, failed 0, 1.2 MiB in 4.2 s`."""
    return (
        f"pushed {totals['pushed']}, skipped {totals['skipped']}, failed {totals['failed']}, "
        f"{human_bytes(totals['bytes'])} in {totals['seconds']:.1f} s"
    )
