"""Settings and where each came from: flag > environment > profile in the config file > default."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from notion_up.errors import ConfigError, NotionUpError, UsageError
from notion_up.localfile import read_regular
from notion_up.notion.transport import DEFAULT_TIMEOUT, is_local
from notion_up.units import MiB, binary_reading, human_bytes, parse_size

ENV = {
    "token": "NOTION_TOKEN",
    "token_file": "NOTION_TOKEN_FILE",
    "database": "NOTION_UP_DATABASE",
    "index": "NOTION_UP_INDEX",
    "api_url": "NOTION_API_URL",
    "workers": "NOTION_UP_WORKERS",
    "part_size": "NOTION_UP_PART_SIZE",
    "rate": "NOTION_UP_RATE",
    "state_dir": "NOTION_UP_STATE_DIR",
    "service_url": "NOTION_UP_SERVICE_URL",
    "timeout": "NOTION_UP_TIMEOUT",
    "insecure_http": "NOTION_UP_INSECURE_HTTP",
    "volume_size": "NOTION_UP_VOLUME_SIZE",
}
DEFAULTS: dict[str, Any] = {
    "token": None,
    "token_file": None,
    "database": None,
    "index": None,
    "api_url": "https://api.notion.com",
    "workers": 4,
    "part_size": 5 * 1024 * 1024,
    "rate": 3.0,
    "state_dir": None,
    "service_url": None,
    "timeout": DEFAULT_TIMEOUT,
    "insecure_http": False,
    # A stream longer than this goes up in volumes of this size: two on disk stay within 1 GiB.
    "volume_size": 512 * 1024 * 1024,
}
SECRET = {"token"}
# The flag each setting has (for saying where a bad value came from).
FLAGS = {
    "database": "--database",
    "index": "--index",
    "api_url": "--api-url",
    "workers": "--workers",
    "part_size": "--part-size",
    "rate": "--rate",
    "state_dir": "--state-dir",
    "timeout": "--timeout",
    "volume_size": "--volume-size",
}
# Which workspace and where: a bad one is a configuration error (exit 3) wherever it came from.
# A number out of range is a usage error (exit 2) as a flag, configuration (3) otherwise.
WHERE_SETTINGS = {"token", "token_file", "database", "index", "api_url", "state_dir", "parent"}


class BadValue(Exception):
    """A value a setting's validator refuses: what is wrong, and what to do instead."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


MAX_WORKERS = 64


def _workers(value: Any) -> int:
    number = _number(value, int)
    # Past a few dozen, Notion's rate limit is the bottleneck; each worker holds a part in memory.
    if not 1 <= number <= MAX_WORKERS:
        raise BadValue(f"must be 1 to {MAX_WORKERS} (parts sent at once)")
    return number


def _rate(value: Any) -> float:
    number = _number(value, float)
    if not math.isfinite(number) or number < 0:
        raise BadValue("must be 0 (no limit) or more requests per second")
    return number


def _timeout(value: Any) -> float:
    number = _number(value, float)
    if not math.isfinite(number) or not 1 <= number <= 3600:
        raise BadValue("must be 1 to 3600 seconds (the longest a request may wait for an answer)")
    return number


def _yes(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise BadValue("must be 1 or 0 (true or false)")


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool):
        raise BadValue("must be a number")
    if isinstance(value, int | float) and kind is float:
        return float(value)
    if isinstance(value, int):
        return value
    try:
        return kind(str(value).strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise BadValue(f"must be {what}") from None


MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 20 * MiB


def _part_size(value: Any) -> int | str:
    if str(value).strip().lower() == "auto":
        return "auto"  # picked per file from recent throughput (upload/parts.py)
    try:
        size = parse_size(value)
    except NotionUpError as exc:
        raise BadValue("is not a size", hint="use bytes, or a unit: 5MiB, 10MiB, 20MiB") from exc
    if MIN_PART_SIZE <= size <= MAX_PART_SIZE:
        return size
    meant = binary_reading(value)
    hint = "Notion takes parts of 5 MiB to 20 MiB"
    if meant is not None and MIN_PART_SIZE <= parse_size(meant) <= MAX_PART_SIZE:
        hint = f"did you mean {meant}? MB is 1000×1000 bytes, MiB 1024×1024"
    raise BadValue(f"is {size} bytes ({human_bytes(size)}), outside 5 MiB to 20 MiB", hint=hint)


def _volume_size(value: Any) -> int:
    try:
        size = parse_size(value)
    except NotionUpError as exc:
        raise BadValue("is not a size", hint="use bytes, or a unit: 256MiB, 1GiB") from exc
    if size < MIN_PART_SIZE:
        raise BadValue(f"is {size} bytes, under 5 MiB", hint="the default is 512MiB")
    return size


_HEX_ID = re.compile(r"[0-9a-f]{32}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ID_HINT = (
    "a Notion id is the 32 hex digits that end the database's or page's link, as in "
    "https://www.notion.so/…/Files-0123456789abcdef0123456789abcdef; the whole link works too"
)
LABELS = {
    "api_url": "API URL",
    "part_size": "part size",
    "volume_size": "volume size",
    "state_dir": "state folder",
    "parent": "parent page",
}


def notion_id(value: Any) -> str:
    """A Notion id as given (32 hex digits, dashed or not), or the id inside a pasted URL."""
    text = str(value).strip()
    if _HEX_ID.fullmatch(text.lower()) or _UUID.fullmatch(text.lower()):
        return text
    if "/" in text or "." in text:
        # A link to the page or database: its id ends the path (`?v=` names a view, not it).
        path = urlsplit(text if "://" in text else "https://" + text).path.lower()
        found = _UUID.findall(path) or re.findall(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", path)
        if not found:
            found = re.findall(r"[0-9a-f]{32}$", path.rstrip("/"))
        if found:
            raw = found[-1].replace("-", "")
            return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
        raise BadValue("is a link without a Notion id in it", hint=ID_HINT)
    raise BadValue("is not a Notion id", hint=ID_HINT)


def api_url(value: Any) -> str:
    """An http(s) URL with a host; anything else is refused before a request is made."""
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        return text.rstrip("/")
    if "://" not in text:
        local = text.split(":")[0] in ("localhost", "127.0.0.1", "[::1]", "0.0.0.0")
        guess = ("http://" if local else "https://") + text.lstrip("/")
        raise BadValue("has no http:// or https://", hint=f"did you mean {guess}?")
    raise BadValue(
        "is not an http:// or https:// URL",
        hint="e.g. https://api.notion.com, or the URL `notion-up sandbox serve` prints",
    )


def _path(value: Any) -> str:
    return str(Path(str(value)).expanduser())


VALIDATE: dict[str, Callable[[Any], Any]] = {
    "parent": notion_id,
    "database": notion_id,
    "index": notion_id,
    "api_url": api_url,
    "workers": _workers,
    "part_size": _part_size,
    "volume_size": _volume_size,
    "rate": _rate,
    "state_dir": _path,
    "timeout": _timeout,
    "insecure_http": _yes,
}


@dataclass
class Setting:
    """One effective value and where it came from (flag, env NAME, profile NAME, default)."""

    value: Any
    source: str


@dataclass
class Settings:
    """The effective settings of a run: typed values, and where each came from."""

    values: dict[str, Setting] = field(default_factory=dict)
    profile: str | None = None
    config_path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def _value(self, name: str) -> Any:
        setting = self.values.get(name)
        return DEFAULTS[name] if setting is None else setting.value

    def _text(self, name: str) -> str | None:
        value = self._value(name)
        return None if value in (None, "") else str(value)

    @property
    def token(self) -> str | None:
        """The Notion token (never shown: see describe)."""
        return self._text("token")

    @property
    def token_file(self) -> str | None:
        """A file holding the token."""
        return self._text("token_file")

    @property
    def database(self) -> str | None:
        """The file database (a database or data source id)."""
        return self._text("database")

    @property
    def index(self) -> str | None:
        """The global index database."""
        return self._text("index")

    @property
    def service_url(self) -> str | None:
        """The base URL of the weneten/notion-storage service sharing these databases."""
        return self._text("service_url")

    @property
    def api_url(self) -> str:
        """Notion's API base URL (or the sandbox's)."""
        return str(self._value("api_url"))

    @property
    def workers(self) -> int:
        """Parts (or files) in flight at once."""
        return int(self._value("workers"))

    @property
    def part_size(self) -> int:
        """Bytes per part of a multi-part upload (the default when `auto`: see part_size_auto)."""
        value = self._value("part_size")
        return DEFAULTS["part_size"] if value == "auto" else int(value)

    @property
    def part_size_auto(self) -> bool:
        """`--part-size auto`: each file's part size is picked to fit the link."""
        return self._value("part_size") == "auto"

    @property
    def volume_size(self) -> int:
        """Bytes per volume of a long stream (spooled one at a time while the last goes up)."""
        return int(self._value("volume_size"))

    @property
    def rate(self) -> float:
        """Requests per second for the whole run (0: no limit)."""
        return float(self._value("rate"))

    @property
    def timeout(self) -> float:
        """The longest a request may wait for its answer, in seconds."""
        return float(self._value("timeout"))

    @property
    def state_dir(self) -> Path:
        """Where the journal and the run lock live."""
        value = self._text("state_dir")
        return Path(value) if value else state_dir()

    def source(self, name: str) -> str:
        """Where one setting came from: flag, env NAME, profile NAME, token file PATH, default."""
        setting = self.values.get(name)
        return "default" if setting is None else setting.source

    def set(self, name: str, value: Any, source: str) -> None:
        """Override one setting (e.g. the sandbox's token and databases)."""
        self.values[name] = Setting(value, source)

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, shown value, source) rows, with the token redacted."""
        rows = []
        for name, setting in self.values.items():
            shown = setting.value
            if name in SECRET and shown:
                shown = redact(str(shown))
            elif name == "state_dir":
                shown = self.state_dir
            elif name in ("part_size", "volume_size") and shown not in (None, "auto"):
                shown = f"{shown} ({human_bytes(int(shown))})"
            rows.append((name, "" if shown is None else str(shown), setting.source))
        return rows


def redact(token: str) -> str:
    """A token as `ntn_…1234`-style text that cannot be used."""
    if len(token) <= 8:
        return "****"
    return f"{token[:4]}…{token[-4:]}"


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/notion-up (default ~/.config/notion-up)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "notion-up"


def state_dir() -> Path:
    """$XDG_STATE_HOME/notion-up (default ~/.local/state/notion-up)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "notion-up"


def data_dir() -> Path:
    """$XDG_DATA_HOME/notion-up (default ~/.local/share/notion-up)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "notion-up"


def load_profile(
    path: Path, profile: str | None, warnings: list[str]
) -> tuple[dict[str, Any], str | None]:
    """The chosen profile's table from config.toml (profile "default" unless named)."""
    if not path.exists():
        if profile:
            raise ConfigError(f"profile {profile!r} asked for, but {path} does not exist")
        return {}, None
    data, mode = _read_config(path)
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.append(f"{path} is readable by other users; run: chmod 600 {path}")
    profiles = data.get("profiles", {})
    name = profile or "default"
    if name not in profiles:
        if profile:
            raise ConfigError(f"no profile {profile!r} in {path}")
        return {}, None
    return profiles[name], name


def resolve(
    flags: dict[str, Any],
    env: dict[str, str] | None = None,
    profile: str | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Combine flags, environment, the profile and defaults, remembering each value's source."""
    env = dict(os.environ) if env is None else env
    profile = profile or env.get("NOTION_UP_PROFILE") or None
    path = config_path or config_dir() / "config.toml"
    settings = Settings(config_path=path)
    table, settings.profile = load_profile(path, profile, settings.warnings)
    for name, default in DEFAULTS.items():
        if flags.get(name) is not None:
            # Where a bad value was written; a secret is never quoted.
            where = f"{FLAGS.get(name, name)} {_shown(name, flags[name])}"
            settings.set(name, check(name, flags[name], where, flag=True), "flag")
        elif env.get(ENV[name]):
            where = f"{ENV[name]}={_shown(name, env[ENV[name]])}"
            settings.set(name, check(name, env[ENV[name]], where), f"env {ENV[name]}")
        elif name in table:
            source = f"profile {settings.profile}"
            where = f"{name} = {_shown(name, repr(table[name]))} in {source} of {path}"
            settings.set(name, check(name, table[name], where), source)
        else:
            settings.set(name, default, "default")
    _load_token_file(settings)
    _refuse_plain_http(settings)
    token = settings.values.get("token")
    if token is not None and token.value not in (None, ""):
        token.value = check_token(str(token.value), token.source)
    return settings


def _refuse_plain_http(settings: Settings) -> None:
    """The token never crosses a network in clear text without the user saying so."""
    url = settings.api_url
    if (
        url.lower().startswith("http://")
        and not is_local(url, private=False)
        and not settings._value("insecure_http")
    ):
        raise ConfigError(
            f"{url} ({settings.source('api_url')}) is plain http: the token would cross the "
            "network unencrypted",
            hint="use https://, or set NOTION_UP_INSECURE_HTTP=1 if this is really meant",
        )


def _shown(name: str, value: Any) -> str:
    return "[redacted]" if name in SECRET else str(value)


def check_token(token: str, source: str) -> str:
    """The token without a trailing newline; refused when it holds other whitespace or controls.

    A CR or LF left by `$(cat file)` or an editor is dropped; anything else of that kind would
    end up in an HTTP header, and requests would quote the whole header (token and all) in its
    error. The message never shows the token.
    """
    token = token.rstrip("\r\n")
    if not token or not token.isascii() or any(c.isspace() or not c.isprintable() for c in token):
        raise ConfigError(
            f"the token from {source} holds whitespace or control characters",
            hint="copy the token again: it is one line of letters, digits and underscores",
        )
    return token


def check(name: str, value: Any, where: str, flag: bool = False) -> Any:
    """The one validator of a setting, whatever it came from: the value, typed, or an error.

    `where` says where the value was written (`--part-size 5mb`, `NOTION_UP_WORKERS=0`, …).
    """
    validate = VALIDATE.get(name)
    if validate is None:
        return value
    try:
        return validate(value)
    except BadValue as exc:
        kind = UsageError if flag and name not in WHERE_SETTINGS else ConfigError
        label = LABELS.get(name, name)
        raise kind(f"{where}: {label} {exc.message}", hint=exc.hint) from None


def _rank(source: str) -> int:
    """How strong a setting's source is: flag 0, env 1, profile (or token file) 2, default 3."""
    return {"flag": 0, "env": 1, "profile": 2, "token": 2}.get(source.split(" ")[0], 3)


def _load_token_file(settings: Settings) -> None:
    # A token file named more strongly than the token wins (NOTION_TOKEN_FILE over a profile's
    # token: switching accounts by environment must not push to the profile's workspace).
    if not settings.token_file:
        return
    if settings.token and _rank(settings.source("token")) <= _rank(settings.source("token_file")):
        return
    path = Path(str(settings.token_file)).expanduser()
    try:
        data, info = read_regular(path)
        token, mode = data.decode().strip(" \t\r\n"), info.st_mode
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not text"
        raise ConfigError(f"cannot read the token file {path}: {reason}") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        settings.warnings.append(f"{path} is readable by other users; run: chmod 600 {path}")
    settings.set("token", token, f"token file {path}")


def require(settings: Settings, *names: str) -> None:
    """Fail with the missing setting's variable name when one is not set."""
    for name in names:
        if not settings._text(name):
            flag = {"database": " or --database", "index": " or --index"}.get(name, "")
            where = ""
            hint = f"export {ENV[name]}=…{flag}"
            if settings.profile is not None:
                # The profile was read: say it lacks the key too, and how to add it there.
                where = f", nor is {name} in profile {settings.profile} of {settings.config_path}"
                value = "-" if name == "token" else "…"
                hint += f", or `notion-up config set {name} {value} --profile {settings.profile}`"
            if name in ("database", "index"):
                hint += "; no databases yet? `notion-up init --parent PAGE` creates both"
            raise ConfigError(f"{ENV[name]} is not set{where}", hint=hint)


# -- writing the config file -----------------------------------------------------------------
PROFILE_KEYS = (
    "token", "token_file", "database", "index", "api_url", "workers", "part_size", "rate",
    "state_dir", "service_url", "timeout", "insecure_http", "volume_size",
)  # fmt: skip
CONFIG_TEMPLATE = """# notion-up configuration: one table per profile; `default` is used unless
# --profile or NOTION_UP_PROFILE names another. Keys: token or token_file, database, index,
# api_url, workers, part_size (bytes or with a unit: "10MiB"; or "auto"), rate (requests per
# second), state_dir, service_url, timeout (seconds a request may wait for an answer),
# insecure_http, volume_size (a long stream's volumes: "512MiB").
# Keep this file private (chmod 600): it may hold your token.
"""


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # JSON's string escapes are valid TOML basic-string escapes.
    return json.dumps(str(value), ensure_ascii=False)


def dump_config(data: dict[str, Any]) -> str:
    """The config file's text for `data` (top-level keys, then one table per profile)."""
    lines = [CONFIG_TEMPLATE.rstrip("\n")]
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in top.items()]
    for name, table in (data.get("profiles") or {}).items():
        lines += ["", f"[profiles.{_toml_key(name)}]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable by its owner only (0600), never briefly wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A random name created exclusively: a symlink planted at a fixed temp name is never followed.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_config(path: Path) -> dict[str, Any]:
    """The config file as a dict ({} when it does not exist)."""
    if not path.exists():
        return {}
    return _read_config(path)[0]


def _read_config(path: Path) -> tuple[dict[str, Any], int]:
    try:
        text, info = read_regular(path)
        data = tomllib.loads(text.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    profiles = data.get("profiles", {})
    if isinstance(profiles, dict):
        bad = [f"profiles.{n}" for n, table in profiles.items() if not isinstance(table, dict)]
    else:
        bad = ["profiles"]
    if bad:
        raise ConfigError(
            f"{path}: {bad[0]} is not a table",
            hint='write each profile as a table: [profiles.default] then key = "value" lines',
        )
    return data, info.st_mode


def set_profile_value(path: Path, profile: str, key: str, value: Any) -> None:
    """Set one key of one profile in the config file, keeping it 0600."""
    if key not in PROFILE_KEYS:
        raise ConfigError(f"unknown setting {key!r}", hint="one of: " + ", ".join(PROFILE_KEYS))
    data = read_config(path)
    profiles = data.setdefault("profiles", {})
    profiles.setdefault(profile, {})[key] = check(key, value, f"config set {key} {value}")
    write_private(path, dump_config(data))


def init_config(path: Path) -> None:
    """Create an empty config file (0600) with an explanatory header; refuse to overwrite one."""
    if path.exists():
        raise ConfigError(f"{path} already exists", hint="change it with `notion-up config set`")
    write_private(path, dump_config({"profiles": {"default": {}}}))
