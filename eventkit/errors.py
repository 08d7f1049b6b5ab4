"""The eventkit error tree.

Every error a user can meet is one of these. Interfaces translate them in exactly one
place each: the API's exception handlers (`eventkit.api.errors`), the CLI's error
printer (`eventkit.cli.output`), and later the TUI's error modal.

    EventKitError
     ├── ConfigError            a setting is missing or invalid
     ├── StorageError           the database failed
     │    ├── DatabaseUnavailableError   cannot connect / locked for too long
     │    └── MigrationError             schema is missing, behind, or ahead
     ├── InvalidRequestError    the request as a whole is malformed (400)
     │    ├── PayloadTooLargeError       a size or count limit was exceeded (413)
     │    └── QueryError                 a SQL query failed (400)
     │         ├── QueryRefusedError     it tried what the sandbox forbids (403)
     │         └── QueryLimitError       it ran past its time or memory (422)
     ├── InvalidEventError      one event failed validation (per-event verdict)
     ├── AuthError              missing or wrong key (401)
     │    └── PermissionDeniedError      right key, wrong kind (403)
     ├── NotFoundError          the named thing does not exist (404)
     ├── ConflictError          the thing already exists (409)
     ├── OverloadedError        the server cannot take more right now (503)
     │    ├── SpoolFullError             database away and the local spool full (503)
     │    └── RateLimitedError           an app sends faster than its limit (429)
     │         └── TooManyAuthFailuresError   too many bad keys from one address (429)
     └── PluginError            a plugin failed to load or raised

Messages are written for the person who will read them: say what went wrong and
what to do next.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "DatabaseUnavailableError",
    "EventKitError",
    "InvalidEventError",
    "InvalidRequestError",
    "MigrationError",
    "NotFoundError",
    "OverloadedError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PluginError",
    "QueryError",
    "QueryLimitError",
    "QueryRefusedError",
    "RateLimitedError",
    "SpoolFullError",
    "StorageError",
    "TooManyAuthFailuresError",
]


class EventKitError(Exception):
    """Base class of every error eventkit raises on purpose."""

    #: HTTP status used when this error reaches the API.
    status_code: int = 500
    #: Stable machine-readable code, part of the API contract.
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(EventKitError):
    """A setting is missing or invalid."""

    code = "config_error"


class StorageError(EventKitError):
    """The database failed in a way the caller cannot fix by changing the request."""

    status_code = 503
    code = "storage_error"


class DatabaseUnavailableError(StorageError):
    """The database cannot be reached, or stayed locked longer than the busy timeout."""

    code = "database_unavailable"


class MigrationError(StorageError):
    """The database schema is missing, behind, or ahead of this eventkit version."""

    code = "migration_error"


class InvalidRequestError(EventKitError):
    """The request as a whole is malformed."""

    status_code = 400
    code = "invalid_request"


class PayloadTooLargeError(InvalidRequestError):
    """A request exceeded a configured size or count limit."""

    status_code = 413
    code = "payload_too_large"


class QueryError(InvalidRequestError):
    """A SQL query (``eventkit sql``, ``POST /v1/query``) failed: a syntax error, an
    unknown column, a type error. The message is the database's, plus what to do."""

    code = "query_error"


class QueryRefusedError(QueryError):
    """A SQL query tried something the read-only, app-scoped sandbox forbids: a write,
    DDL, ATTACH, PRAGMA, or reading anything but the documented relations."""

    status_code = 403
    code = "query_refused"


class QueryLimitError(QueryError):
    """A SQL query ran past the statement timeout or a size/memory limit."""

    status_code = 422
    code = "query_limit"


class InvalidEventError(EventKitError):
    """One event failed validation; carries field-level reasons."""

    status_code = 400
    code = "invalid_event"

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class AuthError(EventKitError):
    """The request carried no key, or a key eventkit does not know."""

    status_code = 401
    code = "unauthorized"


class PermissionDeniedError(AuthError):
    """The key is valid but may not do this (for example a write key reading data)."""

    status_code = 403
    code = "forbidden"


class NotFoundError(EventKitError):
    """The named thing does not exist."""

    status_code = 404
    code = "not_found"


class ConflictError(EventKitError):
    """The thing being created already exists."""

    status_code = 409
    code = "conflict"


class OverloadedError(EventKitError):
    """The server cannot accept more work right now; retry after ``retry_after`` seconds."""

    status_code = 503
    code = "overloaded"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SpoolFullError(OverloadedError):
    """The database is unavailable and the local spool has no room (``spool.max_bytes``
    reached, or the disk is full): nothing was acknowledged."""

    code = "spool_full"


class RateLimitedError(OverloadedError):
    """The app sent more events than ``rate_limits.events_per_second`` allows (429).
    Each protocol maps it to its own error body, with ``Retry-After``."""

    status_code = 429
    code = "rate_limited"


class TooManyAuthFailuresError(RateLimitedError):
    """Too many requests with a missing or unknown key from one client address (429)."""

    code = "too_many_auth_failures"


class PluginError(EventKitError):
    """A plugin failed to load or raised inside a hook."""

    code = "plugin_error"
