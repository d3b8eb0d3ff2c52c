"""Scenario 9: start-up of `notion-up --version` and `--help` against a bare interpreter.

    python bench/run.py --only 9

Same interpreter for all, interleaved, medians of the process wall time. The console script is
the `notion-up` next to the interpreter (as a user types it); `python -m notion_up` is shown too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness import Bench, Floor, Section, fmt, med, reps, rotate, run_timed, say, table

FLOOR = 2.0


def scenario_startup(bench: Bench) -> Section:
    n = reps(bench, 15, 5)
    script = Path(bench.python).parent / "notion-up"
    if script.exists():
        entry, entry_label = [str(script)], "notion-up"
    else:  # an interpreter without the console script next to it
        entry, entry_label = [bench.python, "-m", "notion_up"], "python -m notion_up"
    variants = {
        "python3 -c pass": [bench.python, "-c", "pass"],
        f"{entry_label} --version": [*entry, "--version"],
        f"{entry_label} --help": [*entry, "--help"],
        "python -m notion_up --version": [bench.python, "-m", "notion_up", "--version"],
    }
    if entry_label == "python -m notion_up":
        del variants["python -m notion_up --version"]
    env = bench.base_env
    for cmd in variants.values():  # once each, uncounted: file caches warm
        run_timed(cmd, env)
    walls: dict[str, list[float]] = {k: [] for k in variants}
    for rep in range(n):
        for name in rotate(list(variants), rep):
            walls[name].append(run_timed(variants[name], env).wall)
    base = med(walls["python3 -c pass"])
    rows = []
    for name, values in walls.items():
        m = med(values)
        rows.append([name, f"{m * 1000:.1f}", f"{min(values) * 1000:.1f}",
                     f"{max(values) * 1000:.1f}", fmt(m / base) + "×"])  # fmt: skip
        say(f"  [9] {name}: median {m * 1000:.1f} ms ({m / base:.2f}× bare python)")
    version = med(walls[f"{entry_label} --version"]) / base
    helps = med(walls[f"{entry_label} --help"]) / base
    if "PYTHONDONTWRITEBYTECODE" in env:
        bytecode = (
            "`PYTHONDONTWRITEBYTECODE` is set, so a module without a cached .pyc (notion-up's "
            "own, when installed editable) is compiled from source on every start"
        )
    else:
        bytecode = "bytecode is cached as usual"
    body = "\n\n".join([
        f"Process wall time from spawn to exit, {n} interleaved repetitions after one uncounted "
        f"run of each, same interpreter (`{bench.python}`, Python {sys.version.split()[0]}), "
        f"in the benchmark's environment ({bytecode}). `notion-up` is the console script; its "
        "`--version` answers before the command line (typer, click, rich) loads.",
        table(["command", "median ms", "best ms", "worst ms", "vs bare python"], rows),
    ])  # fmt: skip
    floors = [
        Floor("9 start-up", f"`{entry_label} --version` vs `python3 -c pass`", f"{version:.2f}×",
              f"≤ {FLOOR:g}×", version <= FLOOR),
        Floor("9 start-up", f"`{entry_label} --help` vs `python3 -c pass`", f"{helps:.2f}×",
              "reported", None),
    ]  # fmt: skip
    return Section("9. Start-up: --version and --help", body, floors)
