"""Read API for raw events: ``GET /v1/events`` (secret key)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import get
from litestar.params import QueryParameter

from eventkit.api.deps import EVENTS_READ, AppKey, RuntimeDep
from eventkit.api.params import time_param
from eventkit.reports.events import event_record
from eventkit.storage.events import EventFilter, query_events

__all__ = ["list_events"]


@get(
    "/v1/events",
    name="list-events",
    summary="List recent events",
    description="Newest first. Needs events:read (a token, or the secret key); only that "
    "app's events are visible.",
    tags=["read"],
    dependencies={"app_key": EVENTS_READ},
)
async def list_events(
    app_key: AppKey,
    runtime: RuntimeDep,
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
    flt = EventFilter(
        app_id=app_key.app_id,
        name=name,
        user_id=user_id,
        anonymous_id=anonymous_id,
        since=time_param(since, "since"),
        until=time_param(until, "until"),
    )
    rows = await asyncio.to_thread(query_events, runtime.engine, flt, limit=limit)
    return {"events": [event_record(e, ip=False) for e in rows]}
