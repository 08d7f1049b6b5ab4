"""Run one read-only query over an app's relations and stream its rows.

``open_query`` returns a :class:`QueryStream`: the column names at once, then the
rows as an iterator, fetched from the database in batches while the caller writes
them out; ``truncated`` says whether ``max_rows`` cut the result. The sandboxes are
in ``eventkit.storage.sandbox`` (SQLite, PostgreSQL) and ``eventkit.sql.duck``
(DuckDB over the Parquet mirror).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from eventkit.config import Settings
from eventkit.errors import InvalidRequestError
from eventkit.sql.errors import from_postgres, from_sqlite
from eventkit.storage.engine import normalize_url, sqlite_path
from eventkit.storage.errors import map_db_errors
from eventkit.storage.sandbox import (
    PG_RUN,
    SandboxLimits,
    describe_columns,
    ensure_postgres_sandbox,
    open_sqlite_sandbox,
    prepare_postgres_sandbox,
)

__all__ = ["EngineName", "QueryStream", "collect", "limits_for", "open_query"]

EngineName = Literal["database", "duckdb"]
_BATCH = 500


@dataclass
class QueryStream:
    """A running query: ``columns`` now, ``rows()`` as they come, then the totals."""

    columns: list[str]
    engine: str
    _batches: Iterator[list[tuple[Any, ...]]] = field(repr=False)
    max_rows: int = 0
    row_count: int = 0
    truncated: bool = False
    started: float = field(default_factory=time.perf_counter)
    elapsed_ms: float = 0.0
    _first: list[tuple[Any, ...]] | None = field(default=None, repr=False)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The rows, at most ``max_rows``; afterwards ``truncated``, ``row_count`` and
        ``elapsed_ms`` are final.

        Raises:
            QueryError: the query failed while rows were being fetched (a timeout
                after the first batch, for instance).
        """
        pending = self._first
        self._first = None
        while True:
            batch = pending if pending is not None else next(self._batches, None)
            pending = None
            if batch is None:
                break
            for row in batch:
                if self.row_count >= self.max_rows:
                    self.truncated = True
                    self.elapsed_ms = (time.perf_counter() - self.started) * 1000
                    return
                self.row_count += 1
                yield row
        self.elapsed_ms = (time.perf_counter() - self.started) * 1000

    def prefetch(self) -> None:
        """Fetch the first batch now, so an error in it surfaces before any output."""
        if self._first is None:
            self._first = next(self._batches, [])


def limits_for(settings: Settings) -> SandboxLimits:
    """The sandbox limits from ``[sql]``."""
    s = settings.sql
    return SandboxLimits(timeout_seconds=s.timeout_seconds, max_sql_bytes=s.max_sql_bytes)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return value


def _check_text(sql: str, settings: Settings) -> str:
    if not sql.strip():
        raise InvalidRequestError("the query is empty: give one SELECT statement")
    if "\x00" in sql:
        raise InvalidRequestError("the query contains a NUL character: remove it")
    try:
        size = len(sql.encode())
    except UnicodeEncodeError:
        raise InvalidRequestError("the query is not valid UTF-8 text") from None
    if size > settings.sql.max_sql_bytes:
        raise InvalidRequestError(
            f"the query is longer than sql.max_sql_bytes ({settings.sql.max_sql_bytes} bytes)"
        )
    return sql


def _max_rows(settings: Settings, limit: int | None) -> int:
    cap = settings.sql.max_rows
    if limit is None:
        return cap
    if limit < 1:
        raise InvalidRequestError("limit must be at least 1")
    return min(limit, cap)


@contextmanager
def _sqlite_stream(
    settings: Settings, app_id: int, sql: str, max_rows: int
) -> Iterator[QueryStream]:
    path = sqlite_path(normalize_url(settings.database_url))
    if path is None:
        raise InvalidRequestError("the SQL interface needs a file database, not :memory:")
    conn, timed_out = open_sqlite_sandbox(path, app_id, limits_for(settings))
    try:
        try:
            cur = conn.execute(sql)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise from_sqlite(exc, timed_out.is_set(), settings) from None
        columns = [d[0] for d in cur.description or ()]

        def batches() -> Iterator[list[tuple[Any, ...]]]:
            fetched = 0
            while fetched <= max_rows:
                try:
                    got = cur.fetchmany(_BATCH)
                except (sqlite3.Error, sqlite3.Warning) as exc:
                    raise from_sqlite(exc, timed_out.is_set(), settings) from None
                if not got:
                    return
                fetched += len(got)
                yield [tuple(_jsonable(v) for v in r) for r in got]

        stream = QueryStream(columns, "sqlite", batches(), max_rows=max_rows)
        stream.prefetch()
        yield stream
    finally:
        conn.close()


def _pairs(text_row: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = json.loads(text_row, object_pairs_hook=list)
    return out


@contextmanager
def _postgres_stream(
    engine: Engine, settings: Settings, app_id: int, sql: str, max_rows: int
) -> Iterator[QueryStream]:
    import psycopg

    ensure_postgres_sandbox(engine)
    with map_db_errors(), engine.connect() as conn:
        tx = conn.begin()
        raw: Any = conn.connection.driver_connection
        cur = raw.cursor(name="eventkit_query")  # server-side: rows come in batches
        try:
            prepare_postgres_sandbox(conn, app_id, limits_for(settings))

            def fetch() -> list[Any]:
                try:
                    got: list[Any] = cur.fetchmany(_BATCH)
                except psycopg.Error as exc:
                    raise from_postgres(DBAPIError(None, None, exc), settings) from None
                return got

            try:
                cur.execute(f"SELECT {PG_RUN}(%s, %s)", (sql, max_rows + 1))
            except psycopg.Error as exc:
                raise from_postgres(DBAPIError(None, None, exc), settings) from None
            first = fetch()
            if first:
                columns = [k for k, _ in _pairs(first[0][0])]
            else:
                cur.close()
                columns = describe_columns(conn, sql)

            def batches() -> Iterator[list[tuple[Any, ...]]]:
                rows = first
                while rows:
                    yield [tuple(v for _, v in _pairs(r[0])) for r in rows]
                    rows = fetch()

            stream = QueryStream(columns, "postgresql", batches(), max_rows=max_rows)
            stream.prefetch()
            yield stream
        finally:
            with contextlib.suppress(psycopg.Error):
                cur.close()
            tx.rollback()
            # Session-level advisory locks survive the rollback: drop any the query
            # took before the connection goes back to the pool (job leases use them).
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
            conn.commit()


def open_query(
    engine: Engine,
    settings: Settings,
    app_id: int,
    sql: str,
    *,
    limit: int | None = None,
    engine_name: EngineName | None = None,
) -> AbstractContextManager[QueryStream]:
    """Run ``sql`` over the relations of ``app_id`` (docs/sql.md) on the database
    (``database``) or on DuckDB over the Parquet mirror (``duckdb``).

    Raises:
        InvalidRequestError: an empty or too long query, a bad limit or engine.
        QueryError: the query failed (QueryRefusedError: it tried something the
            sandbox forbids; QueryLimitError: it ran out of time or memory).
    """
    sql = _check_text(sql, settings)
    max_rows = _max_rows(settings, limit)
    name = engine_name or settings.sql.engine
    if name == "duckdb":
        from eventkit.sql.duck import duckdb_stream

        return duckdb_stream(engine, settings, app_id, sql, max_rows)
    if name != "database":
        raise InvalidRequestError(f"unknown engine {name!r}: use database or duckdb")
    if engine.dialect.name == "sqlite":
        return _sqlite_stream(settings, app_id, sql, max_rows)
    return _postgres_stream(engine, settings, app_id, sql, max_rows)


def collect(stream: QueryStream) -> list[tuple[Any, ...]]:
    """Every row of ``stream`` (for callers that need them all, such as tests)."""
    return list(stream.rows())
