"""Settings and where each came from: flag > environment > profile in the config file > default."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notion_up.errors import ConfigError

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
}
CONVERT = {"workers": int, "part_size": int, "rate": float}
SECRET = {"token"}


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
        """Bytes per part of a multi-part upload."""
        return int(self._value("part_size"))

    @property
    def rate(self) -> float:
        """Requests per second for the whole run (0: no limit)."""
        return float(self._value("rate"))

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
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.append(f"{path} is readable by other users; run: chmod 600 {path}")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
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
            settings.set(name, flags[name], "flag")
        elif env.get(ENV[name]):
            settings.set(name, _convert(name, env[ENV[name]], ENV[name]), f"env {ENV[name]}")
        elif name in table:
            source = f"profile {settings.profile}"
            settings.set(name, _convert(name, table[name], source), source)
        else:
            settings.set(name, default, "default")
    _load_token_file(settings)
    token = settings.values.get("token")
    if token is not None and token.value not in (None, ""):
        token.value = check_token(str(token.value), token.source)
    return settings


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


def _convert(name: str, value: Any, where: str) -> Any:
    kind = CONVERT.get(name)
    if kind is None:
        return value
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {name} must be a number, not {value!r}") from None


def _load_token_file(settings: Settings) -> None:
    if settings.token or not settings.token_file:
        return
    path = Path(str(settings.token_file)).expanduser()
    try:
        token = path.read_text().strip(" \t\r\n")
        mode = path.stat().st_mode
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
            raise ConfigError(f"{ENV[name]} is not set", hint=f"export {ENV[name]}=…{flag}")


# -- writing the config file -----------------------------------------------------------------
PROFILE_KEYS = (
    "token", "token_file", "database", "index", "api_url", "workers", "part_size", "rate",
    "state_dir", "service_url",
)  # fmt: skip
CONFIG_TEMPLATE = """# notion-up configuration: one table per profile; `default` is used unless
# --profile or NOTION_UP_PROFILE names another. Keys: token or token_file, database, index,
# api_url, workers, part_size (bytes), rate (requests per second), state_dir, service_url.
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
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def set_profile_value(path: Path, profile: str, key: str, value: Any) -> None:
    """Set one key of one profile in the config file, keeping it 0600."""
    if key not in PROFILE_KEYS:
        raise ConfigError(f"unknown setting {key!r}", hint="one of: " + ", ".join(PROFILE_KEYS))
    data = read_config(path)
    profiles = data.setdefault("profiles", {})
    profiles.setdefault(profile, {})[key] = _convert(key, value, f"config set {key}")
    write_private(path, dump_config(data))


def init_config(path: Path) -> None:
    """Create an empty config file (0600) with an explanatory header; refuse to overwrite one."""
    if path.exists():
        raise ConfigError(f"{path} already exists", hint="change it with `notion-up config set`")
    write_private(path, dump_config({"profiles": {"default": {}}}))
