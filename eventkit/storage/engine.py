"""Engines for SQLite (WAL, tuned pragmas) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from eventkit.config import Settings
from eventkit.errors import ConfigError
from eventkit.storage.types import json_dumps, json_loads

__all__ = ["make_engine", "normalize_url", "sqlite_path", "writer"]


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and select the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or None for in-memory and non-SQLite URLs."""
    if not url.startswith("sqlite:"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def _sqlite_pragmas(settings: Settings) -> list[str]:
    s = settings.sqlite
    return [
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={s.synchronous.upper()}",
        f"PRAGMA busy_timeout={s.busy_timeout_ms}",
        f"PRAGMA cache_size=-{s.cache_size_mb * 1024}",
        f"PRAGMA mmap_size={s.mmap_size_mb * 1024 * 1024}",
        "PRAGMA temp_store=MEMORY",
        "PRAGMA foreign_keys=ON",
        # Checkpoint less often than the default 1000 pages: fewer, larger writes.
        "PRAGMA wal_autocheckpoint=10000",
    ]


#: libpq connection parameters: connect, keepalive and unacknowledged-write timeouts.
_PG_TIMEOUTS: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 15,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Create the SQLAlchemy engine for ``settings.database_url``.

    SQLite: the parent directory is created; every connection gets WAL mode, the
    configured synchronous level, busy timeout, cache and mmap sizes. Use
    ``writer(engine)`` for transactions that write: they begin ``IMMEDIATE``.
    """
    url = normalize_url(settings.database_url)
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create the directory for {path}: {exc}") from exc
        engine = create_engine(
            url,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
            connect_args={"check_same_thread": False},
            **kwargs,
        )
        pragmas = _sqlite_pragmas(settings)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            for pragma in pragmas:
                cur.execute(pragma)
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Writers take the lock up front (and so wait on busy_timeout) instead of
            # failing on a read-to-write upgrade; readers start a plain snapshot.
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ConfigError(
                "database_url points at PostgreSQL but psycopg is not installed: "
                "pip install 'eventkit[postgres]'"
            ) from None
        # A database that vanishes without closing the connection (a network partition,
        # a dead host) must fail the commit in seconds, not after TCP's ~15 minutes, so
        # the writer spools and keeps acknowledging (docs/reliability.md). Parameters in
        # the URL's query string win.
        given = make_url(url).query
        connect_args = {k: v for k, v in _PG_TIMEOUTS.items() if k not in given}
        connect_args.update(kwargs.pop("connect_args", {}))
        return create_engine(
            url,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
            connect_args=connect_args,
            pool_pre_ping=True,
            pool_size=kwargs.pop("pool_size", 10),
            max_overflow=kwargs.pop("max_overflow", 10),
            **kwargs,
        )
    raise ConfigError(f"unsupported database_url {settings.database_url!r}")


def writer(engine: Engine) -> Engine:
    """The same engine, with SQLite transactions that take the write lock at BEGIN."""
    return engine.execution_options(sqlite_immediate=True)
