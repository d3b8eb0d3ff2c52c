"""Robust at the edges (issue 21): deadlines, files kept inside, decoys, errors that never crash.

Each test plants one hostile input (in the sandbox, a small local server or the filesystem) and
pins the behaviour that now holds.
"""

from __future__ import annotations

import copy
import json
import os
import pickle

import pytest

from notion_up import errors
from notion_up.errors import APIError, MalformedReply, ManifestError, NotionUpError
from notion_up.manifest import parse_manifest
from notion_up.notion.client import NotionClient
from notion_up.notion.retry import RateLimiter, RetryPolicy
from notion_up.notion.workspace import max_upload_size
from tests.conftest import run_cli
from tests.hostserver import HostServer, notion_error, send_json

FILES_ID = "f11e5000000040008000000000000001"
INDEX_ID = "1d3e7000000040008000000000000002"


def _env(url: str, **extra: str) -> dict[str, str]:
    """The real command's environment, pointed at `url` with a well-formed configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTION")}
    env.update(
        NOTION_API_URL=url,
        NOTION_TOKEN="ntn_EDGE_SECRET_TOKEN",
        NOTION_UP_DATABASE=FILES_ID,
        NOTION_UP_INDEX=INDEX_ID,
    )
    env.update(extra)
    return env


def _every_error() -> list[NotionUpError]:
    cause = APIError(503, "service_unavailable", "down", "req-1", {"k": 1}, hint="wait")
    return [
        cause,
        errors.ConfigError("bad id", hint="check it"),
        errors.MalformedReply("not JSON"),
        errors.Interrupted("stopped", terminated=True),
        errors.RecordError("could not write", "up-1", "page-1", cause),
        errors.OutcomeUnknown(cause, "page-2"),
    ]


@pytest.mark.parametrize("error", _every_error(), ids=lambda e: type(e).__name__)
def test_every_error_survives_copy_and_pickle_with_its_fields(error):
    for again in (copy.copy(error), pickle.loads(pickle.dumps(error))):
        assert type(again) is type(error)
        assert str(again) == str(error)
        assert again.exit_status == error.exit_status
        assert again.hint == error.hint
        assert vars(again).keys() == vars(error).keys()


@pytest.mark.parametrize("status,code", [(401, 3), (429, 5), (500, 5)])
def test_a_refused_set_up_read_is_one_line_with_its_exit_code(tmp_path, status, code):
    (tmp_path / "a.txt").write_bytes(b"hello")

    def refuse(handler):
        send_json(handler, status, notion_error(status), Retry_After="0")

    with HostServer(refuse) as notion:
        done = run_cli(["push", str(tmp_path / "a.txt")], _env(notion.url), timeout=60)
    assert done.returncode == code, done.stderr
    assert b"Traceback" not in done.stderr and b"TypeError" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(b"notion-up: error: Notion")


def _me(limit) -> dict:
    return {"object": "user", "id": "bot", "bot": {"workspace_limits": {
        "max_file_upload_size_in_bytes": limit}}}  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps(_me(1)).replace("1}", "NaN}").encode(),
        json.dumps(_me(1)).replace("1}", "Infinity}").encode(),
        json.dumps(_me(1)).replace("1}", "1e999}").encode(),
        json.dumps(_me("lots")).encode(),
        json.dumps(_me(-1)).encode(),
        json.dumps(_me(2.5)).encode(),
    ],
    ids=["deep", "nan", "infinity", "huge-float", "string", "negative", "fraction"],
)
def test_garbage_json_and_impossible_limits_are_malformed_replies(requests_mock, body):
    requests_mock.get("https://api.notion.com/v1/users/me", content=body)
    client = NotionClient("ntn_t", limiter=RateLimiter(rate=0), policy=RetryPolicy(max_attempts=1))
    with pytest.raises(MalformedReply):
        max_upload_size(client)


def test_a_sound_limit_still_reads(requests_mock):
    requests_mock.get("https://api.notion.com/v1/users/me", json=_me(5 * 1024**3))
    client = NotionClient("ntn_t", limiter=RateLimiter(rate=0))
    assert max_upload_size(client) == 5 * 1024**3


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"original_filename": "x", "total_size": Infinity, "parts": []}',
    ],
    ids=["deep", "infinite-size"],
)
def test_a_garbage_manifest_is_a_manifest_error(data):
    with pytest.raises(ManifestError):
        parse_manifest(data)
