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
from notion_up.app.batch import file_job
from notion_up.config import resolve
from notion_up.download.fetch import Fetcher, Restored
from notion_up.errors import (
    APIError,
    ConfigError,
    InputError,
    MalformedReply,
    ManifestError,
    NotionUpError,
    UsageError,
)
from notion_up.manifest import parse_manifest
from notion_up.notion.client import NotionClient
from notion_up.notion.records import Databases, RemoteFile
from notion_up.notion.retry import RateLimiter, RetryPolicy
from notion_up.notion.workspace import max_upload_size
from notion_up.upload.inputs import InputOptions, expand
from tests.helpers import api, rich, run_cli
from tests.hostserver import HostServer, edge_env, notion_error, send_json


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


@pytest.mark.slow
@pytest.mark.parametrize("status,code", [(401, 3), (429, 5), (500, 5)])
def test_a_refused_set_up_read_is_one_line_with_its_exit_code(tmp_path, status, code):
    (tmp_path / "a.txt").write_bytes(b"hello")

    def refuse(handler):
        send_json(handler, status, notion_error(status), Retry_After="0")

    with HostServer(refuse) as notion:
        done = run_cli(["push", str(tmp_path / "a.txt")], edge_env(notion.url), timeout=60)
    assert done.returncode == code, done.stderr
    assert b"Traceback" not in done.stderr and b"TypeError" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(b"notion-up: error: Notion")


def _me(limit) -> dict:
    return {
        "object": "user",
        "id": "bot",
        "bot": {"workspace_limits": {"max_file_upload_size_in_bytes": limit}},
    }


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
@pytest.mark.slow
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
    done = run_cli(["config", "show"], {**edge_env("https://x"), "XDG_CONFIG_HOME": str(tmp_path)})
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


# -- names that are not text ---------------------------------------------------------------------
def _push(sandbox, path) -> dict:
    done = run_cli(["push", "--json", "--rate", "0", str(path)], sandbox.env())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow
def test_a_name_with_a_lone_surrogate_is_verified_and_pulled(sandbox, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"first")
    (tmp_path / "b.txt").write_bytes(b"second")
    lone, other = _push(sandbox, tmp_path / "a.txt"), _push(sandbox, tmp_path / "b.txt")
    title = {"title": [{"type": "text", "text": {"content": "\ud800bad.txt"}}]}
    api(sandbox, "PATCH", f"/v1/pages/{lone['file_id']}", json={"properties": {"filename": title}})

    done = run_cli(["verify", "--all", "--json"], sandbox.env())
    assert b"Traceback" not in done.stderr and b"UnicodeEncodeError" not in done.stderr
    verdicts = {v["file_id"]: v["status"] for v in map(json.loads, done.stdout.splitlines())}
    assert verdicts == {lone["file_id"]: "verified", other["file_id"]: "verified"}, done.stderr

    out = tmp_path / "out"
    out.mkdir()
    done = run_cli(["pull", lone["hash"], "-o", str(out / "got.txt")], sandbox.env())
    assert done.returncode == 0, done.stderr
    assert (out / "got.txt").read_bytes() == b"first"
    done = run_cli(["pull", lone["hash"], "-o", str(out) + "/"], sandbox.env())
    assert done.returncode == 0, done.stderr
    assert [p.read_bytes() for p in out.iterdir() if p.name != "got.txt"] == [b"first"]


def _remote(name: str) -> RemoteFile:
    return RemoteFile(
        file_id=f"id-{name}",
        name=name,
        size=0,
        salted="a" * 128,
        salt="b" * 64,
        created="",
        url=None,
        upload_name=None,
    )


def test_any_error_for_one_file_is_its_failed_verdict_and_the_batch_goes_on(monkeypatch):
    restorer = Fetcher(NotionClient("ntn_t"), Databases("fs", "ix", "db"))

    def restore(remote, _open_sink):
        if remote.name == "bad":
            raise ValueError("a surprise")
        return Restored(name=remote.name, file_id=remote.file_id, size=0, sha512="")

    monkeypatch.setattr(restorer, "restore", restore)
    files = [_remote("bad"), _remote("good")]
    verdicts = restorer.check_many(files, 2, lambda _v: None)
    assert sorted((v.name, v.status) for v in verdicts) == [("bad", "failed"), ("good", "verified")]


# -- local files: opened once, safely -------------------------------------------------------------
def _incoming(tmp_path):
    incoming = tmp_path / "incoming"
    (incoming / "sub").mkdir(parents=True)
    for name in ("f1.txt", "f5.txt", "sub/f.txt"):
        (incoming / name).write_bytes(b"public " + name.encode())
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "f.txt").write_bytes(b"SECRET")
    (secret / "key").write_bytes(b"SECRET")
    found = expand([str(incoming)], InputOptions(recursive=True))
    return incoming, secret, {item.name: item for item in found.files}


def test_a_file_swapped_for_a_symlink_after_the_walk_is_refused_not_read(tmp_path):
    incoming, secret, items = _incoming(tmp_path)
    (incoming / "f5.txt").unlink()
    (incoming / "f5.txt").symlink_to(secret / "key")
    with pytest.raises(InputError, match="symlink"):
        items["f5.txt"].open()
    source = items["f1.txt"].open()
    assert source.stream.read() == b"public f1.txt"
    source.close()


def test_a_folder_swapped_for_a_symlink_after_the_walk_is_refused_not_read(tmp_path):
    incoming, secret, items = _incoming(tmp_path)
    (incoming / "sub").rename(tmp_path / "moved")
    (incoming / "sub").symlink_to(secret)
    with pytest.raises(InputError, match="replaced"):
        items["f.txt"].open()


def test_a_file_swapped_for_another_file_after_the_walk_is_refused(tmp_path):
    incoming, secret, items = _incoming(tmp_path)
    os.replace(secret / "key", incoming / "f5.txt")
    with pytest.raises(InputError, match="replaced"):
        items["f5.txt"].open()


def test_the_push_job_of_a_swapped_file_reads_nothing_of_the_secret(tmp_path):
    incoming, secret, items = _incoming(tmp_path)
    (incoming / "f5.txt").unlink()
    (incoming / "f5.txt").symlink_to(secret / "key")
    read = []
    for job in map(file_job, items.values()):
        try:
            source = job.open()
        except InputError:
            read.append(None)
            continue
        read.append(source.stream.read())
        source.close()
    assert b"SECRET" not in read and read.count(None) == 1


@pytest.mark.slow
@pytest.mark.parametrize("where", ["log", "config", "token"])
def test_a_fifo_where_a_file_belongs_is_refused_at_once(tmp_path, where):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "cfg" / "notion-up").mkdir(parents=True)
    env = edge_env("http://127.0.0.1:9", XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    args = ["ls"]
    if where == "log":
        (tmp_path / "a.txt").write_bytes(b"a")
        args = ["push", "--log-file", str(fifo), str(tmp_path / "a.txt")]
    elif where == "config":
        os.mkfifo(tmp_path / "cfg" / "notion-up" / "config.toml")
    else:
        del env["NOTION_TOKEN"]
        env["NOTION_TOKEN_FILE"] = str(fifo)
    done = run_cli(args, env, timeout=20)
    assert done.returncode in (2, 3), done.stderr
    assert b"not a regular file" in done.stderr and b"Traceback" not in done.stderr


@pytest.mark.slow
def test_a_file_whose_name_is_not_utf8_is_pushed_under_a_readable_name(sandbox, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"caf\xe9.txt")
    with open(raw, "wb") as file:
        file.write(b"latin-1 name")
    for args in (["push", "--json", os.fsdecode(raw)], ["push", "--json", "-r", str(folder)]):
        done = run_cli([*args[:1], "--rate", "0", *args[1:]], sandbox.env())
        assert done.returncode == 0, done.stderr
        names = [json.loads(line).get("name") for line in done.stdout.splitlines()]
        assert "caf\ufffd.txt" in names, done.stdout
    # A second push of the same file finds it done (the journal kept its path).
    done = run_cli(["push", "--rate", "0", "--json", os.fsdecode(raw)], sandbox.env())
    assert done.returncode == 0, done.stderr


# -- decoys ---------------------------------------------------------------------------------------
def _plant_decoy(sandbox, tmp_path) -> tuple[dict, dict]:
    """The victim's file, and a decoy row carrying its filehash and salt (another file's bytes)
    with an index entry of its own, as anyone who can write to the databases may make."""
    (tmp_path / "victim.txt").write_bytes(b"the real file")
    (tmp_path / "decoy.txt").write_bytes(b"something else")
    victim, decoy = _push(sandbox, tmp_path / "victim.txt"), _push(sandbox, tmp_path / "decoy.txt")
    props = {"filehash": rich(victim["hash"]), "salt": rich(victim["salt"])}
    api(sandbox, "PATCH", f"/v1/pages/{decoy['file_id']}", json={"properties": props})
    entry = {
        "parent": {"type": "data_source_id", "data_source_id": sandbox.index_data_source_id},
        "properties": {
            "Original Filename": {"title": [{"type": "text", "text": {"content": "x"}}]},
            "Salted SHA512 Hash": rich(victim["hash"]),
            "File Page ID": rich(decoy["file_id"]),
        },
    }
    api(sandbox, "POST", "/v1/pages", json=entry)
    return victim, decoy


@pytest.mark.slow
@pytest.mark.parametrize("command", ["rm", "share", "unshare"])
def test_acting_by_a_hash_a_decoy_carries_too_is_refused(sandbox, tmp_path, command):
    victim, decoy = _plant_decoy(sandbox, tmp_path)
    done = run_cli([command, victim["hash"]], sandbox.env())
    assert done.returncode == 2, done.stderr
    assert victim["file_id"].encode() in done.stderr and decoy["file_id"].encode() in done.stderr
    page = api(sandbox, "GET", f"/v1/pages/{victim['file_id']}")
    assert not page.get("in_trash") and not page.get("archived")
    # By its FILE_ID the real file is acted on.
    assert run_cli([command, victim["file_id"]], sandbox.env()).returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("decoy_url", [None, "/gone/file.bin"])
def test_pull_and_verify_by_hash_pass_over_a_decoy(sandbox, tmp_path, decoy_url):
    victim, decoy = _plant_decoy(sandbox, tmp_path)
    if decoy_url:  # a decoy whose file cannot even be fetched
        url = sandbox.url + decoy_url
        files = {"files": [{"name": "x", "type": "external", "external": {"url": url}}]}
        api(
            sandbox,
            "PATCH",
            f"/v1/pages/{decoy['file_id']}",
            json={"properties": {"file_data": files}},
        )
    done = run_cli(["verify", "--json", victim["hash"]], sandbox.env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "verified"
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli(["pull", victim["hash"], "-o", str(out / "got.txt")], sandbox.env())
    assert done.returncode == 0, done.stderr
    assert (out / "got.txt").read_bytes() == b"the real file"


# -- fail before the bytes -------------------------------------------------------------------------
@pytest.mark.slow
def test_a_file_database_of_the_wrong_shape_stops_the_upload_under_way(sandbox, tmp_path):
    sandbox.server.options.bandwidth = 2 * 1024 * 1024  # a 20 MB part takes ~10 s to send
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(20_000_000))
    swapped = sandbox.env(
        NOTION_UP_DATABASE=sandbox.index_database_id, NOTION_UP_INDEX=sandbox.files_database_id
    )
    done = run_cli(["push", "--rate", "0", str(path)], swapped, timeout=60)
    sandbox.server.options.bandwidth = None
    assert done.returncode == 3, done.stderr
    assert b"Traceback" not in done.stderr
    stats = sandbox.server.stats()
    assert stats["pages_created"] == 0
    # Cut while it was being sent: no upload of the run ever arrived whole.
    assert [u["status"] for u in stats["uploads"]] in ([], ["pending"]), stats["uploads"]
