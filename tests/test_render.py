"""Progress output: rich bars in a real pseudo-terminal, plain lines without one."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys

from tests.conftest import run_cli
from tests.test_e2e import MiB, make_file


def _run_with_stderr_on_a_pty(args: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "notion_up", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "100"},
    )
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read()
    proc.wait()
    os.close(master)
    return proc.returncode, out, screen


def test_terminal_shows_bars_for_the_file_and_its_parts(sandbox, tmp_path):
    sandbox.server.options.bandwidth = 8 * MiB
    path = tmp_path / "clip.mp4"
    make_file(path, 26 * MiB)
    code, out, screen = _run_with_stderr_on_a_pty(["push", "--rate", "0", str(path)], sandbox.env())
    assert code == 0, screen.decode(errors="replace")[-2000:]
    text = screen.decode(errors="replace")
    assert "clip.mp4" in text and "part " in text
    assert "━" in text  # rich's bar glyph
    assert "\x1b[" in text  # redrawn in place
    # stdout is for results only: one line, no escape codes.
    (line,) = out.decode().splitlines()
    assert line.endswith("  clip.mp4") and "\x1b" not in line


def test_without_a_terminal_there_are_plain_lines_and_no_control_characters(sandbox, tmp_path):
    path = tmp_path / "clip.mp4"
    make_file(path, 21 * 1000 * 1000)
    done = run_cli(["push", "-v", "--rate", "0", "--stats", "0.05", str(path)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode()
    assert "pushing clip.mp4" in err
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", err + done.stdout.decode())


def test_quiet_shows_nothing_but_results(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4")
    done = run_cli(["push", "-q", "--rate", "0", str(path)], sandbox.env())
    assert done.returncode == 0
    assert done.stderr == b""
    assert len(done.stdout.decode().splitlines()) == 1


def _rich_renderer():
    import io

    from rich.console import Console

    from notion_up.cli.render import RichRenderer

    return RichRenderer(Console(file=io.StringIO(), width=100))


def test_two_files_of_one_name_get_a_bar_each():
    from notion_up.events import BytesSent, FileStarted, UploadEnded

    renderer = _rich_renderer()
    renderer(FileStarted("notes.txt", 10, 1, key=1))
    renderer(FileStarted("notes.txt", 20, 1, key=2))
    renderer(BytesSent("notes.txt", 1, 7, key=2))
    assert [(t.total, t.completed) for t in renderer.progress.tasks] == [(10, 0), (20, 7)]
    renderer(UploadEnded("notes.txt", key=1))
    assert [t.total for t in renderer.progress.tasks] == [20]


def test_a_bar_goes_when_its_upload_ends_not_when_the_whole_file_is_done():
    from notion_up.events import FileStarted, PartStarted, UploadEnded

    renderer = _rich_renderer()
    renderer(FileStarted("disk.img.part001", 5, 1, key=1))
    renderer(PartStarted("disk.img.part001", 1, 5, key=1))
    renderer(UploadEnded("disk.img.part001", key=1))
    renderer(FileStarted("disk.img.part002", 5, 1, key=2))
    assert [t.description for t in renderer.progress.tasks] == ["disk.img.part002"]


def test_a_retried_part_starts_over_on_its_bar_and_the_files():
    from notion_up.events import BytesSent, FileStarted, PartStarted, Retrying

    renderer = _rich_renderer()
    renderer(FileStarted("clip.mp4", 30, 2, key=1))
    renderer(PartStarted("clip.mp4", 1, 15, key=1))
    renderer(PartStarted("clip.mp4", 2, 15, key=1))
    renderer(BytesSent("clip.mp4", 1, 9, key=1))
    renderer(BytesSent("clip.mp4", 2, 4, key=1))
    renderer(Retrying("clip.mp4", "part 1", 1, "Notion 503", 0.1, key=1, part_number=1))
    completed = {t.description: t.completed for t in renderer.progress.tasks}
    assert completed == {"clip.mp4": 4, "  part 1": 0, "  part 2": 4}
    # A retried create or complete is no part's: no bar moves back.
    renderer(Retrying("clip.mp4", "complete", 1, "Notion 502", 0.1, key=1))
    assert {t.description: t.completed for t in renderer.progress.tasks} == completed
