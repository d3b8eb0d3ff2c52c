"""The Python API: push, pull, verify, ls and resume for scripts, without typer or rich.

Settings are keyword arguments with the command line's names; anything not given comes from
the environment, the config file's profile, or the default, exactly as for the command line.
Progress arrives as the same events the command line draws (`listener`), and failures raise
the same exceptions (`notion_up.errors`).
"""

from __future__ import annotations

import inspect
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from notion_up.app import pull as _pull
from notion_up.app import share as _share
from notion_up.app.batch import BatchFlags, gather
from notion_up.app.push import PushOptions
from notion_up.app.push import push as _push
from notion_up.app.resume import resume as _resume
from notion_up.app.share import Changed
from notion_up.config import Settings, resolve
from notion_up.download.fetch import Restored, Verdict
from notion_up.errors import UsageError
from notion_up.events import Listener, ignore
from notion_up.notion.records import RemoteFile
from notion_up.upload.runs import DEFAULT_MAX_MEMORY, PushResult

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
    timeout: float | None = None,
    profile: str | None = None,
) -> Settings:
    """The effective settings: these arguments, then environment, profile, defaults.

    `timeout`: the longest one request may wait for its whole answer, in seconds.
    """
    flags: dict[str, Any] = {
        "token": token,
        "database": database,
        "index": index,
        "api_url": api_url,
        "workers": workers,
        "part_size": part_size,
        "rate": rate,
        "state_dir": str(state_dir) if state_dir is not None else None,
        "timeout": timeout,
    }
    return resolve(flags, profile=profile)


_SETTINGS = tuple(inspect.signature(settings).parameters)


def _settings_for(command: Callable, config: dict[str, Any]) -> Settings:
    """The settings from a command's `**config`; a keyword neither it nor `settings` takes is
    a UsageError naming the ones that are (a typo is not silently dropped, nor a TypeError)."""
    unknown = sorted(set(config) - set(_SETTINGS))
    if unknown:
        own = [
            p.name
            for p in inspect.signature(command).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        raise UsageError(
            f"{command.__name__}() got an unknown keyword argument {unknown[0]!r}",
            hint="it takes " + ", ".join(sorted({*own, *_SETTINGS})),
        )
    return settings(**config)


PushInput = str | os.PathLike | list | tuple | bytes | bytearray | memoryview | BinaryIO


def _push_inputs(
    what: PushInput, name: str | None, stdin: BinaryIO | None
) -> tuple[list[str], BinaryIO | None, int | None]:
    """(paths, stream for `-`, its size if known) for what `push` was given."""
    if isinstance(what, str | os.PathLike):
        return [os.fspath(what)], stdin, None
    if isinstance(what, list | tuple):
        return [os.fspath(p) for p in what], stdin, None
    if isinstance(what, bytes | bytearray | memoryview):
        if not name:
            raise UsageError("push(bytes) needs name=: the name the file is recorded under")
        data = bytes(what)
        return ["-"], io.BytesIO(data), len(data)
    if hasattr(what, "read"):
        if isinstance(what, io.TextIOBase):
            raise UsageError("push() needs a binary file object", hint="open it with 'rb'")
        if not name:
            raise UsageError("push(file object) needs name=: the name it is recorded under")
        return ["-"], what, None
    raise UsageError(
        f"push() cannot push a {type(what).__name__}",
        hint="give a path, a list of paths, bytes, or a binary file object with name=",
    )


def push(
    paths: PushInput,
    *,
    name: str | None = None,
    stdin: BinaryIO | None = None,
    recursive: bool = False,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    skip_existing: bool = False,
    split: int | None = None,
    no_split: bool = False,
    public: bool = False,
    sandbox: bool = False,
    listener: Listener = ignore,
    **config: Any,
) -> list[PushResult]:
    """Push files; returns one PushResult per file pushed.

    `paths` is a path, a list of paths (`"-"` among them for `stdin`, with `name`), bytes, or a
    binary file object (both with `name`, the name the file is recorded under). Raises the
    first file's error when any failed (after every other file has ended); an unknown keyword
    is a UsageError naming the valid ones.
    """
    flags = BatchFlags(
        recursive=recursive,
        include=list(include or []),
        exclude=list(exclude or []),
        skip_existing=skip_existing,
    )
    chosen = _settings_for(push, config)
    given, stream, size = _push_inputs(paths, name, stdin)
    spool = str(chosen.state_dir / "spool")
    inputs = gather(given, flags, name, size, stream, spool, volumes=not no_split)
    options = PushOptions(
        batch=flags,
        max_memory=DEFAULT_MAX_MEMORY,
        split_size=split,
        sandbox=sandbox,
        public=public,
        no_split=no_split,
    )
    outcome = _push(chosen, inputs, options, listener=listener)
    if outcome.failures:
        raise outcome.failures[0][1]
    return outcome.results


def resume(
    *, sandbox: bool = False, listener: Listener = ignore, **config: Any
) -> list[PushResult]:
    """Finish the journal's unfinished pushes; raises the first failure after trying them all."""
    outcome = _resume(_settings_for(resume, config), sandbox=sandbox, listener=listener)
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
    """Download a file by FILE_ID, HASH, hash prefix or exact name, check it, then keep it."""
    target = str(output) if output is not None else None
    return _pull.pull(
        _settings_for(pull, config),
        key,
        target,
        force=force,
        stream=stream,
        sandbox=sandbox,
        listener=listener,
    )


def verify(
    keys: list[str] | None = None,
    *,
    every: bool = False,
    sandbox: bool = False,
    listener: Listener = ignore,
    **config: Any,
) -> list[Verdict]:
    """Check files against their recorded hashes (keeping no bytes); one Verdict each."""
    return _pull.verify(
        _settings_for(verify, config), keys, every=every, sandbox=sandbox, listener=listener
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
        _pull.ls(_settings_for(ls, config), name, include_hidden=include_hidden, sandbox=sandbox)
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
    chosen = _settings_for(share, config)
    if service_url:
        chosen.set("service_url", service_url, "argument")
    return _changes(_share.share, chosen, refs, public=True, sandbox=sandbox)


def unshare(refs: list[str], *, sandbox: bool = False, **config: Any) -> list[Changed]:
    """Make files private again; raises the first failure after trying every REF."""
    return _changes(
        _share.share, _settings_for(unshare, config), refs, public=False, sandbox=sandbox
    )


def rm(
    refs: list[str], *, dry_run: bool = False, sandbox: bool = False, **config: Any
) -> list[Changed]:
    """Move files (and a split file's pieces) to the trash; raises the first failure."""
    return _changes(_share.rm, _settings_for(rm, config), refs, dry_run=dry_run, sandbox=sandbox)
