"""The SQL sandbox on SQLite and PostgreSQL (and DuckDB over the mirror): a query sees
its own app's relations and nothing else, and can change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from eventkit.errors import InvalidRequestError, QueryError, QueryLimitError, QueryRefusedError
from eventkit.sql.mirror import refresh
from eventkit.sql.runner import EngineName, collect, open_query
from eventkit.storage.relations import RELATIONS
from tests.sql.conftest import World

Result = tuple[list[str], list[tuple[Any, ...]], bool]


def run(
    w: World, sql: str, *, app: int | None = None, limit: int | None = None,
    engine: EngineName = "database",
) -> Result:  # fmt: skip
    with open_query(w.engine, w.settings, app or w.a, sql, limit=limit, engine_name=engine) as s:
        rows = collect(s)
        return s.columns, rows, s.truncated


def snapshot(w: World) -> dict[str, Any]:
    """Row counts of every table: a refused or read-only query changes none."""
    from eventkit.storage.models import metadata

    with w.engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
            for t in sorted(metadata.tables)
        }


def test_every_relation_holds_only_the_apps_rows(world: World) -> None:
    for rel in RELATIONS:
        cols, _, _ = run(world, f"SELECT * FROM {rel.name}")
        assert cols == [c.name for c in rel.columns]
    assert run(world, "SELECT COUNT(*) FROM events")[1] == [(30,)]
    assert run(world, "SELECT COUNT(*) FROM events", app=world.b)[1] == [(10,)]
    assert run(world, "SELECT key FROM flags")[1] == [("checkout",)]
    users = run(world, "SELECT user_id, traits ->> 'plan' FROM users")[1]
    assert users == [("u1", "pro")]
    rows = run(world, "SELECT * FROM events")[1]
    flat = repr(rows)
    assert all(s not in flat for s in world.secrets)


def test_json_properties_and_derived_columns(world: World) -> None:
    cols, rows, _ = run(
        world,
        "SELECT country, SUM(CAST(properties ->> 'amount' AS DOUBLE PRECISION)) AS revenue, "
        "COUNT(DISTINCT actor) AS buyers, MIN(day) AS first_day FROM events "
        "WHERE name = 'purchase_completed' GROUP BY country ORDER BY country",
    )
    assert cols == ["country", "revenue", "buyers", "first_day"]
    amounts = {"US": [i + 0.5 for i in range(0, 30, 3) if i % 2 == 0],
               "DE": [i + 0.5 for i in range(0, 30, 3) if i % 2 == 1]}  # fmt: skip
    assert [(c, pytest.approx(r), b) for c, r, b, _ in rows] == [
        ("DE", pytest.approx(sum(amounts["DE"])), 1),
        ("US", pytest.approx(sum(amounts["US"])), 1),
    ]
    assert rows[0][3] == "2026-05-28"


REFUSED = [
    "DELETE FROM events",
    "UPDATE events SET name = 'x'",
    "INSERT INTO events (name) VALUES ('x')",
    "DROP TABLE events",
    "CREATE TABLE t (x INTEGER)",
    "CREATE VIEW v AS SELECT 1",
    "ALTER TABLE events ADD COLUMN x INTEGER",
    "SELECT key_hash FROM api_keys",
    "SELECT token_hash FROM api_tokens",
    "SELECT * FROM apps",
    "SELECT COUNT(*) FROM api_keys",
    "SELECT (SELECT COUNT(*) FROM aggregation_state)",
    "SELECT durations FROM session_days",
    "SELECT * FROM session_days_dirty",
    "WITH q AS (SELECT COUNT(*) AS n FROM api_tokens) SELECT n FROM q",
]
SQLITE_REFUSED = [
    "ATTACH DATABASE '/tmp/other.db' AS other",
    "PRAGMA table_info(events)",
    "PRAGMA query_only = 0",
    "SELECT * FROM pragma_table_info('api_keys')",
    "SELECT key_hash FROM main.api_keys",
    "SELECT * FROM main.events",
    "SELECT COUNT(*) FROM main.events",
    "SELECT * FROM sqlite_master",
    "BEGIN",
    "VACUUM",
    "SELECT load_extension('/tmp/x.so')",
]
PG_REFUSED = [
    'SELECT key_hash FROM "public".api_keys',
    'SELECT * FROM "public".events',
    "SELECT set_config('role', current_user, true)",
    "SELECT query_to_xml('select key_hash from public.api_keys', true, false, '')",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT 1; DELETE FROM events",
    "WITH x AS (DELETE FROM events RETURNING 1) SELECT * FROM x",
    "SELECT nextval('events_id_seq')",
]


def _expect_refused(world: World, sql: str) -> None:
    before = snapshot(world)
    with pytest.raises(QueryError) as info:
        run(world, sql)
    assert info.value.message  # a message that says what happened
    if "api_" in sql or "apps" in sql or "public" in sql or "main." in sql:
        assert all(s not in info.value.message for s in world.secrets)
    assert snapshot(world) == before


def test_writes_ddl_escapes_and_private_tables_are_refused(world: World) -> None:
    special = SQLITE_REFUSED if world.engine.dialect.name == "sqlite" else PG_REFUSED
    for sql in REFUSED + special:
        _expect_refused(world, sql)


def test_refusals_say_what_is_allowed(world: World) -> None:
    with pytest.raises(QueryRefusedError, match="only read the relations events, sessions"):
        run(world, "DELETE FROM events")
    with pytest.raises(QueryError, match="relations are events"):
        run(world, "SELECT * FROM nothing_here")


def test_timeouts_and_row_limits(world: World) -> None:
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    with pytest.raises(QueryLimitError, match=r"sql\.timeout_seconds"):
        run(world, endless + "SELECT COUNT(*) FROM c")
    _, rows, truncated = run(world, endless + "SELECT x FROM c", limit=5)
    assert rows == [(1,), (2,), (3,), (4,), (5,)] and truncated
    _, rows, truncated = run(world, "SELECT id FROM events", limit=30)
    assert len(rows) == 30 and not truncated
    if world.engine.dialect.name == "postgresql":
        with pytest.raises(QueryLimitError):
            run(world, "SELECT pg_sleep(10)")
        with pytest.raises(QueryLimitError):
            run(world, "SELECT set_config('statement_timeout', '0', true), pg_sleep(10)")
    else:
        with pytest.raises(QueryLimitError, match="size limits"):
            run(world, "SELECT randomblob(200000000)")


def test_empty_results_still_name_their_columns(world: World) -> None:
    cols, rows, _ = run(world, "SELECT name, ts AS at FROM events WHERE 1 = 0")
    assert (cols, rows) == (["name", "at"], [])


def test_bad_input(world: World) -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        run(world, "   ")
    with pytest.raises(InvalidRequestError, match="max_sql_bytes"):
        run(world, "SELECT 1 " + " " * 200_000)
    with pytest.raises(QueryError):
        run(world, "SELEC 1")


def test_duckdb_engine_is_locked_down(world: World) -> None:
    refresh(world.engine, world.settings)
    assert run(world, "SELECT COUNT(*) FROM events", engine="duckdb")[1] == [(30,)]
    for sql in [
        "SELECT * FROM read_parquet('/etc/passwd')",
        "COPY (SELECT 1) TO '/tmp/out.csv'",
        "ATTACH '/tmp/x.duckdb'",
        "CREATE TABLE t AS SELECT 1",
        "SET enable_external_access = true",
        "INSTALL sqlite",
        "SELECT 1; SELECT 2",
    ]:
        with pytest.raises(QueryRefusedError):
            run(world, sql, engine="duckdb")
    rows = run(world, "SELECT * FROM events", engine="duckdb")[1]
    assert all(s not in repr(rows) for s in world.secrets)
    with pytest.raises(QueryLimitError):
        run(world, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                   "SELECT COUNT(*) FROM c", engine="duckdb")  # fmt: skip


def test_postgres_session_state_does_not_outlive_the_query(world: World) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    world.engine.pool.dispose()
    run(world, "SELECT pg_advisory_lock(4242), set_config('work_mem', '1GB', false)")
    with world.engine.connect() as conn:  # the pool's one connection, reused
        held = conn.execute(text("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' "
                                 "AND pid = pg_backend_pid()")).scalar()  # fmt: skip
        assert held == 0
        assert conn.execute(text("SHOW work_mem")).scalar() != "1GB"
        assert conn.execute(text("SHOW transaction_read_only")).scalar() == "off"
