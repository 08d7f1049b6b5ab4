"""Database errors of a user's query, translated into eventkit's query errors with a
message that says what to do. (Errors of eventkit's own statements go through
``eventkit.storage.errors.map_db_errors`` as everywhere else.)"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

from eventkit.config import Settings
from eventkit.errors import EventKitError, QueryError, QueryLimitError, QueryRefusedError
from eventkit.storage.errors import map_db_errors
from eventkit.storage.relations import RELATIONS

__all__ = ["RELATION_NAMES", "from_duckdb", "from_postgres", "from_sqlite", "refused", "timeout"]

RELATION_NAMES = ", ".join(r.name for r in RELATIONS)
_SCOPE = (
    f"a query may only read the relations {RELATION_NAMES} of its own app, with one "
    "SELECT (docs/sql.md)"
)


def refused(what: str) -> QueryRefusedError:
    """The sandbox refused ``what``."""
    return QueryRefusedError(f"refused: {what}; {_SCOPE}")


def timeout(settings: Settings) -> QueryLimitError:
    """The query ran past the statement timeout."""
    return QueryLimitError(
        f"the query ran longer than sql.timeout_seconds ({settings.sql.timeout_seconds:g} s) "
        "and was stopped: narrow it (a time range on ts, fewer joins) or raise the timeout"
    )


def from_sqlite(exc: BaseException, timed_out: bool, settings: Settings) -> EventKitError:
    """An error from the SQLite sandbox."""
    msg = str(exc)
    low = msg.lower()
    if timed_out or "interrupted" in low:
        return timeout(settings)
    if isinstance(exc, sqlite3.ProgrammingError) and "one statement" in low:
        return QueryError("give one statement at a time (no ';'-separated scripts)")
    if (
        "not authorized" in low
        or "prohibited" in low
        or "readonly" in low
        or "read-only" in low
        or "cannot modify" in low
    ):
        return refused(msg)
    if "too big" in low or "too long" in low or "too many" in low:
        return QueryLimitError(f"{msg}: a value or the query exceeded the sandbox's size limits")
    if "no such table" in low:
        return QueryError(f"{msg}: the relations are {RELATION_NAMES} (docs/sql.md)")
    return QueryError(msg)


#: SQLSTATE -> how to present it. Classes: 42501 privilege, 25006 read-only
#: transaction, 57014 canceled (statement_timeout), 53/54 resources and program limits.
def from_postgres(exc: DBAPIError, settings: Settings) -> EventKitError:
    """An error from the PostgreSQL sandbox (connection errors pass through as the
    usual storage errors)."""
    orig = exc.orig
    code = str(getattr(orig, "sqlstate", "") or "")
    diag = getattr(orig, "diag", None)
    msg = str(getattr(diag, "message_primary", None) or orig).strip()
    if code == "57014":
        return timeout(settings)
    if code in ("42501", "25006", "0LP01") or "cannot open" in msg or "security-definer" in msg:
        return refused(msg)
    if code.startswith(("53", "54")):
        return QueryLimitError(f"{msg}: the query needs more than the sandbox allows")
    if code == "42P01":
        return QueryError(f"{msg}: the relations are {RELATION_NAMES} (docs/sql.md)")
    if code.startswith(("08", "57P")):
        with map_db_errors():
            raise exc
    return QueryError(msg)


def from_duckdb(exc: BaseException, timed_out: bool, settings: Settings) -> EventKitError:
    """An error from the DuckDB sandbox."""
    name = type(exc).__name__
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    if timed_out or name == "InterruptException":
        return timeout(settings)
    if name in ("PermissionException",):
        return refused(msg)
    if name == "OutOfMemoryException":
        return QueryLimitError(f"{msg}: the query needs more than sql.duckdb_memory_mb")
    if name == "CatalogException" and "does not exist" in msg:
        return QueryError(f"{msg}: the relations are {RELATION_NAMES} (docs/sql.md)")
    return QueryError(msg)
