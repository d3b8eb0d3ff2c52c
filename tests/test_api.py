"""The Python API: README's example runs against the sandbox, without typer or rich."""

from __future__ import annotations

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
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
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
