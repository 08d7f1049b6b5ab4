"""What the vendor routers (:mod:`eventkit.api.vendors`) share: keys, bodies, storage
and per-vendor error mapping.

Each vendor is one Litestar ``Router`` whose ``exception_handlers`` turn every
``EventKitError`` (and Litestar's own HTTP errors, such as a body over
``server.max_request_bytes``) into that vendor's error body, status and
``Retry-After``: the one place per vendor where errors are mapped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from eventkit.api.auth import authenticate, check_scope, presented_key
from eventkit.api.deps import provide_runtime as runtime
from eventkit.api.limits import admit_events, charge_events
from eventkit.capture.validate import FieldError
from eventkit.compat.common import Decoded, Draft, encode, finish, parse_time, read_body
from eventkit.errors import (
    EventKitError,
    InvalidRequestError,
    PayloadTooLargeError,
)
from eventkit.ingest.verdicts import BatchResult
from eventkit.storage.apps import ResolvedKey
from eventkit.timeutil import now_us
from eventkit.tokens.scopes import Scope

__all__ = [
    "client_ip",
    "handlers_for",
    "json_response",
    "read",
    "resolve",
    "runtime",
    "store",
]

log = logging.getLogger("eventkit.compat")

ErrorBody = Callable[[Request, EventKitError], tuple[int, Any, dict[str, str]]]  # type: ignore[type-arg]


def client_ip(request: Request) -> str | None:  # type: ignore[type-arg]
    """The full client address; the ingest pipeline reduces it before storage."""
    return request.client.host if request.client else None


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """A JSON response (a body that is already bytes is sent as is)."""
    content = body if isinstance(body, bytes) else encode(body)
    return Response(
        content=content, status_code=status, media_type="application/json", headers=headers
    )


async def read(request: Request, *, gzip_hint: bool = False) -> bytes:  # type: ignore[type-arg]
    """The request body, decompressed (``Content-Encoding``, or gzip when a vendor
    signals it in the query string), within ``limits.max_body_bytes``."""
    body = await request.body()
    encoding = request.headers.get("content-encoding")
    if not encoding and gzip_hint and body[:2] == b"\x1f\x8b":
        encoding = "gzip"
    return read_body(body, encoding, runtime(request).settings.limits)


async def resolve(
    request: Request,  # type: ignore[type-arg]
    body_key: str | None,
    scope: Scope = "capture",
) -> ResolvedKey:
    """The app a vendor key belongs to: the key from the Authorization header (Basic
    username or Bearer), else the one in the body, checked for ``scope`` (``capture``:
    write and secret keys, and ``admin`` tokens, may capture).

    Missing and unknown keys count against the client address's failed-auth limit,
    as on the native API.

    Raises:
        TooManyAuthFailuresError: this address failed too often recently (429).
        AuthError: no key, or an unknown or revoked one.
        PermissionDeniedError: a credential without ``scope``.
    """
    found = await authenticate(
        request,
        presented_key(request) or body_key,
        missing="missing API key: set the SDK's write key / API key / project token to an "
        "eventkit write key (docs/integration_guide.md)",
        unknown="unknown or revoked API key; use the eventkit app's write key as the SDK's "
        "key (`eventkit apps show <app>` lists the active key prefixes)",
    )
    return check_scope(found, scope)


def check_count(n: int, request: Request) -> None:  # type: ignore[type-arg]
    """Refuse a batch with more messages than ``limits.max_batch_events``."""
    limit = runtime(request).settings.limits.max_batch_events
    if n > limit:
        raise PayloadTooLargeError(
            f"the batch has {n} events; the limit is {limit} (limits.max_batch_events). "
            "Lower the SDK's flush size"
        )


def decode(
    request: Request,  # type: ignore[type-arg]
    items: list[Draft | list[FieldError]],
    *,
    app_id: int,
    source: str,
    sent_at: Any,
    prefix: str,
    received_at: int | None = None,
) -> Decoded:
    """Validate drafts with the native API's limits and clock-skew correction."""
    try:
        sent = parse_time(sent_at)
    except ValueError:
        sent = None  # a broken sentAt only disables skew correction
    return finish(
        items,
        app_id=app_id,
        source=source,
        received_at=received_at if received_at is not None else now_us(),
        sent_at=sent,
        limits=runtime(request).settings.limits,
        ip=client_ip(request),
        prefix=prefix,
    )


async def store(request: Request, decoded: Decoded, source: str) -> BatchResult:  # type: ignore[type-arg]
    """Hand decoded events and their profile operations to the capture service, within
    the app's rate limit (``[rate_limits]``, shared with the native API).

    Raises:
        RateLimitedError: the app is over its events per second (429 + Retry-After).
    """
    app_id = decoded.accepted[0].app_id if decoded.accepted else None
    if app_id is not None:
        admit_events(request, app_id)
    result = await runtime(request).capture.store(
        decoded.accepted,
        decoded.rejected,
        source=source,
        ops=decoded.ops,
        user_agent=request.headers.get("user-agent"),
    )
    if app_id is not None:
        charge_events(request, app_id, result.accepted + result.duplicates + len(result.rejected))
    return result


def _as_eventkit(exc: HTTPException) -> EventKitError:
    if exc.status_code == 413:
        return PayloadTooLargeError(
            "the request body exceeds server.max_request_bytes; lower the SDK's batch size"
        )
    err = InvalidRequestError(exc.detail or "request failed")
    err.status_code = exc.status_code
    return err


def handlers_for(error_body: ErrorBody) -> Any:
    """Exception handlers for one vendor's router, built on its ``error_body``."""

    def eventkit_error(request: Request, exc: Exception) -> Response[bytes]:  # type: ignore[type-arg]
        assert isinstance(exc, EventKitError)
        if exc.status_code >= 500:
            log.warning("%s %s: %s", request.url.path, exc.code, exc.message)
        status, body, headers = error_body(request, exc)
        if isinstance(body, int):  # Mixpanel's non-verbose "0"
            return Response(
                content=str(body).encode(),
                status_code=status,
                headers=headers,
                media_type="text/plain",
            )
        return json_response(body, status, headers or None)

    def http_error(request: Request, exc: Exception) -> Response[bytes]:  # type: ignore[type-arg]
        assert isinstance(exc, HTTPException)
        return eventkit_error(request, _as_eventkit(exc))

    return {EventKitError: eventkit_error, HTTPException: http_error}
