"""Faults, rate limits and bad input through the real command against the local server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from tests.helpers import (
    MB,
    MiB,
    Sandbox,
    check_recorded,
    cli_runner,
    count_pages,
    make_file,
    run_cli,
    start_slow_push,
)

# Slow: all tests here but one run the real command in a subprocess.
pytestmark = pytest.mark.slow


def pushed_lines(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(x) for x in done.stdout.decode().splitlines() if '"summary"' not in x]


def assert_no_token(sandbox: Sandbox, *outputs: bytes | str) -> None:
    for out in outputs:
        text = out.decode() if isinstance(out, bytes) else out
        assert sandbox.token not in text


def test_five_xx_and_dropped_connections_still_deliver_every_file_once(sandbox, tmp_path):
    opts = sandbox.server.options
    opts.fault_rate = 0.2
    opts.fault_endpoints = frozenset({"send", "complete"})
    opts.drop_rate = 0.05
    files = {}
    for i, size in enumerate([3 * MB, 12 * MiB + 7, 26 * MiB + 5]):
        path = tmp_path / f"data{i}.pdf"
        files[path.name] = (size, make_file(path, size, seed=i))
    args = ["push", "--json", "--rate", "0", "--debug", *(str(tmp_path / n) for n in files)]
    done = run_cli(args, sandbox.env())
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    results = {x["name"]: x for x in pushed_lines(done)}
    for name, (size, sha512) in files.items():
        check_recorded(sandbox, results[name], name, size, sha512)
        digest = results[name]["hash"]
        assert count_pages(sandbox, sandbox.files_data_source_id, "filehash", digest) == 1
    stats = sandbox.server.stats()
    faults = sum(
        n
        for ep in ("send", "complete")
        for st, n in stats["requests"].get(ep, {}).items()
        if st.startswith("5")
    )
    assert faults > 0, stats["requests"]
    assert sum(x["retries"] for x in results.values()) > 0
    assert_no_token(sandbox, done.stdout, done.stderr)


def test_faults_after_the_page_was_created_leave_one_page_and_one_index_entry(sandbox, tmp_path):
    sandbox.server.options.fault_after_create_rate = 1.0
    paths = []
    for i in range(4):
        path = tmp_path / f"r{i}.txt"
        path.write_text(f"record {i}\n")
        paths.append(str(path))
    done = run_cli(["push", "--json", "--rate", "0", *paths], sandbox.env())
    sandbox.server.options.fault_after_create_rate = 0.0
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    lines = pushed_lines(done)
    assert len(lines) == 4
    for line in lines:
        assert count_pages(sandbox, sandbox.files_data_source_id, "filehash", line["hash"]) == 1
        index_hits = count_pages(
            sandbox, sandbox.index_data_source_id, "Salted SHA512 Hash", line["hash"]
        )
        assert index_hits == 1
    assert sandbox.server.stats()["pages_created"] == 8


def test_tight_rate_limit_with_eight_workers_never_comes_back_early(sandbox, tmp_path):
    opts = sandbox.server.options
    opts.rate_limit, opts.rate, opts.burst, opts.rate_window = True, 3.0, 3, 0.0
    path = tmp_path / "movie.mp4"
    sha512 = make_file(path, 26 * MiB, seed=9)
    args = ["push", "--json", "--workers", "8", "--rate", "10", str(path)]
    done = run_cli(args, sandbox.env())
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    stats = sandbox.server.stats()
    opts.rate_limit = False
    (line,) = pushed_lines(done)
    check_recorded(sandbox, line, "movie.mp4", 26 * MiB, sha512)
    assert (
        stats["requests"].get("send", {}).get("429", 0)
        + sum(v.get("429", 0) for v in stats["requests"].values())
        > 0
    ), "the client's own limit was above the server's: 429s expected"
    assert stats["early_retries"] == 0


def refused(stats: dict) -> int:
    return sum(v.get("429", 0) for v in stats["requests"].values())


def test_under_an_even_budget_one_run_learns_the_pace_and_the_next_starts_with_it(
    sandbox, tmp_path
):
    # The older model of Notion's limit: an even rate with some bursts (a token bucket).
    opts = sandbox.server.options
    opts.rate_limit, opts.rate, opts.burst, opts.rate_window = True, 10.0, 5, 0.0
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    sums = [make_file(first, 31 * MiB, seed=1), make_file(second, 31 * MiB, seed=2)]
    args = ["push", "--json", "-v", "--rate", "10"]
    sandbox.server.reset_stats()
    done = run_cli([*args, str(first)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    stats = sandbox.server.stats()
    # The window model bursts until the first 429; what else was in flight is refused too
    # (at most one per worker), then nothing more: requests go evenly at 10/s.
    assert 1 <= refused(stats) <= 4, stats["requests"]
    assert stats["early_retries"] == 0
    assert "then sending requests evenly at 10/s" in done.stderr.decode()
    check_recorded(sandbox, pushed_lines(done)[0], "a.mp4", 31 * MiB, sums[0])

    sandbox.server.reset_stats()  # a full bucket again, as after a pause between runs
    done = run_cli([*args, str(second)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    stats = sandbox.server.stats()
    assert refused(stats) == 0, stats["requests"]  # the journal remembered the pace
    assert stats["total_requests"] == 11
    check_recorded(sandbox, pushed_lines(done)[0], "b.mp4", 31 * MiB, sums[1])


def test_a_workspace_limit_is_waited_out_as_told_and_said_on_stderr(sandbox, tmp_path):
    sandbox.server.options.space_limit_for = 6.0  # other integrations spent the workspace's
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    done = run_cli(["push", "--json", str(path)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    err = done.stderr.decode()
    assert "request limit for the whole workspace" in err and "waiting 6s as told" in err
    stats = sandbox.server.stats()
    assert refused(stats) >= 1 and stats["early_retries"] == 0
    assert "evenly" not in err  # it says nothing about this integration's own budget


def test_a_run_killed_mid_upload_is_finished_by_resume(sandbox, tmp_path):
    proc, env, sha512 = start_slow_push(sandbox, tmp_path, 31 * MiB, 4 * MiB, parts_first=2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert sandbox.server.stats()["pages_created"] == 0
    sandbox.server.options.bandwidth = None

    listed = run_cli(["pending", "--json"], env)
    (entry,) = [json.loads(x) for x in listed.stdout.decode().splitlines()]
    assert entry["name"] == "video.mov" and entry["expiry_time"]

    done = run_cli(["resume", "--json", "--rate", "0"], env)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    (line,) = pushed_lines(done)
    check_recorded(sandbox, line, "video.mov", 31 * MiB, sha512)
    assert count_pages(sandbox, sandbox.files_data_source_id, "filehash", line["hash"]) == 1
    assert run_cli(["pending"], env).stdout == b""


def test_failed_record_write_says_resume_and_resume_records_once(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    sha512 = make_file(path, 1234)
    state = tmp_path / "state"
    env = sandbox.env(NOTION_UP_STATE_DIR=str(state))
    opts = sandbox.server.options
    opts.fault_rate, opts.fault_endpoints = 1.0, frozenset({"create_page", "query"})
    done = run_cli(["push", "--rate", "0", str(path)], env)
    opts.fault_rate = 0.0
    assert done.returncode == 5
    err = done.stderr.decode()
    assert "notion-up resume" in err and "left behind" in err and "Traceback" not in err
    assert done.stdout == b""
    resumed = run_cli(["resume", "--json", "--rate", "0"], env)
    assert resumed.returncode == 0, resumed.stderr.decode()
    (line,) = pushed_lines(resumed)
    check_recorded(sandbox, line, "a.pdf", 1234, sha512)


# -- bad input: exit code, one line, nothing written -------------------------------------
def _one_line_error(done: subprocess.CompletedProcess) -> str:
    err = done.stderr.decode().strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_missing_file_exits_4(sandbox, tmp_path):
    done = run_cli(["push", str(tmp_path / "nope.pdf")], sandbox.env())
    assert done.returncode == 4
    assert "no such file" in _one_line_error(done)
    assert sandbox.server.stats()["total_requests"] == 0


def test_directory_without_recursive_exits_4(sandbox, tmp_path):
    done = run_cli(["push", str(tmp_path)], sandbox.env())
    assert done.returncode == 4
    assert "is a directory" in _one_line_error(done)


def test_unreadable_file_exits_4(sandbox, tmp_path, monkeypatch):
    """Mode 000 as a normal user; as root (CI) opening is refused the way the kernel would."""

    import os

    from notion_up.cli.main import commands

    path = tmp_path / "secret.pdf"
    path.write_bytes(b"x")
    path.chmod(0)
    real_open = os.open

    def deny(file, *args, **kwargs):
        # The one opener opens a file by its name relative to its folder's descriptor.
        if os.fspath(file) in (str(path), path.name):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    for key, value in sandbox.env().items():
        if key.startswith("NOTION"):
            monkeypatch.setenv(key, value)
    done = cli_runner().invoke(commands, ["push", str(path)])
    assert done.exit_code == 4
    assert "permission denied" in done.stderr
    assert sandbox.server.stats()["total_requests"] == 0


def test_missing_token_exits_3(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x")
    env = sandbox.env()
    del env["NOTION_TOKEN"]
    done = run_cli(["push", str(path)], env)
    assert done.returncode == 3
    assert "NOTION_TOKEN is not set" in _one_line_error(done)


def test_rejected_token_exits_3_without_echoing_it(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x")
    done = run_cli(["push", str(path)], sandbox.env(NOTION_TOKEN="ntn_wrong_token_123456"))
    assert done.returncode == 3
    line = _one_line_error(done)
    assert "unauthorized" in line or "token" in line
    assert "ntn_wrong_token_123456" not in line


def test_unknown_database_exits_3(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x")
    env = sandbox.env(NOTION_UP_DATABASE="00000000-0000-4000-8000-000000000000")
    done = run_cli(["push", str(path)], env)
    assert done.returncode == 3
    assert "not found" in _one_line_error(done)
    assert sandbox.server.stats()["pages_created"] == 0


def test_database_missing_a_property_names_it_and_suggests_init(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x")
    # The index database lacks the file database's properties.
    env = sandbox.env(NOTION_UP_DATABASE=sandbox.index_database_id)
    done = run_cli(["push", str(path)], env)
    assert done.returncode == 3
    line = _one_line_error(done)
    assert "'filename'" in line and "notion-up init" in line


def test_with_no_split_a_file_over_the_limit_is_refused_before_any_byte_is_sent(sandbox, tmp_path):
    sandbox.server.options.max_file_upload_size = 5 * MiB
    path = tmp_path / "big.pdf"
    make_file(path, 5 * MiB + 1)
    state = ["--no-split", "--state-dir", str(tmp_path / "state")]
    # Cold: the upload is created while the limit is being read, and goes no further.
    done = run_cli(["push", str(path), *state], sandbox.env())
    assert done.returncode == 6
    line = _one_line_error(done)
    assert str(5 * MiB) in line and "--split" in line
    requests = sandbox.server.stats()["requests"]
    assert "send" not in requests and "create_page" not in requests
    # Warm (the limit cached): refused before any request.
    sandbox.server.reset_stats()
    again = run_cli(["push", str(path), *state], sandbox.env())
    assert again.returncode == 6 and "create_upload" not in sandbox.server.stats()["requests"]


def test_empty_file_is_pushed_and_recorded(sandbox, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    done = run_cli(["push", "--json", "--rate", "0", str(path)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    (line,) = pushed_lines(done)
    check_recorded(sandbox, line, "empty.txt", 0, __import__("hashlib").sha512(b"").hexdigest())


def test_broken_stdout_pipe_is_one_line_and_nonzero(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x")
    cmd = f"{sys.executable} -m notion_up push --rate 0 {path} | true"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], env=sandbox.env(), capture_output=True, timeout=60
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr.decode()


def test_token_never_appears_in_output_debug_traces_log_or_journal(sandbox, tmp_path):
    """Faults, --debug tracebacks, a log file and the journal: grep all of it for the token."""
    opts = sandbox.server.options
    opts.fault_rate, opts.fault_endpoints = 0.5, frozenset({"send", "complete", "create_page"})
    state = tmp_path / "state"
    log = tmp_path / "run.log"
    env = sandbox.env(NOTION_UP_STATE_DIR=str(state))
    big = tmp_path / "big.pdf"
    make_file(big, 21 * MB)
    args = ["push", "--debug", "-v", "--json", "--rate", "0", "--log-file", str(log), str(big)]
    outputs = [run_cli(args, env)]
    opts.fault_rate = 1.0  # now every record write fails: a traceback under --debug
    small = tmp_path / "small.pdf"
    small.write_bytes(b"%PDF-1.4")
    outputs.append(run_cli([*args[:-1], str(small)], env))
    outputs.append(run_cli(["push", "--debug", str(small)], sandbox.env(NOTION_TOKEN="ntn_bad")))
    opts.fault_rate = 0.0
    outputs.append(run_cli(["resume", "--debug", "--rate", "0"], env))
    assert any(b"Traceback" in o.stderr for o in outputs), "expected a --debug traceback"
    for done in outputs:
        assert_no_token(sandbox, done.stdout, done.stderr)
        assert b"ntn_bad" not in done.stdout + done.stderr
    written = [p for p in [log, *state.rglob("*")] if p.is_file()]
    assert log in written and any(p.name.startswith("journal") for p in written)
    for path in written:
        assert sandbox.token.encode() not in path.read_bytes(), path


def test_file_needing_more_than_1000_parts_even_at_20_mib_is_refused_before_upload(
    sandbox, tmp_path
):
    sandbox.server.options.max_file_upload_size = 100 * 1024**3
    path = tmp_path / "huge.mkv"
    with open(path, "wb") as f:  # sparse: nothing is read before the refusal
        f.truncate(1000 * 20 * MiB + 1)
    done = run_cli(["push", str(path)], sandbox.env())
    assert done.returncode == 6
    line = _one_line_error(done)
    assert "1000 parts" in line and "--split" in line
    assert "create_upload" not in sandbox.server.stats()["requests"]


def test_log_file_that_is_a_directory_is_a_usage_error(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF")
    done = run_cli(["push", "--log-file", str(tmp_path), str(path)], sandbox.env())
    assert done.returncode == 2
    assert "cannot write the log file" in _one_line_error(done)


def test_resume_starts_over_an_upload_notion_no_longer_knows_then_has_nothing_left(
    sandbox, tmp_path
):
    from notion_up.state.journal import Journal

    state = tmp_path / "state"
    env = sandbox.env(NOTION_UP_STATE_DIR=str(state))
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF")
    journal = Journal(state / "journal.sqlite")
    journal.start(
        name="a.pdf",
        source_path=str(path),
        size=4,
        mtime=path.stat().st_mtime,
        mode="single_part",
        part_size=4,
        part_count=1,
        upload_name="a.pdf",
        content_type="application/pdf",
        salt="00",
        folder_path="/",
        files_data_source=sandbox.files_data_source_id,
        index_data_source=sandbox.index_data_source_id,
        user_database_id=sandbox.files_database_id,
        workspace=sandbox.url,
    )
    journal.update(1, upload_id="00000000-0000-4000-8000-00000000dead")
    journal.close()
    first = run_cli(["resume", "--rate", "0"], env)
    assert first.returncode == 0, first.stderr
    assert "expired before it was finished; starting it over" in first.stderr.decode()
    assert first.stdout.decode().endswith("a.pdf\n")
    again = run_cli(["resume", "--rate", "0"], env)
    assert again.returncode == 0 and "nothing to resume" in again.stderr.decode()


def test_part_size_auto_starts_at_5_mib_then_follows_the_link_and_dry_run_says_why(
    sandbox, tmp_path
):
    big, small = tmp_path / "big.mkv", tmp_path / "small.mkv"
    make_file(big, 60 * MiB, seed=3)
    sha512 = make_file(small, 31 * MiB, seed=4)
    auto = ["--part-size", "auto", "--rate", "3"]
    plan = run_cli(["push", "--dry-run", *auto, str(big)], sandbox.env())
    assert plan.returncode == 0, plan.stderr.decode()[-3000:]
    assert "no multi-part push to this workspace has finished yet" in plan.stderr.decode()
    assert "12 part(s) of 5.0 MiB" in plan.stdout.decode()

    done = run_cli(["push", "--json", *auto, str(small)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    (line,) = pushed_lines(done)
    assert line["part_size"] == 5 * MiB
    check_recorded(sandbox, line, "small.mkv", 31 * MiB, sha512)

    # Over loopback the 11 requests went far faster than 3 a second allow: the budget is what
    # held that push back, so the next file gets the largest parts that still fill 4 workers.
    plan = run_cli(["push", "--dry-run", *auto, str(big)], sandbox.env())
    assert "held back by the request budget" in plan.stderr.decode()
    assert "4 part(s) of 15.0 MiB" in plan.stdout.decode()
    # The same from the environment, and a fixed size still wins over it as a flag.
    env = sandbox.env(NOTION_UP_PART_SIZE="auto")
    assert "4 part(s)" in run_cli(["push", "--dry-run", str(big)], env).stdout.decode()
    fixed = run_cli(["push", "--dry-run", "--part-size", "10MiB", str(big)], env)
    assert "6 part(s) of 10.0 MiB" in fixed.stdout.decode()
