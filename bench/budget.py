"""At the ceiling under Notion's request budget: the learning limiter, --part-size auto, and the
SDK's own concurrent example as a peer.

    python bench/budget.py [--reps N] [--big] [--output FILE]

(a) WAN profile (30 ms per request, 4 MiB/s per connection, no server limit), 60 MiB: the SDK's
concurrent example (bench/sdk_upload.py --concurrent: 5 threads, 10 MiB parts), the SDK's
sequential form, notion-up cold (a fresh state dir) and warm, at 5 MiB and with auto.
(b) A fast link (loopback, no bandwidth cap) under each budget model the sandbox enforces: an
even 3/s with bursts of 10 (`--rate-window 0 --burst 10`) and 180 per 60 s window; 300 MiB (and
1 GiB with --big): notion-up at 5 MiB first contact (a fresh state dir) and with what it learned
(the same state dir again), auto once settled (after two uncounted runs), the code before this
change (`git archive` of BEFORE, run from a temp dir) and the SDK's concurrent example.

Every variant runs once per repetition, the order rotated each time; medians are reported. The
machine is shared, so times are noisy: ratios from one run, side by side, are what to read.
Prints the Markdown section on stdout (and to --output).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    BENCH,
    ROOT,
    WAN,
    Bench,
    GiB,
    MiB,
    Run,
    Server,
    ensure_sdk,
    fmt,
    loadavg,
    med,
    rotate,
    say,
    table,
)

BEFORE = "28acef1"  # main before the learning limiter and --part-size auto
RATE = 3.0
WAN_SIZE = 60 * MiB
FAST_SIZES = (300 * MiB,)
MODELS = {
    "even": ("an even 3/s with bursts of 10", ["--rate-window", "0", "--burst", "10"]),
    "window": ("180 requests per 60 s window", ["--rate-window", "60"]),
}


class Result:
    """One measured run: the program's own numbers and what the server counted."""

    def __init__(self, run: Run, stats: dict, size: int) -> None:
        self.run = run
        self.stats = stats
        self.size = size
        files = [d for d in run.json_lines() if "seconds" in d]
        line = files[-1] if files else {}
        self.ok = line.get("ok", True) and bool(files)
        self.inner = float(line.get("seconds", run.wall))
        self.part_size = int(line.get("part_size", 0)) or None

    @property
    def requests(self) -> int:
        return int(self.stats.get("total_requests", 0))

    @property
    def refused(self) -> int:
        return sum(int(v.get("429", 0)) for v in self.stats.get("requests", {}).values())

    @property
    def early(self) -> int:
        return int(self.stats.get("early_retries", 0))

    @property
    def mibs(self) -> float:
        return self.size / MiB / self.inner


def before_tree(tmp: Path) -> Path:
    """The notion_up package as it was at BEFORE, unpacked beside the bench's files."""
    where = Path(tempfile.mkdtemp(prefix="before-", dir=tmp))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BEFORE, "notion_up"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    # Bytecode as pip leaves it, as for the current tree (Bench compiles that one).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(where)], check=True)
    return where


class Runner:
    """Runs the variants against one server; each returns a Result."""

    def __init__(self, bench: Bench, server: Server, before: Path) -> None:
        self.bench = bench
        self.server = server
        self.before = before
        self.fresh = 0

    def state(self, name: str | None) -> str:
        if name is None:  # a fresh state dir: first contact
            self.fresh += 1
            name = f"fresh-{self.fresh}"
        return name

    def push(self, path: Path, *flags: str, state: str | None, old: bool = False) -> Result:
        env = self.server.env(self.bench.state(self.state(state)))
        if old:
            env["PYTHONPATH"] = str(self.before)
        cmd = [self.bench.python, "-m", "notion_up", "push", str(path), "--json", *flags]
        run, stats = self.bench.measure(self.server, cmd, env)
        return Result(run, stats, path.stat().st_size)

    def sdk(self, path: Path, concurrent: bool) -> Result:
        info = self.server.info
        cmd = [
            self.bench.python, str(BENCH / "sdk_upload.py"), str(path), "--url", self.server.url,
            "--token", self.server.token, "--files-data-source", info["files_data_source_id"],
            "--index-data-source", info["index_data_source_id"],
            "--user-database", info["files_database_id"],
            "--part-size", str((10 if concurrent else 5) * MiB),
            *(["--concurrent"] if concurrent else []),
        ]  # fmt: skip
        run, stats = self.bench.measure(self.server, cmd, self.server.env(self.bench.state("sdk")))
        return Result(run, stats, path.stat().st_size)


def collect(variants: dict, reps: int, tag: str) -> dict[str, list[Result]]:
    got: dict[str, list[Result]] = {k: [] for k in variants}
    for rep in range(reps):
        for key in rotate(list(variants), rep):
            r = variants[key]()
            got[key].append(r)
            say(
                f"  [{tag}] rep {rep + 1}/{reps} {key}: wall {r.run.wall:.2f}s inner "
                f"{r.inner:.2f}s requests {r.requests} 429s {r.refused} early {r.early}"
                + ("" if r.ok else " GAVE UP")
            )
    return got


def scenario_wan(bench: Bench, before: Path, reps: int) -> str:
    path = bench.file(WAN_SIZE)
    server = Server(bench)
    try:
        server.options(**WAN, rate_limit=False)
        runner = Runner(bench, server, before)
        for _ in range(2):  # the warm state dirs: workspace facts, and a history for auto
            runner.push(path, state="wan-warm")
            runner.push(path, "--part-size", "auto", state="wan-auto")
        variants = {
            "SDK concurrent example (5 threads, 10 MiB parts)": lambda: runner.sdk(path, True),
            "SDK sequential (docs form, 5 MiB parts)": lambda: runner.sdk(path, False),
            "notion-up 5 MiB, cold (fresh state dir)": lambda: runner.push(path, state=None),
            "notion-up 5 MiB, warm": lambda: runner.push(path, state="wan-warm"),
            "notion-up auto, cold (fresh state dir)": lambda: runner.push(
                path, "--part-size", "auto", state=None
            ),
            "notion-up auto, warm (history of 2+ runs)": lambda: runner.push(
                path, "--part-size", "auto", state="wan-auto"
            ),
        }
        got = collect(variants, reps, "WAN")
    finally:
        server.stop()
    peer = med([r.run.wall for r in got[next(iter(variants))]])
    seq = med([r.run.wall for r in got["SDK sequential (docs form, 5 MiB parts)"]])
    rows = []
    for key, results in got.items():
        wall = med([r.run.wall for r in results])
        parts = sorted({r.part_size for r in results if r.part_size})
        rows.append([
            key, fmt(wall), ", ".join(fmt(r.run.wall) for r in results),
            fmt(med([r.inner for r in results])),
            "/".join(f"{p // MiB}" for p in parts) or "—",
            max(r.requests for r in results), sum(r.refused for r in results),
            "yes" if all(r.ok for r in results) else "no",
            fmt(peer / wall) + "×", fmt(seq / wall) + "×",
        ])  # fmt: skip
    head = [
        "program", "wall s (median)", "wall s (each)", "inner s", "part MiB", "requests",
        "429s", "uploaded", "vs SDK concurrent (wall)", "vs SDK sequential (wall)",
    ]  # fmt: skip
    return "\n\n".join([
        f"### (a) WAN profile, {WAN_SIZE // MiB} MiB: the SDK's concurrent example as a peer",
        f"Server latency {WAN['latency'] * 1000:.0f} ms per request, {WAN['bandwidth'] / MiB:.0f} "
        "MiB/s per connection while reading request bodies, no server rate limit; notion-up at "
        f"its defaults (4 workers, `--rate {RATE:g}`). The warm state dirs had two uncounted "
        f"runs first (workspace facts cached; auto's history). Medians of {reps} interleaved "
        "repetition(s), process wall time (start-up included).",
        table(head, rows),
    ])  # fmt: skip


def fast_runs(
    bench: Bench, before: Path, reps: int, path: Path, model: str, flags: list[str]
) -> dict[str, list[Result]]:
    """Every variant against a server enforcing one budget model, interleaved."""
    size = path.stat().st_size
    server = Server(bench, "--rate-limit", "--rate", str(RATE), *flags)
    try:
        runner = Runner(bench, server, before)
        learned, settled = f"learned-{model}-{size}", f"auto-{model}-{size}"
        runner.push(path, state=learned)
        for _ in range(2):
            runner.push(path, "--part-size", "auto", state=settled)
        variants = {
            "notion-up 5 MiB, first contact": lambda: runner.push(path, state=None),
            "notion-up 5 MiB, learned": lambda: runner.push(path, state=learned),
            "notion-up auto, settled": lambda: runner.push(
                path, "--part-size", "auto", state=settled
            ),
            f"before ({BEFORE}), 5 MiB": lambda: runner.push(path, state=None, old=True),
            "SDK concurrent example (10 MiB)": lambda: runner.sdk(path, True),
        }
        return collect(variants, reps, f"{model} {size // MiB} MiB")
    finally:
        server.stop()


def scenario_fast(bench: Bench, before: Path, reps: dict[int, int]) -> str:
    out = [
        "### (b) A fast link under each budget model",
        "Loopback, no added latency, no bandwidth cap; the server enforces one budget model at "
        f"`--rate {RATE:g}`, notion-up at its defaults (4 workers, `--rate {RATE:g}`). Ceiling = "
        "3 requests/s × the part size (the parts alone, as the issue defines it; the create, "
        "complete and two record writes come on top, and a burst at the start comes off). "
        "*first contact* = a fresh state dir each time (the limiter starts from the window "
        "model); *learned* = one state dir for every repetition (after one uncounted run): what "
        "the journal remembers; *auto settled* = `--part-size auto` in a state dir that had two "
        f"uncounted auto runs; *before* = the code at `{BEFORE}` (first contact). 429s = "
        "requests the server answered 429; early = requests that came before a Retry-After ran "
        "out (the server's count). Medians of "
        + ", ".join(f"{n} interleaved repetition(s) at {s // MiB} MiB" for s, n in reps.items())
        + ".",
    ]
    head = [
        "model", "size", "program", "inner s (median)", "inner s (each)", "MiB/s", "part MiB",
        "ceiling MiB/s", "of ceiling", "requests", "429s (each)", "429 share", "early",
        "uploaded",
    ]  # fmt: skip
    rows = []
    for size, n in reps.items():
        path = bench.file(size)
        for model, (label, flags) in MODELS.items():
            got = fast_runs(bench, before, n, path, model, flags)
            for key, results in got.items():
                done = [r for r in results if r.ok] or results
                part = med([r.part_size or 10 * MiB for r in done])
                mibs = med([r.mibs for r in done]) if any(r.ok for r in results) else None
                ceiling = RATE * part / MiB
                requests = sum(r.requests for r in results)
                refused = sum(r.refused for r in results)
                rows.append([
                    label, f"{size // MiB} MiB", key, fmt(med([r.inner for r in results])),
                    ", ".join(fmt(r.inner) for r in results), fmt(mibs, 1),
                    fmt(part / MiB, 0), fmt(ceiling, 0),
                    "—" if mibs is None else f"{mibs / ceiling:.2f}",
                    max(r.requests for r in results),
                    ", ".join(str(r.refused) for r in results),
                    f"{refused / requests * 100:.1f} %" if requests else "—",
                    sum(r.early for r in results),
                    "yes" if all(r.ok for r in results) else
                    f"no ({sum(not r.ok for r in results)} of {len(results)} gave up)",
                ])  # fmt: skip
    out.append(table(head, rows))
    return "\n\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also 1 GiB on the fast link")
    parser.add_argument("--big-reps", type=int, default=1, help="repetitions at 1 GiB")
    parser.add_argument("--only", choices=("wan", "fast"), default=None)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args.python, quick=False)
    version = ensure_sdk(args.python)
    load = loadavg()
    started = time.monotonic()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    parts = []
    try:
        before = before_tree(bench.tmp)
        if args.only in (None, "wan"):
            parts.append(scenario_wan(bench, before, args.reps))
        if args.only in (None, "fast"):
            reps = {size: args.reps for size in FAST_SIZES}
            if args.big:
                reps[GiB] = args.big_reps
            parts.append(scenario_fast(bench, before, reps))
    finally:
        bench.close()
    minutes = (time.monotonic() - started) / 60
    command = "python bench/budget.py" + " ".join(
        [""] + [f"--reps {args.reps}"]
        + ([f"--big --big-reps {args.big_reps}"] if args.big else [])
        + ([f"--only {args.only}"] if args.only else [])
    )  # fmt: skip
    head = (
        f"Command: `{command}` ({minutes:.1f} min), notion-up at commit `{commit}`, "
        f"notion-client {version}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Load "
        f"average at the start {load}, at the end {loadavg()}; {os.cpu_count()} cores shared "
        "with other work, so single times are noisy: medians of interleaved runs."
    )
    text = "\n\n".join([head, *parts]) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
