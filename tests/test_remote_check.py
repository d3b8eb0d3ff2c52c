"""--check-remote on a fresh machine: one bulk read when cheaper; hosted uploads only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from notion_up.events import FileSkipped
from notion_up.notion.client import NotionClient
from notion_up.notion.records import hash_content
from notion_up.notion.retry import RateLimiter
from notion_up.upload.existing import ExistingCheck, drop_existing
from notion_up.upload.inputs import FileInput
from tests.helpers import run_cli

# Slow: all tests here but one run the real command in a subprocess.
pytestmark = pytest.mark.slow

FAST = ["--rate", "0"]


def _tree(root: Path, sizes: list[int]) -> list[FileInput]:
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for i, size in enumerate(sizes):
        path = root / f"f{i:03d}.txt"
        path.write_bytes(os.urandom(size))
        files.append(FileInput(path=str(path), name=path.name))
    return files


def _check(sandbox) -> ExistingCheck:
    client = NotionClient(sandbox.token, sandbox.url, limiter=RateLimiter(rate=0))
    return ExistingCheck(
        journal=None,
        workspace=sandbox.url,
        files_data_source=sandbox.files_data_source_id,
        remote=client,
    )


def _skipped(files, check) -> tuple[list[FileInput], list[FileSkipped]]:
    heard: list = []
    return drop_existing(files, check, 4, heard.append), heard


def test_a_fresh_machine_reads_the_database_once_when_sizes_are_many(sandbox, tmp_path):
    files = _tree(tmp_path / "t", [100 + i for i in range(40)])
    assert run_cli(["push", "-r", str(tmp_path / "t"), *FAST], sandbox.env()).returncode == 0
    check = _check(sandbox)
    left, heard = _skipped(files, check)
    assert left == [] and len(heard) == 40
    assert all("already in the file database" in e.reason for e in heard)
    assert check.queries == 1  # one page of 40 rows, where per size it would be 40


def test_a_big_database_and_few_sizes_keeps_to_one_query_per_size(sandbox, planter, tmp_path):
    files = _tree(tmp_path / "t", [10, 20, 30])
    assert run_cli(["push", "-r", str(tmp_path / "t"), *FAST], sandbox.env()).returncode == 0
    planter.plant([planter.row(f"other-{i}", 7) for i in range(450)])
    check = _check(sandbox)
    left, heard = _skipped(files, check)
    assert left == [] and len(heard) == 3
    # The bulk read gives up after as many queries as the per-size checks take, then they run.
    assert check.queries <= 2 * 3


def _row_of(planter, path: Path, files: list) -> dict:
    """A row recording this very content (its salted hash), with `files` attached."""
    digest = hashlib.sha512(path.read_bytes()).hexdigest()
    content = hash_content(digest)
    row = planter.row(path.name, path.stat().st_size, files=files)
    row["filehash"] = {"rich_text": [{"text": {"content": content.salted}}]}
    row["salt"] = {"rich_text": [{"text": {"content": content.salt}}]}
    return row


def test_rows_without_a_notion_hosted_upload_do_not_stop_a_backup(sandbox, planter, tmp_path):
    files = _tree(tmp_path / "t", [50, 60, 70])
    external = [{"type": "external", "name": "x", "external": {"url": "https://example.com/x"}}]
    planter.plant(
        [
            _row_of(planter, Path(files[0].path), []),
            _row_of(planter, Path(files[1].path), external),
            _row_of(planter, Path(files[2].path), []),
        ]
    )
    bulk, _ = _skipped(files, _check(sandbox))
    per_size = _check(sandbox)
    left = [item for item in files if per_size.reason_to_skip(item.path) is None]
    assert bulk == files and left == files


def test_rows_too_dense_to_read_in_windows_fall_back_to_one_query_per_size(
    sandbox, planter, tmp_path
):
    files = _tree(tmp_path / "t", [11, 22, 33])
    assert run_cli(["push", "-r", str(tmp_path / "t"), *FAST], sandbox.env()).returncode == 0
    sandbox.server.options.query_result_limit = 50
    external = [{"type": "external", "name": "x", "external": {"url": "https://example.com/x"}}]
    planter.plant([planter.row(f"dense-{i}", 5, files=external) for i in range(120)], 120)
    check = _check(sandbox)
    left, heard = _skipped(files, check)
    assert left == [] and len(heard) == 3
