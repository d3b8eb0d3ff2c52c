"""End to end: the real `notion-up` command in a subprocess against the local server over HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from notion_up.notion.records import salted_hash
from tests.helpers import (
    MB,
    MiB,
    Sandbox,
    api,
    check_recorded,
    count_pages,
    make_file,
    run_cli,
    text_of,
)

# Slow: every test here runs the real command in a subprocess.
pytestmark = pytest.mark.slow

BOUNDARY_SIZES = [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 20 * MB, 20 * MB + 1, 47 * MiB + 123]
REPO = Path(__file__).resolve().parents[1]


def test_round_trip_at_boundary_sizes_in_one_command(sandbox: Sandbox, tmp_path: Path):
    files = {}
    for i, size in enumerate(BOUNDARY_SIZES):
        path = tmp_path / f"f{i}_{size}.bin"
        files[path.name] = (size, make_file(path, size, seed=i))
    args = ["push", "--json", "--rate", "0", *(str(tmp_path / n) for n in files)]
    done = run_cli(args, sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(x) for x in done.stdout.decode().splitlines()]
    results = {x["name"]: x for x in lines if "summary" not in x}
    assert set(results) == set(files)
    for name, (size, sha512) in files.items():
        line = results[name]
        assert line["sha512"] == sha512
        assert line["mode"] == ("single_part" if size <= 20 * MB else "multi_part")
        assert line["carrier"] is True and line["upload_name"] == name + ".txt"
        check_recorded(sandbox, line, name, size, sha512)
        assert count_pages(sandbox, sandbox.files_data_source_id, "filehash", line["hash"]) == 1
        assert (
            count_pages(sandbox, sandbox.index_data_source_id, "Salted SHA512 Hash", line["hash"])
            == 1
        )
    assert results[f"f7_{47 * MiB + 123}.bin"]["parts"] == 10
    assert lines[-1]["summary"]["pushed"] == len(files)


def test_plain_output_is_one_line_per_file_with_id_short_hash_and_name(sandbox, tmp_path):
    path = tmp_path / "report.pdf"
    sha512 = make_file(path, 1000)
    done = run_cli(["push", "--rate", "0", str(path)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    (line,) = done.stdout.decode().splitlines()
    file_id, digest, name = line.split("  ")
    assert name == "report.pdf" and len(line) <= 80
    page = api(sandbox, "GET", f"/v1/pages/{file_id}")
    assert salted_hash(sha512, text_of(page["properties"]["salt"]))[:12] == digest
    assert page["properties"]["file_data"]["files"][0]["name"] == "report.pdf"


def test_stdin_of_unknown_size_through_a_real_pipe_is_spooled_and_removed(sandbox, tmp_path):
    source = tmp_path / "big.tar"
    sha512 = make_file(source, 23 * MB, seed=5)
    spool = tmp_path / "spool"
    spool.mkdir()
    env = sandbox.env(TMPDIR=str(spool))
    cat = subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE)
    done = subprocess.run(
        [sys.executable, "-m", "notion_up", "push", "-", "--name", "dir.tar", "--json"]
        + ["--rate", "0"],
        stdin=cat.stdout,
        env=env,
        capture_output=True,
        timeout=120,
    )
    cat.wait()
    assert done.returncode == 0, done.stderr.decode()
    line = json.loads(done.stdout.decode().splitlines()[0])
    assert line["mode"] == "multi_part" and line["size"] == 23 * MB
    check_recorded(sandbox, line, "dir.tar", 23 * MB, sha512)
    assert list(spool.iterdir()) == []


def test_stdin_with_declared_size_streams_without_spooling(sandbox, tmp_path):
    data = hashlib.shake_256(b"x").digest(21 * MB)
    spool = tmp_path / "spool"
    spool.mkdir()
    args = ["push", "-", "--name", "s.bin", "--size", str(len(data)), "--json", "--rate", "0"]
    done = run_cli(args, sandbox.env(TMPDIR=str(spool)), stdin=data)
    assert done.returncode == 0, done.stderr.decode()
    line = json.loads(done.stdout.decode())
    check_recorded(sandbox, line, "s.bin", len(data), hashlib.sha512(data).hexdigest())


@pytest.mark.parametrize("declared", [21 * MB - 1, 21 * MB + 1])
def test_stdin_that_does_not_match_size_fails_with_one_line(sandbox, declared):
    data = b"y" * (21 * MB)
    args = ["push", "-", "--name", "s.bin", "--size", str(declared), "--rate", "0"]
    done = run_cli(args, sandbox.env(), stdin=data)
    assert done.returncode == 4
    err = done.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "--size" in err[0]
    assert "Traceback" not in done.stderr.decode()
    assert sandbox.server.stats()["pages_created"] == 0


def test_supported_type_goes_as_itself(sandbox, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    done = run_cli(["push", "--json", "--rate", "0", str(path)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    line = json.loads(done.stdout)
    assert line["carrier"] is False
    assert line["upload_name"] == "notes.txt" and line["content_type"] == "text/plain"


def test_readme_quick_start_runs_exactly_as_written(tmp_path):
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S).group(1)
    commands = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
    quick_start = commands[0]
    assert "--sandbox" in quick_start
    work = tmp_path / "repo"
    shutil.copytree(
        REPO, work, ignore=shutil.ignore_patterns(".venv*", ".git", "*.egg-info", "__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION", "VIRTUAL_ENV"))}
    done = subprocess.run(
        quick_start, shell=True, cwd=work, env=env, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    last = done.stdout.decode().strip().splitlines()[-1]
    file_id, digest, name = last.split("  ")
    assert name == "README.md"
    assert re.fullmatch(r"[0-9a-f-]{36}", file_id) and re.fullmatch(r"[0-9a-f]{12}", digest)


def test_a_memory_cap_below_the_process_size_stops_read_ahead_but_not_the_push(sandbox, tmp_path):
    path = tmp_path / "clip.mp4"
    sha512 = make_file(path, 26 * MiB, seed=4)
    args = ["push", "--json", "--rate", "0", "-w", "4", "--max-memory", "1MiB", str(path)]
    done = run_cli(args, sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    line = json.loads(done.stdout)
    check_recorded(sandbox, line, "clip.mp4", 26 * MiB, sha512)
    # Over the cap the reader waits until no part is out: one send at a time.
    assert sandbox.server.stats()["max_in_flight_send"] == 1
    # The same push at the default cap sends parts side by side.
    sandbox.server.reset_stats()
    sandbox.server.options.bandwidth = 16 * MiB  # parts overlap even on a fast machine
    done = run_cli([*args[:6], str(path)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    assert sandbox.server.stats()["max_in_flight_send"] > 1
