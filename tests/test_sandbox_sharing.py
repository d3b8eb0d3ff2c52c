"""Two processes on one sandbox agree: `--sandbox` uses a running `sandbox serve`, a second
server on the same state folder is refused in one line, a killed server's note is ignored."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli

# Slow: every test here runs the real command in a subprocess.
pytestmark = pytest.mark.slow

FAST = ["--rate", "0", "--stats", "0"]


def exports(proc: subprocess.Popen) -> dict[str, str]:
    lines = [proc.stdout.readline() for _ in range(4)]
    return dict(re.findall(r"^export (\w+)=(\S+)$", "".join(lines), re.M))


def start(*command: str) -> subprocess.Popen:
    """A server process whose stdout the test reads (its exports)."""
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)


def options_of(env: dict[str, str]) -> dict:
    """The knobs the server at NOTION_API_URL runs with (its admin endpoint)."""
    with urllib.request.urlopen(f"{env['NOTION_API_URL']}/__admin/options", timeout=10) as r:
        return json.loads(r.read())


def tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a" * 3000)
    (root / "sub" / "b.txt").write_bytes(b"b" * 5000)
    return root


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


def test_serve_with_latency_and_bandwidth_then_push_sandbox_r_uses_it(tmp_path):
    knobs = ["--latency", "0.01", "--bandwidth", "2MB", "--max-file-size", "5MiB"]
    proc = start(sys.executable, "-m", "notion_up", "sandbox", "serve", "--port", "0", *knobs)
    try:
        env = {**os.environ, **exports(proc)}
        knobs = options_of(env)
        assert (knobs["latency"], knobs["bandwidth"]) == (0.01, 2_000_000)
        assert knobs["max_file_upload_size"] == 5 * 1024 * 1024
        folder = str(tree(tmp_path / "dir"))
        pushed = run_cli(["push", "--sandbox", "-r", folder, "--json", *FAST], dict(os.environ))
        assert pushed.returncode == 0, pushed.stderr.decode()
        lines = [json.loads(x) for x in pushed.stdout.decode().splitlines()]
        got = sorted(x["name"] for x in lines if "name" in x)
        assert got == ["a.txt", "b.txt"]
        listed = run_cli(["ls", "--json", *FAST[:2]], env)
        assert len(listed.stdout.decode().splitlines()) == 2
    finally:
        stop(proc)


def test_serve_refuses_a_knob_it_cannot_use_in_one_line():
    done = run_cli(["sandbox", "serve", "--port", "0", "--bandwidth", "fast"], dict(os.environ))
    assert done.returncode == 2
    (line,) = [x for x in done.stderr.decode().splitlines() if x]
    assert "not a size: 'fast'" in line


def test_python_m_sandbox_prints_exports_and_sandbox_commands_use_it(tmp_path):
    state = Path(os.environ["XDG_DATA_HOME"]) / "notion-up" / "sandbox"
    knobs = ["--latency", "0.01", "--token", "a-token-of-its-own"]
    proc = start(sys.executable, "-m", "notion_up.sandbox", "--state-dir", str(state), *knobs)
    try:
        env = {**os.environ, **exports(proc)}
        assert env["NOTION_TOKEN"] == "a-token-of-its-own"
        path = tmp_path / "x.txt"
        path.write_bytes(b"through python -m")
        pushed = run_cli(["push", "--sandbox", "--json", str(path), *FAST], dict(os.environ))
        assert pushed.returncode == 0, pushed.stderr.decode()
        file_id = json.loads(pushed.stdout)["file_id"]
        listed = run_cli(["ls", "--json", *FAST[:2]], env)
        assert [json.loads(x)["file_id"] for x in listed.stdout.decode().splitlines()] == [file_id]
    finally:
        stop(proc)
