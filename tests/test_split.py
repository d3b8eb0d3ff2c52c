"""Split files: pieces plus a manifest for workspaces that cap the size of one file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from notion_up.download.fetch import Fetcher
from notion_up.download.sinks import FileSink, StreamSink, target_path
from notion_up.errors import ConfigError, IntegrityError, LimitError, ManifestError, StreamSizeError
from notion_up.manifest import Manifest, ManifestPart, parse_manifest, piece_lengths, piece_names
from notion_up.notion.client import NotionClient
from notion_up.notion.records import Databases
from notion_up.notion.retry import RateLimiter, RetryPolicy
from notion_up.notion.workspace import create_databases, load_facts
from notion_up.upload.engine import Uploader
from notion_up.upload.facts import RunFacts
from notion_up.upload.source import BufferStream, Source, open_stream, slice_source
from notion_up.upload.split import SplitResult, Splitter
from tests.helpers import MiB, content, make_file, run_cli

FREE_LIMIT = 5 * MiB


class Free:
    """A server with the free plan's 5 MiB cap, and helpers to push split files to it."""

    def __init__(self, server, client: NotionClient, databases: Databases, limit) -> None:
        self.server = server
        self.client = client
        self.databases = databases
        self.limit = limit

    def push(self, data: bytes, name: str, split_size: int = FREE_LIMIT, databases=None):
        facts = RunFacts(databases or self.databases, self.limit)
        with Uploader(self.client, facts) as up:
            return Splitter(up, split_size).push(open_stream(io.BytesIO(data), name))

    def restorer(self, databases=None) -> Fetcher:
        return Fetcher(self.client, databases or self.databases, sleep=lambda _s: None)


@pytest.fixture
def free(tmp_path: Path) -> Iterator[Free]:
    from notion_up.sandbox import LocalNotion, ServerOptions

    server = LocalNotion(
        ServerOptions(seed=3, max_file_upload_size=FREE_LIMIT), state_dir=tmp_path / "server"
    )
    url = server.start()
    ws = server.ensure_workspace()
    client = NotionClient(
        server.token, url, limiter=RateLimiter(rate=0), policy=RetryPolicy(base=0.001)
    )
    facts = load_facts(client, ws.files_database_id, ws.index_database_id)
    assert facts.max_file_size == FREE_LIMIT
    try:
        yield Free(server, client, facts.databases, facts.max_file_size)
    finally:
        server.stop()


def page(free: Free, page_id: str) -> dict:
    return free.client.retrieve_page(page_id)["properties"]


# -- round trips -----------------------------------------------------------------------------
def test_content_over_the_cap_is_stored_as_hidden_pieces_and_a_visible_manifest(free):
    data = content(2 * FREE_LIMIT + 3, seed=1)
    result = free.push(data, "disk.img")
    assert isinstance(result, SplitResult)
    assert result.name == "disk.img.file.json"
    assert [p.name for p in result.pieces] == [
        "disk.img.part001",
        "disk.img.part002",
        "disk.img.part003",
    ]
    assert [p.size for p in result.pieces] == [FREE_LIMIT, FREE_LIMIT, 3]
    props = page(free, result.file_id)
    assert props["is_manifest"]["checkbox"] is True
    assert props["is_visible"]["checkbox"] is True
    for piece in result.pieces:
        assert page(free, piece.file_id)["is_visible"]["checkbox"] is False
    # As the service writes it (StreamingUploader.process_stream): the visible row carries the
    # original name and total size; only the index entry is named <name>.file.json.
    assert props["filename"]["title"][0]["plain_text"] == "disk.img"
    assert props["filesize"]["number"] == 2 * FREE_LIMIT + 3
    visible = [(f.name, f.size) for f in free.restorer().finder.list_files()]
    assert visible == [("disk.img", 2 * FREE_LIMIT + 3)]


def test_the_manifest_has_the_shared_services_format(free):
    data = content(FREE_LIMIT + 1, seed=2)
    result = free.push(data, "a.bin")
    raw = io.BytesIO()
    restorer = free.restorer()
    restorer.fetch_checked(restorer.finder.find(result.file_id), raw.write)
    body = json.loads(raw.getvalue())
    assert set(body) == {"original_filename", "total_size", "parts"}
    assert body["original_filename"] == "a.bin" and body["total_size"] == FREE_LIMIT + 1
    first = body["parts"][0]
    assert set(first) == {"part_number", "filename", "file_id", "file_hash", "size"}
    assert first["file_id"] == result.pieces[0].file_id
    assert first["file_hash"] == result.pieces[0].hash.salted


def test_pull_and_verify_reassemble_a_split_file_under_its_real_name(free, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    data = content(2 * FREE_LIMIT + 3, seed=3)
    result = free.push(data, "backup.tar")
    restorer = free.restorer()
    done = restorer.restore(
        restorer.finder.find(result.hash.salted),
        lambda n: FileSink(target_path(str(tmp_path), n, False)),
    )
    assert done.name == "backup.tar" and done.pieces == 3 and done.size == len(data)
    assert (tmp_path / "backup.tar").read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["backup.tar"]
    assert restorer.check(result.file_id).status == "verified"


def test_a_corrupted_piece_fails_pull_and_verify_and_leaves_nothing(free, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    data = content(FREE_LIMIT + 10, seed=4)
    result = free.push(data, "x.bin")
    free.server.corrupt_upload(result.pieces[1].file_upload_id, offset=3)
    restorer = free.restorer()
    with pytest.raises(IntegrityError):
        restorer.restore(
            restorer.finder.find(result.file_id),
            lambda n: FileSink(target_path(str(tmp_path), n, False)),
        )
    assert list(tmp_path.iterdir()) == []
    assert restorer.check(result.file_id).status == "mismatched"


def test_a_missing_piece_makes_the_split_file_missing(free):
    result = free.push(content(FREE_LIMIT + 10, seed=5), "x.bin")
    free.client.update_page(result.pieces[0].file_id, {"in_trash": True})
    verdict = free.restorer().check(result.file_id)
    assert verdict.status == "missing" and "piece 1" in verdict.detail


def test_content_that_fits_in_one_piece_is_pushed_as_an_ordinary_file(free):
    result = free.push(b"small", "note.txt")
    assert not isinstance(result, SplitResult)
    assert result.name == "note.txt"
    assert (
        "is_manifest" not in page(free, result.file_id)
        or not (page(free, result.file_id)["is_manifest"]["checkbox"])
    )


def test_a_split_size_over_the_workspace_cap_is_refused_before_any_upload(free):
    with pytest.raises(LimitError, match="--split"):
        free.push(content(FREE_LIMIT * 2, seed=6), "x.bin", split_size=FREE_LIMIT + 1)
    assert list(free.restorer().finder.list_files(include_hidden=True)) == []


def test_without_split_the_size_limit_error_suggests_it(free):
    with Uploader(free.client, RunFacts(free.databases, FREE_LIMIT)) as up:
        with pytest.raises(LimitError, match="--split SIZE"):
            up.plan(FREE_LIMIT + 1, "big.iso")


def _database_without_is_manifest(free):
    """A file database as the service creates it at registration (create_user_database): no
    is_manifest until its first split upload."""
    root = free.server.ensure_workspace().root_page_id
    files_id, index_id = create_databases(free.client, root)
    old_schema = free.client.retrieve_database(files_id)["data_sources"][0]["id"]
    free.client.update_data_source(old_schema, {"properties": {"is_manifest": None}})
    assert "is_manifest" not in free.client.retrieve_data_source(old_schema)["properties"]
    return old_schema, load_facts(free.client, files_id, index_id).databases


def test_a_database_without_is_manifest_gets_the_checkbox_before_the_first_manifest(free):
    old_schema, databases = _database_without_is_manifest(free)
    data = content(FREE_LIMIT + 7, seed=8)
    result = free.push(data, "old.bin", databases=databases)
    prop = free.client.retrieve_data_source(old_schema)["properties"]["is_manifest"]
    assert prop["type"] == "checkbox"
    restorer = free.restorer(databases)
    remote = restorer.finder.find(result.hash.salted)
    assert remote.is_manifest is True and remote.name == "old.bin"
    out = io.BytesIO()
    assert restorer.restore(remote, lambda _n: StreamSink(out)).name == "old.bin"
    assert out.getvalue() == data


def test_an_integration_that_may_not_change_the_schema_fails_once_with_exit_3(free):
    _, databases = _database_without_is_manifest(free)
    free.server.options.update_content = False
    with pytest.raises(ConfigError, match="may not add it") as caught:
        free.push(content(FREE_LIMIT + 7, seed=8), "old.bin", databases=databases)
    assert caught.value.exit_status == 3
    # Nothing was uploaded before the refusal: no piece is left behind.
    rows = free.client.query_data_source(databases.files_data_source, {})["results"]
    assert rows == []


# -- pure pieces -----------------------------------------------------------------------------
def test_piece_lengths_cover_the_content_exactly():
    assert piece_lengths(10, 4) == [4, 4, 2]
    assert piece_lengths(8, 4) == [4, 4]
    assert piece_lengths(0, 4) == [0]


def test_piece_names_widen_past_999_pieces():
    assert piece_names("a", 2) == ["a.part001", "a.part002"]
    assert piece_names("a", 1000)[-1] == "a.part1000"


def test_a_manifest_survives_its_own_round_trip_and_bad_ones_are_refused():
    manifest = Manifest(
        "a",
        3,
        [ManifestPart(part_number=1, filename="a.part001", file_id="id", file_hash="h", size=3)],
    )
    assert parse_manifest(manifest.to_bytes()) == manifest
    for bad in (b"{}", b"not json", b'{"original_filename": "a", "total_size": 4, "parts": []}'):
        with pytest.raises(ManifestError):
            parse_manifest(bad)


def test_slices_read_a_stream_in_order_and_a_short_stream_fails():
    parent = Source(name="p", size=10, stream=BufferStream(bytearray(b"0123456789")))
    first, second = slice_source(parent, 4, "a"), slice_source(parent, 6, "b")
    buf = bytearray(4)
    assert first.readinto(memoryview(buf)) == 4 and bytes(buf) == b"0123"
    first.check_end()
    first.close()  # leaves the parent open
    buf = bytearray(6)
    assert second.readinto(memoryview(buf)) == 6 and bytes(buf) == b"456789"
    third = slice_source(parent, 1, "c")
    with pytest.raises(StreamSizeError):
        third.readinto(memoryview(bytearray(1)))


def test_the_is_manifest_property_is_written_only_for_manifests():
    from notion_up.notion.records import FileRecord, file_page_properties, hash_content

    plain = FileRecord(
        name="a", size=1, file_upload_id="up", upload_name="a", hash=hash_content("00", "salt")
    )
    assert "is_manifest" not in file_page_properties(plain)
    manifest = FileRecord(
        name="a.file.json",
        size=1,
        file_upload_id="up",
        upload_name="a",
        hash=hash_content("00"),
        is_manifest=True,
    )
    assert file_page_properties(manifest)["is_manifest"] == {"checkbox": True}


@pytest.mark.slow
def test_a_split_file_pushed_once_is_skipped_by_the_next_skip_existing_run(sandbox, tmp_path):
    sandbox.server.options.max_file_upload_size = 5 * MiB
    path = tmp_path / "disk.img"
    make_file(path, 11 * MiB + 1)
    env = sandbox.env(NOTION_UP_STATE_DIR=str(tmp_path / "state"))
    args = ["push", "--split", "5MiB", "--skip-existing", "--rate", "0", "--json", str(path)]
    first = run_cli(args, env)
    assert first.returncode == 0, first.stderr.decode()
    assert json.loads(first.stdout.decode().splitlines()[0])["split"] is True
    pages = sandbox.server.stats()["pages_created"]
    second = run_cli(args, env)
    assert second.returncode == 0, second.stderr.decode()
    assert "skipped disk.img" in second.stderr.decode()
    assert sandbox.server.stats()["pages_created"] == pages
    path.write_bytes(path.read_bytes()[:-1] + b"!")  # changed content: pushed again
    third = run_cli(args, env)
    assert third.returncode == 0 and sandbox.server.stats()["pages_created"] > pages


@pytest.mark.slow
def test_split_dry_run_plans_the_pieces_and_manifest_the_real_run_stores(sandbox, tmp_path):
    path = tmp_path / "bigB.bin"
    path.write_bytes(content(3 * MiB + 5, seed=4))
    args = ["push", str(path), "--split", "1MiB", "--rate", "0"]
    planned = run_cli([*args, "--dry-run", "--json"], sandbox.env())
    assert planned.returncode == 0, planned.stderr.decode()
    plan = json.loads(planned.stdout)
    assert plan["mode"] == "split" and plan["uploads"] == 5
    assert [p["name"] for p in plan["pieces"]] == [f"bigB.bin.part00{i}" for i in range(1, 5)]
    assert [p["size"] for p in plan["pieces"]] == [MiB, MiB, MiB, 5]
    assert plan["manifest"]["name"] == "bigB.bin.file.json"
    line = run_cli([*args, "--dry-run"], sandbox.env()).stdout.decode()
    assert "split into 4 piece(s) of 1.0 MiB, the last 5 B" in line and "bigB.bin.file.json" in line
    assert sandbox.server.stats()["uploads"] == []

    pushed = run_cli([*args, "--json"], sandbox.env())
    assert pushed.returncode == 0, pushed.stderr.decode()
    result = json.loads(pushed.stdout)
    assert [p["name"] for p in result["pieces"]] == [p["name"] for p in plan["pieces"]]
    assert result["name"] == plan["manifest"]["name"]
    assert len(sandbox.server.stats()["uploads"]) == plan["uploads"]
