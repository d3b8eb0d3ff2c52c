"""The package says what it is: license, classifiers, typing marker, extras, and true floors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_license_file_is_the_mit_license_pyproject_declares():
    assert PROJECT["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted" in text
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]


def test_classifiers_name_every_python_the_project_claims():
    assert PROJECT["requires-python"] == ">=3.11"
    versions = {c.rsplit(" ", 1)[-1] for c in PROJECT["classifiers"] if "Python :: 3." in c}
    assert {"3.11", "3.12", "3.13"} <= versions
    assert PROJECT["authors"] and "Typing :: Typed" in PROJECT["classifiers"]


def test_the_package_is_marked_typed_and_ships_the_marker():
    assert (ROOT / "notion_up" / "py.typed").exists()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in data["package-data"]["notion_up"]


def test_ruff_is_a_dev_tool_not_a_test_dependency_and_ci_installs_both():
    extras = PROJECT["optional-dependencies"]
    assert not any(d.startswith("ruff") for d in extras["test"])
    assert any(d.startswith("ruff") for d in extras["dev"])
    ci = (ROOT / ".ci" / "run").read_text()
    assert "'.[test,dev]'" in ci and "ruff check" in ci


def test_every_dependency_has_a_floor_and_ci_tests_the_floors():
    for requirement in PROJECT["dependencies"]:
        # A floor, and a cap only where a newer release is known to hurt (typer, see pyproject).
        assert re.fullmatch(r"[a-z-]+>=\d+(\.\d+)*(,<\d+(\.\d+)*)?", requirement), requirement
    names = {r.split(">=")[0] for r in PROJECT["dependencies"]}
    # click is declared itself: typer's own range for it admits releases typer breaks with.
    assert names == {"typer", "click", "rich", "requests", "psutil"}
    ci = (ROOT / ".ci" / "run").read_text()
    assert "--resolution lowest-direct" in ci and "pytest" in ci.split("lowest-direct")[1]
