"""A large file pulled and verified in byte ranges over several connections, hashed in order."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from pathlib import Path

import pytest
import requests

from notion_up.download.bounded import BodyTooLong
from notion_up.download.fetch import Fetcher
from notion_up.download.ranges import plan
from notion_up.download.sinks import FileSink, StreamSink, target_path
from notion_up.upload.engine import Uploader
from notion_up.upload.facts import RunFacts
from notion_up.upload.source import open_stream
from notion_up.upload.split import Splitter
from tests.helpers import KiB, MiB, Recorder, Sandbox, content
from tests.helpers import push_in_process as push
from tests.helpers import run_in_process as run

RANGE = 256 * KiB
CHUNK = 64 * KiB
WORKERS = 4
SIZE = 3 * MiB + 123  # 13 ranges, the last one short


class RecordingSession(requests.Session):
    """Keeps the Range header of every download it makes (one session per connection)."""

    def __init__(self, ranges: list[str | None]) -> None:
        super().__init__()
        self.ranges = ranges

    def get(self, url, headers=None, **kwargs):  # type: ignore[override]
        self.ranges.append((headers or {}).get("Range"))
        return super().get(url, headers=headers, **kwargs)


class StallingSession(RecordingSession):
    """Holds back the body of range 0 until every other range was asked for (or 1 s passed).

    The other ranges run ahead of the hashed prefix meanwhile: only the window stops them.
    """

    def __init__(self, ranges: list[str | None], others: int, gate: threading.Event) -> None:
        super().__init__(ranges)
        self.others = others
        self.gate = gate

    def get(self, url, headers=None, **kwargs):  # type: ignore[override]
        response = super().get(url, headers=headers, **kwargs)
        if sum(r is not None for r in self.ranges) > self.others:
            self.gate.set()
        if (headers or {}).get("Range", "").startswith("bytes=0-"):
            original = response.iter_content

            def stalled(chunk_size=1, decode_unicode=False):
                self.gate.wait(1.0)
                yield from original(chunk_size)

            response.iter_content = stalled  # type: ignore[method-assign]
        return response


def ranged(ws, ranges: list | None = None, **kwargs) -> Fetcher:  # noqa: F811
    """A restorer that fetches files of two ranges or more in ranges of 256 KiB."""
    if ranges is not None:
        kwargs["session_factory"] = lambda: RecordingSession(ranges)
    kwargs.setdefault("workers", WORKERS)
    kwargs.setdefault("range_size", RANGE)
    kwargs.setdefault("chunk_size", CHUNK)
    return ws.restorer(**kwargs)


def pull_to(restorer: Fetcher, key: str, folder: Path):
    folder.mkdir(exist_ok=True)
    return restorer.restore(
        restorer.finder.find(key), lambda n: FileSink(target_path(str(folder), n, force=False))
    )


def asked(ranges: list[str | None]) -> list[str]:
    return [f"bytes={lo}-{hi - 1}" for lo, hi in ranges]


@pytest.fixture
def slow(ws):
    """Each download connection gets 4 MiB/s: ranges overlap in time, as on a real host."""
    ws.server.options.download_bandwidth = 4 * MiB
    return ws


# -- parallel ranges -------------------------------------------------------------------------
def test_parallel_ranges_give_back_identical_bytes_and_hash_into_the_target_file(slow, tmp_path):
    data = content(SIZE, seed=11)
    pushed = slow.push_bytes(data, "big.bin")
    ranges: list[str | None] = []
    watcher = Recorder()
    restorer = ranged(slow, ranges, listener=watcher)
    slow.server.reset_stats()
    done = pull_to(restorer, pushed.file_id, tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert done.sha512 == hashlib.sha512(data).hexdigest() and done.size == SIZE
    assert sorted(ranges) == sorted(asked(plan(SIZE, RANGE)))  # each range once, nothing more
    assert watcher.nbytes == SIZE and watcher.retries == []  # bytes counted once
    assert slow.server.stats()["max_concurrent_downloads"] >= 2
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["big.bin"]  # no temporary left


def test_ranges_streamed_to_stdout_arrive_in_order(slow):
    data = content(SIZE, seed=12)
    pushed = slow.push_bytes(data, "big.bin")
    restorer = ranged(slow)
    out = io.BytesIO()
    slow.server.reset_stats()
    restorer.restore(restorer.finder.find(pushed.file_id), lambda _n: StreamSink(out))
    assert out.getvalue() == data
    assert slow.server.stats()["max_concurrent_downloads"] >= 2


@pytest.mark.parametrize("size", [2 * MiB, 8 * MiB + 5])
def test_verify_in_ranges_keeps_at_most_a_window_of_chunks_whatever_the_file_size(slow, size):
    pushed = slow.push_bytes(content(size, seed=13), "big.bin")
    ranges: list[str | None] = []
    gate = threading.Event()
    others = len(plan(size, RANGE)) - 1
    # One list for every connection's session: the count is of the whole download.
    restorer = ranged(slow, session_factory=lambda: StallingSession(ranges, others, gate))
    slow.server.reset_stats()
    assert restorer.check(pushed.file_id).status == "verified"
    # workers × range size ahead of the hashed prefix, plus the chunk at the prefix itself.
    assert 0 < restorer.peak_buffered <= WORKERS * RANGE + CHUNK
    assert slow.server.stats()["max_concurrent_downloads"] >= 2


def test_a_split_file_s_large_pieces_come_in_ranges_at_their_place(ws, tmp_path):  # noqa: F811
    data = content(2 * MiB + 3 * RANGE + 7, seed=14)
    with Uploader(ws.client, RunFacts(ws.databases, ws.max_file_size)) as up:
        pushed = Splitter(up, split_size=MiB).push(open_stream(io.BytesIO(data), "disk.img"))
    ranges: list[str | None] = []
    done = pull_to(ranged(ws, ranges), pushed.file_id, tmp_path / "out")
    assert (tmp_path / "out" / "disk.img").read_bytes() == data
    assert done.sha512 == hashlib.sha512(data).hexdigest() and done.pieces == 3
    assert asked(plan(MiB, RANGE))[1] in ranges  # a piece of four ranges came in ranges


# -- one stream ------------------------------------------------------------------------------
def test_a_small_file_is_one_plain_stream(ws, tmp_path):  # noqa: F811
    data = content(2 * RANGE - 1, seed=15)
    pushed = ws.push_bytes(data, "small.bin")
    ranges: list[str | None] = []
    pull_to(ranged(ws, ranges), pushed.file_id, tmp_path / "out")
    assert (tmp_path / "out" / "small.bin").read_bytes() == data
    assert ranges == [None]


def test_one_worker_is_one_plain_stream(ws, tmp_path):  # noqa: F811
    data = content(SIZE, seed=16)
    pushed = ws.push_bytes(data, "big.bin")
    ranges: list[str | None] = []
    pull_to(ranged(ws, ranges, workers=1), pushed.file_id, tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert ranges == [None]


def test_a_host_that_ignores_range_gets_one_stream_and_gives_the_right_bytes(ws, tmp_path):  # noqa: F811
    data = content(SIZE, seed=17)
    pushed = ws.push_bytes(data, "big.bin")
    ws.server.options.ignore_range = True
    ranges: list[str | None] = []
    watcher = Recorder()
    done = pull_to(ranged(ws, ranges, listener=watcher), pushed.file_id, tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert done.sha512 == hashlib.sha512(data).hexdigest()
    # The first ranged answer (200, the whole body) decided it: not a byte of it was kept.
    assert ranges == [f"bytes=0-{RANGE - 1}", None]
    assert watcher.nbytes == SIZE


# -- trouble ---------------------------------------------------------------------------------
def test_a_range_cut_midway_is_resumed_from_where_it_stopped(ws, tmp_path):  # noqa: F811
    data = content(SIZE, seed=18)
    pushed = ws.push_bytes(data, "big.bin")
    ws.server.options.download_cut_after = 2 * CHUNK
    ws.server.options.download_cuts = 1
    ranges: list[str | None] = []
    watcher = Recorder()
    done = pull_to(ranged(ws, ranges, listener=watcher), pushed.file_id, tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert done.sha512 == hashlib.sha512(data).hexdigest()
    # The first answer long enough was cut: range 0, re-requested from byte 128 KiB only.
    assert f"bytes={2 * CHUNK}-{RANGE - 1}" in ranges
    assert len(ranges) == len(plan(SIZE, RANGE)) + 1
    assert any(f"resuming at byte {2 * CHUNK}" in r for r in watcher.retries)
    assert watcher.nbytes == SIZE  # the resumed range's bytes are not counted twice


def test_an_expired_url_is_refreshed_once_for_all_ranges(ws, tmp_path):  # noqa: F811
    data = content(SIZE, seed=19)
    pushed = ws.push_bytes(data, "big.bin")
    watcher = Recorder()
    restorer = ranged(ws, listener=watcher)
    remote = restorer.finder.find(pushed.file_id)
    ws.server.expire_download_urls()
    out = io.BytesIO()
    restorer.restore(remote, lambda _n: StreamSink(out))
    assert out.getvalue() == data
    assert sum("refreshing" in r for r in watcher.retries) == 1


def test_a_host_sending_more_than_a_range_is_refused_and_nothing_is_kept(ws, tmp_path):  # noqa: F811
    pushed = ws.push_bytes(content(SIZE, seed=20), "big.bin")
    ws.server.options.download_overrun = 1000  # no Content-Length: only the close ends it
    out = tmp_path / "out"
    with pytest.raises(BodyTooLong, match="more than the"):
        pull_to(ranged(ws), pushed.file_id, out)
    assert list(out.iterdir()) == []


def test_damaged_bytes_fetched_in_ranges_fail_pull_and_verify_and_leave_no_file(
    sandbox: Sandbox, tmp_path
):
    data = content(11 * MiB, seed=21)  # over two default ranges (5 MiB parts)
    line = push(sandbox, "-", "--name", "big.bin", stdin=data)
    sandbox.server.corrupt_upload(line["file_upload_id"], offset=7 * MiB + 3)
    sandbox.server.reset_stats()
    out = tmp_path / "out"
    out.mkdir()
    pulled = run(sandbox, "pull", line["hash"], "-o", str(out), "--workers", "3")
    assert pulled.exit_code == 1, pulled.stderr
    assert "do not match" in pulled.stderr
    assert list(out.iterdir()) == []
    assert sandbox.server.stats()["requests"]["download"] == {"206": 3}  # it was ranged
    verified = run(sandbox, "verify", line["file_id"], "--json")
    assert verified.exit_code == 1
    assert json.loads(verified.stdout)["status"] == "mismatched"
