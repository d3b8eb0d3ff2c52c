"""Errors that say what to do, and the small things a first hour trips over.

Each through the real command; where a request must not be made, the sandbox counts them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.helpers import run_cli, start_slow_push
from tests.terminal import run_in_terminal

# Slow: all tests here but one run the real command in a subprocess.
pytestmark = pytest.mark.slow

FAST = ["--rate", "0"]


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = [x for x in done.stderr.decode().splitlines() if x]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def pdf(tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4")
    return path


# -- ids and URLs, checked before any request -------------------------------------------------
def test_a_malformed_database_id_exits_3_with_a_hint_before_any_request(sandbox, pdf):
    done = run_cli(["push", str(pdf), "--database", "foo", *FAST], sandbox.env())
    assert done.returncode == 3
    line = one_line(done)
    assert "--database foo" in line and "32 hex digits" in line
    assert sandbox.server.stats()["total_requests"] == 0


def test_a_pasted_notion_link_is_taken_for_its_id(sandbox, pdf):
    hex_id = sandbox.files_database_id.replace("-", "")
    link = f"https://www.notion.so/acme/Files-{hex_id}?v=0123456789abcdef0123456789abcdef"
    done = run_cli(["push", str(pdf), "--database", link, "--json", *FAST], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["name"] == "a.pdf"


def test_an_api_url_where_nothing_listens_fails_at_once_naming_what_to_do(sandbox, pdf):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    env = sandbox.env(NOTION_API_URL=f"http://127.0.0.1:{port}")
    done = run_cli(["push", str(pdf), "-v", *FAST], env, timeout=60)
    assert done.returncode == 3
    text = done.stderr.decode()
    assert "nothing is listening at" in text and "retrying" not in text
    assert "NOTION_API_URL" in text and "notion-up sandbox serve" in text


def test_an_api_url_without_a_scheme_exits_3_suggesting_one(sandbox, pdf):
    env = sandbox.env(NOTION_API_URL="localhost:8787")
    done = run_cli(["push", str(pdf), *FAST], env)
    assert done.returncode == 3
    assert "did you mean http://localhost:8787?" in one_line(done)


def test_init_under_a_malformed_page_id_exits_3_before_any_request(sandbox):
    done = run_cli(["init", "--parent", "my page"], sandbox.env())
    assert done.returncode == 3 and "--parent my page" in one_line(done)
    assert sandbox.server.stats()["total_requests"] == 0


def test_init_under_an_unknown_page_says_to_share_the_page(sandbox):
    done = run_cli(["init", "--parent", "00000000-0000-4000-8000-000000000000"], sandbox.env())
    assert done.returncode == 3
    line = one_line(done)
    assert "share the page" in line and "Connections" in line
    assert "share the database" not in line


# -- the state folder ---------------------------------------------------------------------------
def test_a_state_folder_that_cannot_be_made_exits_3_naming_state_dir(sandbox, pdf, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = run_cli(["push", str(pdf), "--state-dir", str(blocker / "state"), *FAST], sandbox.env())
    assert done.returncode == 3
    line = one_line(done)
    assert "cannot use the state folder" in line and "--state-dir" in line
    assert sandbox.server.stats()["pages_created"] == 0


def test_an_unwritable_state_folder_is_a_configuration_error(tmp_path, monkeypatch):
    import tempfile

    from notion_up.app.context import state_folder
    from notion_up.config import resolve
    from notion_up.errors import ConfigError

    def refuse(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    settings = resolve({"state_dir": str(tmp_path / "state")}, env={})
    with pytest.raises(ConfigError) as caught:
        state_folder(settings)
    assert "Permission denied" in str(caught.value) and "--state-dir" in str(caught.value)
    assert int(caught.value.exit_status) == 3


# -- one parser and one validator for flags, environment and config ---------------------------
def test_part_size_in_decimal_megabytes_asks_did_you_mean_mebibytes(sandbox, pdf):
    done = run_cli(["push", str(pdf), "--part-size", "5mb", *FAST], sandbox.env())
    assert done.returncode == 2
    assert "--part-size 5mb" in one_line(done) and "did you mean 5MiB?" in one_line(done)


def test_part_size_from_the_environment_and_config_takes_units(isolated_home):
    env = {**os.environ, "NOTION_UP_PART_SIZE": "10MiB"}
    shown = run_cli(["config", "show", "--json"], env)
    assert shown.returncode == 0, shown.stderr.decode()
    assert json.loads(shown.stdout)["settings"]["part_size"]["value"] == 10485760
    small = run_cli(["config", "show"], {**os.environ, "NOTION_UP_PART_SIZE": "1MB"})
    assert small.returncode == 3
    assert "NOTION_UP_PART_SIZE=1MB" in one_line(small) and "number" not in one_line(small)
    assert run_cli(["config", "set", "part_size", "12MiB"], dict(os.environ)).returncode == 0
    shown = run_cli(["config", "show", "--json"], dict(os.environ))
    assert json.loads(shown.stdout)["settings"]["part_size"]["value"] == 12582912


@pytest.mark.parametrize(
    ("args", "env", "code", "said"),
    [
        ([], {"NOTION_UP_WORKERS": "0"}, 3, "NOTION_UP_WORKERS=0: workers must be 1 to 64"),
        (["--workers", "0"], {}, 2, "--workers 0: workers must be 1 to 64"),
        (["--rate", "-1"], {}, 2, "--rate -1.0: rate must be 0 (no limit) or more"),
        ([], {"NOTION_UP_RATE": "fast"}, 3, "NOTION_UP_RATE=fast: rate must be a number"),
    ],
)
def test_workers_and_rate_out_of_range_are_refused_wherever_they_come_from(
    sandbox, pdf, args, env, code, said
):
    done = run_cli(["push", str(pdf), *args], sandbox.env(**env))
    assert done.returncode == code
    assert said in one_line(done)
    assert sandbox.server.stats()["total_requests"] == 0


# -- pipes, ports, paths ---------------------------------------------------------------------
def test_ls_into_a_closed_pipe_exits_0_quietly(sandbox, tmp_path):
    for name in ("a.pdf", "b.pdf"):
        (tmp_path / name).write_bytes(b"%PDF")
        run_cli(["push", str(tmp_path / name), *FAST], sandbox.env())
    read, write = os.pipe()
    os.close(read)  # as after `| head -1`: the reader has gone before the first line
    done = subprocess.run(
        [sys.executable, "-m", "notion_up", "ls", *FAST],
        env=sandbox.env(),
        stdout=write,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    os.close(write)
    assert done.returncode == 0 and done.stderr == b""


def test_sandbox_serve_on_a_port_in_use_says_so_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(
            ["sandbox", "serve", "--port", str(port), "--state-dir", str(tmp_path / "s")],
            dict(os.environ),
        )
    assert done.returncode == 2
    line = one_line(done)
    assert f"port {port} is in use" in line and "--port 0" in line
    assert f"--port {port + 1}," in line  # another port, not the one in use


def test_pull_into_a_folder_ending_in_a_slash_creates_it(sandbox, pdf, tmp_path):
    pushed = json.loads(run_cli(["push", str(pdf), "--json", *FAST], sandbox.env()).stdout)
    target = tmp_path / "restored" / "deeper"
    done = run_cli(["pull", pushed["file_id"], "-o", f"{target}/", *FAST], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    assert (target / "a.pdf").read_bytes() == b"%PDF-1.4"
    missing = run_cli(
        ["pull", pushed["file_id"], "-o", str(tmp_path / "nope" / "x.pdf")], sandbox.env()
    )
    assert missing.returncode == 2 and "end the path with /" in one_line(missing)


# -- what the quick start and -v say -----------------------------------------------------------
def test_the_quick_start_says_what_happened_and_what_to_try_next(isolated_home, tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# hello\n")
    done = run_cli(["push", "--sandbox", str(path)], dict(os.environ))
    assert done.returncode == 0, done.stderr.decode()
    said = done.stderr.decode()
    assert "notion-up ls --sandbox" in said and "notion-up pull --sandbox" in said
    assert len(done.stdout.decode().splitlines()) == 1


def test_verbose_shows_the_state_folder_it_uses(sandbox, pdf, tmp_path):
    done = run_cli(["push", "-v", str(pdf), *FAST], sandbox.env())
    assert done.returncode == 0
    (line,) = [x for x in done.stderr.decode().splitlines() if "state_dir" in x]
    assert "state_dir = /" in line and "notion-up" in line and "= -" not in line


def test_resume_without_a_terminal_says_at_once_what_it_is_doing(sandbox, tmp_path):
    proc, env, _sha = start_slow_push(sandbox, tmp_path)
    proc.send_signal(2)
    proc.communicate(timeout=60)
    sandbox.server.options.bandwidth = None
    done = run_cli(["resume", "--rate", "0"], env)
    assert done.returncode == 0, done.stderr.decode()
    first = done.stderr.decode().splitlines()[0]
    assert first.startswith("resuming 1 unfinished push(es)")
    assert "already with Notion" in done.stderr.decode()


def test_no_progress_draws_no_bars_even_on_a_terminal(sandbox, tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(21 * 1024 * 1024))
    run = run_in_terminal(
        ["push", "--no-progress", "--stats", "0.2", str(path), *FAST], sandbox.env(), 80
    )
    assert run.code == 0
    assert "━" not in run.raw.decode() and "\x1b[" not in run.raw.decode()


@pytest.mark.parametrize("flag", ["--database", "--index", "--api-url"])
def test_sandbox_with_a_workspace_flag_is_refused_not_ignored(tmp_path, flag):
    path = tmp_path / "a.txt"
    path.write_text("a")
    value = "http://127.0.0.1:9" if flag == "--api-url" else "0" * 32
    done = run_cli(["push", "--sandbox", flag, value, str(path), *FAST], dict(os.environ))
    assert done.returncode == 2
    line = one_line(done)
    assert f"{flag} does not go with --sandbox" in line and f"drop {flag}" in line


def test_push_dash_with_a_terminal_on_stdin_says_it_is_reading_it(sandbox):
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "notion_up", "push", "-", "--name", "typed.txt", "--json", *FAST],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=sandbox.env(),
    )
    os.close(slave)
    try:
        said = proc.stderr.readline().decode()
        assert "reading standard input from the terminal; end it with Ctrl-D" in said
        os.write(master, b"typed by hand\n\x04")  # a line, then Ctrl-D: the end of input
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    pushed = json.loads(out)
    assert (pushed["name"], pushed["size"]) == ("typed.txt", len(b"typed by hand\n"))
