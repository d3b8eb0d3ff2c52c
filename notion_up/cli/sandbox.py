"""`notion-up sandbox serve`: run the local Notion-compatible server, with its knobs."""

from __future__ import annotations

import errno
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from notion_up.cli.options import Debug, PanelCommand
from notion_up.cli.output import errors_to_exit
from notion_up.config import data_dir
from notion_up.errors import ConfigError, UsageError
from notion_up.units import parse_size

sandbox_commands = typer.Typer(
    help="A local Notion-compatible server: try notion-up offline.", no_args_is_help=True
)


def _knob_options(
    *,
    latency: float,
    bandwidth: str | None,
    download_bandwidth: str | None,
    fault_rate: float,
    drop_rate: float,
    rate_limit: bool,
    rate: float,
    max_file_size: str | None,
    expiry: float,
    seed: int | None,
):  # noqa: ANN202 - ServerOptions, imported only when serving
    """The server's knobs from the flags: sizes as people type them, probabilities checked."""
    from notion_up.sandbox import ServerOptions

    for flag, value in (("--fault-rate", fault_rate), ("--drop-rate", drop_rate)):
        if not 0 <= value <= 1:
            raise UsageError(f"{flag} is a probability: {value}", hint=f"{flag} 0.05 for 5%")
    for flag, value in (("--latency", latency), ("--expiry", expiry), ("--rate", rate)):
        if value < 0 or (flag != "--latency" and value == 0):
            raise UsageError(f"{flag} must be more than 0: {value}")
    options = ServerOptions(
        latency=latency,
        bandwidth=_per_second(bandwidth),
        download_bandwidth=_per_second(download_bandwidth),
        fault_rate=fault_rate,
        drop_rate=drop_rate,
        rate_limit=rate_limit,
        rate=rate,
        expiry_seconds=expiry,
        url_expiry_seconds=expiry,
        seed=seed,
    )
    if max_file_size:
        options.max_file_upload_size = parse_size(max_file_size)
    return options


def _per_second(text: str | None) -> int | None:
    """A bandwidth flag: None (or 0) for unlimited."""
    return (parse_size(text) or None) if text else None


KNOBS = "Behaviour (to try a slow link, faults, the rate limit)"


@sandbox_commands.command("serve", cls=PanelCommand, short_help="Run the local server.")
def sandbox_serve(
    port: Annotated[
        int,
        typer.Option(
            "--port",
            metavar="N",
            show_default=False,
            help="Port to listen on, 0 for any free one. Default: 8787.",
        ),
    ] = 8787,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            metavar="DIR",
            help="Where the server keeps its workspace and files. "
            "Default: $XDG_DATA_HOME/notion-up/sandbox.",
        ),
    ] = None,
    latency: Annotated[
        float,
        typer.Option(
            "--latency",
            metavar="SECONDS",
            show_default=False,
            rich_help_panel=KNOBS,
            help="Added to every request, as a far-away server is. Default: 0.",
        ),
    ] = 0.0,
    bandwidth: Annotated[
        str | None,
        typer.Option(
            "--bandwidth",
            metavar="SIZE",
            rich_help_panel=KNOBS,
            help="Bytes per second per connection, e.g. 2MB or 512KiB. Default: unlimited.",
        ),
    ] = None,
    download_bandwidth: Annotated[
        str | None,
        typer.Option(
            "--download-bandwidth",
            metavar="SIZE",
            rich_help_panel=KNOBS,
            help="The same for file downloads (pull, verify). Default: unlimited.",
        ),
    ] = None,
    fault_rate: Annotated[
        float,
        typer.Option(
            "--fault-rate",
            metavar="P",
            show_default=False,
            rich_help_panel=KNOBS,
            help="Probability of a 5xx answer to a part send or a complete. Default: 0.",
        ),
    ] = 0.0,
    drop_rate: Annotated[
        float,
        typer.Option(
            "--drop-rate",
            metavar="P",
            show_default=False,
            rich_help_panel=KNOBS,
            help="Probability that a send's connection is dropped. Default: 0.",
        ),
    ] = 0.0,
    rate_limit: Annotated[
        bool,
        typer.Option(
            "--rate-limit",
            rich_help_panel=KNOBS,
            help="Answer 429 with Retry-After past Notion's documented limit (--rate per second "
            "on average, over a minute).",
        ),
    ] = False,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            metavar="N",
            show_default=False,
            rich_help_panel=KNOBS,
            help="Requests per second the rate limit allows on average. Default: 3.",
        ),
    ] = 3.0,
    max_file_size: Annotated[
        str | None,
        typer.Option(
            "--max-file-size",
            metavar="SIZE",
            rich_help_panel=KNOBS,
            help="The plan's file-size limit, e.g. 5MiB for the free plan. Default: 5GiB.",
        ),
    ] = None,
    expiry: Annotated[
        float,
        typer.Option(
            "--expiry",
            metavar="SECONDS",
            show_default=False,
            rich_help_panel=KNOBS,
            help="How long an upload and a download link stay valid. Default: 3600.",
        ),
    ] = 3600.0,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", metavar="N", rich_help_panel=KNOBS, help="Make the faults repeatable."
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Run the local Notion-compatible server in the foreground; prints the export lines.

    While it runs, commands given --sandbox use it (with its knobs).

    \b
    Example, a slow link:
      notion-up sandbox serve --latency 0.1 --bandwidth 2MB
      notion-up push --sandbox -r photos/      (in another terminal)
    """
    from notion_up.sandbox import LocalNotion, SandboxBusy
    from notion_up.sandbox.command import exports

    with errors_to_exit(debug):
        options = _knob_options(
            latency=latency,
            bandwidth=bandwidth,
            download_bandwidth=download_bandwidth,
            fault_rate=fault_rate,
            drop_rate=drop_rate,
            rate_limit=rate_limit,
            rate=rate,
            max_file_size=max_file_size,
            expiry=expiry,
            seed=seed,
        )
        server = LocalNotion(options, state_dir=state or data_dir() / "sandbox", port=port)
        try:
            server.start()
        except SandboxBusy as exc:
            raise ConfigError(
                str(exc), hint="stop it first, or pass --state-dir DIR for a sandbox of its own"
            ) from None
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            other = port + 1 if 0 < port < 65535 else 8788
            raise UsageError(
                f"port {port} is in use (another `notion-up sandbox serve`?)",
                hint=f"stop that one, or pick another port: --port {other}, or --port 0 for any",
            ) from None
        ws = server.ensure_workspace()
        server.advertise()  # commands run with --sandbox now use this server
        print("\n".join(exports(server, ws)))
        print("# serving; Ctrl-C to stop", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Handled explicitly: a process started in the background inherits SIGINT ignored,
        # and systemd stops services with SIGTERM.
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            server.stop()


def register(commands: typer.Typer) -> None:
    """Add the `sandbox` group to the command line."""
    commands.add_typer(sandbox_commands, name="sandbox")
