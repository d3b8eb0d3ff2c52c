"""The one exception hierarchy of notion-up's core; the CLI maps each class to an exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit codes, one documented table (README: "Exit codes")."""

    OK = 0
    FAILED = 1
    USAGE = 2
    CONFIG = 3
    INPUT = 4
    TEMPORARY = 5
    LIMITS = 6
    NOTHING = 7  # only with --error-on-nothing: every input was filtered out or skipped
    LOCKED = 8  # another run holds the state directory's lock (without --wait-lock)
    INTERRUPTED = 130


class NotionUpError(Exception):
    """Root of every error the core raises on purpose; carries a hint for the user."""

    exit_status = ExitStatus.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(NotionUpError):
    """Missing or wrong configuration: token, database ids, schema."""

    exit_status = ExitStatus.CONFIG


class InputError(NotionUpError):
    """An input that does not exist, is unreadable, or is not a regular file."""

    exit_status = ExitStatus.INPUT


class UsageError(NotionUpError):
    """Options that contradict each other or a value out of range."""

    exit_status = ExitStatus.USAGE


class LimitError(NotionUpError):
    """Refused by Notion's limits (file size, file type, part count)."""

    exit_status = ExitStatus.LIMITS


class StreamSizeError(InputError):
    """A stream that is shorter or longer than the size it was declared with."""


class LockedError(NotionUpError):
    """Another run is using the same state directory."""

    exit_status = ExitStatus.LOCKED


class NothingToPush(NotionUpError):
    """Every input was filtered out or skipped, and the user asked for that to be an error."""

    exit_status = ExitStatus.NOTHING


class Interrupted(NotionUpError):
    """The user pressed Ctrl-C."""

    exit_status = ExitStatus.INTERRUPTED


class APIError(NotionUpError):
    """Notion answered with an error object; keeps Notion's own code, message and request id."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        additional_data: dict | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(f"Notion {status} {code}: {message}", hint)
        self.status = status
        self.code = code
        self.notion_message = message
        self.request_id = request_id
        self.additional_data = additional_data or {}

    @property
    def exit_status(self) -> ExitStatus:  # type: ignore[override]
        if self.status in (401, 403, 404):
            return ExitStatus.CONFIG
        if self.status in (429, 529) or self.status >= 500:
            return ExitStatus.TEMPORARY
        if self.code == "validation_error" and _is_limit_message(self.notion_message):
            return ExitStatus.LIMITS
        return ExitStatus.FAILED


class TransientError(NotionUpError):
    """A network failure (timeout, dropped connection) that outlasted its retries."""

    exit_status = ExitStatus.TEMPORARY


def _is_limit_message(message: str) -> bool:
    text = message.lower()
    return any(k in text for k in ("exceeds the limit", "not supported", "number_of_parts", "size"))


class OutcomeUnknown(Exception):
    """A write whose fate is unknown (5xx, timeout, dropped connection): look before writing again.

    Internal to the core: the records layer turns it into a lookup, never shown to users.
    """

    def __init__(self, cause: Exception, committed_id: str | None = None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.committed_id = committed_id
