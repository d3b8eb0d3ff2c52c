"""The architecture as tests, by package: who may import what, no cycles, no giant modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "notion_up"
CLI_PACKAGE = "notion_up.cli"
BANNED_OUTSIDE_CLI = ("typer", "rich", "click")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports_of(path: Path, name: str) -> set[str]:
    """Every module this file imports (top level and inside functions), resolved to absolute."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            # `from notion_up.cli import options` imports the module notion_up.cli.options.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def internal_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {
        name: {m for m in imports_of(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_only_the_command_line_package_imports_typer_or_rich():
    offenders = []
    for name, path in all_modules().items():
        if name == CLI_PACKAGE or name.startswith(CLI_PACKAGE + "."):
            continue
        for imported in imports_of(path, name):
            if imported.split(".")[0] in BANNED_OUTSIDE_CLI:
                offenders.append(f"{name} imports {imported}")
    assert offenders == []


def test_the_sandbox_imports_only_the_standard_library_and_itself():
    offenders = []
    for name, path in all_modules().items():
        if not name.startswith("notion_up.sandbox"):
            continue
        for imported in imports_of(path, name):
            top = imported.split(".")[0]
            inside = imported == "notion_up.sandbox" or imported.startswith("notion_up.sandbox.")
            if top == "__future__" or top in sys.stdlib_module_names or inside:
                continue
            offenders.append(f"{name} imports {imported}")
    assert offenders == []


def test_the_core_loads_without_typer_or_rich_at_run_time():
    # __main__ modules run when imported (the sandbox's serves forever): leave them out.
    core = [
        n for n in all_modules() if not n.startswith(CLI_PACKAGE) and not n.endswith("__main__")
    ]
    assert "notion_up.upload.engine" in core and "notion_up.api" in core
    code = (
        "import sys\n"
        f"for name in {core!r}: __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk of the graph meets (empty when there is none)."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycles_among_notion_up_modules():
    assert find_cycles(internal_graph()) == []


def test_the_cycle_check_finds_a_planted_cycle(tmp_path):
    # The check must be able to fail: two modules importing each other, one lazily.
    (tmp_path / "a.py").write_text("from notion_up.b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from notion_up import a\n")
    graph = {
        "notion_up.a": imports_of(tmp_path / "a.py", "notion_up.a") & {"notion_up.b"},
        "notion_up.b": imports_of(tmp_path / "b.py", "notion_up.b") & {"notion_up.a"},
    }
    assert find_cycles(graph) == [["notion_up.a", "notion_up.b", "notion_up.a"]]


def test_data_flows_one_way_between_layers():
    # cli -> app -> upload / download -> notion; lower layers never import upper ones.
    order = ["cli", "app", "upload", "download", "notion"]
    graph = internal_graph()
    wrong = []
    for name, targets in graph.items():
        layer = name.split(".")[1] if "." in name else ""
        if layer not in order:
            continue
        for target in targets:
            other = target.split(".")[1] if "." in target else ""
            if other in order and order.index(other) < order.index(layer):
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_no_command_module_imports_the_root_command_module():
    graph = internal_graph()
    # cli.start, the console script's first step, is the one module above cli.main.
    above = ("notion_up.cli.main", "notion_up.cli.start")
    commands = [n for n in graph if n.startswith(CLI_PACKAGE + ".") and n not in above]
    assert [n for n in commands if "notion_up.cli.main" in graph[n]] == []


def test_no_module_is_much_over_700_lines():
    big = {
        name: n
        for name, path in all_modules().items()
        if (n := len(path.read_text().splitlines())) > 720
    }
    assert big == {}


def imports_between_tests(folder: Path) -> list[str]:
    """`test_x imports test_y` for every test module in `folder` that imports another test module
    or conftest (by any spelling: `tests.test_y`, `test_y`, `from tests import test_y`)."""
    others = {p.stem for p in folder.glob("test_*.py")} | {"conftest"}
    found = []
    for path in sorted(folder.glob("test_*.py")):
        modules = set()
        for imported in imports_of(path, f"tests.{path.stem}"):
            parts = imported.split(".")
            if parts[0] == "tests":
                parts = parts[1:]
            if parts and parts[0] in others and parts[0] != path.stem:
                modules.add(parts[0])
        found += [f"{path.stem} imports {name}" for name in sorted(modules)]
    return found


def test_no_test_module_imports_another_test_module_or_conftest():
    # Shared helpers live in tests/helpers.py and fixtures in conftest.py, which pytest loads:
    # a test module imported by another would run twice and tie the two together.
    tests = Path(__file__).resolve().parent
    assert len(list(tests.glob("test_*.py"))) > 1
    assert imports_between_tests(tests) == []


def test_the_test_import_check_finds_planted_imports(tmp_path):
    # The check must be able to fail, whichever way the import is spelt.
    (tmp_path / "test_a.py").write_text("from tests.helpers import run_cli\n")
    (tmp_path / "test_b.py").write_text("from tests.test_a import x\n")
    (tmp_path / "test_c.py").write_text("def f():\n    import test_a\n")
    (tmp_path / "test_d.py").write_text("from tests import test_a\nfrom conftest import run_cli\n")
    assert imports_between_tests(tmp_path) == [
        "test_b imports test_a",
        "test_c imports test_a",
        "test_d imports conftest",
        "test_d imports test_a",
    ]
