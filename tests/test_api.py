"""The Python API: README's example runs against the sandbox, without typer or rich."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    text = README.read_text()
    section = text[text.index("## From Python") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_example_pushes_verifies_and_pulls_without_typer_or_rich(tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 a small report\n" * 100)
    code = (
        readme_example()
        + "\nimport sys\n"
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click'))\n"
        + "print('BANNED:' + ','.join(bad))\n"
    )
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    for name in ("NOTION_TOKEN", "NOTION_UP_DATABASE", "NOTION_UP_INDEX", "NOTION_API_URL"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "BANNED:"
    file_id, salted = lines[0].split()
    assert len(salted) == 128
    assert (tmp_path / "restored.pdf").read_bytes() == (tmp_path / "report.pdf").read_bytes()
    assert lines[1].split()[0].endswith("restored.pdf")


def test_api_errors_are_the_cores_exceptions(tmp_path, monkeypatch):
    import notion_up
    from notion_up.errors import InputError

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(InputError) as caught:
        ids = {"database": "00000000-0000-4000-8000-000000000001", "index": "0" * 32}
        notion_up.push([str(tmp_path / "missing.bin")], token="t", **ids)
    assert int(caught.value.exit_status) == 4


def _where(sandbox) -> dict[str, str]:
    """The API's settings for the sandbox fixture's server."""
    return {
        "token": sandbox.token,
        "api_url": sandbox.url,
        "database": sandbox.files_database_id,
        "index": sandbox.index_database_id,
        "rate": 0,
    }


def test_push_takes_a_path_a_list_bytes_or_a_binary_file_object(sandbox, tmp_path):
    import notion_up

    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_bytes(b"one")
    two.write_bytes(b"two")
    where = _where(sandbox)
    assert [r.name for r in notion_up.push(str(one), **where)] == ["one.txt"]
    assert [r.name for r in notion_up.push(one, **where)] == ["one.txt"]
    assert sorted(r.name for r in notion_up.push([one, str(two)], **where)) == [
        "one.txt",
        "two.txt",
    ]
    (from_bytes,) = notion_up.push(b"raw bytes", name="raw.bin", **where)
    assert (from_bytes.name, from_bytes.size) == ("raw.bin", 9)
    with two.open("rb") as f:
        (from_file,) = notion_up.push(f, name="copy.txt", **where)
    assert (from_file.name, from_file.size) == ("copy.txt", 3)
    assert from_file.hash.sha512 == hashlib.sha512(b"two").hexdigest()


def test_push_refuses_what_it_cannot_name_or_read_with_a_usage_error(tmp_path):
    import io

    import notion_up
    from notion_up.errors import UsageError

    with pytest.raises(UsageError, match="needs name="):
        notion_up.push(b"no name")
    with pytest.raises(UsageError, match="needs name="):
        notion_up.push(io.BytesIO(b"no name"))
    with pytest.raises(UsageError, match="binary file object"):
        notion_up.push(io.StringIO("text"), name="t.txt")
    with pytest.raises(UsageError, match="cannot push a int"):
        notion_up.push(42)


@pytest.mark.parametrize("command", ["push", "pull", "verify", "ls", "resume", "share", "rm"])
def test_an_unknown_keyword_is_a_usage_error_naming_the_valid_ones(command):
    import notion_up
    from notion_up import api
    from notion_up.errors import UsageError

    args = {"push": (["x"],), "pull": ("k",), "share": (["r"],), "rm": (["r"],)}.get(command, ())
    with pytest.raises(UsageError) as caught:
        getattr(api, command)(*args, recursve=True)
    assert f"{command}() got an unknown keyword argument 'recursve'" in str(caught.value)
    assert "sandbox" in caught.value.hint and "token" in caught.value.hint
    if command == "push":
        assert "recursive" in caught.value.hint
    assert notion_up.push is api.push
