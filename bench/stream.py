"""Streams and slow links: a long stream from a pipe against the same bytes from a file, and a
file too large to go up in one upload before Notion expires it.

    python bench/stream.py                  # 2 GiB stream profile + slow-link profile (~4 min)
    python bench/stream.py --size-mib 512 --reps 1
    python bench/stream.py --only slow

Stream profile: the same bytes pushed from a file and from a pipe (`cat FILE | notion-up push -`),
interleaved, against the local server in its own process. Measured: wall time (median), peak
RSS, and the peak of local disk taken by spool files (the state folder's spool/, sampled every
20 ms). Floors: pipe/file wall time at most 1.3x, spool peak at most 1 GiB, both measured in
the same run.

Slow-link profile: the server caps each connection at 300 KB/s and expires uploads 30 s after
they are made; a 40 MiB file needs two rounds of four 5 MiB parts (~35 s), past the expiry.
Pushed cold (nothing known of the link), then warm (the speed kept in the journal), then with
--no-split. Reported: exit code, wall time, uploads created, sends refused (an expired
upload), the pieces stored.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import (  # noqa: E402
    Bench,
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
GiB = 1024 * MiB
RATIO_FLOOR = 1.3
SPOOL_FLOOR = GiB


class DiskSampler:
    """The peak total size of the files in a folder while a run goes (sampled)."""

    def __init__(self, folder: Path, every: float = 0.02) -> None:
        self.folder = folder
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DiskSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            if self.folder.is_dir():
                for entry in os.scandir(self.folder):
                    try:
                        total += entry.stat().st_size
                    except OSError:
                        continue  # removed meanwhile
            self.peak = max(self.peak, total)
            time.sleep(self.every)


def stream_profile(bench: Bench, size: int, repetitions: int) -> tuple[str, bool]:
    server = Server(bench)
    try:
        data = bench.file(size)
        bench.warm(server)  # the workspace facts cached, as for any nightly run after the first
        times: dict[str, list[float]] = {"file": [], "pipe": []}
        rss: dict[str, int] = {"file": 0, "pipe": 0}
        spool: dict[str, int] = {"file": 0, "pipe": 0}
        pieces = 0
        for i in range(repetitions):
            for kind in ("file", "pipe") if i % 2 == 0 else ("pipe", "file"):
                state = bench.state("main")
                args = ["-", "--name", data.name] if kind == "pipe" else [str(data)]
                cmd = [bench.python, "-m", "notion_up", "push", *args, "--json", "--rate", "0"]
                say(f"  {kind} run {i + 1} ...")
                with DiskSampler(state / "spool") as disk:
                    run = run_timed(cmd, server.env(state), data if kind == "pipe" else None)
                times[kind].append(run.wall)
                rss[kind] = max(rss[kind], run.maxrss)
                spool[kind] = max(spool[kind], disk.peak)
                if kind == "pipe":
                    line = run.json_lines()[-1]
                    pieces = len(line.get("pieces", [])) or 1
        ratio = med(times["pipe"]) / med(times["file"])
        ok = ratio <= RATIO_FLOOR and spool["pipe"] <= SPOOL_FLOOR
        rows = [
            [kind, fmt(med(times[kind])), mib(rss[kind]), mib(spool[kind])]
            for kind in ("file", "pipe")
        ]
        body = (
            f"{mib(size)}, {repetitions} run(s) each, interleaved; the stream went up as "
            f"{pieces} volume(s).\n\n"
            + table(["source", "wall s (median)", "peak RSS", "peak spool on disk"], rows)
            + f"\n\npipe/file wall time: **{fmt(ratio)}x** (floor ≤ {RATIO_FLOOR}x); peak spool "
            f"{mib(spool['pipe'])} (floor ≤ {mib(SPOOL_FLOOR)}): {verdict(ok)}\n"
        )
        return body, ok
    finally:
        server.stop()


def slow_profile(bench: Bench) -> str:
    server = Server(bench, "--bandwidth", "300000", "--expiry-seconds", "30")
    try:
        data = bench.file(40 * MiB)
        rows = []
        for label, flags, state in (
            ("cold (link unknown)", [], "slow"),
            ("warm (speed from the journal)", [], "slow"),
            ("--no-split", ["--no-split"], "slow-nosplit"),
        ):
            say(f"  {label} ...")
            env = server.env(bench.state(state))
            cmd = [bench.python, "-m", "notion_up", "push", str(data), "--json", "--rate", "0"]
            server.reset()
            try:
                run = run_timed([*cmd, *flags], env)
                code, wall, err = run.code, run.wall, run.stderr
                line = run.json_lines()[-1]
                stored = ", ".join(mib(p["size"]) for p in line.get("pieces", [])) or "whole"
            except RuntimeError as exc:  # a non-zero exit: reported, not raised
                text = str(exc)
                code = int(text.split(" exited ")[1].split()[0])
                wall, err, stored = float("nan"), text.split("--- stderr ---")[-1], "-"
            stats = server.stats().get("requests", {})
            refused = sum(int(n) for s, n in stats.get("send", {}).items() if s != "200")
            created = sum(int(n) for n in stats.get("create_upload", {}).values())
            said = [x for x in err.splitlines() if "expire" in x]
            rows.append([label, code, fmt(wall, 1), created, refused, stored,
                         (said[-1] if said else "")[:110]])  # fmt: skip
        return (
            "40 MiB at 300 KB/s per connection, uploads expiring 30 s after creation.\n\n"
            + table(
                ["push", "exit", "wall s", "uploads created", "sends refused", "stored as", "said"],
                rows,
            )  # fmt: skip
            + "\n"
        )
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--only", choices=["stream", "slow"])
    parser.add_argument("--out", default=str(BENCH / "STREAM.md"))
    args = parser.parse_args()
    bench = Bench(sys.executable, quick=False)
    parts = [f"# Streams and slow links\n\nload average at start: {loadavg()}\n"]
    ok = True
    try:
        if args.only in (None, "stream"):
            say("== stream profile ==")
            body, ok = stream_profile(bench, args.size_mib * MiB, args.reps)
            parts.append("## Stream from a pipe against the same bytes from a file\n\n" + body)
        if args.only in (None, "slow"):
            say("== slow-link expiry profile ==")
            parts.append("## A file too large for one upload's hour\n\n" + slow_profile(bench))
    finally:
        bench.close()
    report = "\n".join(parts)
    Path(args.out).write_text(report)
    say(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
