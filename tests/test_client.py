"""The Notion client's exact requests and its retry decisions, against requests-mock."""

from __future__ import annotations

import random

import pytest
import requests

from notion_up.errors import APIError, OutcomeUnknown, TransientError
from notion_up.notion.client import NOTION_VERSION, NotionClient
from notion_up.notion.retry import RateLimiter, RetryPolicy

API = "https://api.notion.com"
TOKEN = "ntn_TESTTOKEN_do_not_print_4242"
UPLOAD = "11111111-2222-3333-4444-555555555555"


class FakeLimiter:
    """Records pauses and acquires; never waits."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self.reasons: list[object] = []
        self.acquires = 0

    def acquire(self) -> float:
        self.acquires += 1
        return 0.0

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)

    def throttled(self, seconds: float, reason: object = None) -> None:
        self.pauses.append(seconds)
        self.reasons.append(reason)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def limiter() -> FakeLimiter:
    return FakeLimiter()


@pytest.fixture
def client(sleeps, limiter) -> NotionClient:
    return NotionClient(
        TOKEN,
        API,
        limiter=limiter,  # type: ignore[arg-type]
        policy=RetryPolicy(max_attempts=4, rng=random.Random(0)),
        sleep=sleeps.append,
    )


def error_body(status: int, code: str, message: str, **extra) -> dict:
    return {
        "object": "error",
        "status": status,
        "code": code,
        "message": message,
        "request_id": f"req-{status}",
        **extra,
    }


def upload_obj(status="pending", **extra) -> dict:
    return {"object": "file_upload", "id": UPLOAD, "status": status, **extra}


def form_parts(request) -> dict[str, tuple[dict[str, str], bytes]]:
    """Parse a multipart/form-data request body by hand: {field: (headers, content)}."""
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    body = b"".join(bytes(chunk) for chunk in request.body)
    assert int(request.headers["Content-Length"]) == len(body)
    sections = body.split(b"--" + boundary)
    assert sections[0] == b""
    assert sections[-1] == b"--\r\n"
    fields = {}
    for section in sections[1:-1]:
        assert section.startswith(b"\r\n") and section.endswith(b"\r\n")
        head, _, content = section[2:-2].partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))  # type: ignore[misc]
        disposition = headers["Content-Disposition"]
        name = disposition.split('name="', 1)[1].split('"', 1)[0]
        fields[name] = (headers, content)
    return fields


# -- headers and shapes ---------------------------------------------------------------------
def test_every_call_carries_bearer_token_version_and_a_timeout(client, requests_mock):
    requests_mock.get(f"{API}/v1/users/me", json={"object": "user", "id": "bot"})
    requests_mock.post(f"{API}/v1/file_uploads", json=upload_obj())
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/send", json=upload_obj("uploaded"))
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/complete", json=upload_obj("uploaded"))
    requests_mock.post(f"{API}/v1/pages", json={"object": "page", "id": "p"})
    requests_mock.post(f"{API}/v1/data_sources/ds/query", json={"results": []})
    client.users_me()
    client.create_file_upload({"mode": "single_part"})
    client.send_file_upload(UPLOAD, b"abc", "a.txt", "text/plain")
    client.complete_file_upload(UPLOAD)
    client.create_page({"parent": {}})
    client.query_data_source("ds", {})
    assert requests_mock.call_count == 6
    for request in requests_mock.request_history:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Notion-Version"] == NOTION_VERSION == "2025-09-03"
        assert request.timeout == (10.0, 120.0)  # connect, then the answer's own deadline


def test_no_session_wide_content_type_only_json_and_multipart_where_due(client, requests_mock):
    requests_mock.get(f"{API}/v1/users/me", json={})
    requests_mock.post(f"{API}/v1/file_uploads", json=upload_obj())
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/send", json=upload_obj("uploaded"))
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/complete", json=upload_obj("uploaded"))
    client.users_me()
    client.create_file_upload({"mode": "single_part"})
    client.send_file_upload(UPLOAD, b"abc", "a.txt", "text/plain")
    client.complete_file_upload(UPLOAD)
    get, create, send, complete = requests_mock.request_history
    assert "Content-Type" not in get.headers
    assert create.headers["Content-Type"] == "application/json"
    assert send.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert "Content-Type" not in complete.headers
    assert not complete.body


def test_create_single_part_posts_the_body_as_json(client, requests_mock):
    requests_mock.post(f"{API}/v1/file_uploads", json=upload_obj())
    body = {"mode": "single_part", "filename": "a.pdf", "content_type": "application/pdf"}
    assert client.create_file_upload(body)["id"] == UPLOAD
    assert requests_mock.last_request.method == "POST"
    assert requests_mock.last_request.json() == body


def test_create_multi_part_posts_number_of_parts(client, requests_mock):
    requests_mock.post(f"{API}/v1/file_uploads", json=upload_obj())
    body = {
        "mode": "multi_part",
        "filename": "big.mp4",
        "content_type": "video/mp4",
        "number_of_parts": 3,
    }
    client.create_file_upload(body)
    assert requests_mock.last_request.json() == body


def test_single_part_send_is_a_form_with_only_the_file_field(client, requests_mock):
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/send", json=upload_obj("uploaded"))
    data = bytes(range(256)) * 4096 + b"\r\n--tail"  # binary, longer than one chunk
    client.send_file_upload(UPLOAD, data, "report.pdf", "application/pdf")
    fields = form_parts(requests_mock.last_request)
    assert set(fields) == {"file"}
    headers, content = fields["file"]
    assert headers["Content-Disposition"] == 'form-data; name="file"; filename="report.pdf"'
    assert headers["Content-Type"] == "application/pdf"
    assert content == data


def test_multi_part_send_adds_the_part_number_field(client, requests_mock):
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/send", json=upload_obj())
    data = b"\x00\xff" * 1000
    client.send_file_upload(UPLOAD, memoryview(data), "x.bin.txt", "text/plain", part_number=7)
    fields = form_parts(requests_mock.last_request)
    assert set(fields) == {"part_number", "file"}
    assert fields["part_number"][1] == b"7"
    headers, content = fields["file"]
    assert 'filename="x.bin.txt"' in headers["Content-Disposition"]
    assert headers["Content-Type"] == "text/plain"
    assert content == data


def test_send_quotes_a_filename_with_quotes_and_newlines(client, requests_mock):
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/send", json=upload_obj("uploaded"))
    client.send_file_upload(UPLOAD, b"x", 'we"ird\nname.txt', "text/plain")
    headers, _ = form_parts(requests_mock.last_request)["file"]
    assert headers["Content-Disposition"].endswith('filename="we%22ird%0Aname.txt"')


def test_send_reports_progress_in_bytes(client, requests_mock):
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/send", json=upload_obj("uploaded"))
    data = b"z" * 600_000
    seen: list[int] = []
    client.send_file_upload(UPLOAD, data, "z.txt", "text/plain", on_progress=seen.append)
    form_parts(requests_mock.last_request)  # iterating the body drives the progress callback
    assert sum(seen) >= len(data)


def test_complete_posts_to_the_complete_url(client, requests_mock):
    requests_mock.post(f"{API}/v1/file_uploads/{UPLOAD}/complete", json=upload_obj("uploaded"))
    assert client.complete_file_upload(UPLOAD)["status"] == "uploaded"
    assert requests_mock.last_request.method == "POST"
    assert requests_mock.last_request.path == f"/v1/file_uploads/{UPLOAD}/complete"


def test_create_page_and_query_send_their_json(client, requests_mock):
    requests_mock.post(f"{API}/v1/pages", json={"object": "page", "id": "page-1"})
    requests_mock.post(f"{API}/v1/data_sources/ds-1/query", json={"results": [{"id": "p"}]})
    page_body = {"parent": {"type": "data_source_id", "data_source_id": "ds-1"}, "properties": {}}
    assert client.create_page(page_body)["id"] == "page-1"
    assert requests_mock.request_history[0].json() == page_body
    client.query_data_source("ds-1", {"page_size": 1})
    assert requests_mock.request_history[1].json() == {"page_size": 1}


# -- retries --------------------------------------------------------------------------------
def test_429_pauses_every_thread_for_at_least_retry_after_then_retries(
    client, requests_mock, limiter, sleeps
):
    requests_mock.post(
        f"{API}/v1/file_uploads/{UPLOAD}/send",
        [
            {
                "status_code": 429,
                "headers": {"Retry-After": "7"},
                "json": error_body(429, "rate_limited", "slow down"),
            },
            {"json": upload_obj("uploaded")},
        ],
    )
    retries = []
    result = client.send_file_upload(
        UPLOAD, b"abc", "a.txt", "text/plain", on_retry=lambda *a: retries.append(a)
    )
    assert result["status"] == "uploaded"
    assert requests_mock.call_count == 2
    assert len(limiter.pauses) == 1 and limiter.pauses[0] >= 7
    assert sleeps == []  # the shared limiter waits, not this thread alone
    assert limiter.acquires == 2
    assert client.stats.throttled == 1 and client.stats.retries == 1
    path, attempt, reason, wait = retries[0]
    assert path == f"/v1/file_uploads/{UPLOAD}/send" and attempt == 1 and wait >= 7
    assert "rate_limited" in reason


def test_429_retry_after_is_honoured_by_a_real_limiter_on_an_injected_clock(requests_mock):
    clock = {"now": 0.0}

    def sleep(seconds: float) -> None:
        clock["now"] += seconds

    limiter = RateLimiter(rate=0, clock=lambda: clock["now"], sleep=sleep)
    client = NotionClient(TOKEN, API, limiter=limiter, sleep=lambda s: None)
    requests_mock.get(
        f"{API}/v1/users/me",
        [
            {
                "status_code": 429,
                "headers": {"Retry-After": "12"},
                "json": error_body(429, "x", ""),
            },
            {"json": {"id": "bot"}},
        ],
    )
    assert client.users_me() == {"id": "bot"}
    assert clock["now"] >= 12


def test_retry_after_longer_than_allowed_gives_up_at_once(requests_mock, limiter):
    client = NotionClient(
        TOKEN, API, limiter=limiter, policy=RetryPolicy(max_retry_after=60), sleep=lambda s: None
    )
    requests_mock.get(
        f"{API}/v1/users/me",
        status_code=429,
        headers={"Retry-After": "3600"},
        json=error_body(429, "rate_limited", "workspace limit"),
    )
    with pytest.raises(APIError) as caught:
        client.users_me()
    assert caught.value.status == 429
    assert requests_mock.call_count == 1


def test_429_request_blocked_is_not_retried(client, requests_mock):
    requests_mock.get(
        f"{API}/v1/users/me",
        status_code=429,
        headers={"Retry-After": "1"},
        json=error_body(
            429,
            "rate_limited",
            "blocked",
            additional_data={"rate_limit_reason": "public_api_request_blocked"},
        ),
    )
    with pytest.raises(APIError):
        client.users_me()
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 529])
def test_temporary_statuses_are_retried_then_succeed(
    client, requests_mock, status, sleeps, limiter
):
    requests_mock.post(
        f"{API}/v1/file_uploads/{UPLOAD}/send",
        [
            {"status_code": status, "json": error_body(status, "temporary", "later")},
            {"status_code": status, "json": error_body(status, "temporary", "later")},
            {"json": upload_obj("uploaded")},
        ],
    )
    result = client.send_file_upload(UPLOAD, b"abc", "a.txt", "text/plain", part_number=1)
    assert result["status"] == "uploaded"
    assert requests_mock.call_count == 3
    # Every retry re-sends the whole form, not an exhausted iterator.
    for request in requests_mock.request_history:
        assert form_parts(request)["file"][1] == b"abc"
    waited = limiter.pauses if status == 529 else sleeps
    assert len(waited) == 2


def test_create_file_upload_is_retried_on_500(client, requests_mock):
    requests_mock.post(
        f"{API}/v1/file_uploads",
        [
            {"status_code": 500, "json": error_body(500, "internal_server_error", "oops")},
            {"json": upload_obj()},
        ],
    )
    assert client.create_file_upload({"mode": "single_part"})["id"] == UPLOAD
    assert requests_mock.call_count == 2


def test_a_non_json_error_page_is_still_an_api_error_and_retried(client, requests_mock):
    requests_mock.get(
        f"{API}/v1/users/me",
        [
            {"status_code": 502, "text": "<html>Bad Gateway</html>", "reason": "Bad Gateway"},
            {"json": {"id": "bot"}},
        ],
    )
    assert client.users_me() == {"id": "bot"}


@pytest.mark.parametrize(
    "status,code",
    [
        (400, "validation_error"),
        (401, "unauthorized"),
        (403, "restricted_resource"),
        (404, "object_not_found"),
        (409, "conflict_error"),
    ],
)
def test_client_errors_fail_at_once_with_notions_code_message_and_request_id(
    client, requests_mock, status, code, sleeps
):
    requests_mock.post(
        f"{API}/v1/file_uploads",
        status_code=status,
        json=error_body(status, code, f"the {code} message"),
    )
    with pytest.raises(APIError) as caught:
        client.create_file_upload({"mode": "single_part"})
    err = caught.value
    assert (err.status, err.code) == (status, code)
    assert err.notion_message == f"the {code} message"
    assert err.request_id == f"req-{status}"
    assert code in str(err) and f"the {code} message" in str(err)
    assert requests_mock.call_count == 1
    assert sleeps == []


def test_gives_up_after_max_attempts_with_the_last_error(client, requests_mock, sleeps):
    requests_mock.get(
        f"{API}/v1/users/me", status_code=503, json=error_body(503, "service_unavailable", "down")
    )
    with pytest.raises(APIError) as caught:
        client.users_me()
    assert caught.value.status == 503
    assert requests_mock.call_count == 4  # max_attempts
    assert len(sleeps) == 3


def test_connection_errors_on_reads_are_retried(client, requests_mock):
    requests_mock.get(
        f"{API}/v1/users/me",
        [{"exc": requests.exceptions.ConnectionError("reset by peer")}, {"json": {"id": "bot"}}],
    )
    assert client.users_me() == {"id": "bot"}
    assert requests_mock.call_count == 2


def test_connection_errors_that_never_stop_end_as_a_transient_error(client, requests_mock):
    requests_mock.get(f"{API}/v1/users/me", exc=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(TransientError):
        client.users_me()
    assert requests_mock.call_count == 4


def test_create_page_on_503_raises_outcome_unknown_with_the_committed_id(client, requests_mock):
    requests_mock.post(
        f"{API}/v1/pages",
        status_code=503,
        json=error_body(
            503,
            "service_unavailable",
            "The change was saved, but the response could not be built in time.",
            additional_data={"committed_resource_id": "page-saved"},
        ),
    )
    with pytest.raises(OutcomeUnknown) as caught:
        client.create_page({"parent": {}})
    assert caught.value.committed_id == "page-saved"
    assert isinstance(caught.value.cause, APIError)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_create_page_on_a_5xx_without_committed_id_is_outcome_unknown_not_retried(
    client, requests_mock, status
):
    requests_mock.post(f"{API}/v1/pages", status_code=status, json=error_body(status, "x", "y"))
    with pytest.raises(OutcomeUnknown) as caught:
        client.create_page({"parent": {}})
    assert caught.value.committed_id is None
    assert requests_mock.call_count == 1


def test_create_page_connection_error_is_outcome_unknown(client, requests_mock):
    requests_mock.post(f"{API}/v1/pages", exc=requests.exceptions.ConnectionError("dropped"))
    with pytest.raises(OutcomeUnknown) as caught:
        client.create_page({"parent": {}})
    assert caught.value.committed_id is None
    assert isinstance(caught.value.cause, TransientError)
    assert requests_mock.call_count == 1


def test_create_page_read_timeout_is_outcome_unknown(client, requests_mock):
    requests_mock.post(f"{API}/v1/pages", exc=requests.exceptions.ReadTimeout("no answer"))
    with pytest.raises(OutcomeUnknown):
        client.create_page({"parent": {}})
    assert requests_mock.call_count == 1


def test_create_page_connect_timeout_is_safe_to_retry(client, requests_mock):
    requests_mock.post(
        f"{API}/v1/pages",
        [{"exc": requests.exceptions.ConnectTimeout("no route")}, {"json": {"id": "page-1"}}],
    )
    assert client.create_page({"parent": {}})["id"] == "page-1"
    assert requests_mock.call_count == 2


def test_create_page_throttled_is_retried_because_nothing_was_written(
    client, requests_mock, limiter
):
    requests_mock.post(
        f"{API}/v1/pages",
        [
            {"status_code": 429, "headers": {"Retry-After": "2"}, "json": error_body(429, "r", "")},
            {"json": {"id": "page-1"}},
        ],
    )
    assert client.create_page({"parent": {}})["id"] == "page-1"
    assert limiter.pauses and limiter.pauses[0] >= 2


# -- the token stays secret -----------------------------------------------------------------
def test_the_token_is_not_in_the_clients_str_or_repr(client):
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert "api.notion.com" in repr(client)


@pytest.mark.parametrize(
    "register",
    [
        lambda m: m.get(
            f"{API}/v1/users/me",
            status_code=401,
            json=error_body(401, "unauthorized", "API token is invalid."),
        ),
        lambda m: m.get(f"{API}/v1/users/me", status_code=503, json=error_body(503, "x", "y")),
        lambda m: m.get(f"{API}/v1/users/me", exc=requests.exceptions.ConnectionError("boom")),
        lambda m: m.get(f"{API}/v1/users/me", exc=requests.exceptions.ConnectTimeout("slow")),
    ],
    ids=["401", "503", "connection", "connect-timeout"],
)
def test_the_token_is_not_in_any_raised_error(client, requests_mock, register):
    register(requests_mock)
    with pytest.raises(Exception) as caught:
        client.users_me()
    err = caught.value
    for text in (str(err), repr(err), str(getattr(err, "hint", ""))):
        assert TOKEN not in text


def test_the_token_is_not_in_an_outcome_unknown(client, requests_mock):
    requests_mock.post(f"{API}/v1/pages", exc=requests.exceptions.ConnectionError("dropped"))
    with pytest.raises(OutcomeUnknown) as caught:
        client.create_page({"parent": {}})
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert TOKEN not in str(caught.value.cause)


def test_a_408_on_page_create_is_an_unknown_outcome_not_a_blind_retry(requests_mock):
    requests_mock.post(
        "https://api.notion.com/v1/pages",
        status_code=408,
        json={"object": "error", "status": 408, "code": "request_timeout", "message": "slow"},
    )
    client = NotionClient("ntn_x", limiter=RateLimiter(rate=0), sleep=lambda s: None)
    with pytest.raises(OutcomeUnknown):
        client.create_page({"parent": {"data_source_id": "d"}, "properties": {}})
    assert requests_mock.call_count == 1


def test_a_malformed_id_in_the_path_is_a_configuration_error_with_a_hint(client, requests_mock):
    # Recorded (more-recordings/ultimate-notion): a uuid with a bad variant digit is a 400.
    bad = "45b03bdd-0a8b-4e7b-c6e9-9bba7ab7f6ec"
    message = f'path failed validation: path.page_id should be a valid uuid, instead was `"{bad}"`.'
    requests_mock.get(
        f"{API}/v1/pages/{bad}", status_code=400, json=error_body(400, "validation_error", message)
    )
    with pytest.raises(APIError) as caught:
        client.retrieve_page(bad)
    assert int(caught.value.exit_status) == 3
    assert "32 hex digits" in str(caught.value)


def test_other_validation_errors_keep_exit_1(client, requests_mock):
    requests_mock.post(
        f"{API}/v1/pages", status_code=400, json=error_body(400, "validation_error", "body bad")
    )
    with pytest.raises(APIError) as caught:
        client.create_page({})
    assert int(caught.value.exit_status) == 1
