"""Pull and verify in byte ranges against one plain stream, on a host that caps each connection.

    python bench/pull.py             # 60 MiB at 4 MiB/s per connection (about 1.5 minutes)
    python bench/pull.py --size-mib 20 --reps 1

The local server runs as a subprocess with a per-connection download bandwidth (as an object
store behind a CDN caps each connection). One 60 MiB file is pushed once, then, interleaved in
the same run: one plain stream of its file URL (requests.get), `notion-up pull --workers 1`
and `--workers 4`, `notion-up verify --workers 1` and `--workers 4`. The floors are ratios
measured side by side (pull and verify at 4 workers at least 3x one stream), never absolute
times: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import (  # noqa: E402
    Bench,
    Floor,
    Section,
    Server,
    fmt,
    loadavg,
    med,
    mib,
    run_timed,
    say,
    table,
    verdict,
)

MiB = 1024 * 1024
PER_CONNECTION = 4 * MiB
FLOOR = 3.0
STREAM = "one plain stream (requests.get)"


def file_url(server: Server, file_id: str) -> str:
    """The file URL Notion hands out for this file's page (fetched now: fresh)."""
    headers = {"Authorization": f"Bearer {server.token}", "Notion-Version": "2025-09-03"}
    page = requests.get(f"{server.url}/v1/pages/{file_id}", headers=headers, timeout=30).json()
    return page["properties"]["file_data"]["files"][0]["file"]["url"]


def plain_stream(url: str) -> float:
    """Seconds for one requests.get of the whole file, read to the end in 1 MiB chunks."""
    started = time.perf_counter()
    with requests.get(url, stream=True, timeout=(10, 120)) as response:
        response.raise_for_status()
        for _ in response.iter_content(MiB):
            pass
    return time.perf_counter() - started


def measure_pull(bench: Bench, size: int, n: int) -> tuple[dict[str, list], list[str]]:
    """Push one file, then time the variants interleaved; seconds (and peak RSS) per variant."""
    python = bench.python
    server = Server(bench, "--download-bandwidth", str(PER_CONNECTION))
    times: dict[str, list] = {}
    try:
        env = server.env(bench.state("pull"))
        source = bench.file(size)
        pushed = run_timed([python, "-m", "notion_up", "push", str(source), "--json"], env)
        line = pushed.json_lines()[-1]
        out = bench.tmp / "pulled"
        out.mkdir(exist_ok=True)

        def notion_up(*argv: str):
            return run_timed([python, "-m", "notion_up", *argv, "--rate", "0"], env)

        def pull(workers: int) -> float:
            target = out / f"w{workers}.bin"
            run = notion_up("pull", line["file_id"], "-o", str(target), "-w", str(workers))
            assert target.stat().st_size == source.stat().st_size
            target.unlink()
            times.setdefault(f"pull -w {workers} rss", []).append(run.maxrss)
            return run.wall

        def verify(workers: int) -> float:
            run = notion_up("verify", line["file_id"], "-w", str(workers))
            assert run.stdout.startswith("verified"), run.stdout
            times.setdefault(f"verify -w {workers} rss", []).append(run.maxrss)
            return run.wall

        variants = {
            STREAM: lambda: plain_stream(file_url(server, line["file_id"])),
            "pull -w 1": lambda: pull(1),
            "pull -w 4": lambda: pull(4),
            "verify -w 1": lambda: verify(1),
            "verify -w 4": lambda: verify(4),
        }
        for rep in range(n):
            for name, measure in variants.items():
                server.reset()
                seconds = measure()
                times.setdefault(name, []).append(seconds)
                times.setdefault(f"{name} peak", []).append(
                    server.stats().get("max_concurrent_downloads")
                )
                say(f"  rep {rep + 1} {name}: {seconds:.2f} s ({times[f'{name} peak'][-1]} "
                    "connections at once)")  # fmt: skip
    finally:
        server.stop()
    return times, list(variants)


def scenario_pull(bench: Bench, size: int = 60 * MiB, n: int = 1) -> Section:
    """Scenario 10 of bench/run.py: the same measurement, as a section with floors."""
    times, variants = measure_pull(bench, size, n)
    stream = med(times[STREAM])
    rows = []
    for name in variants:
        seconds = med(times[name])
        rss = times.get(f"{name} rss")
        rows.append([name, fmt(seconds), f"{size / seconds / MiB:.2f}",
                     fmt(stream / seconds) + "×", max(times[f"{name} peak"]),
                     mib(med(rss)) if rss else "—"])  # fmt: skip
        say(f"  {name:<34} {seconds:6.2f} s  {size / seconds / MiB:6.2f} MiB/s")
    floors = []
    for name, base in (("pull", "pull -w 1"), ("verify", "verify -w 1")):
        fast = med(times[f"{name} -w 4"])
        vs_stream = stream / fast
        vs_one = med(times[base]) / fast
        floors += [
            Floor("10 pull", f"{name} -w 4 vs one plain stream", f"{vs_stream:.2f}×",
                  f"≥ {FLOOR:g}×", vs_stream >= FLOOR),
            Floor("10 pull", f"{name} -w 4 vs {base}", f"{vs_one:.2f}×", "reported", None),
        ]  # fmt: skip
    body = "\n\n".join([
        f"One {mib(size)} file, pushed once; the sandbox sends file downloads at "
        f"{mib(PER_CONNECTION)}/s per connection (`--download-bandwidth`), as an object store "
        "behind a CDN caps each connection. Interleaved in the same run: one plain stream of "
        "its file URL (`requests.get`, read to the end in 1 MiB chunks, in the benchmark "
        "process), `notion-up pull` and `notion-up verify` at `--workers 1` and `4` "
        f"(`--rate 0`; each a new process, start-up included). Median of {n} repetition(s) "
        "(also `python bench/pull.py`).",
        table(["variant", "s", "MiB/s", "speed vs one stream", "connections at once (server)",
               "peak RSS"], rows),
    ])  # fmt: skip
    return Section("10. Ranged pull and verify against one plain stream", body, floors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=60)
    parser.add_argument("--reps", type=int, default=1, help="repetitions of each variant")
    parser.add_argument("--python", default=sys.executable, help="interpreter with notion-up")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args.python, quick=False)
    started = time.monotonic()
    say(f"load average at the start: {loadavg()}")
    try:
        section = scenario_pull(bench, args.size_mib * MiB, args.reps)
    finally:
        bench.close()
    say("")
    for f in section.floors:
        result = "" if f.ok is None else f"  {verdict(f.ok)}"
        say(f"  {f.what}: {f.measured} (floor {f.target}){result}")
    say(f"({(time.monotonic() - started) / 60:.1f} min; load average at the end: {loadavg()})")
    return 0 if all(f.ok is not False for f in section.floors) else 1


if __name__ == "__main__":
    sys.exit(main())
