"""One run at a time per state directory."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from notion_up.errors import ExitStatus, LockedError
from notion_up.state.lock import LOCK_NAME, run_lock

HOLD = """
import sys, time
from pathlib import Path
from notion_up.state.lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(LockedError) as refused:
            with run_lock(tmp_path):
                pass
    assert refused.value.exit_status == ExitStatus.LOCKED == 8
    assert "another notion-up run (pid" in str(refused.value)
    assert "--wait-lock" in str(refused.value)


def test_the_lock_is_free_again_after_the_block(tmp_path):
    with run_lock(tmp_path):
        pass
    with run_lock(tmp_path) as path:
        assert path.name == LOCK_NAME
        assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_waiting_takes_the_lock_when_the_holder_lets_go(tmp_path):
    released = threading.Event()
    waiting = threading.Event()
    order: list[str] = []

    def second() -> None:
        with run_lock(tmp_path, wait=True, on_wait=lambda _msg: waiting.set()):
            order.append("second")

    with run_lock(tmp_path):
        thread = threading.Thread(target=second)
        thread.start()
        assert waiting.wait(10)
        order.append("first")
        released.set()
    thread.join(10)
    assert order == ["first", "second"]


def test_a_lock_held_by_another_process_is_seen_and_dies_with_it(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=f"pid {holder.pid}"):
            with run_lock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with run_lock(tmp_path):  # killed, not released: the kernel dropped the lock
        pass
