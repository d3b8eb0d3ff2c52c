"""Running the sandbox in the foreground: `serve_forever`, `exports`, and `main` for `python -m`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .model import LocalNotion
from .options import ServerOptions, parse_bytes
from .workspace import Workspace


def serve_forever(
    port: int,
    state_dir: str | Path | None = None,
    options: ServerOptions | None = None,
    *,
    host: str = "127.0.0.1",
    on_ready: Callable[[LocalNotion, Workspace], None] | None = None,
) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM; `on_ready` runs once it listens.

    A kept state folder is advertised (see sharing.py), so commands run with `--sandbox` on that
    folder use this server, with its knobs, rather than being refused.
    """
    server = LocalNotion(options, state_dir=state_dir, host=host, port=port)
    stop = threading.Event()

    def _terminate(signum, frame) -> None:
        stop.set()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        server.start()
        workspace = server.ensure_workspace()
        if state_dir is not None:
            server.advertise()
        if on_ready is not None:
            on_ready(server, workspace)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def exports(server: LocalNotion, workspace: Workspace) -> list[str]:
    """The shell lines that point notion-up at this server (what `sandbox serve` prints)."""
    values = {
        "NOTION_API_URL": server.url,
        "NOTION_TOKEN": server.token,
        "NOTION_UP_DATABASE": workspace.files_database_id,
        "NOTION_UP_INDEX": workspace.index_database_id,
    }
    lines = [f"export {key}={value}" for key, value in values.items()]
    lines.append(f"# root page for `notion-up init --parent`: {workspace.root_page_id}")
    return lines


def _size(text: str) -> int:
    try:
        return parse_bytes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> None:
    """`python -m notion_up.sandbox`: prints the export lines (one JSON line with `--json`)."""
    parser = argparse.ArgumentParser(
        prog="python -m notion_up.sandbox", description="A local Notion-compatible server."
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", default=None, help="keep state here (default: temporary)")
    parser.add_argument("--token", default=ServerOptions.token)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON line (url, token, database and data source ids) instead of exports",
    )
    parser.add_argument(
        "--bandwidth", type=_size, default=None, help="bytes/s per connection (2MB, 512KiB)"
    )
    parser.add_argument(
        "--download-bandwidth",
        type=_size,
        default=None,
        help="bytes/s per connection for file downloads",
    )
    parser.add_argument(
        "--ignore-range",
        action="store_true",
        help="serve file downloads whole, ignoring Range (as some proxies do)",
    )
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--fault-endpoints", default="send,complete", help="comma-separated endpoint names"
    )
    parser.add_argument("--fault-after-create-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit", action="store_true")
    parser.add_argument("--rate", type=float, default=3.0)
    parser.add_argument(
        "--rate-window",
        type=float,
        default=60.0,
        help="seconds of the fixed window holding rate × window requests (Notion's documented "
        "limit); 0 for a token bucket of --rate/s and --burst instead",
    )
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument(
        "--space-limit-for",
        type=float,
        default=0.0,
        help="seconds of workspace-limit 429s from the first request (other integrations' load)",
    )
    parser.add_argument("--max-file-size", type=_size, default=ServerOptions.max_file_upload_size)
    parser.add_argument("--expiry-seconds", type=float, default=3600.0)
    parser.add_argument(
        "--page-pace",
        type=float,
        default=0.0,
        help="pages a minute at most, in their created_time (Notion's limit paces creation)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--crash-write", type=int, default=0, help="cut off the N-th write (0 = never)"
    )
    parser.add_argument(
        "--crash-mode",
        choices=("before", "after"),
        default="before",
        help="cut it off before it is processed, or after it is committed",
    )
    args = parser.parse_args(argv)
    options = ServerOptions(
        token=args.token,
        latency=args.latency,
        bandwidth=args.bandwidth,
        download_bandwidth=args.download_bandwidth,
        ignore_range=args.ignore_range,
        fault_rate=args.fault_rate,
        fault_endpoints=frozenset(e.strip() for e in args.fault_endpoints.split(",") if e.strip()),
        fault_after_create_rate=args.fault_after_create_rate,
        drop_rate=args.drop_rate,
        rate_window=args.rate_window,
        max_file_upload_size=args.max_file_size,
        rate_limit=args.rate_limit,
        rate=args.rate,
        burst=args.burst,
        space_limit_for=args.space_limit_for,
        expiry_seconds=args.expiry_seconds,
        seed=args.seed,
        page_pace=args.page_pace,
        crash_write=args.crash_write,
        crash_mode=args.crash_mode,
    )

    def ready(server: LocalNotion, ws: Workspace) -> None:
        if not args.json:
            sys.stdout.write("\n".join(exports(server, ws)) + "\n")
            sys.stdout.flush()
            return
        line = {
            "url": server.url,
            "token": server.token,
            "files_database_id": ws.files_database_id,
            "files_data_source_id": ws.files_data_source_id,
            "index_database_id": ws.index_database_id,
            "index_data_source_id": ws.index_data_source_id,
            "root_page_id": ws.root_page_id,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    serve_forever(args.port, args.state_dir, options, host=args.host, on_ready=ready)
