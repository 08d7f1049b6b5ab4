"""Native capture endpoints: ``POST /v1/events`` and ``POST /v1/identify``."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from eventkit.api.deps import WRITE_KEY, AppKey, RuntimeDep
from eventkit.api.limits import admit_events, charge_events

__all__ = ["capture_events", "identify"]

_encoder = msgspec.json.Encoder()


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
    dependencies={"app_key": WRITE_KEY},
)
async def capture_events(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
) -> Response[bytes]:
    """Store a batch; answer with accepted/duplicate counts and per-event rejections."""
    admit_events(request, app_key.app_id)
    body = await request.body()
    result = await runtime.capture.capture(
        app_key.app_id,
        body,
        content_encoding=request.headers.get("content-encoding"),
        ip=_client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    charge_events(
        request, app_key.app_id, result.accepted + result.duplicates + len(result.rejected)
    )
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
    dependencies={"app_key": WRITE_KEY},
)
async def identify(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
) -> Response[bytes]:
    """Link a device to a user and update the user's traits."""
    admit_events(request, app_key.app_id)
    charge_events(request, app_key.app_id, 1)
    body = await request.body()
    result = await runtime.capture.identify(
        app_key.app_id,
        body,
        content_encoding=request.headers.get("content-encoding"),
        ip=_client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return Response(content=_encoder.encode(result), media_type="application/json")
