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
from notion_up.config import resolve
from notion_up.errors import (
    APIError,
    ConfigError,
    MalformedReply,
    ManifestError,
    NotionUpError,
    UsageError,
)
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


# -- settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ['profiles = "default"', "[profiles]\ndefault = 5", "profiles = [1, 2]"],
    ids=["string", "number-profile", "list"],
)
def test_a_config_file_of_the_wrong_shape_is_a_config_error(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="not a table"):
        resolve({}, env={}, config_path=path)
    done = run_cli(["config", "show"], {**_env("https://x"), "XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode in (0, 3) and b"Traceback" not in done.stderr


@pytest.mark.parametrize("workers", ["0", "65", "100000000"])
def test_workers_are_capped_in_the_one_validator(workers):
    with pytest.raises(ConfigError, match="1 to 64"):
        resolve({}, env={"NOTION_UP_WORKERS": workers})
    with pytest.raises(UsageError, match="1 to 64"):
        resolve({"workers": int(workers)}, env={})


def test_a_token_file_from_the_environment_beats_the_profiles_token(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[profiles.default]\ntoken = "ntn_PROFILE"\n')
    config.chmod(0o600)
    token_file = tmp_path / "token"
    token_file.write_text("ntn_FROM_ENV_FILE\n")
    token_file.chmod(0o600)
    env = {"NOTION_TOKEN_FILE": str(token_file)}
    chosen = resolve({}, env=env, config_path=config)
    assert chosen.token == "ntn_FROM_ENV_FILE"
    assert chosen.source("token") == f"token file {token_file}"
    # The same two in one place: the token itself still wins.
    both = resolve({}, env={**env, "NOTION_TOKEN": "ntn_ENV"}, config_path=config)
    assert both.token == "ntn_ENV"
