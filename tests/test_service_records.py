"""Records shared with weneten/notion-storage, both ways (issue 12).

The fixtures write what that service's code writes, each citing the function it follows (its
formats are facts; none of its code is copied). Everything runs against the local server.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import pytest

from notion_up.notion.client import NotionClient
from notion_up.notion.records import plain_text, salted_hash
from tests.helpers import Sandbox, run_cli

# Slow: every test here runs the real command in a subprocess.
pytestmark = pytest.mark.slow

MIB = 1024 * 1024


def client_of(sandbox: Sandbox) -> NotionClient:
    return NotionClient(sandbox.token, sandbox.url)


def _text(value: str) -> list[dict]:
    return [{"text": {"content": value}}]


def service_upload(client: NotionClient, data: bytes, part: int | None = None) -> str:
    """An upload as NotionFileUploader sends it: always named `file.txt`, text/plain;
    multi-part when `part` is given (`upload_large_file_multipart_stream`)."""
    body = {"filename": "file.txt", "content_type": "text/plain", "mode": "single_part"}
    chunks = [data]
    if part:
        chunks = [data[i : i + part] for i in range(0, len(data), part)]
        body.update(mode="multi_part", number_of_parts=len(chunks))
    upload = client.request("POST", "/v1/file_uploads", json=body)
    for n, chunk in enumerate(chunks, 1):
        client.send_file_upload(upload["id"], chunk, "file.txt", "text/plain", n if part else None)
    if part:
        client.complete_file_upload(upload["id"])
    return upload["id"]


def service_row(
    client: NotionClient,
    sandbox: Sandbox,
    name: str,
    data: bytes,
    *,
    upload_id: str,
    size: int | None = None,
    folder: str = "/",
    visible: bool = True,
    manifest: bool = False,
    index_name: str | None = None,
    salt: str | None = None,
    salted: str | None = None,
) -> tuple[str, str]:
    """A file row and its index entry as the service writes them: the row by
    `NotionFileUploader.add_file_to_user_database` (file_data named file.txt, no is_visible)
    then patched by `update_user_properties` (is_visible), the entry by `add_file_to_index`."""
    salt = salt or secrets.token_hex(32)
    salted = salted or salted_hash(hashlib.sha512(data).hexdigest(), salt)
    props = {
        "filename": {"title": _text(name)},
        "filesize": {"number": len(data) if size is None else size},
        "filehash": {"rich_text": _text(salted)},
        "file_data": {
            "files": [{"name": "file.txt", "type": "file_upload", "file_upload": {"id": upload_id}}]
        },
        "is_public": {"checkbox": False},
        "salt": {"rich_text": _text(salt)},
        "folder_path": {"rich_text": _text(folder)},
        "is_folder": {"checkbox": False},
    }
    if manifest:
        props["is_manifest"] = {"checkbox": True}
    parent = {"database_id": sandbox.files_database_id}
    page = client.create_page({"parent": parent, "properties": props})
    client.update_page(page["id"], {"properties": {"is_visible": {"checkbox": visible}}})
    client.create_page(
        {
            "parent": {"database_id": sandbox.index_database_id},
            "properties": {
                "Salted SHA512 Hash": {"rich_text": _text(salted)},
                "File Page ID": {"rich_text": _text(page["id"])},
                "User Database ID": {"rich_text": _text(sandbox.files_database_id)},
                "Original Filename": {"title": _text(index_name or name)},
                "Is Public": {"checkbox": False},
            },
        }
    )
    return page["id"], salted


def service_split(
    client: NotionClient, sandbox: Sandbox, name: str, data: bytes, piece: int, folder: str
) -> tuple[str, bytes]:
    """A split file as `StreamingUploader.process_stream` stores it: pieces `<name>.partN`
    (rows by `_store_part_in_database`: folder `/`, hidden, and - its bug - titled with the
    original name; index entries named `<name>.partN`), then the manifest JSON (indent=2)
    whose row has the original name, the total size and is_manifest, and whose index entry
    is `<name>.file.json`."""
    parts = []
    for n, start in enumerate(range(0, len(data), piece), 1):
        chunk = data[start : start + piece]
        page_id, salted = service_row(
            client,
            sandbox,
            name,
            chunk,
            upload_id=service_upload(client, chunk),
            visible=False,
            index_name=f"{name}.part{n}",
        )
        parts.append(
            {
                "part_number": n,
                "filename": f"{name}.part{n}",
                "file_id": page_id,
                "file_hash": salted,
                "size": len(chunk),
            }
        )
    body = {"original_filename": name, "total_size": len(data), "parts": parts}
    raw = json.dumps(body, indent=2).encode("utf-8")
    client.update_data_source(
        sandbox.files_data_source_id, {"properties": {"is_manifest": {"checkbox": {}}}}
    )
    page_id, _ = service_row(
        client,
        sandbox,
        name,
        raw,
        upload_id=service_upload(client, raw),
        size=len(data),
        folder=folder,
        manifest=True,
        index_name=f"{name}.file.json",
    )
    return page_id, raw


def ls_json(sandbox: Sandbox, *args: str) -> list[dict]:
    done = run_cli(["ls", "--json", *args], sandbox.env())
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


# -- 4: what the service wrote, read by notion-up --------------------------------------------
def test_files_the_service_wrote_are_listed_pulled_and_verified(sandbox, tmp_path: Path):
    client = client_of(sandbox)
    single = secrets.token_bytes(3000)
    multi = secrets.token_bytes(5 * MIB + 17)
    split = secrets.token_bytes(2 * MIB + 5)
    single_id, _ = service_row(
        client, sandbox, "notes.bin", single, upload_id=service_upload(client, single)
    )
    multi_id, _ = service_row(
        client,
        sandbox,
        "video.mkv",
        multi,
        upload_id=service_upload(client, multi, 5 * MIB),
        folder="/films",
    )
    split_id, _ = service_split(client, sandbox, "disk.img", split, MIB, "/images")

    listed = {row["file_id"]: (row["name"], row["size"]) for row in ls_json(sandbox)}
    assert listed == {
        single_id: ("notes.bin", len(single)),
        multi_id: ("video.mkv", len(multi)),
        split_id: ("disk.img", len(split)),
    }
    for file_id, data in ((single_id, single), (multi_id, multi), (split_id, split)):
        out = tmp_path / file_id
        done = run_cli(["pull", file_id, "-o", str(out)], sandbox.env())
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == data
    done = run_cli(["verify", "--all"], sandbox.env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().count("verified") == 3


# -- 1 and 3: what notion-up writes, as the service writes it ---------------------------------
def test_a_split_push_names_only_the_index_entry_file_json(sandbox, tmp_path: Path):
    data = secrets.token_bytes(MIB + 9)
    (tmp_path / "disk.img").write_bytes(data)
    done = run_cli(
        ["push", "--split", "512KiB", "--json", str(tmp_path / "disk.img")], sandbox.env()
    )
    assert done.returncode == 0, done.stderr
    pushed = json.loads(done.stdout)
    client = client_of(sandbox)
    row = client.retrieve_page(pushed["file_id"])["properties"]
    assert plain_text(row["filename"]) == "disk.img"
    assert row["filesize"]["number"] == len(data) and row["is_manifest"]["checkbox"] is True
    entry = client.query_data_source(
        sandbox.index_data_source_id,
        {"filter": {"property": "File Page ID", "rich_text": {"equals": pushed["file_id"]}}},
    )["results"][0]["properties"]
    assert plain_text(entry["Original Filename"]) == "disk.img.file.json"


def test_push_r_makes_one_folder_row_per_folder_and_never_a_second(sandbox, tmp_path: Path):
    top = tmp_path / "top"
    (top / "sub" / "deep").mkdir(parents=True)
    (top / "a.txt").write_text("a")
    (top / "sub" / "b.txt").write_text("b")
    (top / "sub" / "deep" / "c.txt").write_text("c")
    for _ in range(2):
        done = run_cli(["push", "-r", str(top)], sandbox.env())
        assert done.returncode == 0, done.stderr
    rows = client_of(sandbox).query_data_source(
        sandbox.files_data_source_id,
        {"filter": {"property": "is_folder", "checkbox": {"equals": True}}},
    )["results"]
    # create_folder's format: the name, folder_path the parent, empty hash and salt, size 0.
    found = sorted(
        (plain_text(r["properties"]["filename"]), plain_text(r["properties"]["folder_path"]))
        for r in rows
    )
    assert found == [("deep", "/sub"), ("sub", "/")]
    props = rows[0]["properties"]
    assert props["filesize"]["number"] == 0 and props["file_data"]["files"] == []
    assert props["is_visible"]["checkbox"] is True


# -- 5: share, unshare, rm --------------------------------------------------------------------
def test_share_sets_both_flags_and_prints_the_public_link(sandbox, tmp_path: Path):
    (tmp_path / "r.pdf").write_bytes(b"%PDF-1.4 r")
    pushed = json.loads(run_cli(["push", "--json", str(tmp_path / "r.pdf")], sandbox.env()).stdout)
    env = sandbox.env(NOTION_UP_SERVICE_URL="https://files.example/")
    done = run_cli(["share", "r.pdf"], env)
    assert done.returncode == 0, done.stderr
    assert f"https://files.example/d/{pushed['hash']}" in done.stdout.decode()
    client = client_of(sandbox)

    def flags() -> tuple[bool, bool]:
        page = client.retrieve_page(pushed["file_id"])["properties"]["is_public"]["checkbox"]
        entry = client.query_data_source(sandbox.index_data_source_id, {})["results"][0]
        return page, entry["properties"]["Is Public"]["checkbox"]

    assert flags() == (True, True)
    assert run_cli(["unshare", pushed["file_id"]], sandbox.env()).returncode == 0
    assert flags() == (False, False)


def test_push_public_records_the_file_as_public(sandbox, tmp_path: Path):
    (tmp_path / "p.txt").write_text("p")
    done = run_cli(["push", "--public", "--json", str(tmp_path / "p.txt")], sandbox.env())
    pushed = json.loads(done.stdout)
    props = client_of(sandbox).retrieve_page(pushed["file_id"])["properties"]
    assert props["is_public"]["checkbox"] is True


def test_rm_trashes_a_split_file_with_every_piece_and_index_entry(sandbox, tmp_path: Path):
    client = client_of(sandbox)
    split_id, _ = service_split(client, sandbox, "disk.img", secrets.token_bytes(3000), 1000, "/")
    dry = run_cli(["rm", "--dry-run", "--json", "disk.img"], sandbox.env())
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert len(planned["pages"]) == 4 and len(planned["index_entries"]) == 4
    assert len(client.query_data_source(sandbox.index_data_source_id, {})["results"]) == 4
    done = run_cli(["rm", split_id], sandbox.env())
    assert done.returncode == 0, done.stderr
    assert client.query_data_source(sandbox.files_data_source_id, {})["results"] == []
    assert client.query_data_source(sandbox.index_data_source_id, {})["results"] == []
    assert client.retrieve_page(split_id)["in_trash"] is True


def test_rm_refuses_a_name_two_files_share(sandbox, tmp_path: Path):
    (tmp_path / "same.txt").write_text("one")
    assert run_cli(["push", str(tmp_path / "same.txt")], sandbox.env()).returncode == 0
    (tmp_path / "same.txt").write_text("two")
    assert run_cli(["push", str(tmp_path / "same.txt")], sandbox.env()).returncode == 0
    done = run_cli(["rm", "same.txt"], sandbox.env())
    assert done.returncode == 2
    assert b"matches 2 files" in done.stderr
    assert len(ls_json(sandbox)) == 2


@pytest.mark.parametrize("ref", ["nothing-here.txt"])
def test_rm_of_an_unknown_name_exits_4(sandbox, ref):
    assert run_cli(["rm", ref], sandbox.env()).returncode == 4


def test_ls_shows_an_older_split_row_as_its_row_says_without_fetching_it(sandbox, tmp_path):
    # Older notion-up rows: titled `<name>.file.json` with the manifest's own size.
    client = client_of(sandbox)
    split_id, raw = service_split(client, sandbox, "old.bin", secrets.token_bytes(2500), 1000, "/")
    page = client.retrieve_page(split_id)
    raw_size = len(raw)
    client.update_page(
        split_id,
        {
            "properties": {
                "filename": {"title": _text("old.bin.file.json")},
                "filesize": {"number": raw_size},
            }
        },
    )
    assert page["properties"]["is_manifest"]["checkbox"] is True
    sandbox.server.reset_stats()
    (row,) = ls_json(sandbox)
    assert (row["name"], row["size"]) == ("old.bin.file.json", raw_size)
    assert "download" not in sandbox.server.stats()["requests"]
    # pull still reads its manifest and puts the whole file back under its real name.
    done = run_cli(["pull", split_id, "-o", f"{tmp_path}/"], sandbox.env())
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "old.bin").stat().st_size == 2500
