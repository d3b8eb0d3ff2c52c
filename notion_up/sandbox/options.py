"""`ServerOptions`: the behaviour knobs, their JSON form for the admin endpoint, and sizes
as people type them for the knobs that take one (`--bandwidth 2MB`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(kw_only=True)
class ServerOptions:
    """Behaviour knobs; may be changed while the server runs (read on every request)."""

    token: str = "ntn_local_sandbox_token"
    latency: float = 0.0
    bandwidth: float | None = None
    # Bytes/s per connection for file downloads (the file host's side), None = unthrottled.
    download_bandwidth: float | None = None
    fault_rate: float = 0.0
    fault_endpoints: frozenset[str] = frozenset({"send", "complete"})
    fault_statuses: tuple[int, ...] = (500, 502, 503, 504)
    fault_after_create_rate: float = 0.0
    drop_rate: float = 0.0
    max_file_upload_size: int = 5 * 1024**3
    rate_limit: bool = False
    rate: float = 3.0
    # Notion's documented limit: a fixed budget of rate × rate_window requests per window,
    # spent at any pace; over it, 429 with Retry-After = the seconds left in the window.
    # 0: the older, still quoted model instead, a token bucket of `rate`/s and `burst`.
    rate_window: float = 60.0
    burst: int = 10
    # The workspace's own limit (other integrations spent its budget): from the next request,
    # this many seconds of 429 public_api_space_request_rate_limit. Read once, then back to 0.
    space_limit_for: float = 0.0
    expiry_seconds: float = 3600.0
    url_expiry_seconds: float = 3600.0
    seed: int | None = None
    # Simulated crashes for tests: the N-th write (1-based; 0 = never) is cut off, "before" it
    # is processed or "after" it is committed, its reply never sent (see LocalNotion.on_crash).
    crash_write: int = 0
    crash_mode: str = "before"
    # The integration's "Update content" capability: without it Notion answers 403
    # restricted_resource to changing pages and data sources (schema included).
    update_content: bool = True
    # A file host that ignores Range (answers 200 with the whole body), as some proxies do.
    ignore_range: bool = False
    # The next `download_cuts` download bodies longer than `download_cut_after` bytes stop
    # after that many bytes (the connection closed), as a dropped link looks to the client.
    download_cut_after: int = 0
    download_cuts: int = 0
    # Notion's per-query cap: past it a query stops with `request_status` incomplete.
    query_result_limit: int = 10_000
    # Pages a minute at most, in their created_time (0: as fast as they come). Notion's request
    # limit paces page creation (about 180 a minute); a benchmark at --rate 0 otherwise makes
    # thousands a minute, which no integration can.
    page_pace: float = 0.0
    # A hostile host: this many bytes past the range asked for, with no Content-Length.
    download_overrun: int = 0


def options_json(options: ServerOptions) -> dict:
    out = asdict(options)
    out["fault_endpoints"] = sorted(options.fault_endpoints)
    out["fault_statuses"] = list(options.fault_statuses)
    return out


def merge_options(options: ServerOptions, body: dict) -> None:
    """Set the options `body` names; ValueError for an unknown name."""
    known = {f.name for f in fields(ServerOptions)}
    unknown = set(body) - known
    if unknown:
        raise ValueError(f"unknown options: {sorted(unknown)}")
    for key, value in body.items():
        if key == "fault_endpoints":
            value = frozenset(value)
        elif key == "fault_statuses":
            value = tuple(int(v) for v in value)
        setattr(options, key, value)


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_bytes(text: str) -> int:
    """'2MB' -> 2000000, '512KiB' -> 524288, '1048576' -> 1048576; ValueError otherwise.

    The same units as the command line's sizes (notion_up.units), kept here because the server
    imports only the standard library.
    """
    raw = str(text).strip().lower().replace(" ", "").replace("_", "")
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(number) :]
    if not number or unit not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (use bytes, or a unit: 2MB, 512KiB)")
    value = float(number)
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"not a size: {text!r}")
    return int(value * _SIZE_UNITS[unit])
