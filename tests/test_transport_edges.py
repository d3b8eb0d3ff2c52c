"""Robust at the edges (issue 21), the network and the machine: one transport, one deadline,
waits said and bounded, private folders.

Each test plants one hostile server (a small local one) or setting and pins what now holds.
"""

from __future__ import annotations

import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from notion_up.api import settings as api_settings
from notion_up.app.context import connect
from notion_up.config import resolve
from notion_up.download.fetch import Fetcher
from notion_up.errors import APIError, ConfigError, InvalidRecord, TransientError
from notion_up.events import Notice
from notion_up.notion import transport
from notion_up.notion.client import NotionClient
from notion_up.notion.records import Databases, RemoteFile
from notion_up.notion.retry import RateLimiter, RetryPolicy
from notion_up.notion.transport import MAX_REDIRECTS
from tests.helpers import run_cli
from tests.hostserver import HostServer, edge_env, notion_error, send_json


# -- one transport -------------------------------------------------------------------------------
def _file_host(body: bytes = b"hello", location: str | None = None):
    def answer(handler):
        if location is not None:
            handler.send_response(302)
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return HostServer(answer)


def _remote_at(url: str, data: bytes = b"hello") -> RemoteFile:
    return RemoteFile(
        file_id="f" * 32,
        name="a.txt",
        size=len(data),
        salted="a" * 128,
        salt="b" * 64,
        created="",
        url=url,
        upload_name="a.txt",
    )


def _restorer(api_url: str, **kwargs) -> Fetcher:
    client = NotionClient(
        "ntn_EDGE",
        api_url,
        limiter=RateLimiter(rate=0),
        policy=RetryPolicy(max_attempts=3),
        **kwargs,
    )
    return Fetcher(client, Databases("fs", "ix", "db"), sleep=lambda _s: None, workers=1)


def test_netrc_credentials_go_neither_to_the_api_nor_to_a_file_host(tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password NETRC_SECRET\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with HostServer(lambda h: send_json(h, 200, {"object": "user", "id": "u"})) as api:
        NotionClient("ntn_EDGE", api.url, limiter=RateLimiter(rate=0)).users_me()
    assert api.seen[0].headers["Authorization"] == "Bearer ntn_EDGE"
    with _file_host() as host:
        restorer = _restorer(host.url)
        restorer.download(_remote_at(f"{host.url}/f?sig=1"), lambda _b: None)
    assert "Authorization" not in host.seen[0].headers


def test_the_api_never_follows_a_redirect(tmp_path):
    with _file_host(location="https://elsewhere.example/v1/users/me") as api:
        client = NotionClient("ntn_EDGE", api.url, limiter=RateLimiter(rate=0))
        with pytest.raises(ConfigError, match="redirect"):
            client.users_me()
    assert len(api.seen) == 1


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "/again", "http://127.0.0.1:9/x", "gopher://x/"]
)
def test_a_download_redirect_is_checked_hop_by_hop_and_never_retried(location):
    with _file_host(location=location) as host:
        # The API is not local: a loopback or private address is never fetched.
        restorer = _restorer("https://api.notion.com")
        restorer.allow_local = True  # the first hop is the (local) test server itself
        if location.startswith("http://127."):
            restorer.allow_local = False
        with pytest.raises(InvalidRecord, match="refused"):
            restorer.download(_remote_at(f"{host.url}/f"), lambda _b: None)
    assert len(host.seen) <= MAX_REDIRECTS + 1


def test_a_record_url_on_this_machine_is_refused_unless_the_api_is_local():
    with _file_host() as host:
        with pytest.raises(InvalidRecord, match="local address"):
            _restorer("https://api.notion.com").download(_remote_at(host.url), lambda _b: None)
        assert host.seen == []
        got = []
        _restorer(host.url).download(_remote_at(host.url), got.append)
        assert b"".join(got) == b"hello"


def test_a_signed_url_is_never_shown_when_a_download_retries():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}/file?X-Amz-Signature=SIGNED_SECRET&X-Amz-Credential=K"
    heard: list = []
    restorer = _restorer(f"http://127.0.0.1:{port}")
    restorer.listener = heard.append
    with pytest.raises(TransientError) as caught:
        restorer.download(_remote_at(url), lambda _b: None)
    shown = " ".join(str(e) for e in heard) + str(caught.value)
    assert "Retrying" in shown and "SIGNED_SECRET" not in shown and "Credential" not in shown


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.5:8080"])
def test_plain_http_to_another_host_is_refused_without_an_opt_in(url):
    with pytest.raises(ConfigError, match="plain http"):
        resolve({}, env={"NOTION_API_URL": url})
    allowed = resolve({}, env={"NOTION_API_URL": url, "NOTION_UP_INSECURE_HTTP": "1"})
    assert allowed.api_url == url
    assert resolve({}, env={"NOTION_API_URL": "http://127.0.0.1:8080"}).api_url


@pytest.mark.slow
def test_plain_http_is_refused_by_the_real_command(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"a")
    done = run_cli(["push", str(tmp_path / "a.txt")], edge_env("http://api.example.com"))
    assert done.returncode == 3 and b"plain http" in done.stderr, done.stderr


# -- one deadline --------------------------------------------------------------------------------
def _drip_headers(handler):
    """A status line and headers at a byte a second: no recv ever waits long."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 60:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.2)


def _drip_body(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "5")
    handler.end_headers()
    for byte in b"hello":
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.5)


def test_headers_dripping_in_are_cut_at_the_requests_deadline():
    with HostServer(_drip_headers) as slow:
        client = NotionClient(
            "ntn_EDGE",
            slow.url,
            limiter=RateLimiter(rate=0),
            timeout=1,
            policy=RetryPolicy(max_attempts=2, base=0.01),
        )
        with pytest.raises(TransientError, match="no answer within 1 s"):
            client.users_me()
    assert len(slow.seen) == 2


def test_a_download_trickling_below_the_floor_is_cut_and_counted_as_failures():
    with HostServer(_drip_body) as slow:
        restorer = _restorer(slow.url, timeout=1)
        heard: list = []
        restorer.listener = heard.append
        with pytest.raises(TransientError, match="too slow"):
            restorer.download(_remote_at(f"{slow.url}/f"), lambda _b: None)
    assert len(slow.seen) == 3  # max_attempts, though each attempt brought a byte


def test_the_timeout_setting_comes_from_env_or_profile_and_is_checked(tmp_path):
    assert resolve({}, env={}).timeout == 120
    assert resolve({}, env={"NOTION_UP_TIMEOUT": "15"}).timeout == 15
    assert api_settings(timeout=20).timeout == 20  # the Python API takes it too
    config = tmp_path / "config.toml"
    config.write_text("[profiles.default]\ntimeout = 30\n")
    config.chmod(0o600)
    assert resolve({}, env={}, config_path=config).timeout == 30
    for bad in ("0", "nan", "soon"):
        with pytest.raises(ConfigError, match="timeout"):
            resolve({}, env={"NOTION_UP_TIMEOUT": bad})


@pytest.mark.slow
@pytest.mark.parametrize("how", ["env", "flag"])
def test_a_run_against_a_dripping_server_ends_with_a_temporary_error(how):
    with HostServer(_drip_headers) as slow:
        env = edge_env(slow.url, NOTION_UP_TIMEOUT="1") if how == "env" else edge_env(slow.url)
        args = ["ls"] if how == "env" else ["ls", "--timeout", "1"]
        done = run_cli(args, env, timeout=90)
    assert done.returncode == 5, done.stderr
    assert b"no answer within 1 s" in done.stderr and b"Traceback" not in done.stderr


@pytest.mark.slow
def test_a_timeout_flag_out_of_range_is_a_usage_error():
    done = run_cli(["ls", "--timeout", "0"], edge_env("http://127.0.0.1:9"))
    assert done.returncode == 2 and b"--timeout 0" in done.stderr, done.stderr


# -- private from the start ----------------------------------------------------------------------
@pytest.mark.slow
def test_the_state_folder_and_the_sandboxs_files_are_private(sandbox, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"private")
    state = tmp_path / "state"
    done = run_cli(
        ["push", "--rate", "0", str(tmp_path / "a.txt")],
        sandbox.env(NOTION_UP_STATE_DIR=str(state)),
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    server = Path(sandbox.server.state_dir)
    modes = {p: stat.S_IMODE(p.lstat().st_mode) for p in [server, *server.rglob("*")]}
    assert any(p.is_file() and "blobs" in p.parts for p in modes)
    wrong = {str(p): oct(m) for p, m in modes.items() if m != (0o700 if p.is_dir() else 0o600)}
    assert wrong == {}


# -- waiting, said and capped --------------------------------------------------------------------
def test_a_calls_retry_waits_are_capped_and_said(requests_mock):
    requests_mock.get(
        "https://api.notion.com/v1/users/me",
        status_code=503,
        headers={"Retry-After": "50"},
        json=notion_error(503, "unavailable"),
    )
    slept: list[float] = []
    said: list[str] = []
    client = NotionClient(
        "ntn_t", limiter=RateLimiter(rate=0), sleep=slept.append, on_notice=said.append
    )
    with pytest.raises(APIError):
        client.users_me()
    # 50 s, 50 s, then a third wait would pass the cap of 120 s for one call: given up.
    assert len(slept) == 2 and sum(slept) <= client.policy.max_total_wait
    assert len(said) == 2 and said[0].startswith("waiting for Notion (50 s) to retry GET")


def test_a_retry_after_past_the_cap_is_not_waited_for(requests_mock):
    requests_mock.get(
        "https://api.notion.com/v1/users/me",
        status_code=503,
        headers={"Retry-After": "300"},
        json=notion_error(503, "unavailable"),
    )
    slept: list[float] = []
    client = NotionClient("ntn_t", limiter=RateLimiter(rate=0), sleep=slept.append)
    with pytest.raises(APIError):
        client.users_me()
    assert slept == [] and requests_mock.call_count == 1


def test_a_slow_answer_is_said_while_it_is_awaited(monkeypatch):
    monkeypatch.setattr(transport, "SLOW_AFTER", 0.3)

    def late(handler):
        time.sleep(1.5)
        send_json(handler, 200, {"object": "user", "id": "u"})

    heard: list = []
    settings = resolve({}, env={"NOTION_TOKEN": "ntn_EDGE"})
    with HostServer(late) as slow:
        settings.set("api_url", slow.url, "test")
        with connect(settings, listener=heard.append) as ctx:
            ctx.client.users_me()
    assert heard and all(isinstance(e, Notice) for e in heard)
    assert heard[0].text.startswith("waiting for Notion (")


@pytest.mark.slow
def test_the_first_ctrl_c_ends_a_push_within_two_seconds_while_a_request_hangs(tmp_path):
    hung = threading.Event()

    def never(handler):
        hung.wait(60)

    (tmp_path / "a.txt").write_bytes(b"a")
    with HostServer(never) as silent:
        proc = subprocess.Popen(
            [sys.executable, "-m", "notion_up", "push", str(tmp_path / "a.txt")],
            env=edge_env(silent.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        while not silent.seen:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        # Bounded well under the request's own deadline (120 s): the cut is what ends it.
        _out, err = proc.communicate(timeout=20)
        hung.set()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err


def test_proxies_from_the_environment_are_still_used(monkeypatch):
    with HostServer(lambda h: send_json(h, 200, {"object": "user", "id": "u"})) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        NotionClient("ntn_EDGE", "http://notion.example", limiter=RateLimiter(rate=0)).users_me()
    assert proxy.seen[0].path == "http://notion.example/v1/users/me"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/f",
        "http://localhost./f",
        "http://[::1]/f",
        "http://2130706433/f",
        "http://127.1/f",
        "http://0x7f.1/f",
        "http://169.254.169.254/latest",
        "http://10.1.2.3/",
        "http://[::ffff:127.0.0.1]/f",
        "http://0.0.0.0/f",
    ],
)
def test_every_spelling_of_a_local_address_is_local(url):
    assert transport.is_local(url)


def test_a_public_address_or_name_is_not_local():
    assert not transport.is_local("https://prod-files-secure.s3.us-west-2.amazonaws.com/x")
    assert not transport.is_local("https://52.92.1.1/x")


@pytest.mark.slow
def test_the_real_command_says_it_is_waiting_for_notion_once_per_interval(tmp_path):
    def late(handler):
        time.sleep(transport.SLOW_AFTER + 1.5)
        send_json(handler, 401, notion_error(401, "unauthorized", "API token is invalid."))

    (tmp_path / "a.txt").write_bytes(b"a")
    with HostServer(late) as slow:
        done = run_cli(["push", str(tmp_path / "a.txt")], edge_env(slow.url))
    assert done.returncode == 3, done.stderr
    # Three set-up reads waited side by side: one line for them all.
    assert done.stderr.count(b"waiting for Notion (5 s)") == 1, done.stderr


def test_a_host_giving_a_byte_per_request_is_stopped_by_the_files_budget(monkeypatch):
    monkeypatch.setattr(transport, "THROUGHPUT_FLOOR", 1e9)
    data = bytes(200)

    def one_byte(handler):
        start = int(handler.headers.get("Range", "bytes=0-").split("=")[1].split("-")[0])
        time.sleep(0.05)
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{start}/{len(data)}")
        handler.send_header("Content-Length", "1")
        handler.end_headers()
        handler.wfile.write(data[start : start + 1])

    with HostServer(one_byte) as host:
        restorer = _restorer(host.url, timeout=0.2)
        with pytest.raises(TransientError, match="budget"):
            restorer.download(_remote_at(f"{host.url}/f", data), lambda _b: None)
    assert len(host.seen) < len(data)
