"""The fault matrix: push files through injected faults and count what happened.

    python bench/faults.py

Each profile starts the built-in server in-process with its fault knobs, pushes the same files
with the real `notion-up` command, and reports what the server injected, what the client
retried, and whether every file arrived intact (SHA-512 of the stored bytes) and was recorded
exactly once (one page, one index entry per file).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from notion_up.sandbox import LocalNotion, ServerOptions  # noqa: E402

MiB = 1024 * 1024
SIZES = [1000, 3 * 1000 * 1000, 12 * MiB + 7, 26 * MiB + 5]
PROFILES = {
    "none": {},
    "20% 5xx on send+complete, 5% drops": {
        "fault_rate": 0.2,
        "fault_endpoints": frozenset({"send", "complete"}),
        "drop_rate": 0.05,
    },
    "every page/index write faults after create": {"fault_after_create_rate": 1.0},
    "30% 5xx on record writes and queries": {
        "fault_rate": 0.3,
        "fault_endpoints": frozenset({"create_page", "query"}),
    },
    "rate limit 3/s burst 3, 8 workers": {
        "rate_limit": True,
        "rate": 3.0,
        "burst": 3,
        "rate_window": 0.0,
    },
}


def make_files(folder: Path) -> dict[str, str]:
    digests = {}
    for i, size in enumerate(SIZES):
        data = hashlib.shake_256(f"fault-{i}".encode()).digest(size)
        (folder / f"file{i}.pdf").write_bytes(data)
        digests[f"file{i}.pdf"] = hashlib.sha512(data).hexdigest()
    return digests


def count(server: LocalNotion, data_source: str, prop: str, value: str) -> int:
    headers = {"Authorization": f"Bearer {server.token}", "Notion-Version": "2025-09-03"}
    body = {"filter": {"property": prop, "rich_text": {"equals": value}}}
    url = f"{server.url}/v1/data_sources/{data_source}/query"
    return len(requests.post(url, json=body, headers=headers, timeout=30).json()["results"])


def run_profile(name: str, knobs: dict, folder: Path, digests: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory() as state:
        server = LocalNotion(ServerOptions(seed=7), state_dir=Path(state) / "srv")
        server.start()
        ws = server.ensure_workspace()
        for key, value in knobs.items():
            setattr(server.options, key, value)
        env = {
            **os.environ,
            "NOTION_API_URL": server.url,
            "NOTION_TOKEN": server.token,
            "NOTION_UP_DATABASE": ws.files_database_id,
            "NOTION_UP_INDEX": ws.index_database_id,
            "NOTION_UP_STATE_DIR": str(Path(state) / "client"),
        }
        workers = "8" if knobs.get("rate_limit") else "4"
        rate = "10" if knobs.get("rate_limit") else "0"
        args = [
            "push",
            "--json",
            "--rate",
            rate,
            "-w",
            workers,
            *map(str, sorted(folder.iterdir())),
        ]
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "notion_up", *args], env=env, capture_output=True, timeout=600
        )
        seconds = time.monotonic() - started
        stats = server.stats()
        server.options.fault_rate = 0.0
        server.options.fault_after_create_rate = 0.0
        server.options.rate_limit = False
        lines = [json.loads(x) for x in done.stdout.decode().splitlines()]
        results = {x["name"]: x for x in lines if "name" in x and "file_id" in x}
        intact = sum(
            server.upload_sha512(results[n]["file_upload_id"]) == d
            for n, d in digests.items()
            if n in results
        )
        pages = [
            count(server, ws.files_data_source_id, "filehash", r["hash"]) for r in results.values()
        ]
        index = [
            count(server, ws.index_data_source_id, "Salted SHA512 Hash", r["hash"])
            for r in results.values()
        ]
        server.stop()
    statuses: dict[str, int] = {}
    for per in stats["requests"].values():
        for status, n in per.items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        "profile": name,
        "exit": done.returncode,
        "files": f"{len(results)}/{len(digests)}",
        "intact": f"{intact}/{len(digests)}",
        "pages per file": sorted(set(pages)),
        "index per file": sorted(set(index)),
        "requests": stats["total_requests"],
        "5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        "dropped": statuses.get("dropped", 0),
        "429": statuses.get("429", 0),
        "early retries": stats["early_retries"],
        "client retries": sum(r.get("retries", 0) for r in results.values()),
        "seconds": round(seconds, 1),
        "token in output": server.token in (done.stdout + done.stderr).decode(),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        folder.mkdir()
        digests = make_files(folder)
        rows = [run_profile(name, knobs, folder, digests) for name, knobs in PROFILES.items()]
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
