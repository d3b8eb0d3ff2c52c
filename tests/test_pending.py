"""`pending` lists exactly what `resume` would finish: this workspace's by default, the others
with `--all-workspaces`, never a bare `None`; `resume` ends with push's summary line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from notion_up.state.journal import Journal
from notion_up.upload.facts import UNKNOWN
from tests.helpers import run_cli

# Slow: all tests here but one run the real command in a subprocess.
pytestmark = pytest.mark.slow

FAST = ["--rate", "0", "--stats", "0"]


def journal_entry(state: Path, api_url: str, name: str, **fields: object) -> int:
    """An unfinished push as a run killed before its upload was created leaves it."""
    journal = Journal(state / "journal.sqlite")
    try:
        values = dict(
            name=name,
            size=5,
            mtime=None,
            mode="single_part",
            part_size=5,
            part_count=1,
            upload_id=None,
            upload_name=name,
            content_type="text/plain",
            expiry_time=None,
            files_data_source=UNKNOWN,
            index_data_source=UNKNOWN,
            user_database_id=UNKNOWN,
            workspace=api_url,
            folder_path="/",
        )
        values.update(fields)
        return journal.start(**values)
    finally:
        journal.close()


def test_pending_lists_this_workspace_and_resume_finishes_the_same_entries(sandbox, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    source = tmp_path / "tiny.txt"
    source.write_bytes(b"tiny!")
    st = source.stat()
    here = journal_entry(
        state,
        sandbox.url,
        "tiny.txt",
        source_path=str(source),
        mtime=st.st_mtime,
        folder_path="/notes",
    )
    journal_entry(state, "https://api.notion.com", "elsewhere.txt", source_path=str(source))
    env = sandbox.env(NOTION_UP_STATE_DIR=str(state))

    listed = run_cli(["pending"], env)
    assert listed.returncode == 0, listed.stderr.decode()
    (line,) = listed.stdout.decode().splitlines()
    assert line.split()[0] == str(here) and line.endswith("  notes/tiny.txt")
    assert "not created, starts over" in line and "None" not in line and len(line) <= 80

    every = run_cli(["pending", "--all-workspaces"], env).stdout.decode().splitlines()
    assert len(every) == 2
    assert any("api.notion.com" in x and x.endswith("elsewhere.txt") for x in every)
    assert any("127.0.0.1:" in x and x.endswith("notes/tiny.txt") for x in every)
    as_json = [json.loads(x) for x in run_cli(["pending", "--json"], env).stdout.splitlines()]
    assert [x["id"] for x in as_json] == [here]

    resumed = run_cli(["resume", *FAST], env)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert resumed.stdout.decode().rstrip().endswith("tiny.txt")
    said = resumed.stderr.decode().splitlines()
    assert said[-1].startswith("pushed 1, skipped 0, failed 0, 5 B in ")
    # Finished here; the other workspace's entry is still waiting, and still listed with --all.
    assert run_cli(["pending"], env).stdout == b""
    (left,) = run_cli(["pending", "--all-workspaces"], env).stdout.decode().splitlines()
    assert left.endswith("elsewhere.txt")


def test_pending_with_sandbox_lists_the_sandbox_entries_only(tmp_path):
    state = Path(os.environ["XDG_STATE_HOME"]) / "notion-up"
    state.mkdir(parents=True)
    journal_entry(state, "sandbox", "local.txt", source_path="/nonexistent")
    journal_entry(state, "https://api.notion.com", "remote.txt", source_path="/nonexistent")
    env = dict(os.environ)
    ours = run_cli(["pending", "--sandbox"], env).stdout.decode()
    assert ours.rstrip().endswith("local.txt") and "remote.txt" not in ours
    default = run_cli(["pending"], env).stdout.decode()
    assert default.rstrip().endswith("remote.txt") and "local.txt" not in default


def test_resume_with_nothing_to_do_prints_no_summary(sandbox, tmp_path):
    env = sandbox.env(NOTION_UP_STATE_DIR=str(tmp_path / "state"))
    done = run_cli(["resume", *FAST], env)
    assert done.returncode == 0, done.stderr.decode()
    assert "nothing to resume" in done.stderr.decode()
    assert "pushed 0" not in done.stderr.decode()


def test_an_interrupted_rerun_counts_the_push_it_took_up_once(tmp_path):
    from notion_up.app.push import PushOutcome, leftovers

    state = tmp_path / "state"
    state.mkdir()
    taken_up = journal_entry(state, "sandbox", "a.txt", source_path="/a.txt")
    journal_entry(state, "sandbox", "older.txt", source_path="/older.txt")
    journal = Journal(state / "journal.sqlite")
    try:
        started = journal.get(taken_up).created_at + 0.5
        while time.time() <= started:  # the re-run starts after both were left
            time.sleep(0.05)
        # What a re-run does as it announces "finishing the unfinished push of a.txt".
        journal.update(taken_up)
        left = leftovers(journal, "sandbox", started, 2, PushOutcome())
    finally:
        journal.close()
    assert (left.unfinished, left.older, left.not_started) == (["a.txt"], 1, 1)
    assert left.summary() == "0 pushed, 1 cut short, 1 not started"
    assert "finishes the 1 cut short (a.txt) and 1 older" in left.advice()
    assert "the 1 file(s) never started" in left.advice()


def test_ctrl_c_in_a_rerun_that_took_up_a_killed_push_counts_that_file_once(sandbox, tmp_path):
    import signal
    import subprocess
    import sys

    sandbox.server.options.bandwidth = 2 * 1024 * 1024
    src = tmp_path / "in"
    src.mkdir()
    (src / "clip.mp4").write_bytes(os.urandom(12 * 1024 * 1024))
    state = tmp_path / "state"
    env = sandbox.env(NOTION_UP_STATE_DIR=str(state))
    command = [sys.executable, "-m", "notion_up", "push", "-r", str(src), "--rate", "0"]

    first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not _upload_journalled(state) and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()  # the push of clip.mp4 is left unfinished in the journal
    first.communicate(timeout=30)

    again = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    said = again.stderr.readline().decode()
    while "finishing the unfinished push of clip.mp4" not in said and said:
        said = again.stderr.readline().decode()
    again.send_signal(signal.SIGINT)
    _, rest = again.communicate(timeout=60)
    assert again.returncode == 130, rest.decode()
    text = rest.decode()
    assert "0 pushed, 1 cut short, 0 not started" in text
    assert "older" not in text and "never started" not in text


def _upload_journalled(state: Path) -> bool:
    """The journal holds a push whose upload was created."""
    path = state / "journal.sqlite"
    if not path.exists():
        return False
    journal = Journal(path)
    try:
        return any(e.upload_id for e in journal.unfinished())
    finally:
        journal.close()
