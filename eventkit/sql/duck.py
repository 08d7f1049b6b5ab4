"""The DuckDB engine: one app's relations over the Parquet mirror, in a locked-down
in-memory DuckDB (docs/sql.md, "The DuckDB engine").

The app's data reaches DuckDB only as Arrow objects eventkit registers (its own
mirror files plus its not-yet-mirrored tail read from the database), so the
connection can run with external access disabled: no file, URL, ATTACH, COPY,
INSTALL or LOAD, and the configuration is locked so a query cannot undo it. DuckDB's
own parser must classify the text as exactly one SELECT; a timer interrupts it at
the statement timeout; ``memory_limit`` and ``threads`` bound it.
"""

from __future__ import annotations

import decimal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.errors import ConfigError, InvalidRequestError
from eventkit.sql.errors import from_duckdb, refused
from eventkit.sql.mirror import (
    TABLES,
    _event_columns,
    _schema,
    deletion_generation,
    fetch_table,
    mirror_root,
    read_state,
    table_columns,
)
from eventkit.sql.runner import QueryStream
from eventkit.storage.errors import map_db_errors
from eventkit.storage.relations import RELATIONS, view_sql

__all__ = ["duckdb_stream"]

_BATCH = 500
#: JSON-holding columns, cast to DuckDB's JSON type so ->, ->> and json_* work.
_JSON = {"properties", "context", "traits", "definition"}


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise ConfigError(
            "the DuckDB engine needs duckdb: pip install 'eventkit[duckdb]'"
        ) from None
    return duckdb


def _value(v: Any) -> Any:
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, bytes | bytearray):
        return "\\x" + bytes(v).hex()
    return v


def _cast(name: str) -> str:
    return f"CAST({name} AS JSON) AS {name}" if name in _JSON else name


def _register(con: Any, engine: Engine, settings: Settings, app_id: int) -> None:
    """Register the app's mirror files and tail, and create the relations as views."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    state = read_state(settings)
    if state is None:
        raise InvalidRequestError(
            "the DuckDB mirror is not built yet: run `eventkit mirror refresh` (or set "
            "sql.mirror_enabled = true so eventkit serve keeps it up to date)"
        )
    root = mirror_root(settings)
    dialect = engine.dialect.name
    cols = _event_columns(dialect)
    schema = _schema(cols)
    with map_db_errors(), engine.connect() as conn, conn.begin():
        # Events deleted since the refresh (erasure, retention) may still be in the
        # files: then read the app's events from the database until the next refresh.
        fresh = deletion_generation(conn) == state.generation
        files = [str(root / p["file"]) for p in state.parts.get(app_id, [])] if fresh else []
        covered = state.covered.get(app_id, 0) if fresh else 0
        tail = fetch_table(
            conn, cols, "FROM events WHERE app_id = :app AND id > :lo ORDER BY id",
            {"app": app_id, "lo": covered},
        )  # fmt: skip
    parts = ds.dataset(files, schema=schema, format="parquet") if files else schema.empty_table()
    con.register("_events_parts", parts)
    con.register("_events_tail", tail)
    names = ", ".join(_cast(n) for n, _, _ in cols)
    con.execute(
        f"CREATE VIEW _m_events AS SELECT {names} FROM (SELECT * FROM _events_parts "
        "UNION ALL SELECT * FROM _events_tail)"
    )
    for t in TABLES:
        tcols = [(n, "", k) for n, _, k in t.columns]
        entry = state.tables.get(t.name, {}).get("files", {}).get(str(app_id))
        if not fresh:  # rows may have been erased since the snapshot: read them live
            with map_db_errors(), engine.connect() as conn:
                data = fetch_table(conn, table_columns(dialect, t),
                                   f"{t.select} WHERE {t.app_column} = :app",
                                   {"app": app_id})  # fmt: skip
        elif entry:
            data = ds.dataset(str(root / entry), format="parquet")
        else:
            data = pa.Table.from_batches([], schema=_schema(tcols))
        con.register(f"_t_{t.name}", data)
        con.execute(
            f"CREATE VIEW _m_{t.name} AS SELECT {', '.join(_cast(n) for n, _, _ in tcols)} "
            f"FROM _t_{t.name}"
        )
    for rel in RELATIONS:
        con.execute(f"CREATE VIEW {rel.name} AS {view_sql(rel, 'duckdb', app_id, '_m_')}")


def _connect(settings: Settings) -> Any:
    duckdb = _duckdb()
    return duckdb.connect(
        ":memory:",
        config={
            "threads": settings.sql.duckdb_threads,
            "memory_limit": f"{settings.sql.duckdb_memory_mb}MB",
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )


def _lock(con: Any) -> None:
    con.execute("SET integer_division = true")  # 7 / 2 = 3, as on SQLite and PostgreSQL
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _one_select(con: Any, sql: str, settings: Settings) -> None:
    duckdb = _duckdb()
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise from_duckdb(exc, False, settings) from None
    if len(statements) != 1:
        raise refused("give exactly one statement (no ';'-separated scripts)")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise refused(f"{statements[0].type.name} statements; only SELECT is allowed")


@contextmanager
def duckdb_stream(
    engine: Engine, settings: Settings, app_id: int, sql: str, max_rows: int
) -> Iterator[QueryStream]:
    """Run ``sql`` on DuckDB over the app's mirror (see the module docstring)."""
    duckdb = _duckdb()
    con = _connect(settings)
    hit = threading.Event()

    def stop() -> None:
        hit.set()
        con.interrupt()

    timer = threading.Timer(settings.sql.timeout_seconds, stop)
    try:
        _register(con, engine, settings, app_id)
        _lock(con)
        _one_select(con, sql, settings)
        timer.start()
        try:
            cur = con.execute(sql)
        except duckdb.Error as exc:
            raise from_duckdb(exc, hit.is_set(), settings) from None
        columns = [d[0] for d in cur.description or ()]

        def batches() -> Iterator[list[tuple[Any, ...]]]:
            fetched = 0
            while fetched <= max_rows:
                try:
                    got = cur.fetchmany(_BATCH)
                except duckdb.Error as exc:
                    raise from_duckdb(exc, hit.is_set(), settings) from None
                if not got:
                    return
                fetched += len(got)
                yield [tuple(_value(v) for v in r) for r in got]

        stream = QueryStream(columns, "duckdb", batches(), max_rows=max_rows)
        stream.prefetch()
        yield stream
    finally:
        timer.cancel()
        con.close()
