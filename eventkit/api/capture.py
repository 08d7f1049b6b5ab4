"""Native capture endpoints: ``POST /v1/events`` and ``POST /v1/identify``."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from eventkit.api.auth import require_key
from eventkit.api.limits import admit_events, charge_events
from eventkit.api.runtime import Runtime

__all__ = ["capture_events", "identify"]

_encoder = msgspec.json.Encoder()


def _runtime(request: Request) -> Runtime:  # type: ignore[type-arg]
    runtime: Runtime = request.app.state.runtime
    return runtime


def _client_ip(request: Request) -> str | None:  # type: ignore[type-arg]
    """The full client address; the ingest pipeline reduces it before storage."""
    return request.client.host if request.client else None


@post(
    "/v1/events",
    name="capture-events",
    summary="Capture a batch of events",
    description="Validates each event; stores the valid ones durably before answering. "
    "See docs/mobile_api.md.",
    tags=["capture"],
    status_code=200,
)
async def capture_events(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Store a batch; answer with accepted/duplicate counts and per-event rejections."""
    key = await require_key(request, "write")
    admit_events(request, key.app_id)
    body = await request.body()
    result = await _runtime(request).capture.capture(
        key.app_id,
        body,
        content_encoding=request.headers.get("content-encoding"),
        ip=_client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    charge_events(request, key.app_id, result.accepted + result.duplicates + len(result.rejected))
    # Every event invalid: the batch failed as a whole (a client bug, not a retry case).
    status = 400 if result.rejected and not result.accepted and not result.duplicates else 200
    return Response(
        content=_encoder.encode(result), status_code=status, media_type="application/json"
    )


@post(
    "/v1/identify",
    name="identify",
    summary="Identify a user",
    description="Link an anonymous (device) id to a user id and set traits (set / set_once).",
    tags=["capture"],
    status_code=200,
)
async def identify(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Link a device to a user and update the user's traits."""
    key = await require_key(request, "write")
    admit_events(request, key.app_id)
    charge_events(request, key.app_id, 1)
    body = await request.body()
    result = await _runtime(request).capture.identify(
        key.app_id,
        body,
        content_encoding=request.headers.get("content-encoding"),
        ip=_client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return Response(content=_encoder.encode(result), media_type="application/json")
