"""Ctrl-C and SIGTERM: the first asks the run to stop cleanly, a second quits at once.

SIGTERM (what systemd and cron time-outs send) is the first Ctrl-C with a deadline: parts in
flight get a few seconds, then the process exits 143 anyway. The journal is consistent at
every instant (each step is committed to SQLite before the next request), so stopping at the
deadline loses nothing that `resume` cannot finish.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from notion_up.errors import ExitStatus, Interrupted

# Seconds SIGTERM leaves the parts in flight before the process exits regardless.
TERM_GRACE = 5.0


class InterruptHandler:
    """First Ctrl-C or SIGTERM: stop new work and finish cleanly. Second: quit at once."""

    def __init__(self, grace: float = TERM_GRACE) -> None:
        self.cancel = threading.Event()
        self.terminated = False
        self.grace = grace
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> InterruptHandler:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, _frame: object) -> None:
        term = signum == signal.SIGTERM
        code = ExitStatus.TERMINATED if term or self.terminated else ExitStatus.INTERRUPTED
        if self.cancel.is_set():
            os._exit(int(code))
        self.cancel.set()
        if term:
            self.terminated = True
            _say(
                f"notion-up: terminated; finishing the parts in flight (at most "
                f"{self.grace:.0f} s); run `notion-up resume` later to finish the rest"
            )
            timer = threading.Timer(self.grace, self._deadline)
            timer.daemon = True
            timer.start()
        else:
            _say("notion-up: interrupted; finishing the parts in flight (Ctrl-C again to quit now)")

    def _deadline(self) -> None:
        _say("notion-up: stopped (SIGTERM); the journal is up to date: run `notion-up resume`")
        os._exit(int(ExitStatus.TERMINATED))

    def outcome(self, status: Callable[[], ExitStatus]) -> ExitStatus:
        """`status()`; an Interrupted it raises says SIGTERM (exit 143) when that is what came."""
        try:
            return status()
        except Interrupted as exc:
            if self.terminated:
                message = exc.message.replace("interrupted", "terminated (SIGTERM)", 1)
                raise Interrupted(message, exc.hint, terminated=True) from None
            raise


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
