"""The upload engine: parts, order, concurrency, memory bound, names, streams, journal, resume."""

from __future__ import annotations

import hashlib
import io
import os
import random
import threading
from pathlib import Path

import pytest

from notion_up.errors import APIError, Interrupted, StreamSizeError
from notion_up.events import FileStarted, PartDone, Stage
from notion_up.notion.client import NotionClient
from notion_up.notion.records import Databases, RecordError
from notion_up.notion.retry import RateLimiter
from notion_up.state.journal import Journal
from notion_up.upload import sender as sender_module
from notion_up.upload.engine import Uploader
from notion_up.upload.facts import RunFacts
from notion_up.upload.pool import Job, push_all, push_job
from notion_up.upload.runs import EngineOptions, PushResult
from notion_up.upload.source import Source, open_file, open_stream
from tests.helpers import MB, MiB, salted
from tests.helpers import text_of as content

API = "https://api.notion.com"
TOKEN = "ntn_ENGINE_TEST_TOKEN_0000"
DATABASES = Databases("files-ds", "index-ds", "user-db")
WAIT = 10  # safety timeout for events: a broken engine fails the test instead of hanging it


def make_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def write_file(path: Path, size: int, seed: int = 0) -> bytes:
    data = make_bytes(size, seed)
    path.write_bytes(data)
    return data


class FakeClient:
    """The client calls the engine makes, answered in memory; every call is logged in order."""

    base_url = "fake://notion"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple] = []
        self.creates: list[dict] = []
        self.parts: dict[int | None, list[tuple[str, str, str, bytes]]] = {}
        self.pages: dict[str, list[dict]] = {}
        self.upload_status: dict[str, str] = {}
        self.n = 0
        self.page_failures: list[BaseException] = []

    def _log(self, *call) -> None:
        with self.lock:
            self.calls.append(call)

    def kinds(self) -> list[str]:
        return [c[0] for c in self.calls]

    def create_file_upload(self, body: dict, on_retry=None) -> dict:
        with self.lock:
            self.n += 1
            upload_id = f"upload-{self.n}"
            self.creates.append(body)
            self.upload_status[upload_id] = "pending"
        self._log("create", upload_id, body)
        return {"object": "file_upload", "id": upload_id, "expiry_time": "2099-01-01T00:00:00Z"}

    def on_send(self, part_number: int | None, data) -> None:
        """Hook for tests; runs inside send before the bytes are taken."""

    def send_file_upload(
        self,
        upload_id,
        data,
        filename,
        content_type,
        part_number=None,
        on_progress=None,
        on_retry=None,
    ) -> dict:
        self._log("send-start", upload_id, part_number)
        self.on_send(part_number, data)
        payload = bytes(data)
        with self.lock:
            self.parts.setdefault(part_number, []).append(
                (upload_id, filename, content_type, payload)
            )
            if part_number is None:
                self.upload_status[upload_id] = "uploaded"
        self._log("send", upload_id, part_number)
        return {"object": "file_upload", "id": upload_id}

    def complete_file_upload(self, upload_id, on_retry=None) -> dict:
        self._log("complete", upload_id)
        with self.lock:
            self.upload_status[upload_id] = "uploaded"
        return {"object": "file_upload", "id": upload_id, "status": "uploaded"}

    def retrieve_file_upload(self, upload_id) -> dict:
        self._log("retrieve", upload_id)
        return {"id": upload_id, "status": self.upload_status.get(upload_id, "pending")}

    def create_page(self, body: dict) -> dict:
        ds = body["parent"]["data_source_id"]
        self._log("page", ds, body)
        if self.page_failures:
            raise self.page_failures.pop(0)
        with self.lock:
            page_id = f"{ds}-page-{len(self.pages.get(ds, [])) + 1}"
            self.pages.setdefault(ds, []).append({"id": page_id, **body})
        return {"object": "page", "id": page_id}

    def query_data_source(self, data_source_id: str, body: dict) -> dict:
        self._log("query", data_source_id, body)
        flt = body["filter"]
        hits = [
            p
            for p in self.pages.get(data_source_id, [])
            if content(p["properties"][flt["property"]]) == flt["rich_text"]["equals"]
        ]
        return {"results": [{"id": p["id"]} for p in hits]}

    def sent_numbers(self) -> list[int | None]:
        return [c[2] for c in self.calls if c[0] == "send"]


def uploader(client, workers=2, part_size=5 * MiB, **kw) -> Uploader:
    return Uploader(
        client, RunFacts(DATABASES), EngineOptions(workers=workers, part_size=part_size), **kw
    )


def push_many(up: Uploader, jobs: list[Job], on_result) -> None:
    """A batch through the file pool, each job pushed by the uploader."""
    push_all(
        jobs,
        lambda job: push_job(job, up.push, up.emit),
        on_result,
        workers=up.options.workers,
        cancel=up.cancel,
    )


def check_records(client: FakeClient, result, name: str, data: bytes, upload_name: str) -> None:
    """One page and one index entry whose every property matches the file."""
    (page,) = client.pages["files-ds"]
    (entry,) = client.pages["index-ds"]
    props = page["properties"]
    sha = hashlib.sha512(data).hexdigest()
    salt = content(props["salt"])
    assert len(salt) == 64
    assert content(props["filehash"]) == salted(sha, salt) == result.hash.salted
    assert result.hash.sha512 == sha
    assert content(props["filename"]) == name
    assert props["filesize"] == {"number": len(data)}
    assert props["file_data"] == {
        "files": [
            {
                "type": "file_upload",
                "file_upload": {"id": result.file_upload_id},
                "name": upload_name,
            }
        ]
    }
    assert props["is_public"] == {"checkbox": False}
    assert props["is_visible"] == {"checkbox": True}
    assert props["is_folder"] == {"checkbox": False}
    assert content(props["folder_path"]) == "/"
    idx = entry["properties"]
    assert content(idx["Original Filename"]) == name
    assert content(idx["Salted SHA512 Hash"]) == salted(sha, salt)
    assert content(idx["File Page ID"]) == page["id"] == result.file_id
    assert content(idx["User Database ID"]) == "user-db"
    assert idx["Is Public"] == {"checkbox": False}
    assert result.index_id == entry["id"]


# -- single and multi part ------------------------------------------------------------------
def test_single_part_file_is_created_sent_once_and_recorded(tmp_path):
    data = write_file(tmp_path / "notes.txt", 123_456)
    client = FakeClient()
    with uploader(client) as up:
        result = up.push(open_file(str(tmp_path / "notes.txt")))
    assert client.kinds() == ["create", "send-start", "send", "page", "page"]
    assert client.creates == [
        {"mode": "single_part", "filename": "notes.txt", "content_type": "text/plain"}
    ]
    ((upload_id, filename, ctype, payload),) = client.parts[None]
    assert (upload_id, filename, ctype) == (result.file_upload_id, "notes.txt", "text/plain")
    assert payload == data
    assert (result.plan.mode, result.plan.count) == ("single_part", 1)
    check_records(client, result, "notes.txt", data, "notes.txt")


def test_empty_file_goes_up_as_an_empty_single_part(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    client = FakeClient()
    with uploader(client) as up:
        result = up.push(open_file(str(tmp_path / "empty.txt")))
    assert client.parts[None][0][3] == b""
    check_records(client, result, "empty.txt", b"", "empty.txt")


def test_multi_part_over_requests_mock_sends_each_part_once_then_completes_then_records(
    tmp_path, requests_mock
):
    size = 20 * MiB + 1  # over 20 MB: multi-part; 10 MiB parts -> 10 MiB, 10 MiB, 1 B
    part_size = 10 * MiB
    data = write_file(tmp_path / "movie.mp4", size, seed=7)
    lock = threading.Lock()
    sends: list[tuple[str, str, str, bytes]] = []

    def on_send(request, context):
        # Parse while the engine still holds the buffer.
        ctype = request.headers["Content-Type"]
        boundary = ctype.split("boundary=", 1)[1].encode()
        body = b"".join(bytes(c) for c in request.body)
        sections = body.split(b"--" + boundary)[1:-1]
        fields = {}
        for section in sections:
            head, _, value = section[2:-2].partition(b"\r\n\r\n")
            name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
            fields[name] = (head.decode(), value)
        with lock:
            sends.append(
                (
                    fields["part_number"][1].decode(),
                    fields["file"][0],
                    request.headers["Content-Type"],
                    fields["file"][1],
                )
            )
        return {"object": "file_upload", "id": "fu-1", "status": "pending"}

    page_ids = iter(["page-1", "index-1"])
    requests_mock.post(f"{API}/v1/file_uploads", json={"object": "file_upload", "id": "fu-1"})
    requests_mock.post(f"{API}/v1/file_uploads/fu-1/send", json=on_send)
    requests_mock.post(f"{API}/v1/file_uploads/fu-1/complete", json={"id": "fu-1"})
    requests_mock.post(f"{API}/v1/pages", json=lambda r, c: {"id": next(page_ids)})
    client = NotionClient(TOKEN, API, limiter=RateLimiter(rate=0), sleep=lambda s: None)
    events = []
    with Uploader(
        client,
        RunFacts(DATABASES),
        EngineOptions(workers=3, part_size=part_size),
        listener=events.append,
    ) as up:
        result = up.push(open_file(str(tmp_path / "movie.mp4")))

    paths = [(r.method, r.path) for r in requests_mock.request_history]
    assert paths[0] == ("POST", "/v1/file_uploads")
    assert paths[1:4] == [("POST", "/v1/file_uploads/fu-1/send")] * 3
    assert paths[4:] == [
        ("POST", "/v1/file_uploads/fu-1/complete"),
        ("POST", "/v1/pages"),
        ("POST", "/v1/pages"),
    ]
    assert requests_mock.request_history[0].json() == {
        "mode": "multi_part",
        "filename": "movie.mp4",
        "content_type": "video/mp4",
        "number_of_parts": 3,
    }
    assert sorted(int(s[0]) for s in sends) == [1, 2, 3]
    for number, file_head, _, payload in sends:
        n = int(number)
        assert payload == data[(n - 1) * part_size : n * part_size]
        assert 'filename="movie.mp4"' in file_head and "Content-Type: video/mp4" in file_head
    page_body = requests_mock.request_history[5].json()
    index_body = requests_mock.request_history[6].json()
    assert page_body["parent"] == {"type": "data_source_id", "data_source_id": "files-ds"}
    assert index_body["parent"] == {"type": "data_source_id", "data_source_id": "index-ds"}
    fake = FakeClient()
    fake.pages = {
        "files-ds": [{"id": "page-1", **page_body}],
        "index-ds": [{"id": "index-1", **index_body}],
    }
    check_records(fake, result, "movie.mp4", data, "movie.mp4")
    assert (result.plan.mode, result.plan.count, result.plan.part_size) == (
        "multi_part",
        3,
        part_size,
    )
    assert FileStarted(name="movie.mp4", size=size, parts=3) in events
    assert sorted(e.part_number for e in events if isinstance(e, PartDone)) == [1, 2, 3]
    stages = [e.stage for e in events if isinstance(e, Stage)]
    assert stages == ["completing", "recording"]


def test_multi_part_with_a_fake_client_sends_exact_slices_and_completes_after_the_last(tmp_path):
    size = 20 * MB + 1
    data = write_file(tmp_path / "scan.pdf", size, seed=3)
    client = FakeClient()
    with uploader(client, workers=3) as up:
        result = up.push(open_file(str(tmp_path / "scan.pdf")))
    assert result.plan.count == 4
    assert client.creates[0]["number_of_parts"] == 4
    assert sorted(client.sent_numbers()) == [1, 2, 3, 4]
    for n in (1, 2, 3, 4):
        ((_, filename, ctype, payload),) = client.parts[n]
        assert (filename, ctype) == ("scan.pdf", "application/pdf")
        assert payload == data[(n - 1) * 5 * MiB : n * 5 * MiB]
    kinds = client.kinds()
    assert kinds.count("complete") == 1
    last_send = max(i for i, k in enumerate(kinds) if k == "send")
    assert kinds.index("complete") > last_send
    assert kinds[-2:] == ["page", "page"]
    check_records(client, result, "scan.pdf", data, "scan.pdf")


def test_parts_may_finish_out_of_order(tmp_path):
    data = write_file(tmp_path / "a.pdf", 20 * MiB + 1, seed=5)
    part3_done = threading.Event()

    class OutOfOrder(FakeClient):
        def on_send(self, part_number, data):
            if part_number == 1:
                assert part3_done.wait(WAIT), "part 3 never finished while part 1 waited"

        def send_file_upload(
            self,
            upload_id,
            data,
            filename,
            content_type,
            part_number=None,
            on_progress=None,
            on_retry=None,
        ):
            result = super().send_file_upload(
                upload_id, data, filename, content_type, part_number, on_progress, on_retry
            )
            if part_number == 3:
                part3_done.set()
            return result

    client = OutOfOrder()
    with uploader(client, workers=2, part_size=10 * MiB) as up:
        result = up.push(open_file(str(tmp_path / "a.pdf")))
    finished = client.sent_numbers()
    assert sorted(finished) == [1, 2, 3]
    assert finished.index(3) < finished.index(1)
    assert client.kinds().count("complete") == 1
    assert client.kinds().index("complete") > client.calls.index(("send", "upload-1", 1))
    check_records(client, result, "a.pdf", data, "a.pdf")


def test_a_failing_part_cancels_the_rest_and_nothing_is_completed_or_recorded(tmp_path):
    write_file(tmp_path / "big.pdf", 9 * 5 * MiB + 1, seed=9)  # 10 parts
    failed = threading.Event()
    error = APIError(400, "validation_error", "part rejected", "req-1")

    class FailingPart(FakeClient):
        def on_send(self, part_number, data):
            if part_number == 2:
                failed.set()
                raise error
            failed.wait(WAIT)

    client = FailingPart()
    with uploader(client, workers=2) as up, pytest.raises(APIError) as caught:
        up.push(open_file(str(tmp_path / "big.pdf")))
    assert caught.value is error
    assert "upload upload-1 is unfinished" in (caught.value.hint or "")
    kinds = client.kinds()
    assert "complete" not in kinds and "page" not in kinds and "query" not in kinds
    started = [c[2] for c in client.calls if c[0] == "send-start"]
    assert started.count(2) == 1
    assert len(started) < 10, f"every part was still sent: {started}"


def test_at_most_workers_plus_one_part_buffers_exist_at_once(tmp_path):
    import tracemalloc

    workers, part_size, parts = 2, 5 * MiB, 10
    size = (parts - 1) * part_size + 1
    data = write_file(tmp_path / "ten.pdf", size, seed=11)
    slices = {
        n: hashlib.sha512(data[(n - 1) * part_size : n * part_size]).hexdigest()
        for n in range(1, parts + 1)
    }
    del data
    cond = threading.Condition()
    state = {"read": 0, "sent": 0, "max_ahead": 0, "in_send": 0, "max_in_send": 0}

    class CountingSource(Source):
        def readinto(self, buffer):
            with cond:
                state["read"] += 1
                state["max_ahead"] = max(state["max_ahead"], state["read"] - state["sent"])
                cond.notify_all()
            return super().readinto(buffer)

    class Pressing(FakeClient):
        """Each send waits until the reader is as far ahead as allowed, to press the bound."""

        def send_file_upload(
            self,
            upload_id,
            data,
            filename,
            content_type,
            part_number=None,
            on_progress=None,
            on_retry=None,
        ):
            with cond:
                state["in_send"] += 1
                state["max_in_send"] = max(state["max_in_send"], state["in_send"])
                cond.wait_for(
                    lambda: state["read"] - state["sent"] >= workers + 1 or state["read"] == parts,
                    timeout=WAIT,
                )
            digest = hashlib.sha512(data).hexdigest()  # hash, don't copy: memory stays flat
            with self.lock:
                self.parts.setdefault(part_number, []).append((upload_id, "", "", digest))
            self._log("send", upload_id, part_number)
            with cond:
                state["in_send"] -= 1
                state["sent"] += 1
                cond.notify_all()
            return {"id": upload_id}

    plain = open_file(str(tmp_path / "ten.pdf"))
    source = CountingSource(
        name=plain.name, size=plain.size, stream=plain.stream, path=plain.path, mtime=plain.mtime
    )
    client = Pressing()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        with uploader(client, workers=workers, part_size=part_size) as up:
            result = up.push(source)
            peak_memory = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
        source.close()
    assert result.plan.count == parts
    assert {n: v[0][3] for n, v in client.parts.items()} == slices
    assert up.sender.budget.peak_buffers == workers + 1
    assert state["max_ahead"] <= workers + 1
    assert state["max_in_send"] <= workers
    assert peak_memory <= (workers + 1) * part_size + 2 * MiB, peak_memory
    assert up.sender.budget.buffers_out == 0


# -- names --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["firmware.bin", "backup.tar", "Makefile", "notes.md"])
def test_unsupported_types_travel_as_name_txt_text_plain_but_keep_their_real_name(tmp_path, name):
    data = write_file(tmp_path / name, 4096, seed=1)
    client = FakeClient()
    with uploader(client) as up:
        result = up.push(open_file(str(tmp_path / name)))
    carrier = f"{name}.txt"
    assert client.creates == [
        {"mode": "single_part", "filename": carrier, "content_type": "text/plain"}
    ]
    ((_, filename, ctype, payload),) = client.parts[None]
    assert (filename, ctype, payload) == (carrier, "text/plain", data)
    assert result.upload.carrier and result.upload.upload_name == carrier
    check_records(client, result, name, data, carrier)


def test_a_supported_type_travels_under_its_own_name_and_type(tmp_path):
    data = write_file(tmp_path / "Photo.PNG", 1000)
    client = FakeClient()
    with uploader(client) as up:
        result = up.push(open_file(str(tmp_path / "Photo.PNG")))
    assert client.creates[0]["filename"] == "Photo.PNG"
    assert client.creates[0]["content_type"] == "image/png"
    assert not result.upload.carrier
    check_records(client, result, "Photo.PNG", data, "Photo.PNG")


# -- streams --------------------------------------------------------------------------------
def test_declared_size_stream_that_ends_early_raises_stream_size_error(tmp_path):
    client = FakeClient()
    source = open_stream(io.BytesIO(b"x" * 10), "short.txt", size=20)
    with uploader(client) as up, pytest.raises(StreamSizeError) as caught:
        up.push(source)
    assert "20" in str(caught.value)
    assert "send" not in client.kinds() and "page" not in client.kinds()


def test_declared_size_stream_that_runs_long_raises_stream_size_error(tmp_path):
    client = FakeClient()
    source = open_stream(io.BytesIO(b"y" * 10), "long.txt", size=5)
    with uploader(client) as up, pytest.raises(StreamSizeError):
        up.push(source)
    assert "page" not in client.kinds()


def test_declared_size_multi_part_stream_that_ends_early_is_never_completed():
    client = FakeClient()
    stream = io.BytesIO(make_bytes(20 * MB + 1))
    source = open_stream(stream, "short.mp4", size=25 * MB)
    with uploader(client) as up, pytest.raises(StreamSizeError):
        up.push(source)
    assert client.creates[0]["number_of_parts"] == 5
    assert "complete" not in client.kinds() and "page" not in client.kinds()


def test_declared_size_stream_of_the_exact_size_is_pushed_without_spooling():
    data = make_bytes(5000)
    client = FakeClient()
    source = open_stream(io.BytesIO(data), "exact.txt", size=len(data))
    assert source.declared and source.path is None
    with uploader(client) as up:
        result = up.push(source)
    check_records(client, result, "exact.txt", data, "exact.txt")


class CountingHashlib:
    """Stands in for the engine's hashlib: counts how many digests the engine starts."""

    def __init__(self) -> None:
        self.started = 0

    def sha512(self, *args):
        self.started += 1
        return hashlib.sha512(*args)


def test_a_stream_over_20_mb_is_spooled_and_hashed_once(tmp_path, monkeypatch):
    data = make_bytes(20 * MB + 1, seed=21)
    counting = CountingHashlib()
    monkeypatch.setattr(sender_module, "hashlib", counting)
    spool = tmp_path / "spool"
    spool.mkdir()
    source = open_stream(io.BytesIO(data), "dump.tar", spool_dir=str(spool))
    assert source.size == len(data)
    assert source.sha512 == hashlib.sha512(data).hexdigest()
    assert len(os.listdir(spool)) == 1
    client = FakeClient()
    try:
        with uploader(client) as up:
            result = up.push(source)
    finally:
        source.close()
    assert counting.started == 0, "the engine hashed a spooled stream a second time"
    assert os.listdir(spool) == []
    assert result.plan.mode == "multi_part" and result.plan.count == 4
    assert b"".join(client.parts[n][0][3] for n in (1, 2, 3, 4)) == data
    check_records(client, result, "dump.tar", data, "dump.tar.txt")


def test_a_file_is_hashed_once_while_it_is_read(tmp_path, monkeypatch):
    data = write_file(tmp_path / "x.pdf", 20 * MB + 5)
    counting = CountingHashlib()
    monkeypatch.setattr(sender_module, "hashlib", counting)
    client = FakeClient()
    with uploader(client) as up:
        result = up.push(open_file(str(tmp_path / "x.pdf")))
    assert counting.started == 1
    assert result.hash.sha512 == hashlib.sha512(data).hexdigest()


def test_a_small_stream_stays_in_memory():
    source = open_stream(io.BytesIO(b"hello"), "hi.txt")
    # Hashed up front, so a re-run of the same stream can be matched with an unfinished push.
    assert source.size == 5 and not source.declared
    assert source.sha512 == hashlib.sha512(b"hello").hexdigest()


# -- journal and resume ---------------------------------------------------------------------
class RecordingJournal(Journal):
    def __init__(self, path) -> None:
        super().__init__(path)
        self.states: list[str] = []

    def update(self, push_id, **fields):
        if "state" in fields:
            self.states.append(fields["state"])
        super().update(push_id, **fields)


def test_journal_records_created_then_uploaded_then_done(tmp_path):
    data = write_file(tmp_path / "j.pdf", 20 * MB + 1, seed=2)
    journal = RecordingJournal(tmp_path / "state" / "journal.sqlite")
    seen_at_page: list[str] = []

    class Watching(FakeClient):
        def create_file_upload(self, body, on_retry=None):
            assert journal.get(1).state == "created"
            # No upload id yet: a crash here leaves a push that resume starts over.
            assert [e.upload_id for e in journal.unfinished()] == [None]
            return super().create_file_upload(body, on_retry)

        def create_page(self, body):
            seen_at_page.append(journal.get(1).state)
            return super().create_page(body)

    client = Watching()
    with uploader(client, journal=journal) as up:
        result = up.push(open_file(str(tmp_path / "j.pdf")))
    row = journal.get(1)
    # The page id is journalled before the index entry is written (a crash between the two).
    assert journal.states == ["uploaded", "paged", "done"]
    assert seen_at_page == ["uploaded", "paged"]  # at the page write, then the index write
    assert row.state == "done"
    assert (row.upload_id, row.page_id, row.index_id) == (
        result.file_upload_id,
        result.file_id,
        result.index_id,
    )
    assert row.sha512 == hashlib.sha512(data).hexdigest()
    assert row.salted == result.hash.salted and row.salt == result.hash.salt
    assert row.error is None
    assert journal.sent_parts(1) == {1, 2, 3, 4}
    assert journal.unfinished() == []
    assert oct(os.stat(journal.path).st_mode & 0o777) == "0o600"
    journal.close()


@pytest.mark.parametrize(
    "failures,left_state",
    [
        ([APIError(400, "validation_error", "page refused")], "uploaded"),
        ([None, APIError(400, "validation_error", "index refused")], "paged"),
    ],
    ids=["page-failed", "index-failed"],
)
def test_resume_finishes_a_push_whose_record_write_failed(tmp_path, failures, left_state):
    data = write_file(tmp_path / "r.pdf", 20 * MB + 1, seed=4)
    journal = Journal(tmp_path / "journal.sqlite")
    client = FakeClient()

    # The first push: bytes go up, a record write is refused.
    if failures[0] is None:
        original = client.create_page
        calls = {"n": 0}

        def create_page(body):
            calls["n"] += 1
            if calls["n"] == 2:
                raise failures[1]
            return original(body)

        client.create_page = create_page  # type: ignore[method-assign]
    else:
        client.page_failures = list(failures)
    with uploader(client, journal=journal) as up, pytest.raises(RecordError):
        up.push(open_file(str(tmp_path / "r.pdf")))
    (entry,) = journal.unfinished()
    assert entry.state == left_state
    assert entry.error and "refused" in entry.error
    sends_before = client.sent_numbers()

    with uploader(client, journal=journal) as up:
        result = up.resume(entry)

    assert client.sent_numbers() == sends_before, "resume re-sent bytes Notion already had"
    assert client.kinds().count("complete") == 1
    check_records(client, result, "r.pdf", data, "r.pdf")
    assert journal.get(entry.id).state == "done"
    assert journal.unfinished() == []
    journal.close()


def test_resume_sends_only_the_parts_notion_does_not_have(tmp_path):
    data = write_file(tmp_path / "p.pdf", 20 * MB + 1, seed=6)  # 4 parts of 5 MiB
    journal = Journal(tmp_path / "journal.sqlite")
    refused = APIError(400, "validation_error", "part 3 refused")

    class FailPart3(FakeClient):
        fail = True

        def on_send(self, part_number, data):
            if part_number == 3 and self.fail:
                raise refused

    client = FailPart3()
    with uploader(client, workers=1, journal=journal) as up, pytest.raises(APIError):
        up.push(open_file(str(tmp_path / "p.pdf")))
    first = {n for n in client.sent_numbers()}
    assert 3 not in first
    (entry,) = journal.unfinished()
    assert entry.state == "created"
    assert journal.sent_parts(entry.id) == first

    client.fail = False
    with uploader(client, workers=2, journal=journal) as up:
        result = up.resume(entry)
    second = client.sent_numbers()[len(first) :]
    assert set(second) == {1, 2, 3, 4} - first
    assert sorted(second) == sorted(set(second))
    assert client.kinds().count("complete") == 1
    check_records(client, result, "p.pdf", data, "p.pdf")
    journal.close()


def test_a_stopped_push_gives_back_every_budgeted_buffer(tmp_path, monkeypatch):
    write_file(tmp_path / "s.pdf", 20 * MB + 1)  # 4 parts of 5 MiB
    release_part1 = threading.Event()
    real_wait = sender_module.wait

    def wait_then_release(*args, **kwargs):
        # Reached after the engine cancelled the queued parts: let the running one end.
        release_part1.set()
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(sender_module, "wait", wait_then_release)

    part1_sending = threading.Event()

    class Blocking(FakeClient):
        def on_send(self, part_number, data):
            if part_number == 1:
                part1_sending.set()
                assert release_part1.wait(WAIT)

    client = Blocking()
    up = uploader(client, workers=1)

    class CancelOnSecondRead(Source):
        reads = 0

        def readinto(self, buffer):
            CancelOnSecondRead.reads += 1
            if CancelOnSecondRead.reads == 2:
                assert part1_sending.wait(WAIT)
                up.cancel.set()  # Ctrl-C while part 1 is in flight and part 2 is queued
            return super().readinto(buffer)

    plain = open_file(str(tmp_path / "s.pdf"))
    source = CancelOnSecondRead(
        name=plain.name, size=plain.size, stream=plain.stream, path=plain.path, mtime=plain.mtime
    )
    try:
        with pytest.raises(Interrupted):
            up.push(source)
        assert client.sent_numbers() == [1]
        assert up.sender.budget.buffers_out == 0
    finally:
        release_part1.set()
        up.close()
        source.close()


def test_after_ctrl_c_no_file_that_had_not_begun_creates_an_upload(tmp_path):
    for i in range(6):
        write_file(tmp_path / f"f{i}.pdf", 1000, seed=i)
    client = FakeClient()
    up = uploader(client, workers=1)
    results: list = []

    def opener(i: int):
        def open_it() -> Source:
            if i == 0:
                up.cancel.set()  # Ctrl-C while the first file opens; the rest are queued
            return open_file(str(tmp_path / f"f{i}.pdf"))

        return open_it

    jobs = [Job(name=f"f{i}.pdf", open=opener(i)) for i in range(6)]
    try:
        push_many(up, jobs, lambda job, result, error: results.append((job.name, result, error)))
    finally:
        up.close()
    assert "create" not in client.kinds()
    assert results and all(isinstance(error, Interrupted) for _, _, error in results)


def test_every_upload_of_a_split_file_ends_with_its_own_key():
    from notion_up.events import FileStarted as Started
    from notion_up.events import UploadEnded
    from notion_up.upload.split import Splitter

    class WithSchema(FakeClient):
        def retrieve_data_source(self, _id):
            return {"properties": {"is_manifest": {"type": "checkbox"}}}

    events: list = []
    data = make_bytes(25)
    with Uploader(
        WithSchema(),
        RunFacts(DATABASES),
        EngineOptions(workers=2, part_size=5 * MiB),
        listener=events.append,
    ) as up:
        Splitter(up, split_size=10).push(open_stream(io.BytesIO(data), "x.bin"))
    started = [e.key for e in events if isinstance(e, Started)]
    ended = [e.key for e in events if isinstance(e, UploadEnded)]
    assert len(started) == 4  # three pieces and the manifest
    assert len(set(started)) == 4 and sorted(ended) == sorted(started)


def test_a_failed_upload_still_ends(tmp_path):
    from notion_up.events import UploadEnded

    class Failing(FakeClient):
        def on_send(self, part_number, data):
            raise APIError(400, "validation_error", "no")

    write_file(tmp_path / "a.pdf", 100)
    events: list = []
    up = uploader(Failing(), listener=events.append)
    try:
        with pytest.raises(APIError):
            up.push(open_file(str(tmp_path / "a.pdf")))
    finally:
        up.close()
    assert isinstance(events[-1], UploadEnded)


def test_a_multi_part_file_starts_while_the_part_pool_is_busy_with_another_file(tmp_path):
    """The first multi-part file sets up the pool; other files' parts in flight must not
    make that fail (its barrier times out, the file goes on)."""
    small = write_file(tmp_path / "a.pdf", 1000, seed=1)
    big = write_file(tmp_path / "b.pdf", 20 * MB + 1, seed=2)
    small_sending = threading.Event()
    release_small = threading.Event()

    class SlowSmall(FakeClient):
        def on_send(self, part_number, data):
            if part_number is None:
                small_sending.set()
                assert release_small.wait(WAIT)

    client = SlowSmall()
    results: dict[str, object] = {}

    def on_result(job, result, error):
        results[job.name] = error or result

    jobs = [Job(name="a.pdf", open=lambda: open_file(str(tmp_path / "a.pdf")))]

    def open_big():
        assert small_sending.wait(WAIT)  # the small file's send holds a pool thread
        threading.Timer(1.0, release_small.set).start()
        return open_file(str(tmp_path / "b.pdf"))

    jobs.append(Job(name="b.pdf", open=open_big))
    with uploader(client, workers=2) as up:
        push_many(up, jobs, on_result)
    assert isinstance(results["a.pdf"], PushResult), results["a.pdf"]
    assert isinstance(results["b.pdf"], PushResult), results["b.pdf"]
    assert results["b.pdf"].plan.count == 4
    stored = b"".join(p[3] for n in (1, 2, 3, 4) for p in client.parts[n])
    assert stored == big and client.parts[None][0][3] == small
