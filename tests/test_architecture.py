"""The core does not know it is a CLI: importing it pulls in neither typer nor rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import notion_up

CLI_LAYER = {"notion_up.cli", "notion_up.render", "notion_up.__main__"}


def core_modules() -> list[str]:
    names = [f"notion_up.{m.name}" for m in pkgutil.iter_modules(notion_up.__path__)]
    return [n for n in names if n not in CLI_LAYER and not n.startswith("notion_up.cli_")]


def test_core_modules_import_without_typer_or_rich():
    modules = core_modules()
    assert "notion_up.engine" in modules and "notion_up.sandbox" in modules
    code = (
        "import sys\n"
        f"for name in {modules!r}: __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_local_server_uses_only_the_standard_library():
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import notion_up.sandbox\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "stdlib = set(sys.stdlib_module_names) | {'notion_up'}\n"
        "print(','.join(sorted(new - stdlib)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
