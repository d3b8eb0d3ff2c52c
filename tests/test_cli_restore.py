"""`notion-up ls | pull | verify` and `push --split` through the command line (in process)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from notion_up.cli.main import commands
from tests.conftest import Sandbox, cli_runner
from tests.test_restore import content

MiB = 1024 * 1024


def run(sandbox: Sandbox, *args: str, stdin: bytes | None = None):
    env = {
        "NOTION_API_URL": sandbox.url,
        "NOTION_TOKEN": sandbox.token,
        "NOTION_UP_DATABASE": sandbox.files_database_id,
        "NOTION_UP_INDEX": sandbox.index_database_id,
    }
    return cli_runner().invoke(commands, [*args, "--rate", "0"], input=stdin, env=env)


def push(sandbox: Sandbox, *args: str, stdin: bytes | None = None) -> dict:
    result = run(sandbox, "push", "--json", *args, stdin=stdin)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def tar_of(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=folder.name)
    return buffer.getvalue()


def extract_all(tar: tarfile.TarFile, where) -> None:
    """extractall with the "data" filter where this Python has it (3.11.4 and later).

    requires-python is >=3.11, and Debian 12's stock Python is 3.11.2, which has no filters;
    the archive here is the test's own, so plain extractall is safe there.
    """
    if hasattr(tarfile, "data_filter"):
        tar.extractall(where, filter="data")
    else:  # pragma: no cover - Python 3.11.0-3.11.3
        tar.extractall(where)  # noqa: S202


def test_backup_and_restore_recipe_with_tar_through_stdin_and_stdout(sandbox, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(content(MiB + 5, seed=1))
    (folder / "b.txt").write_text("hello")
    line = push(sandbox, "-", "--name", "photos.tar", stdin=tar_of(folder))
    assert line["carrier"] is True
    pulled = run(sandbox, "pull", line["hash"], "-o", "-")
    assert pulled.exit_code == 0, pulled.stderr
    with tarfile.open(fileobj=io.BytesIO(pulled.stdout_bytes)) as tar:
        extract_all(tar, tmp_path / "restored")
    restored = tmp_path / "restored" / "photos"
    assert (restored / "a.jpg").read_bytes() == (folder / "a.jpg").read_bytes()
    assert (restored / "b.txt").read_text() == "hello"
    assert "hash verified" in pulled.stderr


def test_pull_writes_the_real_name_into_a_directory_and_prints_the_path(sandbox, tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(b"\x00\x01" * 1000)
    line = push(sandbox, str(source))
    out = tmp_path / "out"
    out.mkdir()
    result = run(sandbox, "pull", line["file_id"], "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out / "data.bin")
    assert (out / "data.bin").read_bytes() == source.read_bytes()
    again = run(sandbox, "pull", line["file_id"], "-o", str(out))
    assert again.exit_code == 2 and "--force" in again.stderr
    forced = run(sandbox, "pull", line["file_id"], "-o", str(out), "--force", "--json")
    assert forced.exit_code == 0 and json.loads(forced.stdout)["verified"] is True


def test_a_corrupted_file_fails_pull_and_verify_and_pull_leaves_nothing(sandbox, tmp_path):
    line = push(sandbox, "-", "--name", "doc.txt", stdin=b"important words")
    good = push(sandbox, "-", "--name", "other.txt", stdin=b"fine")
    sandbox.server.corrupt_upload(line["file_upload_id"], offset=4)
    out = tmp_path / "out"
    out.mkdir()
    result = run(sandbox, "pull", line["hash"], "-o", str(out))
    assert result.exit_code == 1
    assert "do not match" in result.stderr
    assert list(out.iterdir()) == []
    to_stdout = run(sandbox, "pull", line["hash"], "-o", "-")
    assert to_stdout.exit_code == 1 and "do not match" in to_stdout.stderr
    verified = run(sandbox, "verify", "--all", "--json")
    assert verified.exit_code == 1
    statuses = {
        json.loads(x)["file_id"]: json.loads(x)["status"] for x in verified.stdout.splitlines()
    }
    assert statuses == {line["file_id"]: "mismatched", good["file_id"]: "verified"}


def test_verify_reports_missing_files_and_needs_something_to_check(sandbox):
    line = push(sandbox, "-", "--name", "a.txt", stdin=b"a")
    result = run(sandbox, "verify", line["file_id"], "ef" * 64)
    assert result.exit_code == 1
    assert sorted(x.split()[0] for x in result.stdout.splitlines()) == ["missing", "verified"]
    assert "1 verified, 0 mismatched, 1 missing" in result.stderr
    assert run(sandbox, "verify").exit_code == 2


def test_ls_lists_newest_first_with_a_name_filter_and_json(sandbox):
    first = push(sandbox, "-", "--name", "alpha.txt", stdin=b"1")
    second = push(sandbox, "-", "--name", "beta.txt", stdin=b"22")
    result = run(sandbox, "ls")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [x.split()[0] for x in lines] == [second["hash"][:12], first["hash"][:12]]
    short, size, _created, name = [x.strip() for x in lines[0].split("  ") if x.strip()]
    assert name == "beta.txt" and short == second["hash"][:12]
    assert size == "2 B"  # human units; --json keeps bytes
    assert all(len(x) <= 80 for x in lines)
    long = run(sandbox, "ls", "--long").stdout.splitlines()
    file_id, size, _created, salted, name = [x.strip() for x in long[0].split("  ") if x.strip()]
    assert (file_id, salted, name) == (second["file_id"], second["hash"], "beta.txt")
    big = push(sandbox, "-", "--name", "gamma.bin", stdin=b"g" * (3 * 1024 * 1024 + 100))
    (row,) = [x for x in run(sandbox, "ls").stdout.splitlines() if x.startswith(big["hash"][:12])]
    assert "   3.0 MiB  " in row
    filtered = run(sandbox, "ls", "--name", "alp", "--json")
    rows = [json.loads(x) for x in filtered.stdout.splitlines()]
    assert [(r["name"], r["size"]) for r in rows] == [("alpha.txt", 1)]


@pytest.fixture
def capped(sandbox: Sandbox) -> Sandbox:
    sandbox.server.options.max_file_upload_size = 5 * MiB
    return sandbox


def test_push_over_the_cap_with_no_split_fails_and_says_how_to_store_it(capped, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(content(5 * MiB + 1, seed=2))
    result = run(capped, "push", "--no-split", str(big))
    assert result.exit_code == 6
    assert "--split" in result.stderr and "--no-split" in result.stderr
    assert run(capped, "ls", "--all").stdout.strip() == ""


def test_over_the_cap_a_file_and_a_stream_are_stored_split_with_one_notice(capped, tmp_path):
    data = content(20 * 1000 * 1000, seed=4)
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    # The first push is cold (the limit is learnt while its first upload is created), the
    # second warm (the limit cached): both end split, without --split.
    pushed = [run(capped, "push", "--json", str(big))]
    pushed.append(run(capped, "push", "--json", "-", "--name", "piped.bin", stdin=data))
    for result, name in zip(pushed, ("big.bin", "piped.bin"), strict=True):
        assert result.exit_code == 0, result.stderr
        notices = [x for x in result.stderr.splitlines() if "over this workspace's limit" in x]
        assert len(notices) == 1 and "4 pieces" in notices[0] and "--no-split" in notices[0]
        line = json.loads(result.stdout.splitlines()[-1])
        assert line["split"] is True and [p["size"] for p in line["pieces"]] == [5 * MiB] * 3 + [
            len(data) - 15 * MiB
        ]
        out = tmp_path / f"out-{name}"
        out.mkdir()
        pulled = run(capped, "pull", line["hash"], "-o", str(out))
        assert pulled.exit_code == 0, pulled.stderr
        assert (out / name).read_bytes() == data
    assert [x.split()[-1] for x in run(capped, "ls").stdout.splitlines()] == [
        "piped.bin",
        "big.bin",
    ]
    # Nothing over the cap was stored whole, and no row was left half made.
    assert len(run(capped, "ls", "--all").stdout.splitlines()) == 2 * (4 + 1)
    verified = run(capped, "verify", "--all")
    assert "2 verified, 0 mismatched, 0 missing, 0 failed" in verified.stderr


def test_a_dry_run_over_the_cap_plans_the_split(capped, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(content(11 * MiB, seed=5))
    push(capped, "-", "--name", "warm.txt", stdin=b"x")  # the limit is cached from here on
    planned = run(capped, "push", "--dry-run", str(big))
    assert planned.exit_code == 0, planned.stderr
    assert "split into 3 piece(s)" in planned.stdout
    refused = run(capped, "push", "--dry-run", "--no-split", str(big))
    assert "would refuse" in refused.stdout and "--no-split" in refused.stdout


def test_push_split_then_pull_and_verify_from_stdin_and_file(capped, tmp_path):
    data = content(11 * MiB + 1, seed=3)
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    from_file = push(capped, str(big), "--split", "5MiB")
    from_stdin = push(capped, "-", "--name", "piped.bin", "--split", "5MiB", stdin=data)
    for line, name in ((from_file, "big.bin"), (from_stdin, "piped.bin")):
        assert line["split"] is True and len(line["pieces"]) == 3
        assert line["name"] == f"{name}.file.json" and line["total_size"] == len(data)
        out = tmp_path / f"out-{name}"
        out.mkdir()
        pulled = run(capped, "pull", line["hash"], "-o", str(out))
        assert pulled.exit_code == 0, pulled.stderr
        assert (out / name).read_bytes() == data
    listed = run(capped, "ls").stdout.splitlines()
    # Listed as the service lists them: the original name (only the index entry is .file.json).
    assert [x.split()[-1] for x in listed] == ["piped.bin", "big.bin"]
    assert len(run(capped, "ls", "--all").stdout.splitlines()) == 8
    verified = run(capped, "verify", "--all")
    assert verified.exit_code == 0, verified.stderr
    assert "2 verified, 0 mismatched, 0 missing, 0 failed" in verified.stderr


def test_a_long_stream_goes_up_in_volumes_and_comes_back_as_one_file(sandbox, tmp_path):
    data = content(21 * MiB + 5, seed=6)
    state = tmp_path / "state"
    args = ["--volume-size", "8MiB", "--state-dir", str(state), "-", "--name", "dump.tar"]
    line = push(sandbox, *args, stdin=data)
    # The service's split format: the volumes are the pieces, the manifest names them.
    assert line["split"] is True and line["total_size"] == len(data)
    assert [p["size"] for p in line["pieces"]] == [8 * MiB, 8 * MiB, 5 * MiB + 5]
    assert [p["name"] for p in line["pieces"]] == [f"dump.tar.part00{i}" for i in (1, 2, 3)]
    pulled = run(sandbox, "pull", line["hash"], "-o", str(tmp_path / "out.tar"))
    assert pulled.exit_code == 0, pulled.stderr
    assert (tmp_path / "out.tar").read_bytes() == data
    assert [x.split()[-1] for x in run(sandbox, "ls").stdout.splitlines()] == ["dump.tar"]
    assert list((state / "spool").iterdir()) == []  # every volume's spool file is gone


def test_a_stream_within_one_volume_is_an_ordinary_file(sandbox, tmp_path):
    data = content(21 * MiB, seed=7)
    line = push(sandbox, "--volume-size", "32MiB", "-", "--name", "one.bin", stdin=data)
    assert "split" not in line and line["name"] == "one.bin" and line["size"] == len(data)


def test_a_dry_run_of_a_stream_shows_its_volume_size(sandbox, tmp_path):
    planned = run(sandbox, "push", "--dry-run", "--volume-size", "256MiB", "-", "--name", "a")
    assert planned.exit_code == 0, planned.stderr
    assert "in volumes of 268435456 bytes (256.0 MiB)" in planned.stdout
