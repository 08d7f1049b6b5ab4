"""Migrations, engines and the mapping of database errors."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from eventkit.config import Settings
from eventkit.errors import DatabaseUnavailableError, MigrationError
from eventkit.storage.engine import make_engine, normalize_url, sqlite_path
from eventkit.storage.errors import map_db_errors
from eventkit.storage.events import count_events
from eventkit.storage.migrate import status, upgrade
from tests.conftest import make_settings


def test_upgrade_creates_schema_and_is_idempotent(settings: Settings) -> None:
    engine = make_engine(settings)
    before = status(engine)
    assert before.current == ()
    assert not before.up_to_date
    assert "0001" in before.pending
    after = upgrade(engine)
    assert after.up_to_date
    assert after.current == after.heads
    assert upgrade(engine).current == after.current
    tables = set(inspect(engine).get_table_names())
    assert {"apps", "api_keys", "events", "event_keys", "user_profiles", "identity_links"} <= tables
    engine.dispose()


def test_querying_an_unmigrated_database_says_what_to_do(settings: Settings) -> None:
    engine = make_engine(settings)
    with pytest.raises(MigrationError, match="eventkit db upgrade"):
        count_events(engine)
    engine.dispose()


def test_sqlite_pragmas(sqlite_url: str) -> None:
    engine = make_engine(make_settings(sqlite_url, SQLITE__SYNCHRONOUS="normal"))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    engine.dispose()
    engine = make_engine(make_settings(sqlite_url))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL, the default
    engine.dispose()


def test_sqlite_creates_missing_directory(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "deep" / "er" / "ek.db"
    engine = make_engine(make_settings(f"sqlite:///{path}"))
    upgrade(engine)
    assert path.exists()
    engine.dispose()


def test_unreachable_postgres_is_database_unavailable() -> None:
    engine = make_engine(make_settings("postgresql://nobody@127.0.0.1:1/none"))
    with (
        pytest.raises(DatabaseUnavailableError, match="cannot reach the database"),
        map_db_errors(),
        engine.connect(),
    ):
        pass
    engine.dispose()


def test_url_helpers() -> None:
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert str(sqlite_path("sqlite:////tmp/a.db")) == "/tmp/a.db"
    assert sqlite_path("sqlite://") is None
