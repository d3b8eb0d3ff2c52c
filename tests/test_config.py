"""The config file: profiles, `config show` (token redacted), `config set`/`init` (kept 0600)."""

from __future__ import annotations

import json
import stat

import pytest

from notion_up.cli.main import commands
from notion_up.config import config_dir, resolve
from tests.helpers import cli_runner

TOKEN = "ntn_0123456789abcdefSECRET"


def cli(*args: str, env: dict[str, str] | None = None):
    return cli_runner().invoke(commands, list(args), env=env)


def config_file():
    return config_dir() / "config.toml"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_config_set_creates_the_file_0600_and_keeps_it_so(isolated_home):
    done = cli("config", "set", "token", TOKEN)
    assert done.exit_code == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert mode(config_file()) == 0o600
    config_file().chmod(0o644)
    assert cli("config", "set", "workers", "8", "--profile", "nightly").exit_code == 0
    assert mode(config_file()) == 0o600


def test_config_show_redacts_the_token_and_says_where_each_value_came_from(isolated_home):
    cli("config", "set", "token", TOKEN, "--profile", "nightly")
    cli("config", "set", "part_size", "10MiB", "--profile", "nightly")
    done = cli("config", "show", "--profile", "nightly", env={"NOTION_UP_WORKERS": "2"})
    assert done.exit_code == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert "ntn_…CRET" in done.stdout
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line[0] != "#"}
    assert lines["part_size"].endswith("(profile nightly)") and "10485760" in lines["part_size"]
    assert lines["workers"].endswith("(env NOTION_UP_WORKERS)")
    assert lines["rate"].endswith("(default)")


def test_config_show_json_never_holds_the_token(isolated_home):
    cli("config", "set", "token", TOKEN)
    done = cli("config", "show", "--json")
    shown = json.loads(done.stdout)
    assert shown["profile"] == "default"
    assert shown["settings"]["token"]["source"] == "profile default"
    assert TOKEN not in done.stdout + done.stderr


def test_profile_chosen_by_environment_and_flag_beats_everything(isolated_home):
    cli("config", "set", "rate", "1.5", "--profile", "slow")
    settings = resolve({}, env={"NOTION_UP_PROFILE": "slow"})
    assert settings.rate == 1.5 and settings.values["rate"].source == "profile slow"
    settings = resolve({"rate": 9.0}, env={"NOTION_UP_PROFILE": "slow", "NOTION_UP_RATE": "4"})
    assert settings.rate == 9.0 and settings.values["rate"].source == "flag"


def test_a_world_readable_config_file_gets_a_warning(isolated_home):
    cli("config", "set", "token", TOKEN)
    config_file().chmod(0o644)
    done = cli("config", "show")
    assert "readable by other users" in done.stderr and "chmod 600" in done.stderr


def test_config_init_creates_a_private_file_once_and_run_again_keeps_it(isolated_home):
    first = cli("config", "init")
    assert first.exit_code == 0 and mode(config_file()) == 0o600
    assert "[profiles.default]" in config_file().read_text()
    cli("config", "set", "workers", "7")
    kept = config_file().read_text()
    again = cli("config", "init")
    assert again.exit_code == 0 and "exists already; kept as it is" in again.stderr
    assert again.stdout.strip() == str(config_file()) and config_file().read_text() == kept


def test_config_show_json_gives_numbers_as_numbers(isolated_home):
    cli("config", "set", "part_size", "10MiB")
    shown = json.loads(cli("config", "show", "--json", env={"NOTION_UP_RATE": "1.5"}).stdout)
    values = {name: s["value"] for name, s in shown["settings"].items()}
    assert (values["workers"], values["part_size"], values["rate"]) == (4, 10 * 1024**2, 1.5)
    assert values["database"] is None and values["api_url"] == "https://api.notion.com"


def test_a_setting_missing_from_the_chosen_profile_names_the_profile(isolated_home):
    from notion_up.config import require
    from notion_up.errors import ConfigError

    cli("config", "set", "database", "0" * 32, "--profile", "work")
    settings = resolve({}, env={"NOTION_UP_PROFILE": "work"})
    with pytest.raises(ConfigError) as caught:
        require(settings, "token")
    assert "NOTION_TOKEN is not set, nor is token in profile work of" in caught.value.message
    assert "`notion-up config set token - --profile work`" in caught.value.hint
    with pytest.raises(ConfigError) as caught:
        require(resolve({}, env={}), "index")
    assert caught.value.message == "NOTION_UP_INDEX is not set"
    assert "`notion-up init --parent PAGE` creates both" in caught.value.hint


def test_an_unknown_key_or_profile_is_a_configuration_error(isolated_home):
    assert cli("config", "set", "colour", "blue").exit_code == 3
    cli("config", "set", "workers", "2")
    assert cli("config", "show", "--profile", "nope").exit_code == 3


def test_a_token_file_from_the_profile_is_read_and_still_redacted(isolated_home, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    cli("config", "set", "token_file", str(token_file))
    done = cli("config", "show")
    assert TOKEN not in done.stdout + done.stderr
    assert f"(token file {token_file})" in done.stdout


def test_part_size_auto_from_flag_environment_or_profile(isolated_home):
    assert resolve({"part_size": "auto"}, env={}).part_size_auto
    settings = resolve({}, env={"NOTION_UP_PART_SIZE": "AUTO"})
    assert settings.part_size_auto and settings.part_size == 5 * 1024 * 1024  # the fallback
    assert cli("config", "set", "part_size", "auto").exit_code == 0
    settings = resolve({}, env={})
    assert settings.part_size_auto and settings.source("part_size") == "profile default"
    assert not resolve({"part_size": "10MiB"}, env={}).part_size_auto
    done = cli("config", "show")
    assert done.exit_code == 0, done.stderr
    assert any(line.split()[:2] == ["part_size", "auto"] for line in done.stdout.splitlines())
