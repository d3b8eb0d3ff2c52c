"""Batch and cron: many inputs, skipping, unattended output, exit codes, the run lock.

Through the real command (a subprocess) against the local server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notion_up.state.lock import LOCK_NAME
from tests.helpers import ODD_NAMES, Sandbox, run_cli

# Slow: every test here runs the real command in a subprocess.
pytestmark = pytest.mark.slow

FAST = ["--rate", "0", "--stats", "0.05"]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\r]")


def results(done: subprocess.CompletedProcess) -> tuple[list[dict], dict | None]:
    lines = [json.loads(x) for x in done.stdout.decode().splitlines()]
    summary = next((x["summary"] for x in lines if "summary" in x), None)
    return [x for x in lines if "summary" not in x], summary


def folder_of_100(root: Path) -> dict[str, str]:
    """100 small files in subfolders: 60 .log, 20 .txt, 20 .bin (6 of them under tmp/)."""
    made = {}
    for i in range(100):
        ext = ".log" if i < 60 else ".txt" if i < 80 else ".bin"
        sub = "tmp" if 94 <= i else f"{2020 + i % 3}/{i % 2:02d}"
        path = root / sub / f"f{i:03d}{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(i * 37 % 4000 + 1))
        made[str(path.relative_to(root))] = ext
    return made


def pages_created(sandbox: Sandbox) -> int:
    return sandbox.server.stats()["pages_created"]


def test_a_folder_of_100_files_with_filters_then_a_second_run_skips_them_all(sandbox, tmp_path):
    root = tmp_path / "logs"
    folder_of_100(root)
    args = ["push", "-r", str(root), "--include", "*.log", "--include", "*.bin"]
    args += ["--exclude", "tmp/*", "--json", *FAST]
    first = run_cli(args, sandbox.env())
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    pushed, summary = results(first)
    assert len(pushed) == 60 + 14 and summary["pushed"] == 74 and summary["failed"] == 0
    assert {p["folder_path"] for p in pushed} == {
        f"/{y}/{m:02d}" for y in (2020, 2021, 2022) for m in (0, 1)
    }
    assert all(p["carrier"] for p in pushed if p["name"].endswith(".bin"))
    # A page and an index entry per file, and a folder row per folder (3 years, 6 months).
    assert pages_created(sandbox) == 2 * 74 + 9

    second = run_cli([*args, "--skip-existing"], sandbox.env())
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    pushed_again, summary = results(second)
    assert pushed_again == [] and summary["skipped"] == 74 and summary["pushed"] == 0
    err = second.stderr.decode()
    assert err.count("already pushed (same path, size, mtime and SHA-512)") == 74
    assert "pushed 0, skipped 74, failed 0" in err
    assert pages_created(sandbox) == 2 * 74 + 9


def test_skip_existing_pushes_only_the_file_that_changed(sandbox, tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    for i in range(5):
        (root / f"{i}.txt").write_text(f"file {i}\n")
    assert run_cli(["push", "-r", str(root), *FAST], sandbox.env()).returncode == 0
    (root / "3.txt").write_text("changed\n")
    again = run_cli(["push", "-r", str(root), "--skip-existing", "--json", *FAST], sandbox.env())
    pushed, summary = results(again)
    assert [p["name"] for p in pushed] == ["3.txt"]
    assert summary["skipped"] == 4


def test_check_remote_skips_content_already_in_the_database(sandbox, tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.pdf").write_bytes(b"%PDF " + bytes([i]) * 100)
    assert run_cli(["push", "-r", str(root), *FAST], sandbox.env()).returncode == 0
    (root / "new.pdf").write_bytes(b"%PDF " + b"n" * 100)  # same size, new content
    other_state = ["--state-dir", str(tmp_path / "elsewhere")]  # an empty journal
    args = ["push", "-r", str(root), "--skip-existing", "--check-remote", "--json", *FAST]
    done = run_cli(args + other_state, sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    pushed, summary = results(done)
    assert [p["name"] for p in pushed] == ["new.pdf"] and summary["skipped"] == 3
    assert done.stderr.decode().count("already in the file database (page ") == 3


def test_files_from_stdin_nul_separated_with_odd_names(sandbox, tmp_path):
    paths = []
    for name in ODD_NAMES:
        path = tmp_path / name
        path.write_text(name)
        paths.append(os.fsencode(path))
    listing = b"\0".join(paths) + b"\0"
    done = run_cli(["push", "--files-from", "-", "-0", "--json", *FAST], sandbox.env(), listing)
    assert done.returncode == 0, done.stderr.decode()
    pushed, summary = results(done)
    assert sorted(p["name"] for p in pushed) == sorted(ODD_NAMES)
    assert summary["pushed"] == len(ODD_NAMES)
    plain = run_cli(["push", "--files-from", "-", "-0", *FAST], sandbox.env(), listing)
    assert plain.returncode == 0
    lines = plain.stdout.decode().splitlines()
    assert len(lines) == len(ODD_NAMES)  # the newline in a name does not split its line
    assert any(line.endswith("  new\\nline.txt") for line in lines)


def test_output_without_a_terminal_has_no_control_characters(sandbox, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a\x1b[31mred\rname.txt").write_text("x")
    (src / "b.txt").write_text("y")
    done = run_cli(["push", "-v", "-r", str(src), *FAST], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    text = done.stdout.decode() + done.stderr.decode()
    assert "pushing b.txt" in done.stderr.decode()
    assert "setting token = ntn_" in done.stderr.decode()  # -v shows settings, redacted
    assert sandbox.token not in text
    assert not CONTROL.search(text), repr(text)


def test_the_log_file_is_appended_timestamped_and_never_holds_the_token(sandbox, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a")
    log = tmp_path / "logs" / "notion-up.log"
    args = ["push", "-v", "-r", str(tmp_path / "in"), "--log-file", str(log), *FAST]
    ok = run_cli(args, sandbox.env())
    assert ok.returncode == 0
    failed = run_cli(["push", str(tmp_path / "gone.txt"), "--log-file", str(log)], sandbox.env())
    assert failed.returncode == 4
    lines = log.read_text().splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "
    assert all(re.match(stamp, line) for line in lines), lines
    text = log.read_text()
    assert "pushing a.txt" in text and "pushing a.txt" in ok.stderr.decode()  # stderr's lines
    assert re.search(r"[0-9a-f-]{36}  [0-9a-f]{12}  a\.txt", text)  # ... the results ...
    assert "pushed 1, skipped 0, failed 0" in text  # ... the summary ...
    assert "error: no such file" in text and "(exit 4)" in text  # ... and failures
    assert text.count("notion-up started") == 2
    assert sandbox.token not in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_nothing_to_push_is_0_or_7_with_error_on_nothing(sandbox, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("a")
    args = ["push", "-r", str(src), "--exclude", "*.txt", "--json", *FAST]
    calm = run_cli(args, sandbox.env())
    assert calm.returncode == 0 and "nothing to push" in calm.stderr.decode()
    strict = run_cli([*args, "--error-on-nothing"], sandbox.env())
    assert strict.returncode == 7
    assert "nothing to push" in strict.stderr.decode()
    assert results(strict)[1] == {**results(strict)[1], "pushed": 0, "failed": 0}
    empty = run_cli(["push", "--files-from", "-", "--error-on-nothing"], sandbox.env(), b"")
    assert empty.returncode == 7
    assert pages_created(sandbox) == 0


def test_some_files_failing_exits_1_and_the_others_are_pushed(sandbox, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    sandbox.server.options.max_file_upload_size = 1000
    (src / "small.txt").write_text("s")
    (src / "large.txt").write_bytes(b"L" * 2000)
    # --no-split: over the limit is a failure of that file (else it would be stored split).
    done = run_cli(["push", "--no-split", "-r", str(src), "--json", *FAST], sandbox.env())
    assert done.returncode == 1, done.stderr.decode()
    _, summary = results(done)
    assert summary["pushed"] == 1 and summary["failed"] == 1
    assert "large.txt" in done.stderr.decode() and "limit" in done.stderr.decode()


def test_bad_batch_input_exits_4_or_2_before_any_request(sandbox, tmp_path):
    (tmp_path / "a.txt").write_text("a")
    listing = f"{tmp_path / 'a.txt'}\n{tmp_path / 'missing.txt'}\n".encode()
    missing = run_cli(["push", "--files-from", "-"], sandbox.env(), listing)
    assert missing.returncode == 4 and "no such file" in missing.stderr.decode()
    unlisted = run_cli(["push", "--files-from", str(tmp_path / "nolist")], sandbox.env())
    assert unlisted.returncode == 4 and "--files-from" in unlisted.stderr.decode()
    directory = run_cli(["push", str(tmp_path)], sandbox.env())
    assert directory.returncode == 4 and "use -r" in directory.stderr.decode()
    usage = run_cli(["push", str(tmp_path / "a.txt"), "-0"], sandbox.env())
    assert usage.returncode == 2 and "--files-from" in usage.stderr.decode()
    usage = run_cli(["push", str(tmp_path / "a.txt"), "--check-remote"], sandbox.env())
    assert usage.returncode == 2
    assert sandbox.server.stats()["total_requests"] == 0


def test_dry_run_says_what_would_happen_and_writes_nothing(sandbox, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "big.tar").write_bytes(b"t" * 21_000_000)
    (src / "doc.pdf").write_bytes(b"%PDF-1.4")
    (src / "link.pdf").symlink_to(src / "doc.pdf")
    done = run_cli(["push", "-r", str(src), "--dry-run", *FAST], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert "would push big.tar: 20.0 MiB, multi_part, 5 part(s) of 5.0 MiB" in out
    assert "as big.tar.txt (text/plain), a carrier" in out
    assert "would push doc.pdf: 8 B, single_part, 1 part(s)" in out
    assert "would skip" in out and "link.pdf: a symlink" in out
    total = done.stderr.decode().splitlines()[-1]
    assert total == "would push 2 file(s), 20.0 MiB in all; would skip 1"
    stats = sandbox.server.stats()
    assert stats["pages_created"] == 0 and stats["uploads"] == []
    reads = {"users_me", "retrieve_database", "retrieve_data_source", "query"}
    assert set(stats["requests"]) <= reads, stats["requests"]


def test_dry_run_with_skip_existing_reports_the_skip_in_json(sandbox, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("a")
    run_cli(["push", str(src / "a.txt"), *FAST], sandbox.env())
    args = ["push", "-r", str(src), "--dry-run", "--skip-existing", "--json", *FAST]
    done = run_cli(args, sandbox.env())
    (line,) = [json.loads(x) for x in done.stdout.decode().splitlines()]
    assert line["action"] == "skip" and "already pushed" in line["reason"]
    strict = run_cli([*args, "--error-on-nothing"], sandbox.env())
    assert strict.returncode == 7


def _start_slow_push(sandbox: Sandbox, path: Path, state: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "notion_up", "push", str(path), *FAST, "--state-dir", str(state)],
        env=sandbox.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_lock_holder(state: Path, pid: int) -> None:
    lock = state / LOCK_NAME
    for _ in range(400):
        if lock.exists() and lock.read_text().strip() == str(pid):
            return
        time.sleep(0.025)
    raise AssertionError("the first run never took the lock")


def test_two_runs_on_one_state_directory_second_exits_8_or_waits(sandbox, tmp_path):
    sandbox.server.options.latency = 1.0  # the first run holds the lock while we look
    state = tmp_path / "state"
    (tmp_path / "one.txt").write_text("1")
    (tmp_path / "two.txt").write_text("2")
    first = _start_slow_push(sandbox, tmp_path / "one.txt", state)
    try:
        _wait_for_lock_holder(state, first.pid)
        args = ["push", str(tmp_path / "two.txt"), *FAST, "--state-dir", str(state)]
        refused = run_cli(args, sandbox.env())
        assert refused.returncode == 8
        message = refused.stderr.decode()
        assert f"another notion-up run (pid {first.pid}) is using {state}" in message
        assert "--wait-lock" in message
        waiting = subprocess.Popen(
            [sys.executable, "-m", "notion_up", *args, "--wait-lock"],
            env=sandbox.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # Only once the second run says it waits may the first one speed up and finish.
        said = waiting.stderr.readline().decode()
        assert "waiting for another notion-up run" in said
        sandbox.server.options.latency = 0.0
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err.decode()
        # The first run finished its push before it let go of the lock; its process may take a
        # moment more to exit on a busy machine, so wait for that instead of polling once.
        assert first.wait(timeout=30) == 0
    finally:
        first.kill()
        first.wait()
    assert pages_created(sandbox) == 4
