"""Migrations, engines and the mapping of database errors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

import eventkit.storage.migrations
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


def test_the_migrations_readme_names_every_revision_and_its_parent() -> None:
    """The revisions are branches off 0001, not a chain: the README's table says which."""
    folder = Path(eventkit.storage.migrations.__file__).parent
    table = {
        cells[0].strip("`"): cells[1].strip("`")
        for line in (folder / "README.md").read_text().splitlines()
        if line.startswith("| `") and len(cells := [c.strip() for c in line.split("|")[1:]]) > 1
    }
    found = {}
    for path in sorted((folder / "versions").glob("*.py")):
        module = ast.parse(path.read_text())
        values = {
            node.target.id: ast.literal_eval(node.value)
            for node in module.body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value
        }
        found[values["revision"]] = values["down_revision"] or "none"
        assert path.stem.startswith(values["revision"]), f"{path.name}: name it after its id"
    assert table == found
