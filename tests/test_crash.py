"""Killed at any instant, recorded exactly once.

The real command is killed (SIGKILL) at every write it makes: once as the write reaches the
server (not processed), once after the server committed it (the reply never comes). Then
`resume`, or separately the same `push` again, must end with exactly one page and one index
entry per stored file (for a split file: every piece and the manifest), holding the right bytes.
A stream read in volumes cannot be finished by `resume` alone (the stream is gone): after it,
the same pipeline is run again, and that must end recorded exactly once too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from notion_up.download.fetch import Fetcher
from notion_up.notion.client import NotionClient
from notion_up.notion.records import Databases
from notion_up.notion.retry import RateLimiter
from notion_up.sandbox import LocalNotion, ServerOptions
from notion_up.state.journal import Journal
from tests.helpers import NOTION_VARS, MiB, content

# Slow: every test here kills a real process running the command, at every write.
pytestmark = pytest.mark.slow

# kind -> (size, extra push arguments, from stdin)
KINDS = {
    "single": (3000, [], False),
    "multi": (20 * MiB + 7, ["--part-size", "10MiB"], False),
    "split": (2500, ["--split", "1300"], False),
    "stdin": (20 * MiB + 7, ["--part-size", "10MiB"], True),
    # A stream read in three volumes, each a piece of a split file.
    "volumes": (21 * MiB + 5, ["--volume-size", "8MiB"], True),
    # Over the workspace's limit (LIMITS): split without --split, the limit learnt cold.
    "limit": (2500, [], False),
}
# The workspace's per-file limit, where a kind needs one.
LIMITS = {"limit": 1300}


class Case:
    """One workspace, one input, one state folder: a push to kill and finish."""

    def __init__(self, tmp_path: Path, kind: str) -> None:
        self.kind = kind
        size, self.extra, self.stdin = KINDS[kind]
        self.server = LocalNotion(
            ServerOptions(seed=1, max_file_upload_size=LIMITS.get(kind, 5 * 1024**3)),
            state_dir=tmp_path / "server",
        )
        self.url = self.server.start()
        self.ws = self.server.ensure_workspace()
        self.data = content(size, seed=len(kind))
        self.path = tmp_path / "backup.bin"
        self.state = tmp_path / "state"
        self.path.write_bytes(self.data)
        self.env = {k: v for k, v in os.environ.items() if k not in NOTION_VARS}
        self.env.update(
            NOTION_API_URL=self.url,
            NOTION_TOKEN=self.server.token,
            NOTION_UP_DATABASE=self.ws.files_database_id,
            NOTION_UP_INDEX=self.ws.index_database_id,
            NOTION_UP_STATE_DIR=str(self.state),
        )

    def push_args(self) -> list[str]:
        source = ["-", "--name", "backup.bin"] if self.stdin else [str(self.path)]
        return ["push", "--rate", "0", "-q", *self.extra, *source]

    def run(self, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "notion_up", *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            timeout=120,
        )

    def push_killed_at(self, write: int, mode: str) -> None:
        """Start the push; the server kills it at its `write`-th write (`mode`)."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "notion_up", *self.push_args()],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self.env,
        )
        self.server.options.crash_write = self.server.write_count() + write
        self.server.options.crash_mode = mode
        self.server.on_crash = lambda: os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(self.data if self.stdin else b"", timeout=120)
        self.server.options.crash_write = 0
        assert proc.returncode == -signal.SIGKILL, err.decode()

    def rows(self, data_source: str) -> list[dict]:
        return self.server.query_data_source(data_source, {"page_size": 100})["results"]

    def check_exactly_once(self, pieces: int) -> None:
        pages = self.rows(self.ws.files_data_source_id)
        entries = self.rows(self.ws.index_data_source_id)
        stored = pieces + 1 if pieces else 1  # a split file: its pieces and the manifest
        assert (len(pages), len(entries)) == (stored, stored)
        hashes = sorted(p["properties"]["filehash"]["rich_text"][0]["plain_text"] for p in pages)
        indexed = sorted(
            e["properties"]["Salted SHA512 Hash"]["rich_text"][0]["plain_text"] for e in entries
        )
        assert hashes == indexed
        visible = [p for p in pages if p["properties"]["is_visible"]["checkbox"]]
        assert len(visible) == 1
        client = NotionClient(self.server.token, self.url, limiter=RateLimiter(rate=0))
        databases = Databases(
            self.ws.files_data_source_id, self.ws.index_data_source_id, self.ws.files_database_id
        )
        verdict = Fetcher(client, databases).check(visible[0]["id"])
        assert verdict.status == "verified", verdict.detail

    def stop(self) -> None:
        self.server.stop()


def clean_writes(tmp_path: Path, kind: str) -> int:
    """How many writes one uninterrupted push of this kind makes."""
    case = Case(tmp_path / f"clean-{kind}", kind)
    try:
        before = case.server.write_count()
        done = case.run(case.push_args(), case.data if case.stdin else None)
        assert done.returncode == 0, done.stderr.decode()
        return case.server.write_count() - before
    finally:
        case.stop()


PIECES = {"single": 0, "multi": 0, "split": 2, "stdin": 0, "volumes": 3, "limit": 2}


# Writes of one clean push of each kind, as measured by test_the_clean_push_writes_as_expected:
# create, each part's send, complete (multi-part), the page, the index entry; a split file is
# its pieces' pushes and the manifest's.
EXPECTED_WRITES = {
    "single": 4,
    "multi": 7,
    "split": 12,
    "stdin": 7,
    "volumes": 16,
    # The cold run's first create (refused over the limit, nothing sent), then the split.
    "limit": 13,
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_clean_push_writes_as_expected(tmp_path, kind):
    assert clean_writes(tmp_path, kind) == EXPECTED_WRITES[kind]


def killed_then_finished(tmp_path: Path, kind: str, write: int, mode: str, finish: str) -> str:
    """One kill point: "" when it ended recorded exactly once, else what went wrong."""
    case = Case(tmp_path, kind)
    try:
        case.push_killed_at(write, mode)
        if finish == "resume":
            done = case.run(["resume", "--rate", "0"])
            if kind == "volumes" and done.returncode == 0:
                # What resume cannot finish without the stream, the pipeline run again does.
                done = case.run(case.push_args(), case.data)
        else:
            done = case.run(case.push_args(), case.data if case.stdin else None)
        assert done.returncode == 0, done.stderr.decode()
        case.check_exactly_once(PIECES[kind])
        if kind == "volumes":
            # No volume the killed run was spooling is left behind.
            left = list((case.state / "spool").glob("*.volume"))
            assert left == [], left
        journal = Journal(case.state / "journal.sqlite")
        try:
            assert journal.unfinished() == []  # nothing left for `pending` to list
        finally:
            journal.close()
    except AssertionError as exc:
        return f"{kind} write {write} {mode}, then {finish}: {exc}"
    finally:
        case.stop()
    return ""


@pytest.mark.parametrize("finish", ["resume", "rerun"])
@pytest.mark.parametrize("mode", ["before", "after"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_killed_at_any_write_then_finished_records_exactly_once(tmp_path, kind, mode, finish):
    # Every write of the push is a kill point; they run a few at a time (each has its own
    # server and state folder) to keep the suite quick on two cores.
    points = range(1, EXPECTED_WRITES[kind] + 1)
    with ThreadPoolExecutor(3) as pool:
        failures = list(
            pool.map(
                lambda n: killed_then_finished(tmp_path / f"w{n}", kind, n, mode, finish), points
            )
        )
    assert [f for f in failures if f] == []
