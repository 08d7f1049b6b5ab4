"""The one place where errors become HTTP responses.

Every error body has the same shape::

    {"status": 413, "error": "payload_too_large", "message": "...", "errors": [...]}
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from eventkit.errors import EventKitError, InvalidEventError, OverloadedError, StorageError

__all__ = ["error_parts", "error_response", "exception_handlers", "internal_error_body"]

log = logging.getLogger("eventkit.api")
_encoder = msgspec.json.Encoder()

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """A JSON error response in eventkit's shape."""
    body: dict[str, Any] = {"status": status, "error": code, "message": message}
    if errors:
        body["errors"] = errors
    return Response(
        content=_encoder.encode(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_parts(exc: EventKitError) -> tuple[int, bytes, dict[str, str] | None]:
    """Status, JSON body and headers of the response to an eventkit error."""
    headers = None
    if isinstance(exc, OverloadedError):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, StorageError):
        # Nothing was acknowledged; the client should retry once the database is back.
        headers = {"Retry-After": "5"}
    body: dict[str, Any] = {"status": exc.status_code, "error": exc.code, "message": exc.message}
    if isinstance(exc, InvalidEventError) and exc.errors:
        body["errors"] = [{"field": f, "message": m} for f, m in exc.errors]
    if exc.status_code >= 500:
        log.warning("%s: %s", exc.code, exc.message)
    return exc.status_code, _encoder.encode(body), headers


def _eventkit_error(_: Request, exc: Exception) -> Response[bytes]:  # type: ignore[type-arg]
    assert isinstance(exc, EventKitError)
    status, body, headers = error_parts(exc)
    return Response(
        content=body, status_code=status, media_type="application/json", headers=headers
    )


def _http_error(_: Request, exc: Exception) -> Response[bytes]:  # type: ignore[type-arg]
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = exc.detail or "request failed"
    if status == 404:
        message = "no such endpoint; see /schema for the API"
    elif status == 405:
        message = "method not allowed on this endpoint; see /schema for the API"
    elif status == 413:
        message = "the request body exceeds server.max_request_bytes; send smaller batches"
    elif status == 400 and isinstance(exc.extra, list) and exc.extra:
        # Litestar's validation errors: say which field is wrong, not only that one is.
        details = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in exc.extra]
        message = f"{message}: {'; '.join(details)}"
    return error_response(
        status, _HTTP_CODES.get(status, "error"), message, headers=exc.headers or None
    )


_INTERNAL = (
    "eventkit hit an unexpected error; nothing from this request was acknowledged, "
    "so it is safe to retry. The server log has the details"
)


def internal_error_body() -> bytes:
    """The JSON body of a 500 (the error itself goes to the log)."""
    return _encoder.encode({"status": 500, "error": "internal_error", "message": _INTERNAL})


def _internal_error(request: Request, exc: Exception) -> Response[bytes]:  # type: ignore[type-arg]
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", _INTERNAL)


exception_handlers: dict[type[Exception], Any] = {
    EventKitError: _eventkit_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}
