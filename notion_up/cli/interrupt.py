"""Ctrl-C and SIGTERM: the first asks the run to stop cleanly, a second quits at once.

SIGTERM (what systemd and cron time-outs send) is the first Ctrl-C with a deadline: parts in
flight get a few seconds, then the process exits 143 anyway. The journal is consistent at
every instant (each step is committed to SQLite before the next request), so stopping at the
deadline loses nothing that `resume` cannot finish.

Outside a push or resume, SIGTERM ends the command with a line and exit 143 (`exit_on_sigterm`)
instead of killing it without a word.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from notion_up.errors import ExitStatus, Interrupted
from notion_up.notion.transport import WATCHDOG

# Seconds SIGTERM leaves the parts in flight before the process exits regardless.
TERM_GRACE = 5.0
# Seconds the first Ctrl-C leaves requests in flight before cutting them (and every later one).
CUT_AFTER = 1.5


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived outside a push or resume: unwinds like Ctrl-C, ends with exit 143."""


def _raise_terminated(_signum: int, _frame: object) -> None:
    raise Terminated()


def exit_on_sigterm() -> None:
    """Make SIGTERM raise Terminated in the main thread (the CLI turns it into exit 143)."""
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, _raise_terminated)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class InterruptHandler:
    """First Ctrl-C or SIGTERM: stop new work and finish cleanly. Second: quit at once.

    `say` prints a line where the renderer wants it (above the bars); `before_exit` erases the
    bars before the process ends early (second Ctrl-C, SIGTERM's deadline), so none is left.
    """

    def __init__(
        self,
        say: Callable[[str], None] = _say,
        before_exit: Callable[[], None] | None = None,
        grace: float = TERM_GRACE,
    ) -> None:
        self.cancel = threading.Event()
        self.terminated = False
        self.grace = grace
        self._say = say
        self._before_exit = before_exit
        self._previous: dict[int, Any] = {}
        self._cut: threading.Timer | None = None

    def __enter__(self) -> InterruptHandler:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        if self._cut is not None:
            # The run is over: a later run in this process (the Python API) may send again.
            self._cut.cancel()
            WATCHDOG.stopping.clear()

    def _handle(self, signum: int, _frame: object) -> None:
        term = signum == signal.SIGTERM
        code = ExitStatus.TERMINATED if term or self.terminated else ExitStatus.INTERRUPTED
        if self.cancel.is_set():
            self._exit_now(
                "notion-up: quit at once; parts in flight were dropped "
                "(`notion-up resume` sends them again)",
                code,
            )
        self.cancel.set()
        if term:
            self.terminated = True
            self._say(
                f"notion-up: terminated (SIGTERM); finishing the parts in flight (at most "
                f"{self.grace:.0f} s), starting no new file"
            )
            timer = threading.Timer(self.grace, self._deadline)
            timer.daemon = True
            timer.start()
        else:
            self._say(
                "notion-up: interrupted; finishing the parts in flight, starting no new file "
                "(Ctrl-C again to quit now)"
            )
            # A request that hangs (a server that never answers) must not hold the run:
            # what is still in flight shortly after is cut, so the run ends within 2 s.
            self._cut = threading.Timer(CUT_AFTER, WATCHDOG.stop_all)
            self._cut.daemon = True
            self._cut.start()

    def _deadline(self) -> None:
        self._exit_now(
            "notion-up: stopped (SIGTERM); the journal is up to date: run `notion-up resume`",
            ExitStatus.TERMINATED,
        )

    def _exit_now(self, text: str, code: ExitStatus) -> None:
        if self._before_exit is not None:
            with contextlib.suppress(Exception):
                self._before_exit()
        _say(text)
        os._exit(int(code))

    def outcome(self, status: Callable[[], ExitStatus]) -> ExitStatus:
        """`status()`; an Interrupted it raises says SIGTERM (exit 143) when that is what came."""
        try:
            return status()
        except Interrupted as exc:
            if self.terminated:
                message = exc.message.replace("interrupted", "terminated (SIGTERM)", 1)
                raise Interrupted(message, exc.hint, terminated=True) from None
            raise
