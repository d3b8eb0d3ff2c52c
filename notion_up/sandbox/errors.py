"""Errors in Notion's shape: `ApiError` and the helpers that build the common ones.

`MISSING` stands for an absent JSON value (shown as `undefined` in validation messages).
"""

from __future__ import annotations

import json

from .limits import INTEGRATION_ID, INTEGRATION_NAME

MISSING = object()

RATE_LIMIT_MESSAGE = "You have been rate limited. Please try again in a few minutes."
# 2026 recordings name the integration and carry its id (additional_data.integration_id)
SHARE_HINT = (
    "Make sure the relevant pages and databases are shared with your integration "
    f'"{INTEGRATION_NAME}".'
)
# code and message of injected (and real) server-side errors
FAULTS: dict[int, tuple[str, str]] = {
    409: ("conflict_error", "Conflict occurred while saving. Please try again."),
    429: ("rate_limited", RATE_LIMIT_MESSAGE),
    500: ("internal_server_error", "Unexpected error occurred."),
    502: ("bad_gateway", "Bad Gateway"),
    503: ("service_unavailable", "Notion is unavailable, please try again later."),
    504: ("gateway_timeout", "Gateway Timeout"),
    529: ("service_overload", "Notion is temporarily overloaded, please try again later."),
}
S3_FAULTS = {500: "InternalError", 502: "BadGateway", 503: "SlowDown", 504: "GatewayTimeout"}


class ApiError(Exception):
    """An error answer in Notion's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        additional_data: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.additional_data = additional_data
        self.headers = headers or {}


def invalid(message: str) -> ApiError:
    return ApiError(400, "validation_error", message)


def bad(path: str, expectation: str, value: object) -> ApiError:
    shown = "undefined" if value is MISSING else json.dumps(value, ensure_ascii=False)
    if len(shown) > 200:
        shown = shown[:200] + "…"
    return invalid(f"body failed validation: {path} {expectation}, instead was `{shown}`.")


def not_found(kind: str, object_id: str) -> ApiError:
    """404 object_not_found in the recorded wording ("page", "database", "block" recorded).

    An unknown data source is recorded as "Could not find database with ID: …".
    """
    return ApiError(
        404,
        "object_not_found",
        f"Could not find {kind} with ID: {object_id}. {SHARE_HINT}",
        {"integration_id": INTEGRATION_ID},
    )


def too_big(size: int, limit: int) -> ApiError:
    # third-party code matches "file size of" + "exceeds the limit" (README §3.1); UNCONFIRMED
    return invalid(
        f"The file size of {size} bytes exceeds the limit of {limit} bytes for this workspace."
    )
