"""The one exception hierarchy of notion-up; the CLI alone turns each into a line and an exit code.

NotionUpError                 1  root: a message, a hint (what to do next)
├── ConfigError               3  token, database ids, schema, API URL
├── InputError                4  a missing, unreadable or changing input
│   └── StreamSizeError       4  stdin shorter or longer than --size
├── UsageError                2  contradictory options, a value out of range
├── LimitError                6  refused by Notion's limits (size, type, parts)
├── LockedError               8  another run holds the state directory
├── NothingToPush             7  only with --error-on-nothing
├── Interrupted             130  Ctrl-C (or SIGTERM)
├── APIError            by code  Notion's error object: code, message, request_id
├── TransientError            5  network failures that outlasted their retries
│   ├── MalformedReply        5  a reply of Notion (or a proxy) that is not what the call needs
│   └── QueryTooLarge         5  a database walk that cannot finish within its bounds
├── OutcomeUnknown            5  a write that may have committed (internal: the records
│                                layer looks before writing again)
├── ManifestError             1  bytes that are not a split-file manifest
├── FileMissing               4  no such file record, or its file is gone
│   └── InvalidRecord         4  a record whose id, hash, salt, size or URL is malformed
├── IntegrityError            1  downloaded bytes that do not match the recorded hash
└── RecordError      from cause  a record write failed after the bytes went up
"""

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
    TERMINATED = 143  # SIGTERM (systemd, cron time-outs): handled like the first Ctrl-C


class NotionUpError(Exception):
    """Root of every error the core raises on purpose; carries a hint for the user."""

    exit_status = ExitStatus.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __reduce__(self):
        # copy.copy and pickle rebuild an exception as cls(*args); our subclasses take other
        # arguments than their one message, so rebuild without __init__ and restore the fields.
        return (_rebuild, (type(self), self.args), self.__dict__.copy())


def _rebuild(cls: type[NotionUpError], args: tuple) -> NotionUpError:
    return cls.__new__(cls, *args)


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


class TooSlow(LimitError):
    """An upload that cannot be sent, completed and recorded before Notion expires it."""


class StreamSizeError(InputError):
    """A stream that is shorter or longer than the size it was declared with."""


class SourceChanged(InputError):
    """A file that changed (grew, shrank, was written) while it was being read."""


class LockedError(NotionUpError):
    """Another run is using the same state directory."""

    exit_status = ExitStatus.LOCKED


class NothingToPush(NotionUpError):
    """Every input was filtered out or skipped, and the user asked for that to be an error."""

    exit_status = ExitStatus.NOTHING


class Interrupted(NotionUpError):
    """The user pressed Ctrl-C (exit 130), or the run was sent SIGTERM (exit 143)."""

    exit_status = ExitStatus.INTERRUPTED

    def __init__(self, message: str, hint: str | None = None, terminated: bool = False) -> None:
        super().__init__(message, hint)
        if terminated:
            self.exit_status = ExitStatus.TERMINATED


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
    def bad_id(self) -> bool:
        """Notion refused an id in the path as malformed (a configured id is wrong)."""
        return self.code == "validation_error" and self.notion_message.startswith(
            "path failed validation"
        )

    @property
    # A property where NotionUpError has a class attribute: the status depends on the answer.
    def exit_status(self) -> ExitStatus:  # type: ignore[override]
        if self.status in (401, 403, 404) or self.bad_id:
            return ExitStatus.CONFIG
        if self.status in (429, 529) or self.status >= 500:
            return ExitStatus.TEMPORARY
        if self.code == "validation_error" and _is_limit_message(self.notion_message):
            return ExitStatus.LIMITS
        return ExitStatus.FAILED


class TransientError(NotionUpError):
    """A network failure (timeout, dropped connection) that outlasted its retries."""

    exit_status = ExitStatus.TEMPORARY


class MalformedReply(TransientError):
    """Notion's reply was not what the call needs: not JSON, another shape, endless, too big."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(f"Notion's reply was malformed: {message}", hint or "try again later")


class QueryTooLarge(TransientError):
    """A walk over a database that cannot finish within its bounds (rows, one minute's rows)."""


def _is_limit_message(message: str) -> bool:
    text = message.lower()
    return any(k in text for k in ("exceeds the limit", "not supported", "number_of_parts", "size"))


class ManifestError(NotionUpError):
    """Bytes that are not a split-file manifest (or one that breaks its own rules)."""


class FileMissing(NotionUpError):
    """No such file: unknown id or hash, a page that is not a file record, a file gone."""

    exit_status = ExitStatus.INPUT


class InvalidRecord(FileMissing):
    """A record in a shared database whose values are not well-formed (id, hash, salt, size, URL).

    A FileMissing: there is no usable file record there.
    """


class IntegrityError(NotionUpError):
    """Downloaded bytes do not match the recorded hash (or a split file's manifest)."""


class RecordError(NotionUpError):
    """A record write failed after the bytes went up; says what was left behind."""

    def __init__(self, message: str, upload_id: str, page_id: str | None, cause: Exception):
        left = f"upload {upload_id}" + (f", page {page_id}" if page_id else "")
        super().__init__(
            f"{message}: {cause}; left behind: {left}",
            hint="run `notion-up resume` before the upload expires",
        )
        self.upload_id = upload_id
        self.page_id = page_id
        self.cause = cause

    @property
    def exit_status(self):
        return getattr(self.cause, "exit_status", super().exit_status)


class OutcomeUnknown(NotionUpError):
    """A write whose fate is unknown (5xx, timeout, dropped connection): look before writing again.

    Internal to the core: the records layer turns it into a lookup; should one escape, it is a
    temporary error.
    """

    exit_status = ExitStatus.TEMPORARY

    def __init__(self, cause: Exception, committed_id: str | None = None) -> None:
        super().__init__(str(cause), "run `notion-up resume` to look for the record and finish")
        self.cause = cause
        self.committed_id = committed_id


def batch_status(failures: list[BaseException], done: int) -> ExitStatus:
    """A run's status: 0 when nothing failed; a failure's own code when every one failed alike;
    else 1 (some files failed)."""
    if not failures:
        return ExitStatus.OK
    codes = {getattr(f, "exit_status", ExitStatus.FAILED) for f in failures}
    if done == 0 and len(codes) == 1:
        return ExitStatus(int(codes.pop()))
    return ExitStatus.FAILED
