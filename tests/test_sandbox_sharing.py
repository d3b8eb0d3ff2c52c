"""Two processes on one sandbox agree: `--sandbox` uses a running `sandbox serve`, a second
server on the same state folder is refused in one line, a killed server's note is ignored."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import run_cli

FAST = ["--rate", "0", "--stats", "0"]


def exports(proc: subprocess.Popen) -> dict[str, str]:
    lines = [proc.stdout.readline() for _ in range(4)]
    return dict(re.findall(r"^export (\w+)=(\S+)$", "".join(lines), re.M))


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen, dict[str, str]]]:
    """`notion-up sandbox serve` on the default sandbox state, and the exports it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "notion_up", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc, {**os.environ, **exports(proc)}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_a_push_with_sandbox_while_serve_runs_lands_in_that_server(served, tmp_path):
    _proc, env = served
    path = tmp_path / "note.txt"
    path.write_bytes(b"seen by both")
    pushed = run_cli(["push", "--sandbox", "--json", str(path), *FAST], dict(os.environ))
    assert pushed.returncode == 0, pushed.stderr.decode()
    file_id = json.loads(pushed.stdout)["file_id"]
    # Through the server `serve` runs, with the exports it printed: the same workspace.
    listed = run_cli(["ls", "--json", *FAST[:2]], env)
    assert file_id in [json.loads(x)["file_id"] for x in listed.stdout.decode().splitlines()]
    verified = run_cli(["verify", file_id, *FAST[:2]], env)
    assert verified.returncode == 0, verified.stderr.decode()
    assert "verified" in verified.stdout.decode()


def test_a_second_server_on_the_same_sandbox_is_refused_in_one_line(served):
    proc, _env = served
    second = run_cli(["sandbox", "serve", "--port", "0"], dict(os.environ), timeout=30)
    assert second.returncode == 3
    (line,) = [x for x in second.stderr.decode().splitlines() if x]
    assert f"served by process {proc.pid}" in line and "Traceback" not in line


def test_a_killed_servers_note_is_ignored(served, tmp_path):
    proc, _env = served
    proc.kill()
    proc.wait(timeout=10)
    path = tmp_path / "after.txt"
    path.write_bytes(b"after the kill")
    pushed = run_cli(["push", "--sandbox", "--json", str(path), *FAST], dict(os.environ))
    assert pushed.returncode == 0, pushed.stderr.decode()
    listed = run_cli(["ls", "--sandbox", "--json", *FAST[:2]], dict(os.environ))
    names = [json.loads(x)["name"] for x in listed.stdout.decode().splitlines()]
    assert "after.txt" in names
