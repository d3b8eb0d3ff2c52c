"""Scenario 8: cold and warm notion-up against the official SDK, at two network profiles.

    python bench/run.py --only 8

The sandbox reads request bodies at 4 MiB/s per connection, with no added latency and then with
150 ms per request; no server-side rate limit. For each profile, interleaved: the SDK script
(bench/sdk_upload.py, parts one after another), notion-up at its defaults cold (a fresh
--state-dir each time: no cached workspace facts) and warm (a state dir that has them). Then, at
each profile, one more cold run and a warm one through a relay that notes every request
(bench/timeline.py), to show where a cold run spends its time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness import (
    BENCH,
    PART,
    Bench,
    Floor,
    MiB,
    Push,
    Run,
    Section,
    Server,
    ensure_sdk,
    fmt,
    med,
    mib,
    reps,
    rotate,
    say,
    table,
)
from timeline import Relay, limiter_holds

BANDWIDTH = 4 * MiB
SIZE = 60 * MiB
# (key, label, seconds added per request, floor on SDK wall / cold notion-up wall)
PROFILES = [("0ms", "no added latency", 0.0, 3.6), ("150ms", "150 ms per request", 0.150, 3.4)]
CLIENT_RATE = 3.0  # notion-up's default --rate (its limiter: notion_up/notion/retry.py)
VARIANTS = ("sdk", "cold", "warm")
SETUP = ("users_me", "retrieve_database", "retrieve_data_source")


def limiter_model() -> str:
    """What notion-up's client limit at --rate 3 is in this checkout, read off its limiter."""
    from notion_up.notion.retry import RateLimiter

    limiter = RateLimiter(rate=CLIENT_RATE)
    if hasattr(limiter, "budget") and hasattr(limiter, "window"):
        return f"at most {limiter.budget} requests in any {limiter.window:g} s, a sliding window"
    if hasattr(limiter, "burst"):
        return f"a token bucket of {CLIENT_RATE:g}/s with a burst of {limiter.burst}"
    return (RateLimiter.__doc__ or "").split(".")[0]


def sdk_command(bench: Bench, server: Server, path: Path) -> list[str]:
    info = server.info
    return [
        bench.python, str(BENCH / "sdk_upload.py"), str(path), "--url", server.url,
        "--token", server.token, "--files-data-source", info["files_data_source_id"],
        "--index-data-source", info["index_data_source_id"],
        "--user-database", info["files_database_id"], "--part-size", str(PART),
    ]  # fmt: skip


def fresh_state(bench: Bench, name: str) -> str:
    """A new, empty state dir (never used before): notion-up knows nothing of the workspace."""
    (bench.tmp / "state").mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=bench.tmp / "state")).name


def timeline_runs(bench: Bench, server: Server, path: Path) -> list[tuple[Run, list]]:
    """A cold push through the relay, then a warm one (same state dir, now holding the facts).

    The cached facts are kept per API URL, so the warm run must also go through the relay.
    Returns each run with its requests in the order they left.
    """
    relay = Relay(server.url)
    try:
        env = server.env(bench.state(fresh_state(bench, "timeline")))
        env["NOTION_API_URL"] = relay.url
        cmd = [bench.python, "-m", "notion_up", "push", str(path), "--json"]
        out = []
        for _ in ("cold", "warm"):
            relay.clear()
            run, _ = bench.measure(server, cmd, env)
            out.append((run, sorted(relay.requests, key=lambda r: r.began)))
        return out
    finally:
        relay.close()


def idle_before(requests: list) -> list[float]:
    """Per request: seconds from the answer it could have followed to the moment it left.

    notion-up keeps one connection per thread, so a request on a connection follows that
    connection's previous answer; the first request on a connection follows the latest answer
    of any request before it. A long gap the limiter accounts for is a wait for the limiter.
    """
    gaps, last_on = [], {}
    for r in requests:
        before = last_on.get(r.connection)
        if before is None:
            answers = [q.answered for q in requests if q.answered and q.answered <= r.began]
            before = max(answers, default=r.began)
        gaps.append(r.began - before)
        if r.answered is not None:
            last_on[r.connection] = r.answered
    return gaps


def trace_summary(run: Run, requests: list) -> tuple[float, float, int, float]:
    """First request, last answer (from the spawn), requests that waited, and their gaps."""
    holds = limiter_holds(requests, CLIENT_RATE)
    gaps = idle_before(requests)
    first = requests[0].began - run.started if requests else float("nan")
    last = max((r.answered or r.began) for r in requests) - run.started if requests else 0.0
    waited = [g for g, hold in zip(gaps, holds, strict=True) if hold > 0]
    return first, last, len(waited), sum(waited)


def timeline_table(run: Run, requests: list) -> tuple[str, list[str]]:
    holds = limiter_holds(requests, CLIENT_RATE)
    gaps = idle_before(requests)
    rows, lines = [], []
    for i, (r, hold, gap) in enumerate(zip(requests, holds, gaps, strict=True)):
        left = r.began - run.started
        answered = r.answered - run.started if r.answered is not None else float("nan")
        waited = f"yes ({hold:.3f} s)" if hold > 0 else ""
        rows.append([i + 1, fmt(left, 3), r.endpoint, r.connection, fmt(answered, 3),
                     fmt(gap, 3), waited])  # fmt: skip
        lines.append(
            f"  [8] t={left:6.3f}s  {r.endpoint:<22} conn {r.connection}  answered "
            f"{answered:6.3f}s  idle before {gap:5.3f}s"
            f"{f'  held by the limiter {hold:.3f}s' if waited else ''}"
        )
    lines.append(f"  [8] t={run.wall:6.3f}s  process exit")
    text = table(
        ["#", "left at s", "endpoint", "connection", "answer began s",
         "idle before it left s", "held by notion-up's limiter? (replayed)"],
        rows,
    )  # fmt: skip
    return text, lines


def scenario_cold(bench: Bench) -> Section:
    version = ensure_sdk(bench.python)
    n = reps(bench, 3, 1)
    path = bench.file(SIZE)
    server = Server(bench)
    got: dict[str, dict[str, list]] = {p[0]: {v: [] for v in VARIANTS} for p in PROFILES}
    try:
        sdk_cmd = sdk_command(bench, server, path)
        for key, label, latency, _ in PROFILES:
            server.options(latency=latency, bandwidth=BANDWIDTH, rate_limit=False)
            warm_state = f"cold-bench-warm-{key}"
            bench.warm(server, state=warm_state)  # the workspace facts, cached
            for rep in range(n):
                for which in rotate(list(VARIANTS), rep):
                    if which == "sdk":
                        run, stats = bench.measure(
                            server, sdk_cmd, server.env(bench.state("cold-bench-sdk"))
                        )
                        got[key]["sdk"].append(Push(run, stats))
                    else:
                        state = fresh_state(bench, "cold") if which == "cold" else warm_state
                        got[key][which].append(bench.push(server, path, state=state))
                    p = got[key][which][-1]
                    say(
                        f"  [8] {label} rep {rep + 1}/{n} {which}: wall {p.run.wall:.2f}s "
                        f"requests {p.requests}"
                    )
        traces = {}
        for key, _, latency, _ in PROFILES:
            server.options(latency=latency, bandwidth=BANDWIDTH, rate_limit=False)
            traces[key] = timeline_runs(bench, server, path)
    finally:
        server.stop()

    rows, floors, summary = [], [], []
    for key, label, _, floor in PROFILES:
        walls = {v: med([p.run.wall for p in got[key][v]]) for v in VARIANTS}
        inner = {
            "sdk": med([p.run.json_lines()[-1]["seconds"] for p in got[key]["sdk"]]),
            "cold": med([p.seconds for p in got[key]["cold"]]),
            "warm": med([p.seconds for p in got[key]["warm"]]),
        }
        req = {v: sorted({p.requests for p in got[key][v]}) for v in VARIANTS}
        names = {
            "sdk": "SDK script (sequential parts)",
            "cold": "notion-up defaults, cold (fresh state dir)",
            "warm": "notion-up defaults, warm (facts cached)",
        }
        for v in VARIANTS:
            ratio = "—" if v == "sdk" else f"{walls['sdk'] / walls[v]:.2f}×"
            each = ", ".join(fmt(p.run.wall) for p in got[key][v])
            rows.append([label, names[v], fmt(walls[v]), each, fmt(inner[v]),
                         "/".join(map(str, req[v])), ratio])  # fmt: skip
        cold_ratio = walls["sdk"] / walls["cold"]
        warm_ratio = walls["sdk"] / walls["warm"]
        summary.append(
            f"{label}: cold is {cold_ratio:.2f}× the SDK's speed, warm {warm_ratio:.2f}×; cold "
            f"costs {walls['cold'] - walls['warm']:+.2f} s over warm "
            f"({walls['cold'] / walls['warm']:.2f}× its wall time)."
        )
        floors += [
            Floor(f"8 cold/warm {key}", "cold notion-up vs SDK script, wall time",
                  f"{cold_ratio:.2f}× faster", f"≥ {floor}×", cold_ratio >= floor),
            Floor(f"8 cold/warm {key}", "warm notion-up vs SDK script, wall time",
                  f"{warm_ratio:.2f}× faster", "reported", None),
            Floor(f"8 cold/warm {key}", "requests per run: cold / warm / SDK",
                  f"{'/'.join(map(str, req['cold']))} / {'/'.join(map(str, req['warm']))} / "
                  f"{'/'.join(map(str, req['sdk']))}", "reported", None),
        ]  # fmt: skip
    described = []
    for key, label, _, _ in PROFILES:
        (run, trace), (warm_run, warm_trace) = traces[key]
        text, lines = timeline_table(run, trace)
        say(f"  [8] timeline of a cold run, {label}:")
        for line in lines:
            say(line)
        first, last, waits, waited = trace_summary(run, trace)
        w_first, w_last, w_waits, w_waited = trace_summary(warm_run, warm_trace)
        setup = [r for r in trace if r.endpoint in SETUP]
        setup_end = max((r.answered or r.began) for r in setup) - run.started if setup else 0.0
        sends = [r for r in trace if r.endpoint.startswith("send")]
        first_send = min(r.began for r in sends) - run.started if sends else float("nan")
        w_sends = [r for r in warm_trace if r.endpoint.startswith("send")]
        w_first_send = min(r.began for r in w_sends) - warm_run.started if w_sends else 0.0
        summary_line = (
            f"cold wall {run.wall:.2f} s: first request at {first:.3f} s (interpreter, imports, "
            f"settings), the {len(setup)} set-up reads answered by {setup_end:.3f} s, first part "
            f"sent at {first_send:.3f} s, last answer at {last:.3f} s, {len(trace)} requests, "
            f"{waits} held by the limiter ({waited:.2f} s idle). Warm, same relay and state dir "
            f"right after: wall {warm_run.wall:.2f} s, first request at {w_first:.3f} s, first "
            f"part sent at {w_first_send:.3f} s, last answer at {w_last:.3f} s, "
            f"{len(warm_trace)} requests, {w_waits} held by the limiter ({w_waited:.2f} s)."
        )
        say(f"  [8] {label}: {summary_line}")
        described += [f"**Timeline of a cold run, {label}**: {summary_line}", text]
    body = "\n\n".join([
        f"A {mib(SIZE)} file ({SIZE // PART} parts of 5 MiB). The sandbox reads request bodies "
        f"at {mib(BANDWIDTH)}/s per connection, with no added latency and then with 150 ms per "
        "request; its rate limit is off. `bench/sdk_upload.py` uses notion-client "
        f"{version} as its docs show (parts one after another; see scenario 2). notion-up runs "
        "at its defaults (4 workers, 5 MiB parts, its own client limit `--rate 3` as against "
        f"Notion: {limiter_model()}): **cold** = a fresh `--state-dir` for every repetition, "
        "so it first reads the workspace; **warm** = a state dir whose workspace facts are "
        f"cached (one small push before the first repetition). The three run interleaved, {n} "
        "repetition(s) each per "
        "profile, medians of the process wall time (interpreter start-up and imports "
        "included). Requests are counted by the server (`/__admin/stats`, reset before each "
        "run).",
        table(["profile", "program", "wall s (median)", "wall s (each)", "inner s (median)",
               "requests", "speed vs SDK (wall)"], rows),
        "\n".join(f"- {line}" for line in summary),
        "**Where a cold run spends its time.** For each profile one more cold run, not counted "
        "above, then a warm one, through a relay in the benchmark process (`bench/timeline.py`)"
        " that copies the bytes unchanged, one upstream connection per connection, and notes "
        "when each request's first byte arrives and when the first byte of its answer comes "
        "back; times from the spawn of the process. The limiter column replays notion-up's own "
        "`RateLimiter` (its code, with a fake clock) over these times, each request asking 20 ms"
        " before it was seen to leave: a hold means the limiter had kept it back until then (an"
        " inference from the times; notion-up does not log its waits). The idle column is the "
        "gap from the answer that request could have followed (its connection's previous "
        "answer; for a connection's first request, the latest answer before it).",
        *described,
    ])  # fmt: skip
    return Section("8. Cold and warm against the SDK, two network profiles", body, floors)
