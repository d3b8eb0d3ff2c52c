"""Whole folders back: `push -r tree` then `pull -r / -o out` gives the same tree."""

from __future__ import annotations

import filecmp
import json
import os
from pathlib import Path

import pytest

from tests.helpers import run_cli, write_tree

# Slow: all tests here but one run the real command in a subprocess.
pytestmark = pytest.mark.slow

FAST = ["--rate", "0"]
TREE = {
    "notes.txt": b"top notes\n",
    "a/notes.txt": b"notes of a\n",
    "b/notes.txt": b"notes of b, longer\n",
    "b/deep/r\u00e9sum\u00e9 \u00fc\u00df.txt": "non-ASCII \u2603\n".encode(),
    "with space/a file name.txt": b"spaces\n",
    "with space/data.bin": os.urandom(3000),
    "empty dir sibling/zero.txt": b"",
}


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        here = stack.pop()
        if here.left_only or here.right_only or here.funny_files:
            return False
        _, mismatch, errors = filecmp.cmpfiles(here.left, here.right, here.common_files, False)
        if mismatch or errors:
            return False
        stack += here.subdirs.values()
    return True


def test_push_r_then_pull_r_gives_the_same_tree(sandbox, tmp_path):
    tree = tmp_path / "tree"
    write_tree(tree, TREE)
    pushed = run_cli(["push", "-r", str(tree), *FAST], sandbox.env())
    assert pushed.returncode == 0, pushed.stderr.decode()
    out = tmp_path / "out"
    done = run_cli(["pull", "-r", "/", "-o", str(out), *FAST], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    assert _same_tree(tree, out)
    assert f"pulled {len(TREE)}, skipped 0, failed 0" in done.stderr.decode()
    # This machine pushed them: its journal knows their modification times.
    for rel in TREE:
        assert (out / rel).stat().st_mtime == (tree / rel).stat().st_mtime
    # Again: every file is there with its content, so nothing is fetched.
    sandbox.server.reset_stats()
    again = run_cli(["pull", "-r", "/", "-o", str(out), *FAST], sandbox.env())
    assert again.returncode == 0, again.stderr.decode()
    assert f"pulled 0, skipped {len(TREE)}, failed 0" in again.stderr.decode()
    assert "download" not in sandbox.server.stats()["requests"]


def test_pull_r_of_a_folder_recreates_only_what_is_below_it(sandbox, tmp_path):
    tree = tmp_path / "tree"
    write_tree(tree, TREE)
    assert run_cli(["push", "-r", str(tree), *FAST], sandbox.env()).returncode == 0
    out = tmp_path / "out"
    done = run_cli(["pull", "-r", "/b", "-o", str(out), "--json", *FAST], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(x) for x in done.stdout.decode().splitlines()]
    assert {x["status"] for x in lines} == {"pulled"} and all(x["verified"] for x in lines)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "deep/r\u00e9sum\u00e9 \u00fc\u00df.txt",
        "notes.txt",
    ]
    assert (out / "notes.txt").read_bytes() == TREE["b/notes.txt"]


def test_a_different_file_in_the_way_is_refused_without_force(sandbox, tmp_path):
    tree = tmp_path / "tree"
    write_tree(tree, TREE)
    assert run_cli(["push", "-r", str(tree), *FAST], sandbox.env()).returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_bytes(b"mine, not the pushed one\n")
    done = run_cli(["pull", "-r", "/a", "-o", str(out), *FAST], sandbox.env())
    assert done.returncode != 0
    assert "pulled 0, skipped 0, failed 1" in done.stderr.decode()
    assert (out / "notes.txt").read_bytes() == b"mine, not the pushed one\n"
    forced = run_cli(["pull", "-r", "/a", "-o", str(out), "--force", *FAST], sandbox.env())
    assert forced.returncode == 0, forced.stderr.decode()
    assert (out / "notes.txt").read_bytes() == TREE["a/notes.txt"]


def test_pull_takes_several_refs_names_and_hash_prefixes(sandbox, tmp_path):
    tree = tmp_path / "tree"
    write_tree(tree, TREE)
    pushed = run_cli(["push", "-r", str(tree), "--json", *FAST], sandbox.env())
    rows = [json.loads(x) for x in pushed.stdout.decode().splitlines()]
    by_name = {}
    for row in rows:
        if "summary" not in row:
            by_name.setdefault(row["name"], []).append(row)
    blob = by_name["data.bin"][0]
    prefix = blob["hash"][:12]
    out = tmp_path / "out"
    refs = [prefix, "a file name.txt", by_name["notes.txt"][0]["file_id"]]
    done = run_cli(["pull", *refs, "-o", str(out), *FAST], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    assert (out / "data.bin").read_bytes() == TREE["with space/data.bin"]
    assert (out / "a file name.txt").read_bytes() == b"spaces\n"
    assert "pulled 3, skipped 0, failed 0" in done.stderr.decode()
    # A name three files carry is refused, with the candidates named.
    ambiguous = run_cli(["pull", "notes.txt", "-o", str(tmp_path / "o2"), *FAST], sandbox.env())
    assert ambiguous.returncode == 2
    err = ambiguous.stderr.decode()
    assert "matches 3 files" in err and "/a/notes.txt" in err and "/b/notes.txt" in err
    short = run_cli(["pull", prefix[:8], *FAST], sandbox.env())
    assert short.returncode in (2, 4)


def test_a_hostile_folder_path_or_name_stays_inside_the_output(tmp_path):
    from notion_up.download.tree import tree_path
    from notion_up.notion.records import RemoteFile

    out = tmp_path / "out"
    for folder, name in [("/../../etc", "passwd"), ("/a/../../..", ".."), ("/x\\..\\..", "../y")]:
        remote = RemoteFile(
            file_id="0" * 32,
            name=name,
            size=1,
            salted="a" * 128,
            salt="ab",
            created="",
            url=None,
            upload_name=None,
            folder_path=folder,
        )
        target = tree_path(out, "/", remote).resolve()
        assert target.is_relative_to(out.resolve()) and target != out.resolve()
