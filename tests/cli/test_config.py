"""``eventkit config show``, ``--config`` and the environment, and invalid settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke

PG = "postgresql://bob:hunter2@db.example.com:5432/analytics"


def shown(cli: Invoke, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = cli(*args, "config", "show", "--format", "json", env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_defaults(cli: Invoke) -> None:
    data = shown(cli)
    assert data["database_url"] == "sqlite:///eventkit.db"
    assert data["limits"] == {
        "max_body_bytes": 5 * 1024 * 1024,
        "max_batch_events": 1000,
        "max_properties_bytes": 32 * 1024,
        "max_property_depth": 5,
        "max_name_length": 200,
        "max_id_length": 200,
        "max_future_seconds": 3600,
        "max_past_days": 0,
    }
    assert "source" not in data


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_password_is_masked_in_every_format(cli: Invoke, fmt: str) -> None:
    result = cli("config", "show", "--format", fmt, env={"EVENTKIT_DATABASE_URL": PG})
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "********" in result.stdout
    if fmt != "table":  # a table may wrap the value
        assert "postgresql://bob:********@db.example.com:5432/analytics" in result.stdout


def test_environment_overrides_are_reflected(cli: Invoke) -> None:
    env = {
        "EVENTKIT_LIMITS__MAX_BATCH_EVENTS": "77",
        "EVENTKIT_SERVER__PORT": "9001",
        "EVENTKIT_LOG__FORMAT": "json",
    }
    data = shown(cli, env=env)
    assert data["limits"]["max_batch_events"] == 77  # type: ignore[index]
    assert data["server"]["port"] == 9001  # type: ignore[index]
    assert data["log"]["format"] == "json"  # type: ignore[index]
    table = cli("config", "show", env=env)
    assert "configuration (from environment)" in table.stdout
    csv = cli("config", "show", "--format", "csv", env=env).stdout.splitlines()
    assert csv[0] == "key,value"
    assert "limits.max_batch_events,77" in csv
    assert "server.port,9001" in csv


def test_config_file_and_environment_precedence(cli: Invoke, clean_env: Path) -> None:
    path = Path("custom.toml")  # relative to the test's cwd
    path.write_text(
        'database_url = "sqlite:///from-file.db"\n'
        "[limits]\nmax_batch_events = 55\nmax_past_days = 9\n"
        "[server]\nport = 8123\n"
    )
    data = shown(cli, "--config", str(path), env={"EVENTKIT_SERVER__PORT": "8124"})
    assert data["database_url"] == "sqlite:///from-file.db"
    assert data["limits"]["max_batch_events"] == 55  # type: ignore[index]
    assert data["limits"]["max_past_days"] == 9  # type: ignore[index]
    assert data["server"]["port"] == 8124  # the environment wins  # type: ignore[index]
    table = cli("--config", str(path), "config", "show", env={"EVENTKIT_SERVER__PORT": "8124"})
    assert "configuration (from custom.toml + environment)" in table.stdout


def test_config_file_from_eventkit_config_and_from_cwd(cli: Invoke, clean_env: Path) -> None:
    (clean_env / "eventkit.toml").write_text("[limits]\nmax_name_length = 42\n")
    assert shown(cli)["limits"]["max_name_length"] == 42  # type: ignore[index]
    other = clean_env / "other.toml"
    other.write_text("[limits]\nmax_name_length = 43\n")
    data = shown(cli, env={"EVENTKIT_CONFIG": str(other)})
    assert data["limits"]["max_name_length"] == 43  # type: ignore[index]


def config_error(cli: Invoke, *args: str, env: dict[str, str] | None = None) -> str:
    result = cli(*args, "config", "show", env=env)
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    return result.stderr


def test_invalid_environment_value_names_the_key(cli: Invoke) -> None:
    err = config_error(cli, env={"EVENTKIT_LIMITS__MAX_BATCH_EVENTS": "0"})
    assert "limits.max_batch_events" in err
    assert "EVENTKIT_LIMITS__MAX_BATCH_EVENTS" in err
    assert "greater than or equal to 1" in err


def test_non_numeric_value_names_the_key(cli: Invoke) -> None:
    err = config_error(cli, env={"EVENTKIT_SERVER__PORT": "eighty"})
    assert "server.port" in err
    assert "'eighty'" in err


def test_bad_database_url_says_what_to_use(cli: Invoke) -> None:
    err = config_error(cli, env={"EVENTKIT_DATABASE_URL": "mysql://x"})
    assert "database_url" in err
    assert "sqlite:///" in err


def test_unknown_key_in_the_file_is_named(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("[limits]\nmax_batch = 5\n")
    err = config_error(cli, "--config", str(path))
    assert "limits.max_batch" in err
    assert "unknown key" in err
    assert "config.example.toml" in err


def test_unknown_section_in_the_environment_is_named(cli: Invoke) -> None:
    err = config_error(cli, env={"EVENTKIT_LIMTS__MAX_BATCH_EVENTS": "5"})
    assert "limts" in err
    assert "unknown key" in err


def test_unreadable_toml_is_reported(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[limits\nmax_batch_events = 5\n")
    err = config_error(cli, "--config", str(path))
    assert f"cannot read config file {path}" in err.replace("\n", "")


def test_missing_config_file_is_reported(cli: Invoke, tmp_path: Path) -> None:
    err = config_error(cli, "--config", str(tmp_path / "nope.toml"))
    assert "does not exist" in err
