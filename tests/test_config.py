"""Settings: file + environment precedence, validation messages, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventkit.config import load_settings, masked
from eventkit.errors import ConfigError


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.database_url == "sqlite:///eventkit.db"
    assert s.server.server == "granian"
    assert s.sqlite.synchronous == "full"
    assert s.source == "defaults"


def test_file_then_environment_override(tmp_path: Path) -> None:
    cfg = tmp_path / "ek.toml"
    cfg.write_text(
        'database_url = "sqlite:///a.db"\n[limits]\nmax_batch_events = 10\n[server]\nport = 9000\n'
    )
    s = load_settings(cfg, environ={"EVENTKIT_LIMITS__MAX_BATCH_EVENTS": "20"})
    assert s.database_url == "sqlite:///a.db"
    assert s.limits.max_batch_events == 20  # the environment wins
    assert s.server.port == 9000
    assert s.source == f"{cfg} + environment"


def test_config_env_var_names_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "x.toml"
    cfg.write_text("[server]\nport = 9100\n")
    assert load_settings(environ={"EVENTKIT_CONFIG": str(cfg)}).server.port == 9100


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"EVENTKIT_LIMITS__MAX_BATCH_EVENTS": "0"}, "limits.max_batch_events"),
        ({"EVENTKIT_SERVER__PORT": "http"}, "EVENTKIT_SERVER__PORT"),
        ({"EVENTKIT_DATABASE_URL": "mysql://x"}, "sqlite:///"),
        ({"EVENTKIT_SERVER__SERVER": "gunicorn"}, "server.server"),
        ({"EVENTKIT_NOPE": "1"}, "unknown key"),
    ],
)
def test_invalid_values_name_the_key(environ: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    assert needle in info.value.message


def test_bad_toml_is_reported(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(cfg, environ={})


def test_masked_hides_database_password() -> None:
    s = load_settings(environ={"EVENTKIT_DATABASE_URL": "postgresql://ek:hunter2@db:5432/ek"})
    shown = masked(s)
    assert shown["database_url"] == "postgresql://ek:********@db:5432/ek"
    assert "hunter2" not in str(shown)


def test_example_config_loads_and_documents_every_key() -> None:
    example = Path(__file__).parent.parent / "config.example.toml"
    s = load_settings(example, environ={})
    text = example.read_text()
    for section, value in masked(s).items():
        if isinstance(value, dict):
            assert f"[{section}]" in text, f"config.example.toml lacks [{section}]"
            for key in value:
                assert f"\n{key} =" in text or f"\n# {key} =" in text, f"{section}.{key}"
        else:
            assert f"{section} =" in text, f"config.example.toml lacks {section}"
