"""What a person sees in a real terminal, at 80 and 200 columns, against a slow sandbox.

A batch of small and large files: each large file's part rows sit under its name, there is
one overall line, queued files get no row, long names are shortened but the bytes, rate and
time left stay; nothing is left on the screen after success, Ctrl-C or resume, and a resumed
file starts from what was already sent. Screens come from a terminal emulator (tests/terminal.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.terminal import Run, run_in_terminal

# Slow: every test here runs the real command in a pseudo-terminal.
pytestmark = pytest.mark.slow

MiB = 1024 * 1024
LONG = "a-very-long-recording-name-from-the-weekly-planning-meeting-{}.mp4"
BAR = "━"
PART = re.compile(r"^\s+└ part \d+ ")
TOTAL = re.compile(r"^total \d+/\d+ files")
SIZE = re.compile(r"\d+\.\d/\d+\.\d (KiB|MiB)|\d+/\d+ B")


def make_batch(root: Path, large: int = 2, small: int = 6) -> Path:
    src = root / "in"
    src.mkdir()
    for i in range(large):
        (src / LONG.format(i)).write_bytes(os.urandom(21 * MiB))
    for i in range(small):
        (src / f"note{i}.txt").write_bytes(os.urandom(3000 + i))
    return src


def slow(sandbox, bandwidth: float) -> None:
    sandbox.server.options.latency = 0.05
    sandbox.server.options.bandwidth = bandwidth


def file_rows(frame: list[str]) -> list[str]:
    return [line for line in frame if not PART.match(line) and not TOTAL.match(line)]


def assert_parts_sit_under_their_file(frame: list[str]) -> None:
    """Every part row follows its file's row (or another part row of it), never a small file."""
    for i, line in enumerate(frame):
        if PART.match(line):
            above = next(x for x in reversed(frame[:i]) if not PART.match(x))
            assert "meeting" in above, frame


def assert_clean(run: Run) -> None:
    """No bar, part row or overall line left on the screen at the end."""
    leftovers = [x for x in run.final if BAR in x or PART.match(x) or TOTAL.match(x)]
    assert leftovers == [], "\n".join(run.final)


@pytest.mark.parametrize("columns", [80, 200])
def test_a_batch_shows_parts_under_their_file_one_overall_line_and_leaves_nothing(
    sandbox, tmp_path, columns
):
    slow(sandbox, 6 * MiB)
    src = make_batch(tmp_path)
    run = run_in_terminal(["push", "-r", str(src), "--rate", "0"], sandbox.env(), columns)
    assert run.code == 0, "\n".join(run.final)
    with_parts = [f for f in run.frames if any(PART.match(x) for x in f)]
    assert with_parts, "no frame showed part rows"
    for frame in run.frames:
        assert sum(bool(TOTAL.match(x)) for x in frame) <= 1, frame
        assert_parts_sit_under_their_file(frame)
        for line in frame:
            assert len(line) < columns, line  # never wraps
    assert sum(bool(TOTAL.match(x)) for x in with_parts[-1]) == 1, with_parts[-1]
    # A file row keeps its bar, bytes, rate and time left, even with a long name at 80 columns.
    big = [x for f in with_parts for x in f if "meeting" in x and not PART.match(x)]
    assert big and all(BAR in x and SIZE.search(x) for x in big), big
    if columns == 80:
        assert all("…" in x for x in big), big
    else:
        assert any(LONG.format(0) in x or LONG.format(1) in x for x in big), big
    # Rates are in binary units, and never the socket's GB/s.
    shown = " ".join(x for f in run.frames for x in f)
    assert "MB/s" not in shown and "GB/s" not in shown and "GiB/s" not in shown
    # Single-part (small) files get no part row; queued files no row at all.
    for frame in run.frames:
        rows = file_rows(frame)
        assert len([x for x in rows if x.startswith("note")]) <= 4, frame
    assert_clean(run)
    assert "pushed 8, skipped 0, failed 0" in "\n".join(run.final)
    assert len(run.stdout.decode().splitlines()) == 8  # results on stdout, not the screen
    assert "\x1b" not in run.stdout.decode()


@pytest.mark.parametrize("columns", [80, 200])
def test_ctrl_c_leaves_no_rows_says_what_resume_will_finish_and_resume_starts_from_there(
    sandbox, tmp_path, columns
):
    slow(sandbox, 2 * MiB)
    src = make_batch(tmp_path, large=2, small=8)
    env = sandbox.env()
    args = ["push", "-r", str(src), "--rate", "0", "-w", "2"]

    def some_parts_acknowledged(frame: list[str]) -> bool:
        return any("meeting" in x and re.search(r" [1-9]\d*\.\d/21\.0 MiB", x) for x in frame)

    cut = run_in_terminal(args, env, columns, interrupt_when=some_parts_acknowledged)
    assert cut.code == 130, "\n".join(cut.final)
    assert_clean(cut)
    said = " ".join(cut.final)
    assert "finishing the parts in flight" in said
    assert "cut short" in said and "not started" in said
    assert "`notion-up resume` finishes the" in said
    assert "resume does not send the" in said and "--skip-existing" in said

    resumed = run_in_terminal(["resume", "--rate", "0"], env, columns)
    assert resumed.code == 0, "\n".join(resumed.final)
    assert_clean(resumed)
    # The resumed file's row starts at what Notion already had, not at 0.
    first = next((x for f in resumed.frames for x in f if "meeting" in x and SIZE.search(x)), None)
    assert first is not None, resumed.frames
    done, total = re.search(r"(\d+\.\d)/(\d+\.\d) MiB", first).groups()
    assert float(done) > 0 and float(total) == 21.0, first
    assert "resuming" in " ".join(resumed.final)


@pytest.mark.parametrize("columns", [80, 200])
def test_a_typed_ctrl_c_echoed_by_the_terminal_leaves_no_row(sandbox, tmp_path, columns):
    slow(sandbox, 2 * MiB)
    src = tmp_path / "in"
    src.mkdir()
    (src / "clip.mp4").write_bytes(os.urandom(12 * MiB))
    (src / "notes.txt").write_bytes(b"n" * 3000)
    args = ["push", "-r", str(src), "--rate", "0", "-w", "2"]

    def rows_drawn(frame: list[str]) -> bool:
        return any("clip.mp4" in x and BAR in x for x in frame)

    cut = run_in_terminal(args, sandbox.env(), columns, interrupt_when=rows_drawn, keyboard=True)
    assert cut.code == 130, "\n".join(cut.final)
    assert_clean(cut)
    assert "finishing the parts in flight" in " ".join(cut.final)


def test_a_single_part_files_bytes_move_on_screen_before_notion_answers(sandbox, tmp_path):
    slow(sandbox, 2 * MiB)
    path = tmp_path / "movie.mp4"
    path.write_bytes(os.urandom(8 * MiB))  # one request: no answer until every byte is in
    run = run_in_terminal(["push", str(path), "--rate", "0"], sandbox.env(), 80)
    assert run.code == 0, "\n".join(run.final)
    shown = [m for f in run.frames for x in f if (m := re.search(r"(\d+\.\d)/8\.0 MiB", x))]
    moving = sorted({float(m.group(1)) for m in shown} - {0.0, 8.0})
    assert len(moving) >= 2, shown  # several counts between nothing and all of it
    assert_clean(run)
