"""Expanding push inputs: directories, filters, file lists, symlinks, folder paths."""

from __future__ import annotations

import io
import os

import pytest

from notion_up.errors import InputError
from notion_up.upload.inputs import InputOptions, expand, matches, read_file_list
from tests.helpers import ODD_NAMES, write_tree


def rels(expansion, root) -> list[tuple[str, str]]:
    return [(f.folder_path, f.name) for f in expansion.files]


def test_a_directory_without_recursive_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="is a directory") as failed:
        expand([str(tmp_path)], InputOptions())
    assert "-r" in str(failed.value)


def test_a_missing_input_fails_before_anything_else(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(InputError, match="no such file"):
        expand([str(tmp_path / "a.txt"), str(tmp_path / "missing.txt")], InputOptions())


def test_recursive_gives_each_file_its_folder_within_the_pushed_directory(tmp_path):
    write_tree(tmp_path / "logs", {"top.log": b"1", "2026/01/a.log": b"2", "2026/b.log": b"3"})
    found = expand([str(tmp_path / "logs")], InputOptions(recursive=True))
    assert rels(found, tmp_path) == [("/", "top.log"), ("/2026", "b.log"), ("/2026/01", "a.log")]


def test_plain_files_go_to_the_root_folder_and_duplicates_once(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    path = str(tmp_path / "a.txt")
    found = expand([path, path, os.path.relpath(path)], InputOptions())
    assert [(f.folder_path, f.name) for f in found.files] == [("/", "a.txt")]


def test_include_and_exclude_match_the_relative_path_or_the_name(tmp_path):
    write_tree(tmp_path, {"a.log": b"", "b.txt": b"", "old/c.log": b"", "new/d.log": b""})
    opts = InputOptions(recursive=True, include=("*.log",), exclude=("old/*",))
    found = expand([str(tmp_path)], opts)
    assert sorted(f.name for f in found.files) == ["a.log", "d.log"]
    assert found.filtered == 2
    assert matches("x/y/z.gz", "z.gz", InputOptions(include=("x/*",)))
    assert not matches("x/y/z.gz", "z.gz", InputOptions(exclude=("*.gz",)))


def test_symlinks_are_skipped_with_a_reason_unless_followed(tmp_path):
    write_tree(tmp_path / "real", {"f.txt": b"x"})
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "file-link.txt").symlink_to(tmp_path / "real" / "f.txt")
    (tmp_path / "top" / "dir-link").symlink_to(tmp_path / "real")
    found = expand([str(tmp_path / "top")], InputOptions(recursive=True))
    assert found.files == []
    assert len(found.skipped) == 2
    assert all("--follow-symlinks" in s.reason for s in found.skipped)
    followed = expand([str(tmp_path / "top")], InputOptions(recursive=True, follow_symlinks=True))
    assert sorted((f.folder_path, f.name) for f in followed.files) == [
        ("/", "file-link.txt"),
        ("/dir-link", "f.txt"),
    ]


def test_a_symlink_loop_is_walked_once(tmp_path):
    write_tree(tmp_path / "d", {"f.txt": b"x"})
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    found = expand([str(tmp_path / "d")], InputOptions(recursive=True, follow_symlinks=True))
    assert [f.name for f in found.files] == ["f.txt"]


def test_a_nul_separated_list_keeps_spaces_unicode_and_newlines():
    data = b"\0".join(os.fsencode(n) for n in ODD_NAMES) + b"\0"
    assert read_file_list(io.BytesIO(data), nul=True) == ODD_NAMES


def test_a_line_list_ignores_blank_lines_and_crlf():
    assert read_file_list(io.BytesIO(b"a b.txt\r\n\nc.txt\n"), nul=False) == ["a b.txt", "c.txt"]


def test_an_undecodable_name_survives_the_list(tmp_path):
    raw = b"caf\xe9.txt"
    (name,) = read_file_list(io.BytesIO(raw + b"\0"), nul=True)
    assert os.fsencode(name) == raw
