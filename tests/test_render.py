"""Progress output: rich bars in a real pseudo-terminal, plain lines without one."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys

import pytest

from tests.helpers import MiB, make_file, run_cli


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_without_a_terminal_there_are_plain_lines_and_no_control_characters(sandbox, tmp_path):
    path = tmp_path / "clip.mp4"
    make_file(path, 21 * 1000 * 1000)
    done = run_cli(["push", "-v", "--rate", "0", "--stats", "0.05", str(path)], sandbox.env())
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode()
    assert "pushing clip.mp4" in err
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", err + done.stdout.decode())


@pytest.mark.slow
def test_quiet_shows_nothing_but_results(sandbox, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4")
    done = run_cli(["push", "-q", "--rate", "0", str(path)], sandbox.env())
    assert done.returncode == 0
    assert done.stderr == b""
    assert len(done.stdout.decode().splitlines()) == 1


def _meter():
    from notion_up.cli.meter import Meter

    clock = [100.0]
    meter = Meter(clock=lambda: clock[0])
    return meter, clock


def test_two_files_of_one_name_get_a_row_each_and_a_row_goes_when_its_upload_ends():
    from notion_up.cli.rows import frame
    from notion_up.events import FileStarted, PartStarted, UploadEnded

    meter, clock = _meter()
    meter.on(FileStarted(name="notes.txt", size=10, parts=1, key=1))
    meter.on(FileStarted(name="notes.txt", size=20, parts=1, key=2))
    meter.on(PartStarted(name="notes.txt", part_number=1, size=10, key=1))
    meter.on(PartStarted(name="notes.txt", part_number=1, size=20, key=2))
    rows = [r.plain for r in frame(meter, 80, 24, False, clock[0])]
    assert [r.split()[0] for r in rows] == ["notes.txt", "notes.txt"]
    meter.on(UploadEnded("notes.txt", key=1))
    rows = [r.plain for r in frame(meter, 80, 24, False, clock[0])]
    assert len(rows) == 1 and "/20 B" in rows[0]


def test_a_queued_file_gets_no_row_until_its_bytes_move_and_single_parts_get_no_part_row():
    from notion_up.cli.rows import frame
    from notion_up.events import BatchPlanned, FileStarted, PartStarted

    meter, clock = _meter()
    meter.on(BatchPlanned(3, 30 * MiB))
    meter.on(FileStarted(name="waiting.txt", size=10, parts=1, key=1))
    meter.on(FileStarted(name="small.txt", size=10, parts=1, key=2))
    meter.on(PartStarted(name="small.txt", part_number=1, size=10, key=2))
    rows = [r.plain for r in frame(meter, 80, 24, True, clock[0])]
    assert [r.split()[0] for r in rows] == ["small.txt", "total"]
    assert "2 waiting" in rows[-1]


def test_rates_count_acknowledged_bytes_not_bytes_written_to_the_socket():
    from notion_up.events import BatchPlanned, BytesSent, FileStarted, PartDone, PartStarted

    meter, clock = _meter()
    meter.on(BatchPlanned(1, 10 * MiB))
    meter.on(FileStarted(name="clip.mp4", size=10 * MiB, parts=2, key=1))
    meter.on(PartStarted(name="clip.mp4", part_number=1, size=5 * MiB, key=1))
    meter.on(
        BytesSent(name="clip.mp4", part_number=1, nbytes=5 * MiB, key=1)
    )  # the socket took it all at once
    clock[0] += 0.01
    assert meter.rate() is None and meter.transfers[1].rate(clock[0]) is None
    clock[0] += 1.99
    meter.on(PartDone("clip.mp4", 1, key=1))  # Notion answered after 2 s
    assert meter.rate() == pytest.approx(2.5 * MiB)
    assert meter.transfers[1].rate(clock[0]) == pytest.approx(2.5 * MiB)
    assert meter.eta() is None  # one answer is not enough to project from
    clock[0] += 3.0
    assert meter.eta() == pytest.approx(5.0)  # 5 MiB left at 5 MiB in 5 s


def test_a_resumed_upload_starts_at_what_was_sent_which_does_not_inflate_its_rate():
    from notion_up.cli.rows import frame
    from notion_up.events import AlreadySent, FileStarted, PartDone, PartStarted

    meter, clock = _meter()
    meter.on(FileStarted(name="clip.mp4", size=30 * MiB, parts=6, key=1))
    meter.on(AlreadySent("clip.mp4", 20 * MiB, key=1))
    (row,) = [r.plain for r in frame(meter, 80, 24, False, clock[0])]
    assert "20.0/30.0 MiB" in row
    meter.on(PartStarted(name="clip.mp4", part_number=5, size=5 * MiB, key=1))
    clock[0] += 5
    meter.on(PartDone("clip.mp4", 5, key=1))
    assert meter.transfers[1].rate(clock[0]) == pytest.approx(1 * MiB)


def test_a_retried_part_starts_over_on_its_row():
    from notion_up.cli.rows import frame
    from notion_up.events import BytesSent, FileStarted, PartStarted, Retrying

    meter, clock = _meter()
    meter.on(FileStarted(name="clip.mp4", size=30 * MiB, parts=2, key=1))
    meter.on(PartStarted(name="clip.mp4", part_number=1, size=15 * MiB, key=1))
    meter.on(PartStarted(name="clip.mp4", part_number=2, size=15 * MiB, key=1))
    meter.on(BytesSent(name="clip.mp4", part_number=1, nbytes=9 * MiB, key=1))
    meter.on(BytesSent(name="clip.mp4", part_number=2, nbytes=4 * MiB, key=1))
    meter.on(
        Retrying(
            name="clip.mp4",
            what="part 1",
            attempt=1,
            reason="Notion 503",
            wait=0.1,
            key=1,
            part_number=1,
        )
    )
    rows = [r.plain for r in frame(meter, 100, 24, False, clock[0])]
    assert "0.0/15.0 MiB" in rows[1] and "4.0/15.0 MiB" in rows[2]
    # A retried create or complete is no part's: nothing moves back.
    meter.on(
        Retrying(name="clip.mp4", what="complete", attempt=1, reason="Notion 502", wait=0.1, key=1)
    )
    assert [r.plain for r in frame(meter, 100, 24, False, clock[0])] == rows


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_rows_fit_the_width_and_keep_bar_bytes_rate_and_eta_with_a_long_name(columns):
    from notion_up.cli.rows import frame
    from notion_up.events import FileStarted, PartDone, PartStarted

    meter, clock = _meter()
    name = "a-very-long-name-" * 8 + ".tar.gz"
    meter.on(FileStarted(name=name, size=30 * MiB, parts=6, key=1))
    meter.on(PartStarted(name=name, part_number=1, size=5 * MiB, key=1))
    meter.on(PartStarted(name=name, part_number=2, size=5 * MiB, key=1))
    clock[0] += 4
    meter.on(PartDone(name, 1, key=1))
    clock[0] += 4
    rows = [r.plain for r in frame(meter, columns, 24, False, clock[0])]
    assert all(len(r) < columns for r in rows), rows
    assert "…" in rows[0] and rows[0].rstrip().endswith("0:40")
    assert "━" in rows[0] and "5.0/30.0 MiB" in rows[0] and "640.0 KiB/s" in rows[0]
    assert rows[1].lstrip().startswith("└ part 2")


def test_plain_progress_lines_say_files_bytes_of_total_percent_rate_and_eta():
    from notion_up.cli.lines import progress_line
    from notion_up.events import BatchPlanned, FileStarted, PartDone, PartStarted

    meter, clock = _meter()
    meter.on(BatchPlanned(20, 100 * MiB))
    meter.on(FileStarted(name="a.bin", size=100 * MiB, parts=20, key=1))
    meter.on(PartStarted(name="a.bin", part_number=1, size=5 * MiB, key=1))
    clock[0] += 10
    meter.on(PartDone("a.bin", 1, key=1))
    assert "ETA –" in progress_line(meter)  # no time left from a single answer
    clock[0] += 5
    line = progress_line(meter)
    assert line.startswith("progress: 0/20 files, 5.0/100.0 MiB (5%), 341.3 KiB/s, ETA 4:45")


def test_retries_and_errors_on_a_terminal_are_plain_lines_with_attempt_and_delay():
    import io

    from rich.console import Console

    from notion_up.cli.rows import RichRenderer
    from notion_up.events import Retrying

    err = io.StringIO()
    renderer = RichRenderer(Console(file=err, width=100, force_terminal=True))
    renderer(
        Retrying(
            name="clip.mp4",
            what="part 3",
            attempt=2,
            reason="Notion 503 service_unavailable",
            wait=0.5,
            key=1,
        )
    )
    text = err.getvalue()
    assert "retrying clip.mp4 part 3 (attempt 2) in 0.5s: Notion 503" in text
    assert ".py:" not in text and not re.search(r"\d\d:\d\d:\d\d", text)


def test_a_finished_part_leaves_its_files_rows_at_once():
    from notion_up.cli.rows import frame
    from notion_up.events import BytesSent, FileStarted, PartDone, PartStarted

    meter, clock = _meter()
    meter.on(FileStarted(name="clip.mp4", size=30 * MiB, parts=6, key=1))
    meter.on(PartStarted(name="clip.mp4", part_number=1, size=5 * MiB, key=1))
    meter.on(BytesSent(name="clip.mp4", part_number=1, nbytes=5 * MiB, key=1))
    assert "awaiting reply" in frame(meter, 80, 24, False, clock[0])[1].plain
    meter.on(PartDone("clip.mp4", 1, key=1))
    assert [r.plain.split()[0] for r in frame(meter, 80, 24, False, clock[0])] == ["clip.mp4"]


def test_lines_printed_from_worker_threads_never_deadlock_with_the_redraw():
    """Workers print lines while rich's refresh thread redraws the rows (it takes rich's lock,
    then asks for the rows): the renderer must never hold its own lock while calling rich."""
    import io
    import threading
    import time

    from rich.console import Console

    from notion_up.cli.rows import RichRenderer
    from notion_up.events import BytesSent, FileStarted, Notice, PartStarted

    err = io.StringIO()
    renderer = RichRenderer(Console(file=err, width=100, force_terminal=True))
    renderer.live.refresh_per_second = 200
    renderer(FileStarted(name="clip.mp4", size=30 * MiB, parts=6, key=1))
    renderer(PartStarted(name="clip.mp4", part_number=1, size=5 * MiB, key=1))
    renderer.start()

    def work(n: int) -> None:
        for i in range(300):
            renderer(BytesSent(name="clip.mp4", part_number=1, nbytes=1024, key=1))
            renderer(Notice(f"worker {n} line {i}"))

    workers = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(4)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 30
    for w in workers:
        w.join(timeout=max(0.1, deadline - time.monotonic()))
    stuck = [w for w in workers if w.is_alive()]
    if not stuck:
        renderer.stop()
    assert stuck == [], "a worker is blocked printing: lock-order deadlock with the redraw"
    assert err.getvalue().count("line 299") == 4


def test_a_single_part_files_numbers_move_with_the_bytes_sent_before_its_answer():
    from notion_up.cli.rows import frame
    from notion_up.events import BytesSent, FileStarted, PartStarted

    meter, clock = _meter()
    meter.on(FileStarted(name="movie.mp4", size=18 * MiB, parts=1, key=1))
    meter.on(PartStarted(name="movie.mp4", part_number=1, size=18 * MiB, key=1))
    meter.on(BytesSent(name="movie.mp4", part_number=1, nbytes=6 * MiB, key=1))
    clock[0] += 1
    (row,) = [r.plain for r in frame(meter, 80, 24, False, clock[0])]
    assert "6.0/18.0 MiB" in row
    assert meter.transfers[1].rate(clock[0]) is None  # the rate waits for Notion's answer
    meter.on(BytesSent(name="movie.mp4", part_number=1, nbytes=3 * MiB, key=1))
    (row,) = [r.plain for r in frame(meter, 80, 24, False, clock[0])]
    assert "9.0/18.0 MiB" in row


def test_a_multi_part_files_numbers_add_its_parts_in_flight_and_the_total_follows():
    from notion_up.cli.rows import frame
    from notion_up.events import BatchPlanned, BytesSent, FileStarted, PartDone, PartStarted

    meter, clock = _meter()
    meter.on(BatchPlanned(2, 40 * MiB))
    meter.on(FileStarted(name="big.bin", size=30 * MiB, parts=6, key=1))
    for n in (1, 2):
        meter.on(PartStarted(name="big.bin", part_number=n, size=5 * MiB, key=1))
    meter.on(BytesSent(name="big.bin", part_number=1, nbytes=5 * MiB, key=1))
    meter.on(PartDone("big.bin", 1, key=1))
    meter.on(BytesSent(name="big.bin", part_number=2, nbytes=int(3.8 * MiB), key=1))
    rows = [r.plain for r in frame(meter, 80, 24, True, clock[0])]
    assert "8.8/30.0 MiB" in rows[0]
    assert "3.8/5.0 MiB" in rows[1] and "sending" in rows[1]
    assert rows[-1].startswith("total") and "8.8/40.0 MiB" in rows[-1]


def test_no_time_left_before_a_few_seconds_of_answers():
    from notion_up.cli.meter import WARM_UP_SECONDS
    from notion_up.events import BatchPlanned, FileStarted, PartDone, PartStarted

    meter, clock = _meter()
    meter.on(BatchPlanned(1, 100 * MiB))
    meter.on(FileStarted(name="a.bin", size=100 * MiB, parts=20, key=1))
    for n in range(1, 5):
        meter.on(PartStarted(name="a.bin", part_number=n, size=5 * MiB, key=1))
    clock[0] += 0.5
    meter.on(PartDone("a.bin", 1, key=1))  # a quick first answer: 10 MiB/s, for now
    assert meter.rate() is not None
    clock[0] += WARM_UP_SECONDS - 0.1
    assert meter.eta() is None and meter.transfers[1].eta(clock[0]) is None
    meter.on(PartDone("a.bin", 2, key=1))
    clock[0] += 0.2
    assert meter.eta() is not None and meter.transfers[1].eta(clock[0]) is not None


def test_the_name_column_stays_put_when_a_long_name_arrives():
    from notion_up.cli.rows import frame
    from notion_up.events import FileStarted, PartStarted

    meter, clock = _meter()
    meter.on(FileStarted(name="a.txt", size=10 * MiB, parts=1, key=1))
    meter.on(PartStarted(name="a.txt", part_number=1, size=10 * MiB, key=1))
    for columns in (80, 200):
        before = frame(meter, columns, 24, False, clock[0])[0].plain
        long = "a-name-that-goes-on-and-on-" * 4 + ".mp4"
        meter.on(FileStarted(name=long, size=10 * MiB, parts=1, key=columns))
        meter.on(PartStarted(name=long, part_number=1, size=10 * MiB, key=columns))
        rows = [r.plain for r in frame(meter, columns, 24, False, clock[0])]
        assert rows[0] == before
        assert {r.index("━") for r in rows} == {before.index("━")}


def test_small_files_answers_give_no_rate_while_big_parts_are_still_on_their_way():
    from notion_up.events import BatchPlanned, BytesSent, FileStarted, PartDone, PartStarted

    meter, clock = _meter()
    meter.on(BatchPlanned(2, 10 * MiB + 3000))
    meter.on(FileStarted(name="big.bin", size=10 * MiB, parts=2, key=1))
    meter.on(FileStarted(name="note.txt", size=3000, parts=1, key=2))
    meter.on(PartStarted(name="big.bin", part_number=1, size=5 * MiB, key=1))
    clock[0] += 0.5
    meter.on(PartStarted(name="note.txt", part_number=1, size=3000, key=2))
    meter.on(PartDone("note.txt", 1, key=2))  # the small file's answer comes first
    for _ in range(8):  # 8 s of the big part moving at 512 KiB/s, no answer yet
        clock[0] += 1
        meter.on(BytesSent(name="big.bin", part_number=1, nbytes=512 * 1024, key=1))
        assert meter.rate() is None and meter.eta() is None  # not 3 KiB/s and hours left
    clock[0] += 1.5
    meter.on(PartDone("big.bin", 1, key=1))
    assert meter.rate() == pytest.approx((5 * MiB + 3000) / 10)
