"""Every upload sized to finish before Notion expires it, at the speed the link achieves."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from notion_up.upload.pace import FINISH, MARGIN, Pace
from tests.helpers import run_cli

MiB = 1024 * 1024


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_nothing_is_planned_before_a_speed_is_known():
    pace = Pace()
    assert pace.rate is None and pace.most_bytes(5 * MiB, 4) is None
    assert not pace.late(time.monotonic() + 1, 100, 5 * MiB, 4)


def test_the_rate_is_what_parts_took_and_a_measured_one_replaces_the_journals():
    pace = Pace.from_cache({"rate": 1.0, "window": 3600})
    assert pace.rate == 1.0
    pace.part_sent(3 * MiB, 2.0)
    pace.part_sent(1 * MiB, 2.0)
    pace.part_sent(100, 5.0)  # a small request's time is its round trip: not the link's speed
    assert pace.rate == MiB
    assert Pace.from_cache(pace.to_cache()).rate == MiB


def test_the_window_is_learnt_from_a_fresh_uploads_expiry_time():
    pace = Pace()
    deadline = pace.created(iso_in(30))
    assert deadline is not None and 28 < deadline - time.monotonic() <= 30
    assert 28 < pace.window <= 30
    assert pace.created(None) is None and pace.created("not a time") is None


def test_an_upload_is_at_most_what_fits_its_window_in_whole_rounds_of_parts():
    part = 5 * MiB
    pace = Pace(rate=300_000, window=30)
    usable = 30 * MARGIN - FINISH
    # One round of four parts fits (17.5 s each); two would not.
    assert pace.most_bytes(part, 4) == 4 * part
    # Too slow for any multi-part upload: a single-part one of what a connection sends.
    slow = Pace(rate=100_000, window=30)
    assert slow.most_bytes(part, 4) == int(100_000 * usable)
    # A fast link is held back only by the hour, never below one request's 20 MB.
    assert Pace(rate=50 * MiB, window=3600).most_bytes(part, 4) > 5 * 1024**3


def test_a_push_is_late_when_its_remaining_rounds_end_past_the_deadline():
    pace = Pace(rate=MiB)
    soon = time.monotonic() + 8
    assert not pace.late(soon, 4, MiB, 4)  # one round of 1 s
    assert pace.late(soon, 40, MiB, 4)  # ten rounds
    assert not pace.late(None, 40, MiB, 4)


@pytest.mark.slow
def test_on_a_link_too_slow_for_one_upload_a_file_is_stored_in_pieces_that_finish(
    sandbox, tmp_path
):
    """About 1 MB/s per connection and a 10 s expiry: five 5 MiB parts need two rounds of
    ~5.2 s, past the expiry; one round fits. The first (cold) push learns the speed on the
    first round, stops that upload before it expires and stores the file in pieces; the next
    push plans the pieces from the start with the speed the journal kept."""
    opts = sandbox.server.options
    opts.bandwidth, opts.expiry_seconds = 1_000_000, 10
    data = os.urandom(25 * MiB)
    path = tmp_path / "backup.bin"
    path.write_bytes(data)
    env = sandbox.env(NOTION_UP_STATE_DIR=str(tmp_path / "state"))
    for attempt in ("cold", "warm"):
        done = run_cli(["push", "--json", "--rate", "0", str(path)], env, timeout=120)
        assert done.returncode == 0, f"{attempt}: {done.stderr.decode()}"
        line = json.loads(done.stdout.decode().splitlines()[-1])
        assert line["split"] is True and [p["size"] for p in line["pieces"]] == [20 * MiB, 5 * MiB]
        notices = [x for x in done.stderr.decode().splitlines() if "would not finish" in x]
        assert len(notices) == 1, done.stderr.decode()
        out = tmp_path / f"out-{attempt}"
        pulled = run_cli(["pull", line["hash"], "-o", str(out)], env)
        assert pulled.returncode == 0 and out.read_bytes() == data
    # Nothing was sent to an upload that had expired.
    assert "400" not in sandbox.server.stats()["requests"]["send"]
