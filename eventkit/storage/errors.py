"""The one place where database errors become eventkit errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from eventkit.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InvalidRequestError,
    MigrationError,
    StorageError,
)

__all__ = ["map_db_errors", "translate"]


def _operational(exc: BaseException) -> bool:
    """A connection-level failure: SQLAlchemy's wrappers, or the DBAPI's own classes
    (psycopg, sqlite3) when raised from the raw connection of the write path."""
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    return any(c.__name__ in ("OperationalError", "InterfaceError") for c in type(exc).__mro__)


def _dbapi_error(exc: BaseException) -> bool:
    """An error class of a DBAPI driver eventkit uses (PEP 249 ``Error`` subclasses)."""
    module = type(exc).__module__
    return module.startswith(("psycopg", "sqlite3")) and any(
        c.__name__ == "Error" for c in type(exc).__mro__
    )


def translate(exc: BaseException) -> StorageError | ConflictError | InvalidRequestError:
    """Map a SQLAlchemy/DBAPI error to the eventkit error a user can act on."""
    text = str(getattr(exc, "orig", None) or exc)
    lowered = text.lower()
    if isinstance(exc, sa_exc.IntegrityError):
        return ConflictError(f"already exists: {text.splitlines()[0]}")
    if "cannot contain nul" in lowered or "unsupported unicode escape sequence" in lowered:
        # PostgreSQL refuses NUL characters in text; found by fuzzing query parameters.
        return InvalidRequestError(
            "a value contains a NUL character (\\u0000), which cannot be stored or "
            "searched; remove it"
        )
    if "database is locked" in lowered or "database is busy" in lowered:
        return DatabaseUnavailableError(
            "the SQLite database stayed locked longer than sqlite.busy_timeout_ms; "
            "another process is writing to it. Retry, or raise the timeout."
        )
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return MigrationError(
            "the database has no eventkit schema (or an old one): run `eventkit db upgrade`"
        )
    if _operational(exc) or (
        "connection" in lowered and ("refused" in lowered or "failed" in lowered)
    ):
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return DatabaseUnavailableError(
            f"cannot reach the database ({first}); check database_url and that the "
            "server is running"
        )
    return StorageError(f"database error: {text.splitlines()[0] if text else type(exc).__name__}")


@contextmanager
def map_db_errors() -> Iterator[None]:
    """Re-raise database errors raised inside the block as eventkit errors."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc) from exc
    except OSError as exc:  # e.g. the SQLite directory is unwritable
        raise DatabaseUnavailableError(f"cannot open the database: {exc}") from exc
    except Exception as exc:  # the write path uses the raw DBAPI connection
        if _dbapi_error(exc):
            raise translate(exc) from exc
        raise
