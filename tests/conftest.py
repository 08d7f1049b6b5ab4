"""Shared fixtures: settings and migrated databases on SQLite and (marked) PostgreSQL.

PostgreSQL tests run when ``EVENTKIT_TEST_POSTGRES_URL`` points at a server whose user
may create databases (CI: ``postgresql://postgres@127.0.0.1:5432/postgres``); each test
gets a fresh database, dropped afterwards. Without it they are skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from eventkit.config import Settings, load_settings
from eventkit.storage.engine import make_engine, normalize_url
from eventkit.storage.migrate import upgrade

os.environ.setdefault("EVENTKIT_LOAD_PLUGINS", "0")

PG_URL = os.environ.get("EVENTKIT_TEST_POSTGRES_URL", "")


def _pg_admin_url() -> str:
    return normalize_url(PG_URL)


def create_pg_database() -> str:
    """Create an empty database on the test server; return its URL."""
    name = f"ek_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = PG_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    """Drop a database made by :func:`create_pg_database`."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


DATABASE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """An empty database of ``kind``: an SQLite file in ``directory``, or a fresh
    PostgreSQL database (dropped afterwards; skipped without a test server)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'eventkit.db'}"
        return
    if not PG_URL:
        pytest.skip("EVENTKIT_TEST_POSTGRES_URL is not set")
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file, or a fresh PostgreSQL database."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An SQLite database file URL (not created yet)."""
    return f"sqlite:///{tmp_path / 'eventkit.db'}"


def make_settings(database_url: str, **env: str) -> Settings:
    """Settings for a test: defaults plus ``database_url`` and EVENTKIT_* overrides."""
    environ = {
        "EVENTKIT_DATABASE_URL": database_url,
        **{f"EVENTKIT_{k}": v for k, v in env.items()},
    }
    return load_settings(path=None, environ=environ)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings on the parametrized database."""
    return make_settings(database_url)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A migrated engine on the parametrized database."""
    eng = make_engine(settings)
    upgrade(eng)
    yield eng
    eng.dispose()
