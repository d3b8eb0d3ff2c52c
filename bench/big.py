"""Big databases, big trees: past Notion's 10,000-result query cap, and a 20,000-file tree.

    python bench/big.py                      # 10,500 planted rows; a 20,000-file tree
    python bench/big.py --rows 10500 --files 2000

Part 1 plants more rows than one query can return (the sandbox caps queries at 10,000 as Notion
does, `request_status` and all) and runs `ls --json` and `verify --all` over them, beside a
plain loop that follows `next_cursor` until `has_more` is false: rows seen, requests, requests
per row, wall time. Part 2 pushes a tree with `push -r` (time to its first upload, requests,
peak RSS, pages made), checks it again from a fresh machine with
`--skip-existing --check-remote` (queries made, uploads made: none), then pulls it back with
`pull -r / -o DIR` and compares the trees. The server paces its pages' created_time at 180 a
minute, as Notion's request limit paces creation (`--page-pace`). Every notion-up run is a new
process at `--rate 0` against the local server (its own process), measured side by side.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import Bench, Server, loadavg, mib, run_timed, say  # noqa: E402

CAP = 10_000
# One connection creates about 180 pages a minute (Notion's 3 requests/s): planted rows are
# spread so, as a database filled through the API is.
PER_MINUTE = 180
BATCH = 500


TIME = Path("/usr/bin/time")


def with_peak(cmd: list[str], bench: Bench) -> tuple[list[str], Path | None]:
    """`cmd` run under GNU time, which reports the peak RSS of the command alone.

    wait4's figure from this process is at least this process's own RSS when it spawned the
    command (Linux keeps the larger high-water mark across exec), and after planting 10,000
    rows and reading 20,000 result lines this process is not small.
    """
    if not TIME.exists():
        return cmd, None
    out = bench.tmp / f"rss-{secrets.token_hex(4)}"
    return [str(TIME), "-f", "%M", "-o", str(out), *cmd], out


def peak(run, out: Path | None) -> int:
    """The command's own peak RSS in bytes (wait4's figure without GNU time)."""
    if out is None:
        return run.maxrss
    return int(out.read_text().split()[-1]) * 1024


def text(value: str) -> list[dict]:
    return [{"type": "text", "text": {"content": value}}]


def plant(server: Server, count: int, upload_id: str, sha512: str) -> None:
    """`count` rows, each attaching the same upload with its own salt (as re-pushes would)."""
    ds = server.info["files_data_source_id"]
    start = time.time() - 30 * 86400
    for first in range(0, count, BATCH):
        rows = []
        for i in range(first, min(count, first + BATCH)):
            salt = secrets.token_hex(32)
            salted = hashlib.sha512((sha512 + salt).encode()).hexdigest()
            rows.append({
                "filename": {"title": text(f"nightly-{i:06d}.txt")},
                "filesize": {"number": 64},
                "filehash": {"rich_text": text(salted)},
                "salt": {"rich_text": text(salt)},
                "file_data": {"files": [{"type": "file_upload", "file_upload": {"id": upload_id},
                                         "name": f"nightly-{i:06d}.txt"}]},
                "is_visible": {"checkbox": True},
                "folder_path": {"rich_text": text("/")},
            })  # fmt: skip
        # Minutes run on from batch to batch: start moves by the minutes a batch filled.
        offset = 60.0 * (first // PER_MINUTE)
        server.admin("POST", f"/__admin/data_sources/{ds}/plant",
                     {"rows": rows, "start": start + offset, "per_minute": PER_MINUTE})  # fmt: skip


def trusting_loop(server: Server) -> tuple[int, int]:
    """Rows and requests of a loop that follows next_cursor until has_more is false."""
    ds = server.info["files_data_source_id"]
    headers = {"Authorization": f"Bearer {server.token}", "Notion-Version": "2025-09-03"}
    body: dict = {"page_size": 100}
    rows = calls = 0
    while True:
        found = requests.post(f"{server.url}/v1/data_sources/{ds}/query", json=body,
                              headers=headers, timeout=60).json()  # fmt: skip
        calls += 1
        rows += len(found["results"])
        if not found["has_more"]:
            return rows, calls
        body["start_cursor"] = found["next_cursor"]


def part_database(bench: Bench, rows: int) -> list[list[str]]:
    server = Server(bench)
    try:
        env = server.env(bench.state("big-db"))
        seed = bench.tmp / "seed.txt"
        seed.write_bytes(
            b"a nightly backup's manifest, 64 bytes long, the same every night.\n"[:64]
        )
        pushed = run_timed([bench.python, "-m", "notion_up", "push", str(seed), "--json"], env)
        line = pushed.json_lines()[0]
        started = time.perf_counter()
        plant(server, rows, line["file_upload_id"], hashlib.sha512(seed.read_bytes()).hexdigest())
        say(f"  planted {rows:,} rows in {time.perf_counter() - started:.1f} s")
        total = rows + 1
        server.reset()
        seen, calls = trusting_loop(server)
        out = [["a loop trusting has_more", f"{seen:,}", calls, f"{calls / seen:.4f}", "—", "—"]]
        for name, argv in (
            ("notion-up ls --json", ["ls", "--json"]),
            ("notion-up verify --all --json", ["verify", "--all", "--json", "--quiet"]),
        ):
            cmd, rss_file = with_peak(
                [bench.python, "-m", "notion_up", *argv, "--rate", "0"], bench
            )
            run, stats = bench.measure(server, cmd, env)
            run.maxrss = peak(run, rss_file)
            lines = run.json_lines()
            if argv[0] == "verify":
                assert all(v["status"] == "verified" for v in lines), lines[:3]
            api = sum(n for e, c in stats["requests"].items() if e != "download"
                      for n in c.values())  # fmt: skip
            queries = sum(stats["requests"].get("query", {}).values())
            downloads = sum(stats["requests"].get("download", {}).values())
            say(f"  {name}: {len(lines):,} of {total:,} rows, {api} API requests "
                f"({queries} queries), {downloads} downloads, {run.wall:.1f} s, "
                f"peak RSS {mib(run.maxrss)}")  # fmt: skip
            out.append([name, f"{len(lines):,}", api, f"{api / len(lines):.4f}",
                        f"{run.wall:.1f}", mib(run.maxrss)])  # fmt: skip
        return out
    finally:
        server.stop()


def make_tree(root: Path, count: int) -> None:
    """`count` small files in 100 folders of 2 levels; about one size in ten is new."""
    for i in range(count):
        folder = root / f"year {2000 + i % 10}" / f"m\u00f6nth {i // 10 % 10:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        size = 1 + (i * 7919) % max(1, count // 10)
        data = hashlib.shake_256(i.to_bytes(4, "big")).digest(size)
        (folder / f"file {i:05d}.txt").write_bytes(data)


def watch_first(server: Server, cmd: list[str], env: dict) -> tuple[float | None, object]:
    """Run `cmd`, noting when the server first sees a file's bytes (seconds from the spawn)."""
    first: list[float] = []
    done = threading.Event()
    started = time.perf_counter()

    def poll() -> None:
        while not done.is_set():
            counts = server.stats().get("requests", {})
            if counts.get("send"):
                first.append(time.perf_counter() - started)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        run = run_timed(cmd, env)
    finally:
        done.set()
        watcher.join(5)
    return (first[0] if first else None), run


def same_tree(a: Path, b: Path) -> bool:
    stack = [filecmp.dircmp(a, b)]
    while stack:
        here = stack.pop()
        if here.left_only or here.right_only or here.funny_files:
            return False
        _, bad, errors = filecmp.cmpfiles(here.left, here.right, here.common_files, False)
        if bad or errors:
            return False
        stack += here.subdirs.values()
    return True


def part_tree(bench: Bench, count: int) -> list[str]:
    lines = []
    tree = bench.tmp / "tree"
    make_tree(tree, count)
    sizes = len({p.stat().st_size for p in tree.rglob("*") if p.is_file()})
    say(f"  a tree of {count:,} files, {sizes:,} distinct sizes")
    # At --rate 0 the local server would make thousands of pages a minute, which Notion's
    # request limit never lets an integration do: their created_time is paced as it would be.
    server = Server(bench, "--page-pace", str(PER_MINUTE))
    try:
        py = [bench.python, "-m", "notion_up"]
        env = server.env(bench.state("tree"))
        server.reset()
        cmd, rss_file = with_peak([*py, "push", "-r", str(tree), "--json", "--rate", "0",
                                   "--quiet"], bench)  # fmt: skip
        first, run = watch_first(server, cmd, env)
        run.maxrss = peak(run, rss_file)
        stats = server.stats()
        files = [x for x in run.json_lines() if "file_id" in x]
        pages = stats["pages_created"]
        lines.append(f"push -r: {len(files):,} files in {run.wall:.1f} s, first upload "
                     f"{first:.2f} s after start, {stats['total_requests']:,} requests, "
                     f"{pages:,} pages made, peak RSS {mib(run.maxrss)}")  # fmt: skip
        say("  " + lines[-1])
        fresh = server.env(bench.state("fresh-machine"))
        again = [*py, "push", "-r", str(tree), "--skip-existing", "--check-remote", "--json"]
        cmd, rss_file = with_peak([*again, "--rate", "0"], bench)
        run, stats = bench.measure(server, cmd, fresh)
        run.maxrss = peak(run, rss_file)
        queries = sum(stats["requests"].get("query", {}).values())
        sends = sum(stats["requests"].get("send", {}).values())
        lines.append(f"fresh machine --skip-existing --check-remote: {queries} queries, "
                     f"{sends} uploads, {stats['pages_created']} pages made, {run.wall:.1f} s, "
                     f"peak RSS {mib(run.maxrss)}")  # fmt: skip
        say("  " + lines[-1])
        out = bench.tmp / "pulled"
        cmd, rss_file = with_peak([*py, "pull", "-r", "/", "-o", str(out), "--rate", "0",
                                   "--quiet"], bench)  # fmt: skip
        run, stats = bench.measure(server, cmd, env)
        run.maxrss = peak(run, rss_file)
        identical = same_tree(tree, out)
        lines.append(f"pull -r / -o DIR: {run.wall:.1f} s, {stats['total_requests']:,} requests "
                     f"({sum(stats['requests'].get('query', {}).values())} queries), peak RSS "
                     f"{mib(run.maxrss)}, trees identical: {identical}")  # fmt: skip
        say("  " + lines[-1])
    finally:
        server.stop()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_500, help="rows planted (part 1)")
    parser.add_argument("--files", type=int, default=20_000, help="files in the tree (part 2)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with notion-up")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args.python, quick=False)
    started = time.monotonic()
    say(f"load average at the start: {loadavg()}")
    try:
        say(f"part 1: {args.rows:,} planted rows (queries capped at {CAP:,})")
        table = part_database(bench, args.rows)
        say("")
        for row in table:
            say("  " + " | ".join(str(c) for c in row))
        if args.files:
            say(f"part 2: a {args.files:,}-file tree")
            part_tree(bench, args.files)
    finally:
        bench.close()
    say(f"({(time.monotonic() - started) / 60:.1f} min; load average at the end: {loadavg()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
