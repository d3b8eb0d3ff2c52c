"""Ctrl-C: the first asks the run to stop cleanly, the second quits at once."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

from notion_up.errors import ExitStatus


class InterruptHandler:
    """First Ctrl-C: stop new parts and finish cleanly. Second: quit at once."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self._previous: Any = None

    def __enter__(self) -> InterruptHandler:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, _signum: int, _frame: object) -> None:
        if self.cancel.is_set():
            os._exit(int(ExitStatus.INTERRUPTED))
        self.cancel.set()
        print(
            "notion-up: interrupted; finishing the parts in flight (Ctrl-C again to quit now)",
            file=sys.stderr,
            flush=True,
        )
