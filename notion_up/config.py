"""Settings and where each came from: flag > environment > profile in the config file > default."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import notion_up.validators as validators
from notion_up.errors import ConfigError, UsageError
from notion_up.localfile import read_regular
from notion_up.notion.transport import DEFAULT_TIMEOUT, is_local
from notion_up.units import MiB, human_bytes


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One setting, described once: everything else (the environment variable read, the
    default, the flag and label in messages, the validator, the profile keys, the config
    file's header and `--help`'s "Env …" text) is derived from the table below.
    """

    name: str
    # The environment variable; None for a value only ever given as an argument (`--parent`).
    env: str | None = None
    default: Any = None
    # How `--help` writes the default, when the value itself does not read well.
    shown_default: str | None = None
    flag: str | None = None
    label: str | None = None
    validate: Callable[[Any], Any] | None = None
    secret: bool = False
    # Which workspace and where: a bad one is a configuration error (exit 3) wherever it came
    # from. A number out of range is a usage error (exit 2) as a flag, configuration (3) else.
    where: bool = False
    in_profile: bool = True
    # A size in bytes, shown with its binary reading (`config show`).
    size: bool = False
    # What the value is, for `--help`; and a note on how to write it, for the config file.
    help: str = ""
    note: str = ""

    @property
    def default_text(self) -> str | None:
        """The default as `--help` writes it ("Default: X."), None when there is none."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or isinstance(self.default, bool):
            return None
        if isinstance(self.default, float):
            return f"{self.default:g}"
        return str(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting(name="token", env="NOTION_TOKEN", secret=True, where=True),
    Setting(name="token_file", env="NOTION_TOKEN_FILE", where=True),
    Setting(
        name="database",
        env="NOTION_UP_DATABASE",
        flag="--database",
        validate=validators.notion_id,
        where=True,
        help="File database: its id or its Notion link.",
    ),
    Setting(
        name="index",
        env="NOTION_UP_INDEX",
        flag="--index",
        validate=validators.notion_id,
        where=True,
        help="Global index database: its id or its Notion link.",
    ),
    Setting(
        name="api_url",
        env="NOTION_API_URL",
        default="https://api.notion.com",
        flag="--api-url",
        label="API URL",
        validate=validators.api_url,
        where=True,
        help="API base URL.",
    ),
    Setting(
        name="workers",
        env="NOTION_UP_WORKERS",
        default=4,
        flag="--workers",
        validate=validators.workers,
        help=f"Parts (or files) sent at once, 1 to {validators.MAX_WORKERS}.",
    ),
    Setting(
        name="part_size",
        env="NOTION_UP_PART_SIZE",
        default=5 * MiB,
        shown_default="5MiB",
        flag="--part-size",
        label="part size",
        validate=validators.part_size,
        size=True,
        help="Part size of multi-part uploads, 5MiB to 20MiB, or auto (per file, to fit the "
        "link to Notion's request budget).",
        note='bytes or with a unit: "10MiB"; or "auto"',
    ),
    Setting(
        name="rate",
        env="NOTION_UP_RATE",
        default=3.0,
        flag="--rate",
        validate=validators.rate,
        help="Average requests per second for the whole run (N × 60 in any minute, as "
        "Notion counts; a burst is fine), 0 for no limit.",
        note="requests per second",
    ),
    Setting(
        name="state_dir",
        env="NOTION_UP_STATE_DIR",
        shown_default="$XDG_STATE_HOME/notion-up",
        flag="--state-dir",
        label="state folder",
        validate=validators.path,
        where=True,
        help="Where the journal and the run lock live.",
    ),
    Setting(
        name="service_url",
        env="NOTION_UP_SERVICE_URL",
        help="Base URL of the notion-storage service, for the public link.",
    ),
    Setting(
        name="timeout",
        env="NOTION_UP_TIMEOUT",
        default=DEFAULT_TIMEOUT,
        flag="--timeout",
        validate=validators.timeout,
        help="The longest a request may wait for its answer (status, headers and body) before "
        "it is cut and retried.",
        note="seconds a request may wait for an answer",
    ),
    Setting(
        name="insecure_http", env="NOTION_UP_INSECURE_HTTP", default=False, validate=validators.yes
    ),
    Setting(
        name="volume_size",
        env="NOTION_UP_VOLUME_SIZE",
        # A stream longer than this goes up in volumes of this size: two on disk stay in 1 GiB.
        default=512 * MiB,
        shown_default="512MiB",
        flag="--volume-size",
        label="volume size",
        validate=validators.volume_size,
        size=True,
        help="A stream past 20 MB goes up in volumes of SIZE as it is read, two at most on "
        "disk; a longer one is stored split.",
        note='a long stream\'s volumes: "512MiB"',
    ),
    # Only ever an argument (`init --parent`), checked the same way as the databases.
    Setting(
        name="parent",
        label="parent page",
        validate=validators.notion_id,
        where=True,
        in_profile=False,
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}
# The settings a run resolves (flag > environment > profile > default).
RESOLVED = tuple(s for s in SETTINGS if s.env is not None)
PROFILE_KEYS = tuple(s.name for s in SETTINGS if s.in_profile)


def described(name: str, what: str | None = None) -> str:
    """`--help` text of a setting's flag: what it is (`what` where a command means it its own
    way), then "Env NAME." and "Default: X." as the table has them."""
    setting = BY_NAME[name]
    text = what or setting.help
    if setting.env:
        text += f" Env {setting.env}."
    if setting.default_text is not None:
        text += f" Default: {setting.default_text}."
    return text


@dataclass
class Sourced:
    """One effective value and where it came from (flag, env NAME, profile NAME, default)."""

    value: Any
    source: str


@dataclass(kw_only=True)
class Settings:
    """The effective settings of a run: typed values, and where each came from."""

    values: dict[str, Sourced] = field(default_factory=dict)
    profile: str | None = None
    config_path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def _value(self, name: str) -> Any:
        setting = self.values.get(name)
        return BY_NAME[name].default if setting is None else setting.value

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
        return BY_NAME["part_size"].default if value == "auto" else int(value)

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
        self.values[name] = Sourced(value, source)

    def overridden(self, values: dict[str, Any], source: str) -> Settings:
        """A copy with `values` set from `source` (the sandbox's token and databases, say);
        this one is left as it was."""
        copy = replace(self, values=dict(self.values), warnings=list(self.warnings))
        for name, value in values.items():
            copy.set(name, value, source)
        return copy

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, shown value, source) rows, with the token redacted."""
        rows = []
        for name, setting in self.values.items():
            shown = setting.value
            spec = BY_NAME[name]
            if spec.secret and shown:
                shown = redact(str(shown))
            elif name == "state_dir":
                shown = self.state_dir
            elif spec.size and shown not in (None, "auto"):
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
    for spec in RESOLVED:
        name, variable = spec.name, str(spec.env)
        if flags.get(name) is not None:
            # Where a bad value was written; a secret is never quoted.
            where = f"{spec.flag or name} {_shown(name, flags[name])}"
            settings.set(name, check(name, flags[name], where, flag=True), "flag")
        elif env.get(variable):
            where = f"{variable}={_shown(name, env[variable])}"
            settings.set(name, check(name, env[variable], where), f"env {variable}")
        elif name in table:
            source = f"profile {settings.profile}"
            where = f"{name} = {_shown(name, repr(table[name]))} in {source} of {path}"
            settings.set(name, check(name, table[name], where), source)
        else:
            settings.set(name, spec.default, "default")
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
    return "[redacted]" if BY_NAME[name].secret else str(value)


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
    spec = BY_NAME.get(name)
    if spec is None or spec.validate is None:
        return value
    try:
        return spec.validate(value)
    except validators.BadValue as exc:
        kind = UsageError if flag and not spec.where else ConfigError
        label = spec.label or name
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
            spec = BY_NAME[name]
            flag = f" or {spec.flag}" if spec.flag else ""
            where = ""
            hint = f"export {spec.env}=…{flag}"
            if settings.profile is not None:
                # The profile was read: say it lacks the key too, and how to add it there.
                where = f", nor is {name} in profile {settings.profile} of {settings.config_path}"
                value = "-" if name == "token" else "…"
                hint += f", or `notion-up config set {name} {value} --profile {settings.profile}`"
            if name in ("database", "index"):
                hint += "; no databases yet? `notion-up init --parent PAGE` creates both"
            raise ConfigError(f"{spec.env} is not set{where}", hint=hint)


# -- writing the config file -----------------------------------------------------------------
def _template() -> str:
    keys = ", ".join(f"{s.name} ({s.note})" if s.note else s.name for s in SETTINGS if s.in_profile)
    about = (
        "notion-up configuration: one table per profile; `default` is used unless --profile or "
        f"NOTION_UP_PROFILE names another. Keys: {keys}."
    )
    lines = textwrap.wrap(about, width=96, break_on_hyphens=False)
    lines.append("Keep this file private (chmod 600): it may hold your token.")
    return "".join(f"# {line}\n" for line in lines)


CONFIG_TEMPLATE = _template()


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
