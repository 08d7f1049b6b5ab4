"""The one place where database errors become eventkit errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from eventkit.errors import ConflictError, DatabaseUnavailableError, MigrationError, StorageError

__all__ = ["map_db_errors", "translate"]


def translate(exc: BaseException) -> StorageError | ConflictError:
    """Map a SQLAlchemy/DBAPI error to the eventkit error a user can act on."""
    text = str(getattr(exc, "orig", None) or exc)
    lowered = text.lower()
    if isinstance(exc, sa_exc.IntegrityError):
        return ConflictError(f"already exists: {text.splitlines()[0]}")
    if "database is locked" in lowered or "database is busy" in lowered:
        return DatabaseUnavailableError(
            "the SQLite database stayed locked longer than sqlite.busy_timeout_ms; "
            "another process is writing to it. Retry, or raise the timeout."
        )
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return MigrationError(
            "the database has no eventkit schema (or an old one): run `eventkit db upgrade`"
        )
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or (
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
