"""`--part-size auto` for one run: the journal's recent pushes in, the engine's part sizes out."""

from __future__ import annotations

from notion_up.config import Settings
from notion_up.events import Listener, Notice, ignore
from notion_up.state.journal import Journal
from notion_up.units import human_bytes
from notion_up.upload.parts import Pushed, auto_part_size
from notion_up.upload.runs import EngineOptions


def engine_options(
    settings: Settings,
    journal: Journal,
    workspace: str,
    max_memory: int | None = None,
    listener: Listener = ignore,
    *,
    dry_run: bool = False,
) -> EngineOptions:
    """The engine's options; with `--part-size auto` the part size of each file is picked from
    how fast recent pushes to `workspace` went (and the choice said: plainly in a dry run, with -v
    otherwise)."""
    if not settings.part_size_auto:
        return EngineOptions(
            workers=settings.workers, part_size=settings.part_size, max_memory=max_memory
        )
    history = [Pushed(*row) for row in journal.recent_throughput(workspace)]
    rate, workers = settings.rate, settings.workers
    choice = auto_part_size(rate=rate, workers=workers, history=history)
    listener(
        Notice(
            f"--part-size auto: parts of up to {human_bytes(choice.part_size)}: {choice.reason}",
            verbose=not dry_run,
        )
    )

    def per_file(size: int) -> int:
        return auto_part_size(rate=rate, workers=workers, history=history, size=size).part_size

    return EngineOptions(
        workers=workers, part_size=choice.part_size, max_memory=max_memory, part_size_for=per_file
    )
