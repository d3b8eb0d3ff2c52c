"""A file database past Notion's 10,000-result query cap, through the real command."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli

# Slow: all tests here but one run the real command in a subprocess.
pytestmark = pytest.mark.slow

ROWS = 10_250


def _plant_big(planter) -> set[str]:
    # About 180 rows a minute is what one connection can create (Notion's rate limit).
    return set(planter.plant([planter.row(f"backup-{i:05d}.txt", i) for i in range(ROWS)], 180))


def test_ls_json_prints_every_row_of_a_database_past_the_cap(sandbox, planter):
    ids = _plant_big(planter)
    sandbox.server.reset_stats()
    done = run_cli(["ls", "--json"], sandbox.env(), timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    listed = [json.loads(line)["file_id"] for line in done.stdout.decode().splitlines()]
    assert len(listed) == ROWS
    assert set(listed) == ids
    queries = sandbox.server.stats()["requests"]["query"]
    # 103 pages of 100, plus the second window's re-read of the boundary minute.
    assert 103 <= sum(queries.values()) <= 110


def test_verify_all_sees_every_row_of_a_database_past_the_cap(sandbox, planter):
    ids = _plant_big(planter)
    done = run_cli(["verify", "--all", "--json", "--quiet"], sandbox.env(), timeout=300)
    verdicts = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert {v["file_id"] for v in verdicts} == ids
    assert len(verdicts) == ROWS
    # The planted rows carry no upload: each one is reported, none passes.
    assert {v["status"] for v in verdicts} == {"missing"}
    assert done.returncode == 1


def test_the_admin_endpoint_plants_rows_a_minute_apart(sandbox, planter):
    import time

    import requests

    ds = sandbox.files_data_source_id
    rows = [planter.row(f"p{i}") for i in range(4)]
    start = time.time() - 3600
    reply = requests.post(
        f"{sandbox.url}/__admin/data_sources/{ds}/plant",
        json={"rows": rows, "start": start, "per_minute": 2},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    ids = reply.json()["ids"]
    found = sandbox.server.query_data_source(ds, {})["results"]
    assert {p["id"] for p in found} == set(ids)
    minutes = sorted({p["created_time"] for p in found})
    assert len(minutes) == 2
