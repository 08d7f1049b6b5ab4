"""The SQL sandbox: connections on which a user's query can read one app's
relations (``eventkit.storage.relations``) and do nothing else (docs/sql.md).

Read-only-ness and the app scope are enforced by the database engine, never by
inspecting the query text:

- **SQLite.** A separate connection opened read-only (``mode=ro`` URI) with
  ``PRAGMA query_only``; the relations are TEMP views with the app id as a literal; an
  authorizer callback allows only SELECT, reads of those views (and of the tables they
  read, on their behalf), recursive CTEs and functions, and denies everything else
  (writes, DDL, ATTACH, PRAGMA, transactions, reading ``main.*`` directly, including
  ``sqlite_master``); ``ATTACH`` is also limited to 0 databases; a progress handler
  interrupts the query at its deadline; string/blob sizes are capped.
- **PostgreSQL.** The query runs inside ``eventkit_query_run()``, a SECURITY DEFINER
  function owned by the role ``eventkit_query``, which holds no privilege on any table:
  it may only SELECT the security-barrier TEMP views created (with the literal app id)
  in the query's own transaction and granted to it. In a security-definer function
  PostgreSQL refuses ``SET ROLE`` and ``set_config('role', …)``, so the query cannot
  become the owner again; the transaction is READ ONLY, has ``statement_timeout``, and
  is always rolled back. The function opens the query as a cursor, so exactly one
  SELECT runs.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from eventkit.errors import ConfigError
from eventkit.storage.errors import map_db_errors
from eventkit.storage.relations import RELATIONS, view_sql

__all__ = [
    "PG_ROLE",
    "PG_RUN",
    "SandboxLimits",
    "describe_columns",
    "ensure_postgres_sandbox",
    "open_sqlite_sandbox",
    "prepare_postgres_sandbox",
]

#: The role PostgreSQL queries run as (NOLOGIN, no table privileges).
PG_ROLE = "eventkit_query"
#: The function that runs a query as that role.
PG_RUN = "eventkit_query_run"
_NAMES = frozenset(r.name for r in RELATIONS)


@dataclass(frozen=True)
class SandboxLimits:
    """What one query may use."""

    timeout_seconds: float = 10.0
    max_value_bytes: int = 10 * 1024 * 1024
    max_sql_bytes: int = 100_000
    cache_mb: int = 32


# --- SQLite ---

#: Functions a query may not call even though SQLite has them.
_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile"})
_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE})


def _authorizer(private: frozenset[str]) -> Callable[..., int]:
    """Allow SELECT, reads of the relations (and what they read for themselves),
    CTEs and safe functions; deny everything else. ``private`` names every table of
    the database: SQLite reports a table read for no column (``SELECT COUNT(*) FROM
    t``) without its schema, so such a read is refused by name."""

    def check(
        action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        if action in _ALLOWED_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            if db is None:  # a CTE or subquery name, or a table read for no column
                ok = arg1 in _NAMES or (arg1 or "").lower() not in private
                return sqlite3.SQLITE_OK if ok else sqlite3.SQLITE_DENY
            if db == "temp" and arg1 in _NAMES:
                return sqlite3.SQLITE_OK
            if db == "main" and source in _NAMES:  # read by one of our views, for it
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION:
            denied = (arg2 or "").lower() in _DENIED_FUNCTIONS
            return sqlite3.SQLITE_DENY if denied else sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return check


def _deadline_handler(deadline: float, hit: threading.Event) -> Callable[[], int]:
    def check() -> int:
        if time.monotonic() > deadline:
            hit.set()
            return 1  # non-zero interrupts the statement
        return 0

    return check


def open_sqlite_sandbox(
    path: Path, app_id: int, limits: SandboxLimits
) -> tuple[sqlite3.Connection, threading.Event]:
    """A read-only connection to the SQLite file ``path`` where a query sees only the
    relations of ``app_id``. Returns it and an Event set if the deadline interrupted a
    statement (so the caller can tell a timeout from other interruptions).

    Raises:
        ConfigError: the database file does not exist.
    """
    if not path.exists():
        raise ConfigError(f"the SQLite database {path} does not exist: run `eventkit db upgrade`")
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
        check_same_thread=False,
    )  # fmt: skip
    try:
        cur = conn.cursor()
        cur.execute(f"PRAGMA cache_size=-{limits.cache_mb * 1024}")
        cur.execute("PRAGMA temp_store=FILE")  # big sorts spill to disk, not memory
        cur.execute("PRAGMA busy_timeout=5000")
        for rel in RELATIONS:
            cur.execute(
                f"CREATE TEMP VIEW {rel.name} AS {view_sql(rel, 'sqlite', app_id, 'main.')}"
            )
        private = frozenset(
            str(n).lower()
            for (n,) in cur.execute("SELECT name FROM main.sqlite_master WHERE type != 'index'")
        ) | {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"}
        cur.execute("PRAGMA query_only=1")
        cur.close()
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.max_value_bytes)
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, limits.max_sql_bytes)
        conn.set_authorizer(_authorizer(private))
        hit = threading.Event()
        deadline = time.monotonic() + limits.timeout_seconds
        conn.set_progress_handler(_deadline_handler(deadline, hit), 1000)
    except BaseException:
        conn.close()
        raise
    return conn, hit


# --- PostgreSQL ---

_RUN_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {PG_RUN}(q text, lim integer) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_temp, pg_catalog AS $fn$
DECLARE
  c refcursor;
  r record;
  n integer := 0;
BEGIN
  -- A cursor runs exactly one query, and only one that returns rows.
  OPEN c NO SCROLL FOR EXECUTE q;
  LOOP
    EXIT WHEN n >= lim;
    FETCH c INTO r;
    EXIT WHEN NOT FOUND;
    RETURN NEXT row_to_json(r)::text;
    n := n + 1;
  END LOOP;
  CLOSE c;
END $fn$
"""

_ROLE = f"""
DO $do$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{PG_ROLE}') THEN
    BEGIN
      CREATE ROLE {PG_ROLE} NOLOGIN NOINHERIT;
    EXCEPTION WHEN duplicate_object THEN NULL;
    END;
  END IF;
END $do$
"""

_ready: set[str] = set()
_ready_lock = threading.Lock()


def _setup_hint(user: str) -> str:
    return (
        f"the SQL sandbox needs the role {PG_ROLE}; ask a superuser to run "
        f"`CREATE ROLE {PG_ROLE} NOLOGIN NOINHERIT; GRANT {PG_ROLE} TO {user};` "
        "(docs/sql.md#postgresql), then try again"
    )


def ensure_postgres_sandbox(engine: Engine) -> None:
    """Create the ``eventkit_query`` role (if missing) and the function that runs
    queries as it; once per process and database, idempotent, safe across nodes.

    Raises:
        ConfigError: the database user may not create the role or use it.
    """
    key = str(engine.url)
    with _ready_lock:
        if key in _ready:
            return
        with map_db_errors(), engine.connect() as conn, conn.begin():
            user = conn.execute(text("SELECT current_user")).scalar_one()
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('eventkit.sql.sandbox'))"))
            try:
                with conn.begin_nested():
                    conn.execute(text(_ROLE))
                    _grant_self(conn, str(user))
                    conn.execute(text(_RUN_FUNCTION))
                    conn.execute(text(f"ALTER FUNCTION {PG_RUN}(text, integer) OWNER TO {PG_ROLE}"))
                    conn.execute(
                        text(f"REVOKE ALL ON FUNCTION {PG_RUN}(text, integer) FROM PUBLIC")
                    )
                    conn.execute(
                        text(f'GRANT EXECUTE ON FUNCTION {PG_RUN}(text, integer) TO "{user}"')
                    )
            except Exception as exc:
                if _is_privilege_error(exc):
                    raise ConfigError(_setup_hint(str(user))) from None
                raise
        _ready.add(key)


def _grant_self(conn: Connection, user: str) -> None:
    superuser = conn.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    ).scalar_one()
    member = conn.execute(text(f"SELECT pg_has_role(current_user, '{PG_ROLE}', 'MEMBER')")).scalar()
    if not superuser and not member:
        conn.execute(text(f'GRANT {PG_ROLE} TO "{user}"'))


def _is_privilege_error(exc: BaseException) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("42501", "0LP01")


def prepare_postgres_sandbox(conn: Connection, app_id: int, limits: SandboxLimits) -> None:
    """In the (new) transaction of ``conn``: create the app's relations as TEMP
    security-barrier views granted to the query role, then make the transaction READ
    ONLY with the statement timeout. The caller runs ``eventkit_query_run`` and then
    rolls back, which drops the views."""
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    qualified = '"' + str(schema).replace('"', '""') + '".'
    for rel in RELATIONS:
        conn.execute(
            text(
                f"CREATE TEMP VIEW {rel.name} WITH (security_barrier) AS "
                f"{view_sql(rel, 'postgresql', app_id, qualified)}"
            )
        )
        conn.execute(text(f"GRANT SELECT ON {rel.name} TO {PG_ROLE}"))
    ms = max(1, int(limits.timeout_seconds * 1000))
    conn.execute(text(f"SET LOCAL statement_timeout = {ms}"))
    conn.execute(text("SET LOCAL transaction_read_only = on"))


def describe_columns(conn: Connection, sql: str) -> list[str]:
    """The column names a query would return, from PostgreSQL's parser (Parse and
    Describe: nothing is executed); [] when it cannot be described. Used for an empty
    result, whose rows carry no names."""
    from psycopg import pq

    raw: Any = conn.connection.driver_connection
    pgconn = raw.pgconn
    name = b"eventkit_query_describe"
    ok = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
    if pgconn.prepare(name, sql.encode()).status not in ok:
        return []
    try:
        desc = pgconn.describe_prepared(name)
        if desc.status not in ok:
            return []
        return [desc.fname(i).decode() for i in range(desc.nfields)]
    finally:
        pgconn.exec_(b"DEALLOCATE eventkit_query_describe")
