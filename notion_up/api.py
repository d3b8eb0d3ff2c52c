"""The Python API: push, pull, verify, ls and resume for scripts, without typer or rich.

Settings are keyword arguments with the command line's names; anything not given comes from
the environment, the config file's profile, or the default, exactly as for the command line.
Progress arrives as the same events the command line draws (`listener`), and failures raise
the same exceptions (`notion_up.errors`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from notion_up.app import restore as _restore
from notion_up.app import share as _share
from notion_up.app.batch import BatchFlags, gather
from notion_up.app.push import PushOptions
from notion_up.app.push import push as _push
from notion_up.app.resume import resume as _resume
from notion_up.app.share import Changed
from notion_up.config import Settings, resolve
from notion_up.download.restore import Restored, Verdict
from notion_up.events import Listener, ignore
from notion_up.notion.records import RemoteFile
from notion_up.upload.engine import DEFAULT_MAX_MEMORY, PushResult

__all__ = ["ls", "pull", "push", "resume", "rm", "settings", "share", "unshare", "verify"]


def settings(
    *,
    token: str | None = None,
    database: str | None = None,
    index: str | None = None,
    api_url: str | None = None,
    workers: int | None = None,
    part_size: int | str | None = None,
    rate: float | None = None,
    state_dir: str | Path | None = None,
    profile: str | None = None,
) -> Settings:
    """The effective settings: these arguments, then environment, profile, defaults."""
    flags: dict[str, Any] = {
        "token": token,
        "database": database,
        "index": index,
        "api_url": api_url,
        "workers": workers,
        "part_size": part_size,
        "rate": rate,
        "state_dir": str(state_dir) if state_dir is not None else None,
    }
    return resolve(flags, profile=profile)


def push(
    paths: list[str | Path],
    *,
    name: str | None = None,
    stdin: BinaryIO | None = None,
    recursive: bool = False,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    skip_existing: bool = False,
    split: int | None = None,
    public: bool = False,
    sandbox: bool = False,
    listener: Listener = ignore,
    **config: Any,
) -> list[PushResult]:
    """Push files (or `stdin` as `"-"` with `name`); returns one PushResult per file pushed.

    Raises the first file's error when any failed (after every other file has ended).
    """
    flags = BatchFlags(
        recursive=recursive,
        include=list(include or []),
        exclude=list(exclude or []),
        skip_existing=skip_existing,
    )
    chosen = settings(**config)
    spool = str(chosen.state_dir / "spool")
    inputs = gather([str(p) for p in paths], flags, name, None, stdin, spool)
    options = PushOptions(flags, DEFAULT_MAX_MEMORY, split, sandbox, public)
    outcome = _push(chosen, inputs, options, listener=listener)
    if outcome.failures:
        raise outcome.failures[0][1]
    return outcome.results


def resume(
    *, sandbox: bool = False, listener: Listener = ignore, **config: Any
) -> list[PushResult]:
    """Finish the journal's unfinished pushes; raises the first failure after trying them all."""
    outcome = _resume(settings(**config), sandbox=sandbox, listener=listener)
    if outcome.failures:
        raise outcome.failures[0][1]
    return outcome.results


def pull(
    key: str,
    output: str | Path | None = None,
    *,
    force: bool = False,
    stream: BinaryIO | None = None,
    sandbox: bool = False,
    listener: Listener = ignore,
    **config: Any,
) -> Restored:
    """Download a file by FILE_ID or HASH, check it, then keep it (at `output`, or on `stream`)."""
    target = str(output) if output is not None else None
    return _restore.pull(
        settings(**config), key, target, force=force, stream=stream, sandbox=sandbox,
        listener=listener,
    )  # fmt: skip


def verify(
    keys: list[str] | None = None,
    *,
    every: bool = False,
    sandbox: bool = False,
    listener: Listener = ignore,
    **config: Any,
) -> list[Verdict]:
    """Check files against their recorded hashes (keeping no bytes); one Verdict each."""
    return _restore.verify(
        settings(**config), keys, every=every, sandbox=sandbox, listener=listener
    )


def ls(
    name: str | None = None,
    *,
    include_hidden: bool = False,
    sandbox: bool = False,
    **config: Any,
) -> list[RemoteFile]:
    """The files of the file database, newest first."""
    return list(
        _restore.ls(settings(**config), name, include_hidden=include_hidden, sandbox=sandbox)
    )


def _changes(run, chosen: Settings, refs: list[str], **kwargs: Any) -> list[Changed]:
    """Run share or rm over every REF; raises the first failure after trying them all."""
    done: list[Changed] = []
    errors: list[BaseException] = []

    def on_changed(_ref: str, changed: Changed | None, error: BaseException | None) -> None:
        if changed is not None:
            done.append(changed)
        elif error is not None:
            errors.append(error)

    run(chosen, list(refs), on_changed=on_changed, **kwargs)
    if errors:
        raise errors[0]
    return done


def share(
    refs: list[str], *, service_url: str | None = None, sandbox: bool = False, **config: Any
) -> list[Changed]:
    """Make files public (each Changed's `link` is set when a service URL is configured)."""
    chosen = settings(**config)
    if service_url:
        chosen.set("service_url", service_url, "argument")
    return _changes(_share.share, chosen, refs, public=True, sandbox=sandbox)


def unshare(refs: list[str], *, sandbox: bool = False, **config: Any) -> list[Changed]:
    """Make files private again; raises the first failure after trying every REF."""
    return _changes(_share.share, settings(**config), refs, public=False, sandbox=sandbox)


def rm(
    refs: list[str], *, dry_run: bool = False, sandbox: bool = False, **config: Any
) -> list[Changed]:
    """Move files (and a split file's pieces) to the trash; raises the first failure."""
    return _changes(_share.rm, settings(**config), refs, dry_run=dry_run, sandbox=sandbox)
