"""Plain text for logs and pipes: control characters escaped, secrets out, lines timestamped."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from notion_up.config import Settings
from notion_up.errors import UsageError
from notion_up.sanitize import printable
from notion_up.state.private import open_private


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by `[redacted]`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def timestamp(now: float) -> str:
    """Local time with offset, to the second: 2026-01-31T02:00:05+0100."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now))


class LogFile:
    """A text stream appending to a file: one timestamp per line, secrets never written.

    It is a stream (write/flush/isatty) so a renderer can print to it as to stderr.
    """

    def __init__(
        self, path: str | Path, secrets: Iterable[str] = (), clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise UsageError(f"cannot write the log file {self.path}: {reason}") from None
        self._file = os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")
        self._secrets = [s for s in secrets if s]
        self._clock = clock
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Buffer `text`; each complete line is written with a timestamp."""
        with self._lock:
            self._partial += text
            *lines, self._partial = self._partial.split("\n")
            for line in lines:
                clean = printable(redact_secrets(line, self._secrets))
                self._file.write(f"{timestamp(self._clock())} {clean}\n")
            self._file.flush()
        return len(text)

    def line(self, text: str) -> None:
        """Write one whole line."""
        self.write(printable(text) + "\n")

    def flush(self) -> None:
        """Flush the file."""
        with self._lock:
            self._file.flush()

    def isatty(self) -> bool:
        """Never a terminal."""
        return False

    def close(self) -> None:
        """Write any unfinished line and close the file."""
        if self._partial:
            self.write("\n")
        with self._lock:
            self._file.close()


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
