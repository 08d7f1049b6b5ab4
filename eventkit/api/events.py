"""Read API for raw events: ``GET /v1/events`` (secret key)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import QueryParameter

from eventkit.api.auth import require_key
from eventkit.api.params import time_param
from eventkit.api.runtime import Runtime
from eventkit.storage.events import EventFilter, query_events
from eventkit.timeutil import from_us

__all__ = ["list_events"]


@get(
    "/v1/events",
    name="list-events",
    summary="List recent events",
    description="Newest first. Needs the app's secret key; only that app's events are visible.",
    tags=["read"],
)
async def list_events(
    request: Request,  # type: ignore[type-arg]
    name: Annotated[str | None, QueryParameter(description="Only this event name.")] = None,
    user_id: Annotated[str | None, QueryParameter(description="Only this user.")] = None,
    anonymous_id: Annotated[str | None, QueryParameter(description="Only this device.")] = None,
    since: Annotated[
        str | None, QueryParameter(description="ISO time or span back (2h, 7d).")
    ] = None,
    until: Annotated[str | None, QueryParameter(description="ISO time or span back.")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000, description="Most events.")] = 100,
) -> dict[str, Any]:
    """The app's events matching the filters."""
    key = await require_key(request, "secret")
    runtime: Runtime = request.app.state.runtime
    flt = EventFilter(
        app_id=key.app_id,
        name=name,
        user_id=user_id,
        anonymous_id=anonymous_id,
        since=time_param(since, "since"),
        until=time_param(until, "until"),
    )
    rows = await asyncio.to_thread(query_events, runtime.engine, flt, limit=limit)
    return {
        "events": [
            {
                "event_id": str(e.event_id),
                "name": e.name,
                "timestamp": from_us(e.timestamp).isoformat(),
                "ts": from_us(e.ts).isoformat(),
                "received_at": from_us(e.received_at).isoformat(),
                "sent_at": from_us(e.sent_at).isoformat() if e.sent_at is not None else None,
                "user_id": e.user_id,
                "anonymous_id": e.anonymous_id,
                "session_id": e.session_id,
                "platform": e.platform,
                "app_version": e.app_version,
                "country": e.country,
                "source": e.source,
                "properties": e.properties,
                "context": e.context,
            }
            for e in rows
        ]
    }
