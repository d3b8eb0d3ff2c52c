"""Getting files back: find, download, resume, refresh and check, against the local server."""

from __future__ import annotations

import hashlib
import io

import pytest
import requests

from notion_up.download.sinks import FileSink, NullSink, StreamSink, safe_name, target_path
from notion_up.errors import FileMissing, IntegrityError, TransientError, UsageError
from notion_up.notion.records import salted_hash
from notion_up.upload.source import open_file
from tests.helpers import MB, MiB, Recorder, content, pull_bytes, rich

SIZES = [0, 1, 5 * MiB - 1, 5 * MiB + 1, 20 * MB + 1]


# -- round trips -----------------------------------------------------------------------------
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_push_then_pull_gives_back_the_same_bytes_at_boundary_sizes(ws, tmp_path, via):
    restorer = ws.restorer()
    for i, size in enumerate(SIZES):
        data = content(size, seed=i)
        name = f"f{i}.bin"
        if via == "file":
            path = tmp_path / name
            path.write_bytes(data)
            with ws.uploader() as up:
                source = open_file(str(path))
                try:
                    pushed = up.push(source)
                finally:
                    source.close()
        else:
            pushed = ws.push_bytes(data, name)
        target = tmp_path / "restored"
        target.mkdir(exist_ok=True)
        done = restorer.restore(
            restorer.finder.find(pushed.hash.salted),
            lambda n, t=target: FileSink(target_path(str(t), n, force=False)),
        )
        assert (target / name).read_bytes() == data, size
        assert done.size == size and done.sha512 == hashlib.sha512(data).hexdigest()
        assert restorer.check(pushed.file_id).status == "verified"
        assert sorted(p.name for p in target.iterdir()) == sorted(f"f{j}.bin" for j in range(i + 1))


def test_a_file_pushed_under_a_carrier_name_comes_back_under_its_real_name(ws, tmp_path):
    pushed = ws.push_bytes(b"tar bytes", "backup.tar")
    assert pushed.upload.upload_name == "backup.tar.txt"
    restorer = ws.restorer()
    done = restorer.restore(
        restorer.finder.find(pushed.file_id),
        lambda n: FileSink(target_path(str(tmp_path), n, False)),
    )
    assert done.name == "backup.tar"
    assert (tmp_path / "backup.tar").read_bytes() == b"tar bytes"


def test_find_takes_a_page_id_with_or_without_dashes_or_the_salted_hash(ws):
    pushed = ws.push_bytes(b"x", "a.txt")
    restorer = ws.restorer()
    assert restorer.finder.find(pushed.file_id).file_id == pushed.file_id
    assert restorer.finder.find(pushed.file_id.replace("-", "")).file_id == pushed.file_id
    assert restorer.finder.find(pushed.hash.salted.upper()).file_id == pushed.file_id


def test_an_unknown_hash_or_id_is_missing_and_garbage_is_a_usage_error(ws):
    restorer = ws.restorer()
    with pytest.raises(FileMissing):
        restorer.finder.find("ab" * 64)
    with pytest.raises(FileMissing):
        restorer.finder.find("12345678-1234-1234-1234-123456789abc")
    with pytest.raises(UsageError):
        restorer.finder.find("not-an-id")


# -- damage ----------------------------------------------------------------------------------
def test_a_corrupted_byte_fails_pull_and_leaves_no_file_behind(ws, tmp_path):
    data = content(3 * MiB, seed=3)
    pushed = ws.push_bytes(data, "photo.bin")
    ws.server.corrupt_upload(pushed.file_upload_id, offset=2 * MiB + 5)
    restorer = ws.restorer()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match="do not match"):
        restorer.restore(
            restorer.finder.find(pushed.hash.salted),
            lambda n: FileSink(target_path(str(out), n, False)),
        )
    assert list(out.iterdir()) == []


def test_a_corrupted_byte_is_reported_after_streaming_to_stdout(ws):
    pushed = ws.push_bytes(b"0123456789", "ten.txt")
    ws.server.corrupt_upload(pushed.file_upload_id, offset=0)
    out = io.BytesIO()
    restorer = ws.restorer()
    with pytest.raises(IntegrityError):
        restorer.restore(restorer.finder.find(pushed.file_id), lambda _n: StreamSink(out))
    assert len(out.getvalue()) == 10  # the bytes went out; the error says they are bad


def test_verify_reports_verified_mismatched_and_missing(ws):
    good = ws.push_bytes(b"good", "good.txt")
    bad = ws.push_bytes(b"bad!", "bad.txt")
    ws.server.corrupt_upload(bad.file_upload_id, offset=1)
    seen = []
    verdicts = ws.restorer().check_many(
        [good.file_id, bad.hash.salted, "cd" * 64], workers=3, on_verdict=seen.append
    )
    by_key = {v.key: v.status for v in verdicts}
    assert by_key == {good.file_id: "verified", bad.hash.salted: "mismatched", "cd" * 64: "missing"}
    assert len(seen) == 3


# -- expired URLs and dropped downloads ------------------------------------------------------
def test_an_expired_url_is_refreshed_by_fetching_the_page_again(ws):
    data = content(MiB + 3, seed=4)
    pushed = ws.push_bytes(data, "a.bin")
    watcher = Recorder()
    restorer = ws.restorer(listener=watcher)
    remote = restorer.finder.find(pushed.file_id)
    ws.server.expire_download_urls()  # between the page fetch and the download
    out = io.BytesIO()
    restorer.restore(remote, lambda _n: StreamSink(out))
    assert out.getvalue() == data
    assert any("refreshing" in r for r in watcher.retries)


def test_urls_that_expire_at_once_give_up_after_a_few_refreshes(ws):
    pushed = ws.push_bytes(b"abc", "a.txt")
    ws.server.options.url_expiry_seconds = 0.0
    restorer = ws.restorer()
    with pytest.raises(TransientError, match="keeps refusing"):
        restorer.restore(restorer.finder.find(pushed.file_id), lambda _n: NullSink())


class CuttingSession(requests.Session):
    """Drops the first download after `cut_after` bytes, as a broken connection would."""

    def __init__(self, cut_after: int, ignore_range: bool = False) -> None:
        super().__init__()
        self.cut_after = cut_after
        self.ignore_range = ignore_range
        self.ranges: list[str | None] = []
        self.authorization: list[str | None] = []

    def get(self, url, headers=None, **kwargs):  # type: ignore[override]
        headers = dict(headers or {})
        self.ranges.append(headers.get("Range"))
        if self.ignore_range:
            headers.pop("Range", None)
        response = super().get(url, headers=headers, **kwargs)
        self.authorization.append(response.request.headers.get("Authorization"))
        if len(self.ranges) == 1:
            original = response.iter_content

            def cut(chunk_size=1, decode_unicode=False):
                sent = 0
                for chunk in original(chunk_size):
                    if sent + len(chunk) > self.cut_after:
                        yield chunk[: self.cut_after - sent]
                        raise requests.ConnectionError("connection reset by peer")
                    sent += len(chunk)
                    yield chunk

            response.iter_content = cut  # type: ignore[method-assign]
        return response


@pytest.mark.parametrize("ignore_range", [False, True], ids=["range", "range-ignored"])
def test_a_dropped_download_resumes_where_it_stopped(ws, ignore_range):
    data = content(3 * MiB + 17, seed=5)
    pushed = ws.push_bytes(data, "a.bin")
    session = CuttingSession(cut_after=MiB + 100, ignore_range=ignore_range)
    restorer = ws.restorer(session_factory=lambda: session, chunk_size=64 * 1024)
    assert pull_bytes(restorer, pushed.file_id) == data
    assert session.ranges == [None, f"bytes={MiB + 100}-"]
    assert session.authorization == [None, None]  # the token never goes to the file host


def test_downloads_never_carry_the_notion_token(ws):
    pushed = ws.push_bytes(b"secret?", "a.txt")
    session = CuttingSession(cut_after=10**9)
    restorer = ws.restorer(session_factory=lambda: session)
    restorer.check(pushed.file_id)
    assert session.authorization == [None]


# -- ls --------------------------------------------------------------------------------------
def _row(ws, name: str, visible: bool = True) -> str:
    """A file-database row made directly through the API (no upload: cheap)."""
    body = {
        "parent": {"type": "data_source_id", "data_source_id": ws.databases.files_data_source},
        "properties": {
            "filename": {"title": [{"type": "text", "text": {"content": name}}]},
            "filesize": {"number": 1},
            "filehash": rich(salted_hash("00", name.encode().hex())),
            "salt": rich(name.encode().hex()),
            "is_visible": {"checkbox": visible},
        },
    }
    return ws.client.create_page(body)["id"]


def test_ls_pages_through_more_than_one_page_of_results_newest_first(ws):
    ids = [_row(ws, f"row{i:03d}.txt") for i in range(105)]
    _row(ws, "hidden.part001", visible=False)
    listed = list(ws.restorer().finder.list_files())
    assert [f.file_id for f in listed] == ids[::-1]
    assert len(listed) == 105
    everything = list(ws.restorer().finder.list_files(include_hidden=True))
    assert len(everything) == 106
    assert [f.name for f in ws.restorer().finder.list_files("row10")] == [
        f"row{i:03d}.txt" for i in range(104, 99, -1)
    ]


# -- small pieces ----------------------------------------------------------------------------
def test_a_recorded_name_cannot_climb_out_of_the_target_directory():
    assert safe_name("../../etc/passwd", "fallback") == "passwd"
    assert safe_name("..", "fallback") == "fallback"
    assert safe_name("a\\b.txt", "fallback") == "b.txt"


def test_pull_refuses_to_replace_an_existing_file_without_force(tmp_path):
    (tmp_path / "a.txt").write_text("mine")
    with pytest.raises(UsageError, match="--force"):
        target_path(str(tmp_path), "a.txt", force=False)
    assert target_path(str(tmp_path), "a.txt", force=True) == tmp_path / "a.txt"
    assert target_path(str(tmp_path / "b.txt"), "a.txt", force=False) == tmp_path / "b.txt"


def test_the_restore_and_split_core_never_imports_typer_or_rich():
    import subprocess
    import sys

    code = (
        "import sys, notion_up.download.fetch, notion_up.upload.split; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'rich'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
