"""Human output fits 80 columns: a 12-digit hash and folder/name in push, ls and verify lines,
every value whole in --json; a hash prefix of 12+ hex digits is taken wherever a hash is."""

from __future__ import annotations

import json

import pytest

from notion_up.errors import FileMissing, UsageError
from notion_up.notion.records import full_hash_of_prefix
from tests.helpers import run_cli

FAST = ["--rate", "0", "--stats", "0"]


def twins(root):
    """dup/a/notes.txt and dup/b/notes.txt: one name, two folders."""
    for sub, text in (("a", b"first"), ("b", b"second")):
        (root / "dup" / sub).mkdir(parents=True)
        (root / "dup" / sub / "notes.txt").write_bytes(text)
    return root / "dup"


@pytest.mark.slow
def test_push_and_ls_lines_fit_80_columns_and_tell_same_named_files_apart(sandbox, tmp_path):
    env = sandbox.env()
    pushed = run_cli(["push", "-r", str(twins(tmp_path)), *FAST], env)
    assert pushed.returncode == 0, pushed.stderr.decode()
    lines = pushed.stdout.decode().splitlines()
    assert sorted(x.split("  ")[2] for x in lines) == ["a/notes.txt", "b/notes.txt"]
    assert all(len(x) <= 80 and len(x.split("  ")[1]) == 12 for x in lines)

    listed = run_cli(["ls", *FAST[:2]], env).stdout.decode().splitlines()
    assert sorted(x.split("  ")[-1] for x in listed) == ["a/notes.txt", "b/notes.txt"]
    assert all(len(x) <= 80 for x in listed)
    short = {x.split("  ")[-1]: x.split()[0] for x in listed}
    as_json = [json.loads(x) for x in run_cli(["ls", "--json", *FAST[:2]], env).stdout.splitlines()]
    assert {x["folder_path"] + "/" + x["name"]: x["hash"][:12] for x in as_json} == {
        "/a/notes.txt": short["a/notes.txt"],
        "/b/notes.txt": short["b/notes.txt"],
    }
    assert all(len(x["hash"]) == 128 for x in as_json)


@pytest.mark.slow
def test_push_json_keeps_the_whole_hash_and_gains_the_local_path(sandbox, tmp_path):
    folder = twins(tmp_path)
    done = run_cli(["push", "-r", str(folder), "--json", *FAST], sandbox.env())
    rows = [json.loads(x) for x in done.stdout.decode().splitlines() if '"summary"' not in x]
    assert sorted(r["path"] for r in rows) == [
        str(folder / "a" / "notes.txt"),
        str(folder / "b" / "notes.txt"),
    ]
    assert all(len(r["hash"]) == 128 for r in rows)
    piped = run_cli(["push", "-", "--name", "p.txt", "--json", *FAST], sandbox.env(), stdin=b"p")
    assert json.loads(piped.stdout)["path"] is None


@pytest.mark.slow
def test_pull_verify_and_share_take_the_12_digit_hash_ls_shows(sandbox, tmp_path):
    env = sandbox.env()
    source = tmp_path / "report.txt"
    source.write_bytes(b"the report")
    line = json.loads(run_cli(["push", "--json", str(source), *FAST], env).stdout)
    prefix = line["hash"][:12]

    verified = run_cli(["verify", prefix, *FAST[:2]], env)
    assert verified.returncode == 0, verified.stderr.decode()
    assert verified.stdout.decode().split() == ["verified", line["file_id"], "report.txt"]
    pulled = run_cli(["pull", prefix, "-o", f"{tmp_path / 'back'}/", *FAST[:2]], env)
    assert pulled.returncode == 0, pulled.stderr.decode()
    assert (tmp_path / "back" / "report.txt").read_bytes() == b"the report"
    shared = run_cli(["share", prefix, "--json", *FAST[:2]], env)
    assert shared.returncode == 0, shared.stderr.decode()
    assert json.loads(shared.stdout.splitlines()[0])["file_id"] == line["file_id"]

    unknown = run_cli(["verify", "0123456789ab", *FAST[:2]], env)
    assert unknown.returncode == 4
    assert "no file with a hash starting 0123456789ab" in unknown.stderr.decode()


class Pages:
    """A file database whose `filehash` values are these (the filter is the server's)."""

    def __init__(self, *hashes: str) -> None:
        self.hashes = hashes
        self.asked: list[dict] = []

    def query_data_source(self, data_source: str, body: dict) -> dict:
        self.asked.append(body)
        prefix = body["filter"]["rich_text"]["starts_with"]
        rows = [h for h in self.hashes if h.startswith(prefix)]
        prop = lambda h: {"type": "rich_text", "rich_text": [{"plain_text": h}]}  # noqa: E731
        return {"results": [{"properties": {"filehash": prop(h)}} for h in rows]}


def test_a_prefix_is_made_the_whole_hash_only_when_it_names_one():
    one, other = "ab" * 6 + "0" * 116, "ab" * 6 + "1" * 116
    pages = Pages(one, other, one)  # the same hash twice (two pages) is still one file's
    assert full_hash_of_prefix(pages, "ds", one[:13]) == one
    assert full_hash_of_prefix(pages, "ds", one[:13].upper()) == one
    with pytest.raises(UsageError, match="is the start of 2 hashes"):
        full_hash_of_prefix(pages, "ds", one[:12])
    with pytest.raises(FileMissing):
        full_hash_of_prefix(pages, "ds", "f" * 12)


@pytest.mark.parametrize(
    "key",
    ["abcdef12345", "1" * 32, "12345678-1234-1234-1234-123456789012", "notes.txt", "a" * 128],
)
def test_what_is_not_a_prefix_is_left_for_the_caller(key):
    pages = Pages()
    assert full_hash_of_prefix(pages, "ds", key) == key
    assert pages.asked == []
