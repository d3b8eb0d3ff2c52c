"""The benchmarks' shared machinery: the local server, timed subprocesses, test files, results.

bench/run.py and the scenario modules next to it (cold.py, startup.py, pull.py) import it; it
runs nothing itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
MB = 1000 * 1000
PART = 5 * MiB  # notion-up's default part size; every sender here uses it
WAN = {"latency": 0.030, "bandwidth": 4 * MiB}
NOTION_VARS = (
    "NOTION_TOKEN",
    "NOTION_TOKEN_FILE",
    "NOTION_UP_DATABASE",
    "NOTION_UP_INDEX",
    "NOTION_API_URL",
    "NOTION_UP_PROFILE",
    "NOTION_UP_WORKERS",
    "NOTION_UP_PART_SIZE",
    "NOTION_UP_RATE",
    "NOTION_UP_STATE_DIR",
)


# -- small helpers -------------------------------------------------------------------------
def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"


def mib(nbytes: float) -> str:
    return f"{nbytes / MiB:.1f} MiB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / (1024 * 1024):.1f} GiB"
    return {
        "nproc": str(os.cpu_count()),
        "CPU": model,
        "RAM": ram,
        "Python": platform.python_version(),
        "OS": f"{platform.system()} {platform.release()}",
    }


def make_file(path: Path, size: int) -> Path:
    """Pseudo-random, incompressible bytes: SHAKE-256 blocks keyed by a counter."""
    block = MiB
    with open(path, "wb") as f:
        for i in range(math.ceil(size / block)):
            n = min(block, size - i * block)
            f.write(hashlib.shake_256(b"notion-up-bench" + i.to_bytes(8, "big")).digest(n))
    return path


def scratch_dir() -> Path:
    """A temp dir in RAM (/dev/shm) when it has room, else the default temp dir.

    The server keeps every uploaded part on disk in its state dir; gigabytes of writes to a
    virtual disk stall on writeback and would time the disk instead of notion-up.
    """
    shm = Path("/dev/shm")
    with contextlib.suppress(OSError, ValueError):
        st = os.statvfs(shm)
        available = 0
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable"):
                available = int(line.split()[1]) * KiB
        # The full run keeps up to ~7 GiB there at once (files, uploads, spool): leave room.
        roomy = min(st.f_bavail * st.f_frsize, available) >= 16 * GiB
        if roomy and os.access(shm, os.W_OK):
            return Path(tempfile.mkdtemp(prefix="notion-up-bench-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="notion-up-bench-"))


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


# -- running programs ----------------------------------------------------------------------
@dataclass
class Run:
    """One finished subprocess: wall time, exit code, stdout lines, peak RSS."""

    cmd: list[str]
    wall: float
    code: int
    stdout: str
    stderr: str
    maxrss: int  # bytes, from wait4's rusage (the kernel's exact high-water mark)
    cpu: float = 0.0  # user + system seconds of the process
    server_cpu: float = 0.0  # CPU seconds the server spent meanwhile (when measured)
    started: float = 0.0  # time.perf_counter() just before the spawn

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def files(self) -> list[dict]:
        return [d for d in self.json_lines() if "seconds" in d and "name" in d]


def run_timed(cmd: list[str], env: dict[str, str], stdin_file: Path | None = None) -> Run:
    """Run `cmd`, timing it from spawn to exit; its own peak RSS comes from wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        feeder = None
        stdin = subprocess.DEVNULL
        if stdin_file is not None:
            # A pipe, so the program sees a stream of unknown size (it must spool it).
            feeder = subprocess.Popen(["cat", str(stdin_file)], stdout=subprocess.PIPE)
            stdin = feeder.stdout
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err, env=env)
        if feeder is not None:
            feeder.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if feeder is not None:
            feeder.wait()
        out.seek(0)
        err.seek(0)
        run = Run(
            cmd,
            wall,
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss * 1024,
            usage.ru_utime + usage.ru_stime,
            started=started,
        )
    if run.code != 0:
        raise RuntimeError(
            f"{shlex.join(cmd)} exited {run.code}\n--- stderr ---\n{run.stderr[-3000:]}"
        )
    return run


class Server:
    """The local Notion-compatible server in its own process."""

    def __init__(self, bench: Bench, *flags: str) -> None:
        self.bench = bench
        self.dir = Path(tempfile.mkdtemp(prefix="server-", dir=bench.tmp))
        module = os.environ.get("BENCH_SERVER_MODULE", "notion_up.sandbox")
        cmd = [bench.python, "-m", module, "--json", "--port", "0"]
        cmd += ["--state-dir", str(self.dir / "state")]
        self.cmd = [*cmd, *flags]
        self._err = open(self.dir / "stderr.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.PIPE, stderr=self._err, env=bench.base_env, cwd=ROOT
        )
        line = self._first_line(30.0)
        self.info = json.loads(line)
        self.url: str = self.info["url"].rstrip("/")
        self.token: str = self.info["token"]
        # Drain anything else it prints so a full pipe never blocks it.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def _first_line(self, timeout: float) -> str:
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not box or not box[0].strip():
            self.stop()
            log = (self.dir / "stderr.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the server did not start: {shlex.join(self.cmd)}\n{log}")
        return box[0].decode()

    def admin(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw.strip() else {}

    def stats(self) -> dict:
        return self.admin("GET", "/__admin/stats")

    def cpu(self) -> float:
        """User + system CPU seconds of the server process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset(self) -> None:
        self.admin("POST", "/__admin/reset")

    def options(self, **options: object) -> dict:
        return self.admin("POST", "/__admin/options", options)

    def env(self, state: Path) -> dict[str, str]:
        """The environment for notion-up pointed at this server, with its own state dir."""
        env = dict(self.bench.base_env)
        env.update(
            NOTION_API_URL=self.url,
            NOTION_TOKEN=self.token,
            NOTION_UP_DATABASE=self.info["files_database_id"],
            NOTION_UP_INDEX=self.info["index_database_id"],
            NOTION_UP_STATE_DIR=str(state),
        )
        return env

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Push:
    """One measured notion-up push and what the server saw during it."""

    run: Run
    stats: dict

    @property
    def seconds(self) -> float:
        """Engine time of the file (the --json "seconds"); the sum for several files."""
        return sum(f["seconds"] for f in self.run.files())

    @property
    def requests(self) -> int:
        return int(self.stats.get("total_requests", 0))

    @property
    def retries(self) -> int:
        return sum(int(f.get("retries", 0)) for f in self.run.files())

    def count(self, endpoint: str, status: str | None = None) -> int:
        by_status = self.stats.get("requests", {}).get(endpoint, {})
        if status is not None:
            return int(by_status.get(status, 0))
        return sum(int(n) for n in by_status.values())

    def status_count(self, status: str) -> int:
        return sum(int(s.get(status, 0)) for s in self.stats.get("requests", {}).values())


@dataclass
class Bench:
    """Shared state of a benchmark run: interpreter, temp dir, test files, results."""

    python: str
    quick: bool
    tmp: Path = field(default_factory=lambda: scratch_dir())
    files: dict[int, Path] = field(default_factory=dict)
    shared: dict[str, object] = field(default_factory=dict)
    base_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in NOTION_VARS}
        home = self.tmp / "home"
        for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            (home / var).mkdir(parents=True, exist_ok=True)
            env[var] = str(home / var)
        spool = self.tmp / "spool"
        spool.mkdir()
        env["TMPDIR"] = str(spool)  # where notion-up spools standard input
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p
        )
        self.base_env = env
        # What `pip install` leaves: bytecode for every module. An editable install (and this
        # machine's PYTHONDONTWRITEBYTECODE) would otherwise compile notion-up on every start.
        subprocess.run([self.python, "-m", "compileall", "-q", str(ROOT / "notion_up")], check=True)

    def file(self, size: int) -> Path:
        if size not in self.files:
            path = self.tmp / "data" / f"bench-{size}.bin"
            path.parent.mkdir(exist_ok=True)
            self.files[size] = make_file(path, size)
        return self.files[size]

    def small_files(self, count: int, size: int) -> list[Path]:
        folder = self.tmp / "data" / f"small-{count}x{size}"
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(count):
            path = folder / f"small-{i:04d}.bin"
            path.write_bytes(hashlib.shake_256(b"small" + i.to_bytes(4, "big")).digest(size))
            paths.append(path)
        return paths

    def state(self, name: str) -> Path:
        path = self.tmp / "state" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def push(
        self,
        server: Server,
        paths: list[Path] | Path,
        *flags: str,
        state: str = "main",
        stdin: Path | None = None,
    ) -> Push:
        """Run `python -m notion_up push ... --json` once, the server's counters reset before."""
        args = [str(p) for p in paths] if isinstance(paths, list) else [str(paths)]
        if stdin is not None:
            args = ["-", "--name", stdin.name]
        cmd = [self.python, "-m", "notion_up", "push", *args, "--json", *flags]
        return Push(*self.measure(server, cmd, server.env(self.state(state)), stdin))

    def measure(
        self, server: Server, cmd: list[str], env: dict[str, str], stdin: Path | None = None
    ) -> tuple[Run, dict]:
        """Run `cmd` against `server`: counters reset before, its stats and CPU after."""
        server.reset()
        before = server.cpu()
        run = run_timed(cmd, env, stdin_file=stdin)
        run.server_cpu = server.cpu() - before
        return run, server.stats()

    def warm(self, server: Server, *flags: str, state: str = "main") -> Push:
        """One small push so the workspace facts are cached (as for any second run)."""
        return self.push(server, self.file(64 * KiB), *flags, state=state)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


@dataclass
class Floor:
    scenario: str
    what: str
    measured: str
    target: str
    ok: bool | None  # None: reported, no floor


@dataclass
class Section:
    title: str
    body: str
    floors: list[Floor]


def reps(bench: Bench, full: int, quick: int) -> int:
    return quick if bench.quick else full


def rotate(items: list, by: int) -> list:
    by %= len(items)
    return items[by:] + items[:by]


def say(text: str) -> None:
    print(text, flush=True)


def ensure_sdk(python: str) -> str:
    """Install notion-client for the benchmark only when it is missing; returns its version."""
    probe = [python, "-c", "import importlib.metadata as m; print(m.version('notion-client'))"]
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0:
        say("  installing notion-client (benchmark only) ...")
        subprocess.run([python, "-m", "pip", "install", "-q", "notion-client"], check=True)
        found = subprocess.run(probe, capture_output=True, text=True, check=True)
    return found.stdout.strip()
