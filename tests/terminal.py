"""Run the real command with stderr on a pseudo-terminal of a given size; keep what it showed.

The bytes the program writes go through pyte, a terminal emulator, so tests see screens the
way a person would: frames taken while it runs, and the screen left when it ends.

With `keyboard=True` the pty is the command's controlling terminal and Ctrl-C is typed, not
sent: the terminal's line discipline raises SIGINT and, as a real terminal does by default
(echoctl), echoes `^C` where the cursor is.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyte


@dataclass
class Run:
    """What one run showed: its frames, the last screen, stdout, the exit code."""

    code: int
    stdout: bytes
    frames: list[list[str]] = field(default_factory=list)
    final: list[str] = field(default_factory=list)
    raw: bytes = b""

    def any_frame(self, test: Callable[[list[str]], bool]) -> list[str] | None:
        """The first frame for which `test` holds."""
        return next((f for f in self.frames if test(f)), None)


def rows_of(screen: pyte.Screen) -> list[str]:
    """The screen's lines without trailing blanks, and no blank lines at the end."""
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def run_in_terminal(
    args: list[str],
    env: dict[str, str],
    columns: int,
    lines: int = 40,
    interrupt_when: Callable[[list[str]], bool] | None = None,
    timeout: float = 120.0,
    keyboard: bool = False,
) -> Run:
    """Run `python -m notion_up ARGS` with stderr on a pty of `columns` × `lines`.

    With `interrupt_when`, SIGINT (Ctrl-C) is sent once a frame satisfies it; with `keyboard`,
    Ctrl-C is typed on the terminal instead (which echoes it).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    if keyboard:
        attrs = termios.tcgetattr(slave)
        attrs[3] |= termios.ECHO | termios.ECHOCTL | termios.ISIG  # as a terminal starts
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen(
        [sys.executable, "-m", "notion_up", *args],
        stdin=slave if keyboard else subprocess.DEVNULL,
        # A session of its own whose controlling terminal is the pty: typed Ctrl-C reaches it.
        start_new_session=keyboard,
        preexec_fn=(lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0)) if keyboard else None,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={
            **env,
            "TERM": "xterm-256color",
            "COLUMNS": str(columns),
            "LINES": str(lines),
            # On a hang the child is sent SIGABRT first: its threads' stacks land in `raw`.
            "PYTHONFAULTHANDLER": "1",
        },
    )
    os.close(slave)
    screen = pyte.Screen(columns, lines)
    stream = pyte.ByteStream(screen)
    run = Run(0, b"")
    sent_interrupt = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                chunk = read_some(master)
                if not chunk:
                    break
                run.raw += chunk
                stream.feed(chunk)
                # A frame may come in several reads: look only once the output pauses.
                if select.select([master], [], [], 0.02)[0]:
                    continue
                frame = rows_of(screen)
                if not run.frames or run.frames[-1] != frame:
                    run.frames.append(frame)
                if interrupt_when and not sent_interrupt and interrupt_when(frame):
                    if keyboard:
                        os.write(master, b"\x03")  # Ctrl-C, as typed
                    else:
                        proc.send_signal(signal.SIGINT)
                    sent_interrupt = True
            elif proc.poll() is not None:
                break
        else:
            hung(proc, master, run)
        run.stdout = proc.stdout.read() if proc.stdout else b""
        run.code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    run.final = rows_of(screen)
    return run


def read_some(master: int) -> bytes:
    """What the pty has now; b"" once the child closed it."""
    try:
        return os.read(master, 65536)
    except OSError:
        return b""


def hung(proc: subprocess.Popen, master: int, run: Run) -> None:
    """The run outlived its time: keep the stacks it prints on SIGABRT, then kill it."""
    proc.send_signal(signal.SIGABRT)
    end = time.monotonic() + 3
    while time.monotonic() < end and select.select([master], [], [], 0.1)[0]:
        chunk = read_some(master)
        if not chunk:
            break
        run.raw += chunk
    proc.kill()
    sys.stderr.write(run.raw[-20000:].decode("utf-8", "replace"))
