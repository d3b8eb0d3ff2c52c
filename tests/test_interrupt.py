"""Ctrl-C: the first stops new parts and records the state; the second quits at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import MiB, check_recorded, count_pages, run_cli, start_slow_push

# Slow: every test here runs the real command in a subprocess.
pytestmark = pytest.mark.slow


def test_first_ctrl_c_finishes_in_flight_parts_records_state_and_exits_130(sandbox, tmp_path):
    proc, env, sha512 = start_slow_push(sandbox, tmp_path)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    text = err.decode()
    assert "interrupted" in text and "notion-up resume" in text
    assert "Traceback" not in text
    assert out == b""
    assert sandbox.server.stats()["pages_created"] == 0
    sandbox.server.options.bandwidth = None

    (entry,) = [json.loads(x) for x in run_cli(["pending", "--json"], env).stdout.splitlines()]
    assert entry["name"] == "video.mov"
    done = run_cli(["resume", "--json", "--rate", "0"], env)
    assert done.returncode == 0, done.stderr.decode()
    line = json.loads(done.stdout.decode().splitlines()[0])
    check_recorded(sandbox, line, "video.mov", 41 * MiB, sha512)
    assert count_pages(sandbox, sandbox.files_data_source_id, "filehash", line["hash"]) == 1


def test_second_ctrl_c_quits_at_once(sandbox, tmp_path):
    proc, _env, _sha = start_slow_push(sandbox, tmp_path)
    # Parts in flight now crawl: the first Ctrl-C alone would wait minutes for them.
    sandbox.server.options.bandwidth = 16 * 1024
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    assert proc.poll() is None, "the first Ctrl-C lets the parts in flight finish"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)
    assert proc.returncode == 130
    sandbox.server.options.bandwidth = None


def test_sigterm_finishes_in_flight_parts_says_so_and_exits_143(sandbox, tmp_path):
    proc, env, _sha = start_slow_push(sandbox, tmp_path)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 143, text
    assert "terminated (SIGTERM)" in text and "notion-up resume" in text
    assert "Traceback" not in text
    sandbox.server.options.bandwidth = None
    assert run_cli(["resume", "--rate", "0"], env).returncode == 0


def test_sigterm_outside_a_push_exits_143_with_a_line(sandbox):
    sandbox.server.options.latency = 30.0  # `ls` waits on its first answer
    proc = subprocess.Popen(
        [sys.executable, "-m", "notion_up", "ls", "--rate", "0"],
        env=sandbox.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while sandbox.server.stats()["total_requests"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=15)
    sandbox.server.options.latency = 0.0
    assert proc.returncode == 143
    assert "notion-up: terminated (SIGTERM)" in err and "Traceback" not in err
